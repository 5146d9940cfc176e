import { test } from 'node:test';
import assert from 'node:assert/strict';
import { failureEnhancedCode, failureLastError, failureSeverity, smtpFailure } from './failure.js';
import { DEFAULT_SMTP_TIMEOUTS, timeoutFor } from './timeouts.js';
import { makeReply } from './protocol/reply.js';

test('RFC 5321 4.2.1: a reply failure is as temporary or permanent as its reply', () => {
  assert.equal(failureSeverity(smtpFailure('reply', 'rcpt-to', 'x', { reply: makeReply(550, ['5.1.1 no']) })), 'permanent');
  assert.equal(failureSeverity(smtpFailure('reply', 'rcpt-to', 'x', { reply: makeReply(451, ['later']) })), 'temporary');
  assert.equal(failureEnhancedCode(smtpFailure('reply', 'rcpt-to', 'x', { reply: makeReply(550, ['5.1.1 no']) })), '5.1.1');
});

test('RFC 1870 6: a message over SIZE fails permanently with 5.3.4', () => {
  const failure = smtpFailure('too-large', 'mail-from', 'big', { enhanced: '5.3.4' });
  assert.equal(failureSeverity(failure), 'permanent');
  assert.equal(failureEnhancedCode(failure), '5.3.4');
});

test('network and TLS failures are temporary and map to the strategy last_error vocabulary', () => {
  assert.equal(failureSeverity(smtpFailure('timeout', 'data', 'slow')), 'temporary');
  assert.equal(failureLastError(smtpFailure('connect', 'connect', 'refused')), 'connection');
  assert.equal(failureLastError(smtpFailure('injection', 'starttls', 'bytes')), 'tls');
  assert.equal(failureLastError(smtpFailure('reply', 'ehlo', 'no')), 'unexpected-reply');
  assert.equal(failureEnhancedCode(smtpFailure('timeout', 'greeting', 'slow')), '4.4.2');
});

test('optional fields are omitted, not set to undefined (exactOptionalPropertyTypes)', () => {
  assert.deepEqual(Object.keys(smtpFailure('closed', 'quit', 'gone', { errno: undefined })), ['kind', 'phase', 'message']);
});

test('Stalwart defaults: 5 minutes per command, 10 minutes for DATA; QUIT is capped', () => {
  assert.equal(DEFAULT_SMTP_TIMEOUTS.connect, 300_000);
  assert.equal(DEFAULT_SMTP_TIMEOUTS['rcpt-to'], 300_000);
  assert.equal(DEFAULT_SMTP_TIMEOUTS.data, 600_000);
  assert.equal(timeoutFor(DEFAULT_SMTP_TIMEOUTS, 'starttls'), 300_000);
  assert.equal(timeoutFor(DEFAULT_SMTP_TIMEOUTS, 'quit'), 10_000);
});
