import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { RecipientOutcome } from '../queue/model.js';
import { dsnAction } from './policy.js';

const sender = { returnPath: 'a@s.test', flags: [] } as const;
const failed: RecipientOutcome = {
  address: 'b@d.test',
  kind: 'permanent',
  status: '550',
  error: 'unexpected-reply',
};
const delayed: RecipientOutcome = {
  address: 'b@d.test',
  kind: 'temporary',
  status: '451',
  error: 'tls',
  nextAttemptAt: 1,
  notified: true,
};
const delivered: RecipientOutcome = { address: 'b@d.test', kind: 'delivered', status: '250' };

test('RFC 5321 4.5.5: never a DSN for the null reverse-path', () => {
  assert.equal(dsnAction({ returnPath: '', flags: [] }, [], failed), null);
  assert.equal(dsnAction({ returnPath: 'a@s.test', flags: ['dsn'] }, [], failed), null);
});

test('RFC 3461 4.1: without NOTIFY, failures and delays are reported, successes not', () => {
  assert.equal(dsnAction(sender, [], failed), 'failed');
  assert.equal(dsnAction(sender, [], { ...failed, kind: 'expired' }), 'failed');
  assert.equal(dsnAction(sender, [], delayed), 'delayed');
  assert.equal(dsnAction(sender, [], { ...delayed, notified: false }), null);
  assert.equal(dsnAction(sender, [], delivered), null);
});

test('RFC 3461 4.1: NOTIFY=NEVER suppresses all; NOTIFY=SUCCESS reports relayed only', () => {
  assert.equal(dsnAction(sender, ['never'], failed), null);
  assert.equal(dsnAction(sender, ['success'], delivered), 'relayed');
  assert.equal(dsnAction(sender, ['success'], failed), null);
  assert.equal(dsnAction(sender, ['failure'], delayed), null);
});
