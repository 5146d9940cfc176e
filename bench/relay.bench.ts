/**
 * Benchmark of the relay: how fast the queue accepts messages (one durable SQLite commit per message,
 * what the submission listener pays before its 250), end-to-end deliveries per second from the queue
 * through the scheduler to a local TLS sink (DNS, STARTTLS with a validated certificate), once with one
 * connection per message and once with connection reuse (RSET between messages, `[queue.worker]`
 * defaults: 20 messages per connection), the first as the second's baseline, and the resident memory of 100,000 queued messages in
 * the memory store and in SQLite, and SMTP submissions accepted per second by the running submission
 * listener (in-process, SQLite store; one session per message: connect, EHLO, MAIL, RCPT, DATA, QUIT),
 * one client and eight concurrent clients, each against the raw SQLite enqueue rate of the same run as
 * its baseline: the gap is what SMTP and the Received header cost on top of the durable commit.
 * Measurements, not assertions. Run alone with `npx tsx bench/relay.bench.ts`.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { DEFAULT_SERVER_LIMITS } from '../src/config/server.js';
import { MemoryStore } from '../src/queue/memory-store.js';
import type { QueueStore } from '../src/queue/store.js';
import { createRelay } from '../src/relay/relay.js';
import { startSubmissionServer } from '../src/server/index.js';
import { mustParse, startDeliveryEnv } from '../test/support/delivery-env.js';
import { submitMany } from '../test/support/serve-process.js';
import { benchMessage, messageBody, openSqlite } from './queue-fixtures.js';
import type { BenchResult } from './types.js';

const BODY = messageBody(400);
const ENQUEUES = 2_000;
const DELIVERIES = 400;
const QUEUED = 100_000;
const SUBMISSIONS = 1_000;
const ENQUEUE_NAME = 'relay.enqueue sqlite (durable commit per message)';

async function enqueueRate(dir: string): Promise<number> {
  const store = openSqlite(join(dir, 'enqueue'));
  const start = process.hrtime.bigint();
  for (let n = 0; n < ENQUEUES; n++)
    if (!(await store.enqueue(benchMessage(n, BODY))).ok) throw new Error('enqueue failed');
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  await store.close();
  return ENQUEUES / seconds;
}

/** Messages per second accepted (250 after the commit) by the submission listener from `clients` clients at once. */
async function submissionRate(dir: string, clients: number): Promise<number> {
  const store = openSqlite(dir);
  const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined };
  const started = await startSubmissionServer({
    config: {
      listeners: [{ name: 'bench', bind: [{ host: '127.0.0.1', port: 0 }], auth: 'none' }],
      users: [],
      limits: DEFAULT_SERVER_LIMITS,
    },
    store,
    logger: quiet,
    hostname: 'bench.mxsec.test',
  });
  if (!started.ok) throw new Error(started.message);
  const port = started.server.listeners[0]?.port ?? 0;
  const body = new TextDecoder().decode(BODY);
  try {
    const start = process.hrtime.bigint();
    await submitMany('127.0.0.1', port, SUBMISSIONS, clients, (n) => ({
      from: 'app@sender.test',
      to: [`user${n}@sink.test`],
      body,
    }));
    return SUBMISSIONS / (Number(process.hrtime.bigint() - start) / 1e9);
  } finally {
    await started.server.close();
    await store.close();
  }
}

async function deliveryRate(dir: string, reuse: boolean): Promise<number> {
  const env = await startDeliveryEnv({
    'sink.test': { MX: [{ preference: 10, exchange: 'mx.sink.test' }] },
    'mx.sink.test': { A: ['127.0.0.51'] },
  });
  try {
    const cert = await env.ca.issue({ dnsNames: ['mx.sink.test'] });
    const sink = await env.server('127.0.0.51', { tls: { key: cert.keyPem, cert: cert.chainPem } });
    const toml = `[queue.tls.default]\nstarttls = "require"\n[queue.worker]\nconcurrency = 16\nconcurrency-per-domain = 16\nconnection-reuse = ${String(reuse)}\n`;
    const config = mustParse(toml);
    const store = openSqlite(join(dir, reuse ? 'deliver-reuse' : 'deliver'));
    const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined };
    const relay = createRelay({
      store,
      config: () => config,
      delivery: () => env.deps(toml, { config }),
      logger: quiet,
    });
    for (let n = 0; n < DELIVERIES; n++) await relay.store.enqueue(benchMessage(n, BODY));
    const start = process.hrtime.bigint();
    await relay.scheduler.drain();
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    if (sink.messages.length !== DELIVERIES)
      throw new Error(`only ${sink.messages.length} of ${DELIVERIES} delivered`);
    await relay.close();
    await store.close();
    return DELIVERIES / seconds;
  } finally {
    await env.close();
  }
}

async function rssWith(store: QueueStore): Promise<number> {
  globalThis.gc?.();
  const before = process.memoryUsage().rss;
  for (let n = 0; n < QUEUED; n++)
    if (!(await store.enqueue(benchMessage(n, BODY))).ok) throw new Error('enqueue failed');
  globalThis.gc?.();
  const grown = process.memoryUsage().rss - before;
  await store.close();
  return Math.max(0, grown) / 2 ** 20;
}

export async function run(): Promise<BenchResult[]> {
  const dir = await mkdtemp(join(tmpdir(), 'mxsec-relay-bench-'));
  try {
    const results: BenchResult[] = [];
    results.push({ name: ENQUEUE_NAME, unit: 'msg/s', value: Math.round(await enqueueRate(dir)) });
    for (const clients of [1, 8]) {
      const value = Math.round(await submissionRate(join(dir, `submit-${clients}`), clients));
      results.push({
        name: `relay.submit SMTP to the listener, session per message, ${clients} client${clients === 1 ? '' : 's'}`,
        unit: 'msg/s',
        value,
        baseline: ENQUEUE_NAME,
      });
    }
    const deliverName = `relay.deliver end-to-end to a STARTTLS sink (${DELIVERIES} messages, concurrency 16), connection per message`;
    results.push({
      name: deliverName,
      unit: 'msg/s',
      value: Math.round(await deliveryRate(dir, false)),
    });
    results.push({
      name: `relay.deliver end-to-end to a STARTTLS sink (${DELIVERIES} messages, concurrency 16), connection reuse`,
      unit: 'msg/s',
      value: Math.round(await deliveryRate(dir, true)),
      baseline: deliverName,
    });
    // SQLite first: the memory store's heap is not returned to the OS promptly and would inflate the other figure.
    results.push({
      name: `relay.rss ${QUEUED} queued, sqlite store`,
      unit: 'MiB',
      value: Math.round(await rssWith(openSqlite(join(dir, 'rss')))),
    });
    results.push({
      name: `relay.rss ${QUEUED} queued, memory store`,
      unit: 'MiB',
      value: Math.round(await rssWith(new MemoryStore())),
    });
    return results;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  for (const r of await run()) process.stdout.write(`${r.name}: ${r.value} ${r.unit}\n`);
}
