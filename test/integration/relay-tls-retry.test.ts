/**
 * The reference "Handling TLS Errors" configuration run by the relay against a receiver whose
 * certificate is self-signed, with a real SQLite queue, the in-process DNS server and an injected clock.
 * The queue must feed `retry_num` and `last_error` back into strategy selection: attempt 1 under
 * `default` fails with `last_error = tls`, attempt 2 selects `invalid-tls` and delivers over
 * unauthenticated TLS. `disable-tls` is never selected: its rule is shadowed by the `invalid-tls` rule
 * (`mxsec config check` warns about it), so this configuration never falls back to plaintext.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { lintConfig } from '../../src/config/lint/lint.js';
import { openSqliteStore } from '../../src/queue/sqlite-store.js';
import type { QueueStore } from '../../src/queue/store.js';
import { createRelay } from '../../src/relay/relay.js';
import { mustParse, startDeliveryEnv } from '../support/delivery-env.js';
import type { DeliveryEnv } from '../support/delivery-env.js';
import { fixture } from '../support/paths.js';
import { createSelfSigned } from '../support/pki.js';

const T0 = Date.UTC(2025, 5, 1, 12);
const BODY = new TextEncoder().encode(
  'From: app@sender.test\r\nTo: user@selfsigned.test\r\nSubject: retry\r\n\r\nhello\r\n',
);

let env: DeliveryEnv;
let dir: string;
let store: QueueStore;

before(async () => {
  env = await startDeliveryEnv({
    'selfsigned.test': { MX: [{ preference: 10, exchange: 'mx.selfsigned.test' }] },
    'mx.selfsigned.test': { A: ['127.0.0.13'] },
  });
  const self = await createSelfSigned({ dnsNames: ['mx.selfsigned.test'] });
  await env.server('127.0.0.13', { tls: { key: self.keyPem, cert: self.certPem } });
  dir = await mkdtemp(join(tmpdir(), 'mxsec-relay-tls-'));
  const opened = openSqliteStore({ dataDir: dir });
  if (!opened.ok) throw new Error(opened.error.message);
  store = opened.value;
});

after(async () => {
  await store.close();
  await env.close();
  await rm(dir, { recursive: true, force: true });
});

test('Stalwart "Handling TLS Errors": retry_num and last_error from the queue select invalid-tls on attempt 2; disable-tls never', async () => {
  const reference = await readFile(fixture('reference', 'handling-tls-errors.toml'), 'utf8');
  const toml = `${reference}\n[queue.schedule.remote]\nretry = ["1s"]\n`;
  const config = mustParse(toml);
  const warnings = lintConfig(config);
  assert.ok(
    warnings.some((w) => w.code === 'shadowed-rule' || w.code === 'never-true'),
    'the disable-tls rule is reported as unreachable',
  );
  assert.ok(
    warnings.some((w) => w.code === 'unreachable-strategy' && w.message.includes('disable-tls')),
  );

  let now = T0;
  const logs: Array<Record<string, unknown>> = [];
  const logger = {
    info: (o: object) => logs.push(o as Record<string, unknown>),
    warn: (o: object) => logs.push(o as Record<string, unknown>),
    error: (o: object) => logs.push(o as Record<string, unknown>),
  };
  const relay = createRelay({
    store,
    config: () => config,
    delivery: () => env.deps(toml, { config }),
    logger,
    now: () => now,
    owner: 'test-owner',
    reportingMta: 'relay.mxsec.test',
  });
  const queued = await relay.store.enqueue({
    returnPath: 'app@sender.test',
    recipients: [{ address: 'user@selfsigned.test' }],
    body: BODY,
    createdAt: now,
    expiresAt: null,
    source: 'submission',
  });
  assert.ok(queued.ok);

  assert.equal(await relay.scheduler.drain(), 1);
  const first = logs.find((l) => l['event'] === 'delivery-attempt');
  assert.equal(first?.['strategy'], 'default');
  assert.equal(first?.['result'], 'temporary');
  assert.equal(first?.['last_error'], 'tls');
  assert.equal(first?.['code'], '4.7.5');
  assert.equal(
    env.servers.get('127.0.0.13')?.messages.length,
    0,
    'nothing is sent when the certificate is not valid under default',
  );
  const afterFirst = await store.get(queued.value);
  assert.ok(afterFirst.ok);
  assert.equal(afterFirst.value.recipients[0]?.retryNum, 1);
  assert.equal(afterFirst.value.recipients[0]?.lastError, 'tls');
  assert.equal(
    afterFirst.value.recipients[0]?.nextAttemptAt,
    T0 + 1_000,
    'the schedule retry of 1s applies',
  );

  assert.equal(await relay.scheduler.drain(), 0, 'not due before the retry interval');
  now = T0 + 1_000;
  assert.equal(await relay.scheduler.drain(), 1);
  const attempts = logs.filter((l) => l['event'] === 'delivery-attempt');
  assert.equal(attempts.length, 2);
  assert.equal(attempts[1]?.['strategy'], 'invalid-tls');
  assert.equal(attempts[1]?.['result'], 'delivered');
  assert.equal(attempts[1]?.['security'], 'unverified');
  const received = env.servers.get('127.0.0.13')?.messages ?? [];
  assert.equal(received.length, 1);
  assert.equal(received[0]?.tls, true, 'delivered over TLS, never in plaintext');
  assert.ok(attempts.every((a) => a['strategy'] !== 'disable-tls'));
  const done = await store.get(queued.value);
  assert.ok(done.ok);
  assert.equal(done.value.recipients[0]?.state, 'delivered');
  const log = await store.attempts(queued.value);
  assert.ok(log.ok);
  assert.deepEqual(
    log.value.map((e) => [e.kind, e.error, e.host]),
    [
      ['temporary', 'tls', 'mx.selfsigned.test'],
      ['delivered', 'none', 'mx.selfsigned.test'],
    ],
  );
});
