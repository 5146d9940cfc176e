/**
 * `mxsec serve [--config F]`: the relay. Takes the data directory's lock (one relay per directory; a
 * second one exits 75 naming the holder's pid), opens the SQLite queue in `storage.data-dir`, releases
 * every lease a dead predecessor left (those recipients are due at once, their `retry_num` unchanged),
 * wires the delivery runtime, starts the SMTP submission listener and the delivery loop, and logs JSON
 * lines (pino) to stdout. SIGTERM and SIGINT stop gracefully: the listener closes first (no new 250s),
 * deliveries in flight get `[queue.worker] grace-period`, pooled idle connections get QUIT, the rest is
 * recovered at the next start. SIGHUP reloads the configuration: strategies, schedules and worker
 * limits apply from the next attempt; an invalid file keeps the running configuration and logs every
 * diagnostic. Listener and storage settings take effect at the next start. Cached MTA-STS policies are
 * refreshed hourly when due. Exits 0 after a clean stop, 78 for a bad configuration, 75 when the data
 * directory is taken or the queue or the listener cannot start (a service manager should retry).
 */
import { hostname } from 'node:os';
import pino from 'pino';
import { formatDiagnostic } from '../config/diagnostics.js';
import { DEFAULT_CONFIG_PATH, loadConfigFile } from '../config/load.js';
import type { MxsecConfig } from '../config/types.js';
import { createRuntime } from '../delivery/runtime.js';
import type { Runtime } from '../delivery/runtime.js';
import { lockDataDir } from '../queue/data-dir-lock.js';
import { openThreadedStore } from '../queue/threaded-store.js';
import { createRelay } from '../relay/relay.js';
import { startPolicyRefresh } from '../relay/policy-refresh.js';
import { CONFIG_OPTION, loadForCommand, parse } from './common.js';
import type { Command } from './common.js';
import { EXIT } from './exit-codes.js';
import type { Out } from './output.js';

const STOP_SIGNALS = ['SIGTERM', 'SIGINT'] as const;

function ehloName(config: MxsecConfig): string {
  return config.connection.strategies.get('default')?.ehloHostname ?? hostname();
}

/** Waits for SIGTERM/SIGINT; calls `onHup` for every SIGHUP meanwhile. Removes its handlers when done. */
function untilStopSignal(onHup: () => void): Promise<string> {
  return new Promise((resolve) => {
    const stop = (signal: string): void => {
      for (const s of STOP_SIGNALS) process.removeListener(s, stop);
      process.removeListener('SIGHUP', onHup);
      resolve(signal);
    };
    for (const s of STOP_SIGNALS) process.on(s, stop);
    process.on('SIGHUP', onHup);
  });
}

export const serveCommand: Command = async (argv, out: Out) => {
  const { values } = parse(argv, { ...CONFIG_OPTION });
  const configPath = values.config ?? DEFAULT_CONFIG_PATH;
  const loaded = await loadForCommand(values.config, out);
  if (loaded.config === undefined) return EXIT.config;
  const logger = pino(
    { base: { pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime },
    out.stdout,
  );
  let config = loaded.config;

  // One relay per data directory: with the lock held, every lease in the store is a dead predecessor's.
  const locked = lockDataDir(config.storage.dataDir, process.pid);
  if (!locked.ok) {
    logger.error(
      { event: 'data-dir-locked', dataDir: config.storage.dataDir, holder: locked.holder ?? null },
      locked.message,
    );
    return EXIT.tempfail;
  }
  const lock = locked.lock;
  const opened = await openThreadedStore({
    dataDir: config.storage.dataDir,
    // Without its store the relay can neither accept nor record: exit (the lock goes with the process)
    // and let the supervisor start a fresh one. Nothing acknowledged is lost, since a 250 follows a commit.
    onCrash: (message) => {
      logger.fatal({ event: 'store-thread-died', message }, message);
      process.exit(EXIT.tempfail);
    },
  });
  if (!opened.ok) {
    logger.error(
      { event: 'queue-open-failed', error: opened.error },
      `cannot open the queue in ${config.storage.dataDir}`,
    );
    lock.release();
    return EXIT.tempfail;
  }
  // Postfix requeues its active queue at start-up; so do we, instead of waiting out the dead leases.
  const recovered = await opened.value.recoverLeases(Date.now());
  if (!recovered.ok) {
    logger.error(
      { event: 'recovery-failed', error: recovered.error },
      'cannot release the leases of the previous run',
    );
    await opened.value.close();
    lock.release();
    return EXIT.tempfail;
  }
  logger.info(
    { event: 'recovered', recipients: recovered.value },
    `${recovered.value} recipient(s) whose delivery was cut off by the previous run are due now`,
  );
  const built = await createRuntime(config);
  if (!built.ok) {
    logger.error({ event: 'runtime-failed', message: built.message }, built.message);
    await opened.value.close();
    lock.release();
    return EXIT.config;
  }
  let runtime: Runtime = built.runtime;
  // A reload keeps replaced runtimes open until exit: deliveries in flight still use their caches.
  const retired: Runtime[] = [];
  for (const warning of runtime.warnings) logger.warn({ event: 'runtime-warning' }, warning);

  const relay = createRelay({
    store: opened.value,
    config: () => config,
    delivery: (connection) => runtime.deps(connection),
    logger,
    reportingMta: ehloName(config),
  });
  // Loaded here, not at the top, so the other commands never load the listener and its dependencies.
  const { startSubmissionServer } = await import('../server/index.js');
  const server = await startSubmissionServer({
    config: config.server,
    store: relay.store,
    logger,
    hostname: ehloName(config),
  });
  if (!server.ok) {
    logger.error({ event: 'listener-failed', message: server.message }, server.message);
    runtime.close();
    await opened.value.close();
    lock.release();
    return EXIT.tempfail;
  }
  relay.scheduler.start();
  // RFC 8461 3.3: cached MTA-STS policies are refreshed before they lapse, not only when mail is due.
  const policyRefresh = startPolicyRefresh({
    deps: () => runtime.mtaStsDeps,
    timeoutMs: () => config.tls.strategies.get('default')?.timeoutMtaStsMs ?? 300_000,
    logger,
  });
  logger.info(
    {
      event: 'started',
      owner: relay.owner,
      listeners: server.server.listeners,
      config: config.file,
      dataDir: config.storage.dataDir,
    },
    'mxsec relay started',
  );

  let reloading = Promise.resolve();
  const reload = async (): Promise<void> => {
    const result = await loadConfigFile(configPath, values.config !== undefined);
    if (result.config === undefined) {
      const diagnostics = result.diagnostics.map(formatDiagnostic);
      logger.error(
        { event: 'reload-rejected', diagnostics },
        'configuration not reloaded; the running configuration stays in effect',
      );
      return;
    }
    const next = await createRuntime(result.config);
    if (!next.ok) {
      logger.error(
        { event: 'reload-rejected', message: next.message },
        'configuration not reloaded; the running configuration stays in effect',
      );
      return;
    }
    retired.push(runtime);
    runtime = next.runtime;
    config = result.config;
    relay.scheduler.reconfigure();
    logger.info(
      {
        event: 'reloaded',
        config: config.file,
        warnings: result.diagnostics.map(formatDiagnostic),
      },
      'configuration reloaded; listener and storage settings apply at the next start',
    );
  };
  const signal = await untilStopSignal(() => {
    reloading = reloading.then(reload, reload);
  });

  logger.info({ event: 'stopping', signal }, 'stopping: no new messages are accepted');
  await server.server.close();
  await policyRefresh.stop();
  await reloading;
  const stopped = await relay.scheduler.stop(config.worker.gracePeriodMs);
  // Idle connections kept for reuse end with QUIT (RFC 5321 4.1.1.10) rather than a dropped socket.
  await relay.close();
  logger.info(
    { event: 'stopped', ...stopped },
    stopped.abandoned + stopped.dropped === 0
      ? 'stopped cleanly'
      : 'stopped; unfinished work is recovered at the next start, or when its leases expire',
  );
  for (const r of [...retired, runtime]) r.close();
  await opened.value.close();
  lock.release();
  // Abandoned sessions keep sockets open; their leases already guarantee a retry, so do not wait for them.
  if (stopped.abandoned > 0) setTimeout(() => process.exit(EXIT.ok), 100).unref();
  return EXIT.ok;
};
