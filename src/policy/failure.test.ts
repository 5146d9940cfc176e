/**
 * The classification table of `classify`, as a table: every FailureCause kind (and the variants that
 * change the answer) with the severity, `last_error` class, RFC 3463 status and TLS-RPT result type
 * (RFC 8460 section 4.3) it must get. A row per case so a changed classification names itself.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { LastError, Severity, TlsRptResult } from '../core/outcome.js';
import type { DnsFailure } from '../dns/types.js';
import type { MtaStsFailure } from '../mtasts/requirement.js';
import { smtpFailure } from '../smtp/failure.js';
import { makeReply } from '../smtp/protocol/reply.js';
import { classify } from './failure.js';
import type { FailureCause } from './failure.js';

const dnsFailure: DnsFailure = { kind: 'timeout', name: 'example.test', type: 'MX', message: 'no answer' };

function sts(reason: MtaStsFailure['reason'], severity: Severity, result?: TlsRptResult): FailureCause {
  return { kind: 'mta-sts', failure: { reason, severity, lastError: 'mta-sts', message: reason, ...(result === undefined ? {} : { result }) } };
}

function pkix(reason: 'expired' | 'not-yet-valid' | 'hostname-mismatch' | 'untrusted-issuer' | 'self-signed' | 'other'): FailureCause {
  return { kind: 'certificate', pkix: { valid: false, reason, message: reason } };
}

type Expected = readonly [Severity, LastError, string, TlsRptResult | undefined];

/** [rule, cause, severity, last_error, RFC 3463 status, TLS-RPT result]. */
const TABLE: readonly (readonly [string, FailureCause, ...Expected])[] = [
  ['RFC 5321 5.1: MX lookup failure is a temporary DNS failure (4.4.3)', { kind: 'route-dns', failure: dnsFailure }, 'temporary', 'dns', '4.4.3', undefined],
  ['RFC 7505 4.2: null MX is permanent 5.1.10', { kind: 'null-mx', domain: 'example.test' }, 'permanent', 'dns', '5.1.10', undefined],
  ['RFC 3463 3.2: a non-existent domain is permanent 5.1.2', { kind: 'nxdomain', domain: 'example.test' }, 'permanent', 'dns', '5.1.2', undefined],
  ['RFC 5321 5.1: an MX host without addresses is temporary 4.4.3', { kind: 'no-address', host: 'mx.example.test' }, 'temporary', 'dns', '4.4.3', undefined],
  ['RFC 5321 5.1: a failed address lookup is temporary 4.4.3', { kind: 'no-address', host: 'mx.example.test', failure: dnsFailure }, 'temporary', 'dns', '4.4.3', undefined],
  ['RFC 7672 2.2: DNSSEC-bogus TLSA is temporary 4.7.5, dnssec-invalid', { kind: 'dane', severity: 'temporary', lastError: 'dane', tlsRpt: 'dnssec-invalid', message: 'bogus' }, 'temporary', 'dane', '4.7.5', 'dnssec-invalid'],
  ['RFC 7672 2.2: a failed TLSA lookup is a temporary DNS failure 4.4.3', { kind: 'dane', severity: 'temporary', lastError: 'dns', tlsRpt: 'dnssec-invalid', message: 'servfail' }, 'temporary', 'dns', '4.4.3', 'dnssec-invalid'],
  ['RFC 7672 2.2: dane = "require" without DANE is permanent 5.7.5, dane-required', { kind: 'dane', severity: 'permanent', lastError: 'dane', tlsRpt: 'dane-required', message: 'no TLSA' }, 'permanent', 'dane', '5.7.5', 'dane-required'],
  ['RFC 7672 2.2: dane = "require" with only unusable records is permanent 5.7.5, tlsa-invalid', { kind: 'dane', severity: 'permanent', lastError: 'dane', tlsRpt: 'tlsa-invalid', message: 'unusable' }, 'permanent', 'dane', '5.7.5', 'tlsa-invalid'],
  ['RFC 7672 3.1: a TLSA mismatch is temporary 4.7.5, validation-failure', { kind: 'dane', severity: 'temporary', lastError: 'dane', tlsRpt: 'validation-failure', message: 'no match' }, 'temporary', 'dane', '4.7.5', 'validation-failure'],
  ['RFC 7672 2.2: a DANE host without STARTTLS is required TLS not offered, 4.7.4', { kind: 'dane', severity: 'temporary', lastError: 'tls', tlsRpt: 'starttls-not-supported', message: 'no STARTTLS' }, 'temporary', 'tls', '4.7.4', 'starttls-not-supported'],
  ['RFC 8461 5: MTA-STS discovery failure under require is temporary 4.7.5', sts('fetch-failed', 'temporary', 'sts-policy-fetch-error'), 'temporary', 'mta-sts', '4.7.5', 'sts-policy-fetch-error'],
  ['RFC 8461 5: no MTA-STS record under require is permanent 5.7.5, no TLS-RPT result', sts('no-record', 'permanent'), 'permanent', 'mta-sts', '5.7.5', undefined],
  ['RFC 8461 4.1: an MX not in the enforce policy is temporary 4.7.5', sts('mx-not-in-policy', 'temporary', 'validation-failure'), 'temporary', 'mta-sts', '4.7.5', 'validation-failure'],
  ['RFC 8461 5: no STARTTLS under enforce is 4.7.4, starttls-not-supported', sts('starttls-not-supported', 'temporary', 'starttls-not-supported'), 'temporary', 'mta-sts', '4.7.4', 'starttls-not-supported'],
  ['RFC 8461 4.2: an invalid certificate under enforce is 4.7.5', sts('certificate', 'temporary', 'certificate-expired'), 'temporary', 'mta-sts', '4.7.5', 'certificate-expired'],
  ['RFC 3207 4: required TLS not offered is 4.7.4, starttls-not-supported', { kind: 'starttls-not-offered', host: 'mx.example.test' }, 'temporary', 'tls', '4.7.4', 'starttls-not-supported'],
  ['RFC 3207 4.1: a failed handshake is temporary 4.7.5', { kind: 'tls-handshake', failure: { kind: 'protocol-version', message: 'no common version' } }, 'temporary', 'tls', '4.7.5', 'validation-failure'],
  ['RFC 8460 4.3: an expired certificate is certificate-expired', pkix('expired'), 'temporary', 'tls', '4.7.5', 'certificate-expired'],
  ['RFC 8460 4.3: a name mismatch is certificate-host-mismatch', pkix('hostname-mismatch'), 'temporary', 'tls', '4.7.5', 'certificate-host-mismatch'],
  ['RFC 8460 4.3: an untrusted issuer is certificate-not-trusted', pkix('untrusted-issuer'), 'temporary', 'tls', '4.7.5', 'certificate-not-trusted'],
  ['RFC 8460 4.3: a self-signed certificate is certificate-not-trusted', pkix('self-signed'), 'temporary', 'tls', '4.7.5', 'certificate-not-trusted'],
  ['RFC 8460 4.3: a not-yet-valid certificate is validation-failure', pkix('not-yet-valid'), 'temporary', 'tls', '4.7.5', 'validation-failure'],
  ['RFC 8460 4.3: any other certificate problem is validation-failure', pkix('other'), 'temporary', 'tls', '4.7.5', 'validation-failure'],
  ['RFC 5321 4.2.1: a 4xx reply is temporary with its enhanced code', { kind: 'smtp', failure: smtpFailure('reply', 'rcpt-to', 'busy', { reply: makeReply(451, ['4.3.0 try later']) }) }, 'temporary', 'unexpected-reply', '4.3.0', undefined],
  ['RFC 5321 4.2.1: a 5xx reply is permanent with its enhanced code', { kind: 'smtp', failure: smtpFailure('reply', 'rcpt-to', 'no such user', { reply: makeReply(550, ['5.1.1 no such user']) }) }, 'permanent', 'unexpected-reply', '5.1.1', undefined],
  ['RFC 5321 4.5.3.2: a connect failure is temporary 4.4.1, last_error connection', { kind: 'smtp', failure: smtpFailure('connect', 'connect', 'refused', { errno: 'ECONNREFUSED' }) }, 'temporary', 'connection', '4.4.1', undefined],
  ['RFC 5321 4.5.3.2: a timeout is temporary 4.4.2, last_error io', { kind: 'smtp', failure: smtpFailure('timeout', 'data', 'timed out') }, 'temporary', 'io', '4.4.2', undefined],
  ['RFC 3207 5: bytes injected after STARTTLS 220 are a TLS failure', { kind: 'smtp', failure: smtpFailure('injection', 'starttls', 'pipelined plaintext') }, 'temporary', 'tls', '4.7.0', 'validation-failure'],
  ['RFC 1870 6: a message over SIZE is permanent 5.3.4', { kind: 'smtp', failure: smtpFailure('too-large', 'mail-from', 'too big') }, 'permanent', 'unexpected-reply', '5.3.4', undefined],
  ['RFC 3463 3.1: a local problem is temporary 4.3.5, last_error io', { kind: 'local', message: 'trust store unreadable' }, 'temporary', 'io', '4.3.5', undefined],
];

describe('classify: the one failure classification table', () => {
  for (const [name, cause, severity, lastError, status, tlsRpt] of TABLE) {
    test(name, () => {
      const got = classify(cause);
      assert.deepEqual([got.cause, got.severity, got.lastError, got.status, got.tlsRpt], [cause.kind, severity, lastError, status, tlsRpt]);
      assert.ok(got.message.length > 0);
      // RFC 3463 2: the class digit must agree with the severity.
      assert.equal(got.status[0], severity === 'permanent' ? '5' : '4');
    });
  }

  test('every FailureCause kind has at least one row', () => {
    const kinds: Record<FailureCause['kind'], true> = {
      'route-dns': true, 'null-mx': true, nxdomain: true, 'no-address': true, dane: true, 'mta-sts': true,
      'starttls-not-offered': true, 'tls-handshake': true, certificate: true, smtp: true, local: true,
    };
    assert.deepEqual(new Set(TABLE.map((row) => row[1].kind)), new Set(Object.keys(kinds)));
  });

  test('RFC 5321 4.2: the remote reply is kept for DSNs', () => {
    const reply = makeReply(550, ['5.1.1 no such user']);
    assert.deepEqual(classify({ kind: 'smtp', failure: smtpFailure('reply', 'rcpt-to', 'x', { reply }) }).reply, reply);
  });
});
