/**
 * Crash safety of the relay across real process boundaries. A child process runs the relay exactly as
 * `mxsec serve` wires it (createRuntime, SQLite queue, scheduler with the real timer) and accepts
 * messages the way the submission listener does: it prints a message's number only once `enqueue`
 * returned its id, the moment the listener answers 250. The parent kills the child with SIGKILL in a
 * bounded loop of rounds, while it is accepting and while deliveries to the sink (which answers DATA
 * slowly, so sessions are in flight) are running, then restarts it. Every accepted message must reach
 * the sink eventually; duplicates are possible by design (a transaction finished but not recorded) and
 * are counted, not forbidden. With MXSEC_RELAY_CHILD set this file is the child program.
 *
 * The listener itself (SMTP submission) is another module's; this test covers what the relay owns:
 * nothing accepted is lost when the process dies at any point.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { loadConfigFile } from '../../src/config/load.js';
import { createRuntime } from '../../src/delivery/runtime.js';
import { openSqliteStore } from '../../src/queue/sqlite-store.js';
import { createRelay } from '../../src/relay/relay.js';
import { startDeliveryEnv } from '../../src/testing/delivery-env.js';

const THIS_FILE = fileURLToPath(import.meta.url);
const ROUNDS = 5;

async function child(configFile: string, from: number, count: number): Promise<void> {
  const loaded = await loadConfigFile(configFile, true);
  if (loaded.config === undefined) throw new Error(JSON.stringify(loaded.diagnostics));
  const config = loaded.config;
  const opened = openSqliteStore({ dataDir: config.storage.dataDir, busyTimeoutMs: 60_000 });
  if (!opened.ok) throw new Error(opened.error.message);
  const built = await createRuntime(config, { ephemeralCache: true });
  if (!built.ok) throw new Error(built.message);
  const runtime = built.runtime;
  const quiet = { info: () => undefined, warn: () => undefined, error: (o: object) => process.stderr.write(`${JSON.stringify(o)}\n`) };
  const relay = createRelay({ store: opened.value, config: () => config, delivery: (ctx) => runtime.deps(runtime.connectionFor(ctx)), logger: quiet });
  relay.scheduler.start();
  process.stdout.write('ready\n');
  for (let n = from; n < from + count; n++) {
    const body = new TextEncoder().encode(`Subject: crash-${n}\r\n\r\nmessage ${n}\r\n`);
    const r = await relay.store.enqueue({ returnPath: '', recipients: [{ address: `user${n % 3}@sink.test` }], body, createdAt: Date.now(), expiresAt: null, source: 'submission' });
    if (r.ok) process.stdout.write(`accepted ${n}\n`);
  }
  process.stdout.write('submitted\n');
}

if (process.env['MXSEC_RELAY_CHILD'] !== undefined) {
  const [configFile, from, count] = process.env['MXSEC_RELAY_CHILD'].split('|');
  await child(configFile ?? '', Number(from), Number(count));
} else {
  test('SIGKILL during submission and during delivery loses no accepted message', { timeout: 600_000 }, async () => {
    const env = await startDeliveryEnv({ 'sink.test': { MX: [{ preference: 10, exchange: 'mx.sink.test' }] }, 'mx.sink.test': { A: ['127.0.0.41'] } });
    const dir = await mkdtemp(join(tmpdir(), 'mxsec-relay-crash-'));
    const children = new Set<ChildProcess>();
    try {
      const sink = await env.server('127.0.0.41', { delays: { body: 30 } });
      const caFile = join(dir, 'ca.pem');
      await writeFile(caFile, env.ca.certPem);
      const configFile = join(dir, 'mxsec.toml');
      await writeFile(configFile, [
        `[storage]\ndata-dir = ${JSON.stringify(join(dir, 'data'))}`,
        `[resolver]\nnameservers = [${JSON.stringify(env.dns.nameserver)}]`,
        `[tls]\nca-file = ${JSON.stringify(caFile)}`,
        `[delivery]\nport = ${env.port}`,
        '[queue.schedule.remote]\nretry = ["1s"]',
        '[queue.worker]\nlease = "2s"\npoll-interval = "100ms"\nconcurrency = 4',
        '[queue.connection.default.timeout]\nconnect = "5s"\ngreeting = "5s"\nehlo = "5s"\nmail-from = "5s"\nrcpt-to = "5s"\ndata = "10s"',
      ].join('\n'));

      const start = (from: number, count: number): { proc: ChildProcess; lines: AsyncIterableIterator<string> } => {
        const loader = THIS_FILE.endsWith('.ts') ? ['--import', 'tsx'] : [];
        const proc = spawn(process.execPath, [...loader, THIS_FILE], { env: { ...process.env, MXSEC_RELAY_CHILD: `${configFile}|${from}|${count}` }, stdio: ['ignore', 'pipe', 'inherit'] });
        children.add(proc);
        proc.once('exit', () => children.delete(proc));
        return { proc, lines: createInterface({ input: proc.stdout })[Symbol.asyncIterator]() };
      };
      const kill = async (proc: ChildProcess): Promise<void> => {
        if (proc.exitCode !== null || proc.signalCode !== null) return;
        const exited = new Promise((resolve) => proc.once('exit', resolve));
        proc.kill('SIGKILL');
        await exited;
      };

      const accepted = new Set<number>();
      let next = 0;
      for (let round = 0; round < ROUNDS; round++) {
        const { proc, lines } = start(next, 40);
        // Kill during submission after a number of acceptances that differs per round, so the kill lands
        // while enqueues and the deliveries they woke are in progress.
        const killAfter = 5 + round * 7;
        let seen = 0;
        for (;;) {
          const step = await lines.next();
          if (step.done === true) break;
          const m = /^accepted (\d+)$/.exec(step.value);
          if (m === null) continue;
          accepted.add(Number(m[1]));
          if (++seen >= killAfter) break;
        }
        // Kill during delivery: wait until the sink has seen a session start in this round, then kill.
        const before = sink.transcripts.length;
        for (let i = 0; i < 400 && sink.transcripts.length === before && proc.exitCode === null; i++) await new Promise((r) => setTimeout(r, 10));
        await kill(proc);
        next += 40;
      }
      // Recovery: a last child only relays; leases of the killed ones expire and their work comes back.
      const { proc } = start(next, 0);
      const delivered = (): Map<number, number> => {
        const counts = new Map<number, number>();
        for (const m of sink.messages) {
          const n = /Subject: crash-(\d+)/.exec(Buffer.from(m.data).toString('latin1'));
          if (n !== null) counts.set(Number(n[1]), (counts.get(Number(n[1])) ?? 0) + 1);
        }
        return counts;
      };
      for (let i = 0; i < 12_000 && [...accepted].some((n) => !delivered().has(n)); i++) await new Promise((r) => setTimeout(r, 10));
      await kill(proc);
      const counts = delivered();
      const lost = [...accepted].filter((n) => !counts.has(n));
      const twice = [...counts.values()].filter((c) => c > 1).length;
      process.stdout.write(`# relay-crash: ${accepted.size} accepted over ${ROUNDS} SIGKILL rounds, ${counts.size} distinct delivered, ${twice} delivered more than once\n`);
      assert.deepEqual(lost, [], 'every accepted message is delivered');
      assert.ok(accepted.size >= ROUNDS * 5);
    } finally {
      for (const c of children) c.kill('SIGKILL');
      await env.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
}
