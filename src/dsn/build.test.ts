import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { buildDsn } from './build.js';
import type { DsnInput, DsnRecipient } from './build.js';
import { explainFailure } from './explain.js';
import { headerSection, rfc5322Date } from './mime.js';

const T0 = Date.UTC(2025, 5, 1, 12);
const ORIGINAL = new TextEncoder().encode('From: a@s.test\r\nSubject: hi\r\n\r\nsecret body\r\n');

function input(recipients: DsnRecipient[], ret: 'full' | 'hdrs' | null = null): DsnInput {
  return {
    reportingMta: 'mx.relay.test',
    now: T0,
    unique: 'u1',
    to: 'a@s.test',
    original: { id: 'Q1', arrivalAt: T0 - 1000, envId: null, ret, body: ORIGINAL },
    recipients,
  };
}

const failed: DsnRecipient = {
  address: 'b@d.test',
  orcpt: 'rfc822;B+2Bx@d.test',
  action: 'failed',
  lastError: 'dane',
  code: '4.7.5',
  message: 'TLSA mismatch',
  mx: 'mx.d.test',
  domain: 'd.test',
  lastAttemptAt: T0,
};

describe('DSN builder', () => {
  test('RFC 3464 2.1 / RFC 6522: multipart/report with report-type=delivery-status and three parts', () => {
    const text = Buffer.from(buildDsn(input([failed]))).toString('utf8');
    assert.match(
      text,
      /^Content-Type: multipart\/report; report-type=delivery-status; boundary="mxsec-dsn-u1"\r$/m,
    );
    assert.equal(text.split('--mxsec-dsn-u1\r\n').length - 1, 3);
    assert.ok(text.endsWith('--mxsec-dsn-u1--\r\n'));
    assert.match(text, /^Auto-Submitted: auto-replied\r$/m);
  });

  test('RFC 3464 2.3: per-recipient fields, ORCPT xtext decoded, local reasons as X-mxsec diagnostics', () => {
    const text = Buffer.from(buildDsn(input([failed]))).toString('utf8');
    assert.match(text, /^Original-Recipient: rfc822;B\+x@d\.test\r$/m);
    assert.match(text, /^Final-Recipient: rfc822;b@d\.test\r$/m);
    assert.match(text, /^Action: failed\r$/m);
    assert.match(text, /^Status: 4\.7\.5\r$/m);
    assert.match(text, /^Remote-MTA: dns;mx\.d\.test\r$/m);
    assert.match(text, /^Diagnostic-Code: X-mxsec;TLSA mismatch\r$/m);
    assert.ok(text.includes(`Last-Attempt-Date: ${rfc5322Date(T0)}`));
    assert.match(text, /DANE could not authenticate mx\.d\.test/);
  });

  test('RFC 3464 2.3.6: a server reply is an smtp diagnostic', () => {
    const text = Buffer.from(
      buildDsn(
        input([
          {
            ...failed,
            lastError: 'unexpected-reply',
            code: '5.1.1',
            reply: '550 5.1.1 no such user',
          },
        ]),
      ),
    ).toString('utf8');
    assert.match(text, /^Diagnostic-Code: smtp;550 5\.1\.1 no such user\r$/m);
  });

  test('RFC 3461 4.3: RET=FULL returns the whole message on failure, headers otherwise', () => {
    const full = Buffer.from(buildDsn(input([failed], 'full'))).toString('utf8');
    assert.match(full, /Content-Type: message\/rfc822/);
    assert.match(full, /secret body/);
    const delayed = Buffer.from(
      buildDsn(input([{ ...failed, action: 'delayed', willRetryUntil: T0 + 1000 }], 'full')),
    ).toString('utf8');
    assert.match(delayed, /Content-Type: text\/rfc822-headers/);
    assert.doesNotMatch(delayed, /secret body/);
    assert.ok(delayed.includes(`Will-Retry-Until: ${rfc5322Date(T0 + 1000)}`));
  });

  test('RFC 5322 2.1: the header section ends before the first empty line, bare LF normalised', () => {
    assert.equal(headerSection(new TextEncoder().encode('A: 1\nB: 2\n\nbody')), 'A: 1\r\nB: 2\r\n');
  });

  test('RFC 8461 4.2 / RFC 7672 2.2: the sentence names the failed security requirement', () => {
    const base = { code: '4.7.5', message: 'x', mx: 'mx.d.test', domain: 'd.test' };
    assert.match(
      explainFailure({ ...base, lastError: 'mta-sts' }),
      /^The MTA-STS policy of d\.test requires/,
    );
    assert.match(
      explainFailure({ ...base, lastError: 'tls', code: '4.7.4' }),
      /did not offer STARTTLS/,
    );
    assert.match(
      explainFailure({ ...base, lastError: 'tls' }),
      /certificate check with mx\.d\.test failed/,
    );
  });
});
