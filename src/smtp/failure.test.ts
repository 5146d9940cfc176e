/** The SMTP failure value and the phase timeouts; how a failure is classified is `policy/failure.test.ts`. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { smtpFailure } from './failure.js';
import { DEFAULT_SMTP_TIMEOUTS, timeoutFor } from './timeouts.js';

test('optional fields are omitted, not set to undefined (exactOptionalPropertyTypes)', () => {
  assert.deepEqual(Object.keys(smtpFailure('closed', 'quit', 'gone', { errno: undefined })), [
    'kind',
    'phase',
    'message',
  ]);
});

test('Stalwart defaults: 5 minutes per command, 10 minutes for DATA; QUIT is capped', () => {
  assert.equal(DEFAULT_SMTP_TIMEOUTS.connect, 300_000);
  assert.equal(DEFAULT_SMTP_TIMEOUTS['rcpt-to'], 300_000);
  assert.equal(DEFAULT_SMTP_TIMEOUTS.data, 600_000);
  assert.equal(timeoutFor(DEFAULT_SMTP_TIMEOUTS, 'starttls'), 300_000);
  assert.equal(timeoutFor(DEFAULT_SMTP_TIMEOUTS, 'quit'), 10_000);
});
