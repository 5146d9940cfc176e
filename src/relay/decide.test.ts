import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { DomainDelivery } from '../delivery/types.js';
import type { MessageEnvelope, QueuedRecipient } from '../queue/model.js';
import type { ScheduleSettings } from '../queue/schedule.js';
import { batchRecipients, recipientContext } from './context.js';
import { decideBatch } from './decide.js';

const M = 60_000;
const H = 60 * M;
const schedule: ScheduleSettings = {
  queueName: 'remote',
  retry: [10 * M, 2 * H],
  notify: [H],
  expire: { kind: 'ttl', ttl: 3 * H },
};
const rcpt: QueuedRecipient = {
  address: 'b@d.test',
  domain: 'd.test',
  state: 'temporary',
  retryNum: 1,
  notifyNum: 0,
  lastError: 'tls',
  lastStatus: '451',
  nextAttemptAt: 0,
  lease: null,
  notify: [],
  orcpt: null,
};
const message: MessageEnvelope = {
  id: 'Q',
  returnPath: 'a@s.test',
  recipients: [rcpt],
  size: 10,
  createdAt: 0,
  expiresAt: null,
  priority: 0,
  queueName: 'default',
  source: 'smtp',
  flags: [],
  held: false,
  envId: null,
  ret: null,
};
const temporary: DomainDelivery = {
  domain: 'd.test',
  attempts: [],
  recipients: [
    {
      address: 'b@d.test',
      status: 'temporary',
      lastError: 'tls',
      code: '4.7.5',
      message: 'bad cert',
    },
  ],
};

test('Stalwart schedule: the next retry uses the interval after the failed attempt, brought forward to the notify time', () => {
  const [d] = decideBatch(message, schedule, [rcpt], temporary, 30 * M);
  assert.equal(d?.outcome.kind, 'temporary');
  assert.equal(
    d?.outcome.kind === 'temporary' ? d.outcome.nextAttemptAt : 0,
    H,
    'retry[1] = 2h is cut to the 1h notice',
  );
  assert.equal(d?.dsn, null);
});

test('RFC 3464 2.3.3: a delay notice is due once the notify interval passed; the retry stops at expiry', () => {
  const [d] = decideBatch(message, schedule, [rcpt], temporary, 2 * H);
  assert.equal(d?.dsn, 'delayed');
  assert.ok(
    d?.outcome.kind === 'temporary' &&
      d.outcome.notified === true &&
      d.outcome.nextAttemptAt === 3 * H,
  );
  assert.equal(d?.giveUpAt, 3 * H);
});

test('RFC 3463 X.4.7: a temporary failure at or after the lifetime is final (expired)', () => {
  const [d] = decideBatch(message, schedule, [rcpt], temporary, 3 * H);
  assert.equal(d?.outcome.kind, 'expired');
  assert.equal(d?.dsn, 'failed');
  const limited: ScheduleSettings = { ...schedule, expire: { kind: 'attempts', maxAttempts: 2 } };
  assert.equal(decideBatch(message, limited, [rcpt], temporary, M)[0]?.outcome.kind, 'expired');
});

test('strategy context: queue counters feed retry_num/last_error; batches split on differing history', () => {
  const ctx = recipientContext({ ...message, flags: ['dsn'] }, rcpt, 5 * M);
  assert.equal(ctx['retry_num'], 1);
  assert.equal(ctx['last_error'], 'tls');
  assert.equal(ctx['queue_age'], 5 * M);
  assert.equal(ctx['source'], 'dsn');
  assert.equal(ctx['sender_domain'], 's.test');
  const other = { ...rcpt, address: 'c@d.test', retryNum: 0, lastError: 'none' as const };
  assert.equal(batchRecipients([rcpt, other, { ...rcpt, address: 'e@d.test' }]).length, 2);
});
