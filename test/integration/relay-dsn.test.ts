/**
 * DSNs produced by the relay, end to end with an injected clock: a receiver that does not offer
 * STARTTLS under a strategy that requires it keeps the message deferred; after the schedule's notify
 * interval the sender gets a delay DSN, at expiry a failure DSN, each delivered through the relay itself
 * to the sender's own MX (a TLS sink) and parsed here as MIME: RFC 3464 report type, Action, Status,
 * Will-Retry-Until, and the sentence naming the failed security requirement. A message with the null
 * reverse-path gets no DSN at all (RFC 5321 section 4.5.5).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { rfc5322Date } from '../../src/dsn/mime.js';
import { openSqliteStore } from '../../src/queue/sqlite-store.js';
import type { QueueStore } from '../../src/queue/store.js';
import { createRelay } from '../../src/relay/relay.js';
import type { Relay } from '../../src/relay/relay.js';
import { mustParse, startDeliveryEnv } from '../support/delivery-env.js';
import type { DeliveryEnv } from '../support/delivery-env.js';

const T0 = Date.UTC(2025, 5, 1, 12);
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const BODY = new TextEncoder().encode(
  'From: app@sender.test\r\nTo: user@plain.test\r\nSubject: quarterly report\r\nMessage-ID: <q1@sender.test>\r\n\r\nhello\r\n',
);
// The strategy is pinned: the built-in selector would move a retry after a TLS error to \`invalid-tls\`,
// whose optional STARTTLS delivers to a server that offers none.
const TOML = `
[queue.strategy]
tls = "'default'"
[queue.tls.default]
starttls = "require"
[queue.schedule.remote]
retry = ["10m"]
notify = ["1h"]
expire = "3h"
`;

let env: DeliveryEnv;
let dir: string;
let store: QueueStore;
let relay: Relay;
let now = T0;

interface Part {
  readonly headers: string;
  readonly body: string;
}

/** Splits a multipart body by its boundary: enough MIME for the DSNs built here. */
function parseMultipart(raw: string): { contentType: string; headers: string; parts: Part[] } {
  const split = raw.indexOf('\r\n\r\n');
  const headers = raw.slice(0, split);
  const contentType = /^Content-Type: (.*)$/im.exec(headers)?.[1] ?? '';
  const boundary = /boundary="([^"]+)"/.exec(contentType)?.[1];
  assert.ok(boundary !== undefined, 'a multipart boundary');
  const sections = raw
    .slice(split + 4)
    .split(`--${boundary}`)
    .slice(1, -1);
  const parts = sections.map((s) => {
    const body = s.replace(/^\r\n/, '');
    const end = body.indexOf('\r\n\r\n');
    return { headers: body.slice(0, end), body: body.slice(end + 4) };
  });
  return { contentType, headers, parts };
}

function dsnAt(index: number): ReturnType<typeof parseMultipart> {
  const received = env.servers.get('127.0.0.21')?.messages ?? [];
  const message = received[index];
  assert.ok(message !== undefined, `DSN #${index + 1} reached the sender's MX`);
  assert.equal(message.from, '', 'a DSN is sent with the null reverse-path');
  assert.deepEqual(message.recipients, ['app@sender.test']);
  return parseMultipart(Buffer.from(message.data).toString('utf8'));
}

before(async () => {
  env = await startDeliveryEnv({
    'plain.test': { MX: [{ preference: 10, exchange: 'mx.plain.test' }] },
    'mx.plain.test': { A: ['127.0.0.22'] },
    'sender.test': { MX: [{ preference: 10, exchange: 'mx.sender.test' }] },
    'mx.sender.test': { A: ['127.0.0.21'] },
  });
  const sinkCert = await env.ca.issue({ dnsNames: ['mx.sender.test'] });
  await env.server('127.0.0.21', { tls: { key: sinkCert.keyPem, cert: sinkCert.chainPem } });
  await env.server('127.0.0.22', {});
  dir = await mkdtemp(join(tmpdir(), 'mxsec-relay-dsn-'));
  const opened = openSqliteStore({ dataDir: dir });
  if (!opened.ok) throw new Error(opened.error.message);
  store = opened.value;
  const config = mustParse(TOML);
  const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined };
  relay = createRelay({
    store,
    config: () => config,
    delivery: () => env.deps(TOML, { config }),
    logger: quiet,
    now: () => now,
    owner: 't',
    reportingMta: 'relay.mxsec.test',
    unique: () => 'fixed',
  });
});

after(async () => {
  await store.close();
  await env.close();
  await rm(dir, { recursive: true, force: true });
});

test('RFC 3464: delay DSN after the notify interval, failure DSN at expiry, none for the null reverse-path', async () => {
  const a = await relay.store.enqueue({
    returnPath: 'app@sender.test',
    recipients: [{ address: 'user@plain.test' }],
    body: BODY,
    createdAt: T0,
    expiresAt: T0 + 3 * HOUR,
    envId: 'env-42',
  });
  const b = await relay.store.enqueue({
    returnPath: '',
    recipients: [{ address: 'other@plain.test' }],
    body: BODY,
    createdAt: T0,
    expiresAt: T0 + 3 * HOUR,
  });
  assert.ok(a.ok && b.ok);
  const re = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const sink = (): number => env.servers.get('127.0.0.21')?.messages.length ?? 0;

  assert.equal(await relay.scheduler.drain(), 2);
  now = T0 + 30 * MINUTE;
  assert.equal(await relay.scheduler.drain(), 2);
  assert.equal(sink(), 0, 'no notice before the notify interval');
  assert.equal(
    env.servers.get('127.0.0.22')?.messages.length,
    0,
    'required TLS: nothing sent in plaintext',
  );

  now = T0 + HOUR;
  await relay.scheduler.drain();
  assert.equal(sink(), 1, 'one delay DSN, for the message with a sender');
  const delay = dsnAt(0);
  assert.match(delay.contentType, /^multipart\/report; report-type=delivery-status;/);
  assert.match(delay.headers, /^Subject: Delayed Mail/m);
  assert.match(delay.headers, /^Auto-Submitted: auto-replied$/m);
  assert.equal(delay.parts.length, 3);
  assert.match(
    delay.parts[0]!.body,
    /<user@plain\.test>: The TLS policy requires an encrypted connection, but mx\.plain\.test did not offer STARTTLS/,
  );
  assert.match(delay.parts[1]!.headers, /^Content-Type: message\/delivery-status$/m);
  const status = delay.parts[1]!.body;
  assert.match(status, /^Reporting-MTA: dns;relay\.mxsec\.test$/m);
  assert.match(status, /^Original-Envelope-Id: env-42$/m);
  assert.match(status, new RegExp(`^Arrival-Date: ${re(rfc5322Date(T0))}$`, 'm'));
  assert.match(status, /^Final-Recipient: rfc822;user@plain\.test$/m);
  assert.match(status, /^Action: delayed$/m);
  assert.match(status, /^Status: 4\.7\.4$/m);
  assert.match(status, /^Remote-MTA: dns;mx\.plain\.test$/m);
  assert.match(
    status,
    /^Diagnostic-Code: X-mxsec;TLS is required but mx\.plain\.test does not offer STARTTLS$/m,
  );
  assert.match(status, new RegExp(`^Will-Retry-Until: ${re(rfc5322Date(T0 + 3 * HOUR))}$`, 'm'));
  assert.match(delay.parts[2]!.headers, /^Content-Type: text\/rfc822-headers$/m);
  assert.match(delay.parts[2]!.body, /^Subject: quarterly report$/m);
  assert.doesNotMatch(delay.parts[2]!.body, /hello/, 'headers only, not the body');

  now = T0 + 2 * HOUR;
  await relay.scheduler.drain();
  assert.equal(sink(), 1, 'one notify interval, one delay notice');

  now = T0 + 3 * HOUR;
  await relay.scheduler.drain();
  assert.equal(sink(), 2, 'a failure DSN at expiry, and still none for the null sender');
  const failed = dsnAt(1);
  assert.match(failed.headers, /^Subject: Undelivered Mail Returned to Sender$/m);
  assert.match(failed.parts[0]!.body, /lifetime ran out.*did not offer STARTTLS/s);
  assert.match(failed.parts[1]!.body, /^Action: failed$/m);
  assert.match(failed.parts[1]!.body, /^Status: 4\.7\.4$/m);
  assert.doesNotMatch(failed.parts[1]!.body, /Will-Retry-Until/);
  for (const id of [a.value, b.value]) {
    const got = await store.get(id);
    assert.ok(got.ok);
    assert.equal(got.value.recipients[0]?.state, 'expired');
  }
  const dsns = await store.list({ returnPath: '' });
  assert.ok(dsns.ok);
  assert.equal(dsns.value.filter((m) => m.flags.includes('dsn')).length, 2);
  assert.ok(
    dsns.value
      .filter((m) => m.flags.includes('dsn'))
      .every((m) => m.queueName === 'dsn' && m.recipients[0]?.state === 'delivered'),
  );
});
