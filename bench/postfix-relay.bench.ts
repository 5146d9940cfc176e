/**
 * End-to-end relay benchmark, mxsec against Postfix side by side: 2,000 messages of 1 KiB payload are
 * injected with Postfix's `smtp-source` (10 parallel sessions, one message per session) into a relay's
 * listener, and the relay delivers them over verified STARTTLS to one loopback sink (the in-process test
 * SMTP server with a certificate for `mx.bench.test` from a test CA), with connection reuse on. The rate
 * is messages per second from the start of injection until the sink holds all 2,000; the CPU figure is
 * CPU milliseconds (user + system) per delivered message that the relay's processes used from the start
 * of injection until the relay had finished with every message (mxsec: 2,000 `delivered` attempts
 * logged; Postfix: 2,000 queue files `removed`), read before and after by bench/cpu.ts (a cgroup of the
 * relay's processes as root, else /proc), with mxsec's against Postfix's as baseline (the ratio is
 * mxsec / Postfix, for the rate as for the CPU).
 *
 * - mxsec: `mxsec serve` as a child process (test/support/serve-process.ts), SQLite queue in a temp data
 *   dir, `[queue.tls.default] starttls = "require"` with the test CA in `[tls] ca-file` (so the
 *   certificate must chain to it and name the MX host), `[queue.worker] concurrency = 20`,
 *   `concurrency-per-domain = 20` (Postfix's `default_destination_concurrency_limit`), connection reuse
 *   on with its defaults (20 messages per connection). It finds the sink by MX and A records from the
 *   in-process DNS server; its CPU is the serve process's.
 * - Postfix: a private instance (test/interop/harness/postfix.ts, `relay`) whose smtpd accepts the bench
 *   domain from 127.0.0.0/8 without authentication and whose smtp(8) sends it to `[sink]:port` (transport
 *   map, no DNS) at TLS level `secure match=mx.bench.test` against the same CA, with
 *   `smtp_tls_connection_reuse = yes`; everything else is Postfix's default (concurrency 5 growing to
 *   20, connection cache on demand). Its CPU is that of every process of the instance, those that
 *   exited during the run included. It needs root, `postfix` and `smtp-source`; without them Postfix is
 *   skipped with a note on stderr, and mxsec is still measured, injected by our own SMTP submitter when
 *   `smtp-source` is missing (its results then carry another name, being another measurement).
 *
 * Both are started cold (no warm-up), one after the other, each with a fresh sink. Addresses:
 * test/interop/harness/addresses.ts `BENCH`. Everything started is stopped in `finally`. Measurements,
 * not assertions: the module throws only when the setup is broken (a relay does not start, a message
 * is refused, delivered without TLS or unverified, or not delivered within two minutes). Notes go to
 * stderr: the Postfix version, when injection ended (mxsec accepts and delivers on one thread, so the
 * two overlap), sink connections, TLS handshakes, DNS queries, how CPU was read. Run alone with
 * `npx tsx bench/postfix-relay.bench.ts`.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { BENCH } from '../test/interop/harness/addresses.js';
import { startPostfix } from '../test/interop/harness/postfix.js';
import type { PostfixInstance } from '../test/interop/harness/postfix.js';
import { missingPrerequisites } from '../test/interop/harness/require.js';
import { instanceProcesses } from '../test/interop/harness/postfix-processes.js';
import { findBinary, runOrThrow, waitUntil } from '../test/interop/harness/run.js';
import { startDeliveryEnv } from '../test/support/delivery-env.js';
import type { DeliveryEnv } from '../test/support/delivery-env.js';
import type { TestCert } from '../test/support/pki.js';
import { spawnServe, submitMany } from '../test/support/serve-process.js';
import type { LogLine } from '../test/support/serve-process.js';
import { meterCpu } from './cpu.js';
import type { CpuMeter } from './cpu.js';
import { round } from './report.js';
import { secondsSince } from './timing.js';
import type { BenchResult } from './types.js';

const MESSAGES = 2_000;
const PAYLOAD = 1_024;
const SESSIONS = 10;
const CONCURRENCY = 20;
const DOMAIN = 'bench.test';
const MX = 'mx.bench.test';
const SENDER = 'app@sender.test';
const RECIPIENT = `user@${DOMAIN}`;
/** Only a guard against a hung run: the whole module takes well under a minute. */
const DEADLINE_MS = 120_000;

const note = (text: string): void => console.error(`bench e2e: ${text}`);

/** Submits every message to `host:port`, resolving when the injector is done. */
type Injector = (host: string, port: number) => Promise<void>;

/** `smtp-source`: one SMTP session per message, `SESSIONS` at a time, `PAYLOAD` octets of body each. */
function smtpSource(binary: string): Injector {
  return (host, port) =>
    new Promise((resolve, reject) => {
      const args = ['-4', '-s', String(SESSIONS), '-m', String(MESSAGES), '-l', String(PAYLOAD)];
      args.push('-f', SENDER, '-t', RECIPIENT, '-M', 'client.bench.test', `${host}:${port}`);
      const child = spawn(binary, args, { stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
      child.once('error', reject);
      child.once('close', (code, signal) =>
        code === 0
          ? resolve()
          : reject(new Error(`smtp-source exited ${code ?? signal}: ${stderr.trim()}`)),
      );
    });
}

/** Our SMTP submitter in this process, for when `smtp-source` is not installed. */
const submitter: Injector = (host, port) => {
  const body = `From: <${SENDER}>\r\nTo: <${RECIPIENT}>\r\nSubject: bench\r\n\r\n${'x'.repeat(PAYLOAD - 2)}\r\n`;
  return submitMany(host, port, MESSAGES, SESSIONS, () => ({
    from: SENDER,
    to: [RECIPIENT],
    body,
  }));
};

/** A relay under test, started and listening. */
interface Relay {
  readonly host: string;
  readonly port: number;
  /** Meters the relay's processes. */
  readonly cpu: CpuMeter;
  /** Resolves once the relay has finished with all `MESSAGES` (its queue bookkeeping included). */
  settled(): Promise<void>;
  /** What to show when the run does not complete. */
  diagnostics(): string;
}

interface Measurement {
  readonly rate: number;
  readonly cpuMsPerMessage: number;
  /** From the start of injection until the sink held every message. */
  readonly seconds: number;
  /** From the start of injection until the injector had every message accepted. */
  readonly injectedSeconds: number;
  /** SMTP connections the sink accepted. */
  readonly connections: number;
  readonly duplicates: number;
}

const timeline = (m: Measurement): string =>
  `all accepted after ${m.injectedSeconds.toFixed(2)} s, all at the sink after ${m.seconds.toFixed(2)} s`;

function withDeadline<T>(promise: Promise<T>, what: string, relay: Relay): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`${what}: not done after ${DEADLINE_MS} ms\n${relay.diagnostics()}`)),
      DEADLINE_MS,
    );
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

async function measure(
  env: DeliveryEnv,
  cert: TestCert,
  relay: Relay,
  inject: Injector,
): Promise<Measurement> {
  let arrived = 0;
  let allArrived: (at: bigint) => void = () => undefined;
  const arrival = new Promise<bigint>((resolve) => (allArrived = resolve));
  const sink = await env.server(BENCH.sink, {
    hostname: MX,
    tls: { key: cert.keyPem, cert: cert.chainPem },
    onMessage: () => {
      arrived += 1;
      if (arrived === MESSAGES) allArrived(process.hrtime.bigint());
    },
  });
  const cpuBefore = relay.cpu.seconds();
  const start = process.hrtime.bigint();
  const injected = inject(relay.host, relay.port).then(() => process.hrtime.bigint());
  const [end, injectedAt] = await withDeadline(
    Promise.all([arrival, injected]),
    `${MESSAGES} messages at the sink`,
    relay,
  );
  await withDeadline(relay.settled(), 'the relay finishing its queue', relay);
  const cpu = relay.cpu.seconds() - cpuBefore;
  const seconds = Number(end - start) / 1e9;
  const plain = sink.messages.filter((m) => !m.tls).length;
  if (plain > 0) throw new Error(`${plain} messages reached the sink without TLS`);
  return {
    rate: MESSAGES / seconds,
    cpuMsPerMessage: (cpu * 1000) / MESSAGES,
    seconds,
    injectedSeconds: Number(injectedAt - start) / 1e9,
    connections: sink.transcripts.length,
    duplicates: sink.messages.length - MESSAGES,
  };
}

async function measureMxsec(
  env: DeliveryEnv,
  cert: TestCert,
  inject: Injector,
): Promise<Measurement> {
  const dir = await mkdtemp(join(tmpdir(), 'mxsec-e2e-bench-'));
  const serve = await (async () => {
    const caFile = join(dir, 'ca.pem');
    await writeFile(caFile, env.ca.certPem);
    const configFile = join(dir, 'mxsec.toml');
    await writeFile(
      configFile,
      [
        `[server.listener.bench]\nbind = ["${BENCH.mxsecListener}:0"]`,
        `[storage]\ndata-dir = ${JSON.stringify(join(dir, 'data'))}`,
        `[resolver]\nnameservers = [${JSON.stringify(env.dns.nameserver)}]`,
        `[tls]\nca-file = ${JSON.stringify(caFile)}`,
        `[delivery]\nport = ${env.port}`,
        '[queue.tls.default]\nstarttls = "require"',
        `[queue.worker]\nconcurrency = ${CONCURRENCY}\nconcurrency-per-domain = ${CONCURRENCY}\nconnection-reuse = true`,
        '',
      ].join('\n'),
    );
    return spawnServe(configFile, { cwd: dir });
  })();
  let cpu: CpuMeter | undefined;
  try {
    const started = await serve.started();
    if (!started.ok)
      throw new Error(
        `mxsec serve did not start: ${JSON.stringify(started.exit)}\n${started.stderr}`,
      );
    let delivered = 0;
    const failed: LogLine[] = [];
    const unverified: LogLine[] = [];
    const queriesBefore = env.dns.queries.all.length;
    cpu = meterCpu(() => [serve.pid]);
    const measured = await measure(
      env,
      cert,
      {
        host: BENCH.mxsecListener,
        port: started.port,
        cpu,
        settled: async () => {
          await serve.waitForLog(
            `${MESSAGES} delivered attempts`,
            (l) => {
              if (l['event'] !== 'delivery-attempt') return false;
              if (l['result'] !== 'delivered') failed.push(l);
              else if (l['security'] !== 'pkix') unverified.push(l);
              else delivered += 1;
              return delivered >= MESSAGES || failed.length > 0 || unverified.length > 0;
            },
            DEADLINE_MS,
          );
          const wrong = failed[0] ?? unverified[0];
          if (wrong !== undefined)
            throw new Error(`an attempt other than delivered at pkix: ${JSON.stringify(wrong)}`);
        },
        diagnostics: () => `${delivered} delivered attempts logged\n${serve.output().stderr}`,
      },
      inject,
    );
    note(
      `mxsec: ${timeline(measured)}, ${measured.connections} sink connections, ${env.dns.queries.all.length - queriesBefore} DNS queries, CPU by ${cpu.method}`,
    );
    return measured;
  } finally {
    await serve.kill();
    cpu?.close();
    await rm(dir, { recursive: true, force: true });
  }
}

async function measurePostfix(
  env: DeliveryEnv,
  cert: TestCert,
  inject: Injector,
): Promise<Measurement> {
  const version = (await runOrThrow('postconf', ['-d', '-h', 'mail_version'])).trim();
  const postfix: PostfixInstance = await startPostfix({
    domains: [],
    listeners: [{ address: BENCH.postfixListener }],
    relay: {
      domains: [DOMAIN],
      address: BENCH.sink,
      port: env.port,
      caPem: env.ca.certPem,
      certName: MX,
    },
  });
  let cpu: CpuMeter | undefined;
  try {
    const removed = (): number => postfix.log().match(/: removed$/gm)?.length ?? 0;
    cpu = meterCpu(() => instanceProcesses(postfix.configDir));
    const measured = await measure(
      env,
      cert,
      {
        host: BENCH.postfixListener,
        port: 25,
        cpu,
        settled: () =>
          waitUntil(
            `postfix: ${MESSAGES} queue files removed`,
            () => Promise.resolve(removed() >= MESSAGES),
            () => undefined,
            DEADLINE_MS,
          ),
        diagnostics: () => `${removed()} queue files removed\n--- maillog ---\n${postfix.log()}`,
      },
      inject,
    );
    // smtp(8) logs each handshake (tlsproxy(8) does too) and each reuse of a TLS connection.
    const log = postfix.log();
    const handshakes = log.match(/\/smtp\[\d+\]: Verified TLS connection established/g)?.length;
    const reuses = log.match(/\/smtp\[\d+\]: Verified TLS connection reused/g)?.length ?? 0;
    if (handshakes === undefined)
      throw new Error(`postfix logged no verified TLS connection\n${log}`);
    note(
      `postfix ${version}: ${timeline(measured)}, ${measured.connections} sink connections, ${handshakes} TLS handshakes and ${reuses} reuses by smtp, CPU by ${cpu.method}`,
    );
    return measured;
  } finally {
    await postfix.stop();
    cpu?.close();
  }
}

export async function run(): Promise<BenchResult[]> {
  const env = await startDeliveryEnv({
    [DOMAIN]: { MX: [{ preference: 10, exchange: MX }] },
    [MX]: { A: [BENCH.sink] },
  });
  try {
    const cert = await env.ca.issue({ dnsNames: [MX] });
    const source = findBinary('smtp-source');
    const inject = source === undefined ? submitter : smtpSource(source);
    const injectedBy = source === undefined ? 'our submitter' : 'smtp-source';
    const shape = `${MESSAGES} x 1 KiB, ${injectedBy}, ${SESSIONS} sessions -> verified STARTTLS sink, reuse`;
    const missing = missingPrerequisites(['postfix', 'smtp-source']);
    const rateName = (relay: string): string => `e2e.relay ${relay} (${shape})`;
    const cpuName = (relay: string): string => `e2e.cpu ${relay} (${shape})`;
    const results: BenchResult[] = [];
    let withPostfix = false;
    if (missing.length > 0) {
      note(`Postfix skipped: ${missing.join(', ')} missing (.ci/install-deps.sh as root)`);
    } else {
      const postfix = await measurePostfix(env, cert, inject);
      results.push({ name: rateName('postfix'), unit: 'msg/s', value: Math.round(postfix.rate) });
      results.push({
        name: cpuName('postfix, all processes'),
        unit: 'CPU ms/msg',
        value: round(postfix.cpuMsPerMessage, 3),
      });
      withPostfix = true;
      if (postfix.duplicates > 0) note(`postfix: ${postfix.duplicates} duplicate deliveries`);
    }
    const mxsec = await measureMxsec(env, cert, inject);
    if (mxsec.duplicates > 0) note(`mxsec: ${mxsec.duplicates} duplicate deliveries`);
    results.push({
      name: rateName('mxsec serve'),
      unit: 'msg/s',
      value: Math.round(mxsec.rate),
      ...(withPostfix ? { baseline: rateName('postfix') } : {}),
    });
    results.push({
      name: cpuName('mxsec serve process'),
      unit: 'CPU ms/msg',
      value: round(mxsec.cpuMsPerMessage, 3),
      ...(withPostfix ? { baseline: cpuName('postfix, all processes') } : {}),
    });
    return results;
  } finally {
    await env.close();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const start = process.hrtime.bigint();
  for (const r of await run()) process.stdout.write(`${r.name}: ${r.value} ${r.unit}\n`);
  note(`${secondsSince(start).toFixed(1)} s`);
}
