/**
 * `mxsec queue list|show|hold|release|retry|delete` against the SQLite queue of a running relay: the
 * relay (real timer, real store, polling every 50 ms) and the CLI hold separate connections to one WAL
 * database, as `mxsec serve` and an operator's shell do. The receiver refuses the first attempt with a
 * 451, so the message stays queued long enough to be inspected and operated on.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqliteStore } from '../../src/queue/sqlite-store.js';
import type { QueueStore } from '../../src/queue/store.js';
import { createRelay } from '../../src/relay/relay.js';
import type { Relay } from '../../src/relay/relay.js';
import { runCli } from '../support/capture.js';
import { mustParse, startDeliveryEnv } from '../support/delivery-env.js';
import type { DeliveryEnv } from '../support/delivery-env.js';

const BODY = new TextEncoder().encode('Subject: ops\r\n\r\nhello\r\n');

let env: DeliveryEnv;
let dir: string;
let configFile: string;
let store: QueueStore;
let relay: Relay;
let refuse = true;

async function until(what: string, check: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 2_000; i++) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  assert.fail(`timed out waiting for ${what}`);
}

async function cli(
  ...args: string[]
): Promise<{ code: number; json: Record<string, unknown>; stderr: string }> {
  const r = await runCli(['queue', ...args, '--config', configFile, '--json']);
  return {
    code: r.code,
    json: r.stdout === '' ? {} : (JSON.parse(r.stdout) as Record<string, unknown>),
    stderr: r.stderr,
  };
}

before(async () => {
  env = await startDeliveryEnv({
    'ops.test': { MX: [{ preference: 10, exchange: 'mx.ops.test' }] },
    'mx.ops.test': { A: ['127.0.0.31'] },
  });
  await env.server('127.0.0.31', {
    respond: (phase) => (phase === 'rcpt' && refuse ? '451 4.3.0 try later' : undefined),
  });
  dir = await mkdtemp(join(tmpdir(), 'mxsec-relay-cli-'));
  const toml = `[storage]\ndata-dir = ${JSON.stringify(dir)}\n[queue.schedule.remote]\nretry = ["1h"]\n[queue.worker]\npoll-interval = "50ms"\n`;
  configFile = join(dir, 'mxsec.toml');
  await writeFile(configFile, toml);
  const opened = openSqliteStore({ dataDir: dir });
  if (!opened.ok) throw new Error(opened.error.message);
  store = opened.value;
  const config = mustParse(toml);
  const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined };
  relay = createRelay({
    store,
    config: () => config,
    delivery: () => env.deps(toml, { config }),
    logger: quiet,
  });
  relay.scheduler.start();
});

after(async () => {
  await relay.scheduler.stop(10_000);
  await store.close();
  await env.close();
  await rm(dir, { recursive: true, force: true });
});

test('queue commands work on the live queue: list, show, hold, release, retry, delete', async () => {
  const queued = await relay.store.enqueue({
    returnPath: '',
    recipients: [{ address: 'user@ops.test' }],
    body: BODY,
    createdAt: Date.now(),
    expiresAt: null,
  });
  assert.ok(queued.ok);
  const id = queued.value;
  await until('the first attempt to be recorded', async () => {
    const got = await store.get(id);
    return got.ok && got.value.recipients[0]?.state === 'temporary';
  });

  const listed = await cli('list');
  assert.equal(listed.code, 0, listed.stderr);
  const messages = listed.json['messages'] as Array<Record<string, unknown>>;
  assert.deepEqual(
    messages.map((m) => m['id']),
    [id],
  );

  const shown = await cli('show', id);
  assert.equal(shown.code, 0, shown.stderr);
  const recipient = (shown.json['recipients'] as Array<Record<string, unknown>>)[0];
  assert.equal(recipient?.['state'], 'temporary');
  assert.equal(recipient?.['retry_num'], 1);
  assert.equal(recipient?.['last_status'], '451 4.3.0 try later');
  assert.deepEqual(
    (shown.json['attempts'] as Array<Record<string, unknown>>).map((a) => [a['result'], a['host']]),
    [['temporary', 'mx.ops.test']],
  );

  assert.equal((await cli('hold', id)).code, 0);
  refuse = false;
  assert.equal((await cli('retry', id)).code, 0);
  // Held: due now, yet the relay (polling every 50 ms) must not deliver it. Give it several polls.
  await new Promise((resolve) => setTimeout(resolve, 500));
  assert.equal(
    env.servers.get('127.0.0.31')?.messages.length,
    0,
    'a held message is not delivered',
  );
  assert.equal((await cli('show', id)).json['held'], true);

  assert.equal((await cli('release', id)).code, 0);
  await until('delivery after release', () =>
    Promise.resolve((env.servers.get('127.0.0.31')?.messages.length ?? 0) === 1),
  );
  await until('the delivery to be recorded', async () => {
    const got = await store.get(id);
    return got.ok && got.value.recipients[0]?.state === 'delivered';
  });

  assert.equal((await cli('delete', id)).code, 0);
  assert.deepEqual((await cli('list')).json['messages'], []);
  const missing = await cli('show', id);
  assert.equal(missing.code, 69, 'an unknown id exits 69');
  assert.match(missing.stderr, /no message/);
  const usage = await runCli(['queue', 'frobnicate', '--config', configFile]);
  assert.equal(usage.code, 64);
});
