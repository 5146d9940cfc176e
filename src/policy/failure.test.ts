/**
 * The classification table of `classify`, as a table: every FailureCause kind (and the variants that
 * change the answer) with the severity, `last_error` class, RFC 3463 status and TLS-RPT result type
 * (RFC 8460 section 4.3) it must get. A row per case so a changed classification names itself.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import type { LastError, Severity, TlsRptResult } from '../core/outcome.js';
import type { DnsFailure } from '../dns/types.js';
import { explainFailure } from '../dsn/explain.js';
import { smtpFailure } from '../smtp/failure.js';
import { makeReply } from '../smtp/protocol/reply.js';
import { fixture } from '../../test/support/paths.js';
import {
  CERTIFICATE_RESULTS,
  POLICY_FETCH_RESULTS,
  ROWS,
  classify,
  handshakeCause,
  noAddressCause,
  pkixCause,
  smtpCause,
} from './failure.js';
import type { FailureCause, FailureReason, Row } from './failure.js';

const dnsFailure: DnsFailure = {
  kind: 'timeout',
  name: 'example.test',
  type: 'MX',
  message: 'no answer',
};

function pkix(
  reason:
    | 'expired'
    | 'not-yet-valid'
    | 'hostname-mismatch'
    | 'untrusted-issuer'
    | 'self-signed'
    | 'other',
): FailureCause {
  return pkixCause({ valid: false, reason, message: reason });
}

type Expected = readonly [Severity, LastError, string, TlsRptResult | undefined];

/** [rule, cause, severity, last_error, RFC 3463 status, TLS-RPT result]. */
const TABLE: readonly (readonly [string, FailureCause, ...Expected])[] = [
  [
    'RFC 5321 5.1: MX lookup failure is a temporary DNS failure (4.4.3)',
    { reason: 'mx-lookup-failed', message: `MX lookup failed: ${dnsFailure.kind}` },
    'temporary',
    'dns',
    '4.4.3',
    undefined,
  ],
  [
    'RFC 7505 4.2: null MX is permanent 5.1.10',
    { reason: 'null-mx', message: 'example.test accepts no mail' },
    'permanent',
    'dns',
    '5.1.10',
    undefined,
  ],
  [
    'RFC 3463 3.2: a non-existent domain is permanent 5.1.2',
    { reason: 'nxdomain', message: 'the domain example.test does not exist' },
    'permanent',
    'dns',
    '5.1.2',
    undefined,
  ],
  [
    'RFC 5321 5.1: an MX host without addresses is temporary 4.4.3',
    noAddressCause('mx.example.test'),
    'temporary',
    'dns',
    '4.4.3',
    undefined,
  ],
  [
    'RFC 5321 5.1: a failed address lookup is temporary 4.4.3',
    noAddressCause('mx.example.test', dnsFailure),
    'temporary',
    'dns',
    '4.4.3',
    undefined,
  ],
  [
    'RFC 7672 2.2: DNSSEC-bogus TLSA is temporary 4.7.5, dnssec-invalid',
    { reason: 'tlsa-bogus', message: 'bogus' },
    'temporary',
    'dane',
    '4.7.5',
    'dnssec-invalid',
  ],
  [
    'RFC 7672 2.2: a failed TLSA lookup is a temporary DNS failure 4.4.3',
    { reason: 'tlsa-lookup-failed', message: 'servfail' },
    'temporary',
    'dns',
    '4.4.3',
    'dnssec-invalid',
  ],
  [
    'RFC 7672 2.2: dane = "require" without DANE is permanent 5.7.5, dane-required',
    { reason: 'dane-required', message: 'no TLSA' },
    'permanent',
    'dane',
    '5.7.5',
    'dane-required',
  ],
  [
    'RFC 7672 2.2: dane = "require" with only unusable records is permanent 5.7.5, tlsa-invalid',
    { reason: 'tlsa-unusable-required', message: 'unusable' },
    'permanent',
    'dane',
    '5.7.5',
    'tlsa-invalid',
  ],
  [
    'RFC 7672 3.1: a TLSA mismatch is temporary 4.7.5, validation-failure',
    { reason: 'dane-mismatch', message: 'no match' },
    'temporary',
    'dane',
    '4.7.5',
    'validation-failure',
  ],
  [
    'RFC 7672 2.2: a DANE host without STARTTLS is required TLS not offered, 4.7.4',
    { reason: 'dane-no-starttls', message: 'no STARTTLS' },
    'temporary',
    'tls',
    '4.7.4',
    'starttls-not-supported',
  ],
  [
    'RFC 8461 5: MTA-STS discovery failure under require is temporary 4.7.5',
    { reason: 'fetch-failed', message: 'HTTP 404', policyFetch: 'status' },
    'temporary',
    'mta-sts',
    '4.7.5',
    'sts-policy-fetch-error',
  ],
  [
    'RFC 8461 5: no MTA-STS record under require is permanent 5.7.5, no TLS-RPT result',
    { reason: 'no-record', message: 'no record' },
    'permanent',
    'mta-sts',
    '5.7.5',
    undefined,
  ],
  [
    'RFC 8461 4.1: an MX not in the enforce policy is temporary 4.7.5',
    { reason: 'mx-not-in-policy', message: 'not listed' },
    'temporary',
    'mta-sts',
    '4.7.5',
    'validation-failure',
  ],
  [
    'RFC 8461 5: no STARTTLS under enforce is 4.7.4, starttls-not-supported',
    { reason: 'starttls-not-supported', message: 'no STARTTLS' },
    'temporary',
    'mta-sts',
    '4.7.4',
    'starttls-not-supported',
  ],
  [
    'RFC 8461 4.2: an invalid certificate under enforce is 4.7.5',
    { reason: 'certificate', message: 'expired', certificate: 'expired' },
    'temporary',
    'mta-sts',
    '4.7.5',
    'certificate-expired',
  ],
  [
    'RFC 3207 4: required TLS not offered is 4.7.4, starttls-not-supported',
    {
      reason: 'starttls-not-offered',
      message: 'TLS is required but mx.example.test does not offer STARTTLS',
    },
    'temporary',
    'tls',
    '4.7.4',
    'starttls-not-supported',
  ],
  [
    'RFC 3207 4.1: a failed handshake is temporary 4.7.5',
    handshakeCause({ kind: 'protocol-version', message: 'no common version' }),
    'temporary',
    'tls',
    '4.7.5',
    'validation-failure',
  ],
  [
    'RFC 8460 4.3: an expired certificate is certificate-expired',
    pkix('expired'),
    'temporary',
    'tls',
    '4.7.5',
    'certificate-expired',
  ],
  [
    'RFC 8460 4.3: a name mismatch is certificate-host-mismatch',
    pkix('hostname-mismatch'),
    'temporary',
    'tls',
    '4.7.5',
    'certificate-host-mismatch',
  ],
  [
    'RFC 8460 4.3: an untrusted issuer is certificate-not-trusted',
    pkix('untrusted-issuer'),
    'temporary',
    'tls',
    '4.7.5',
    'certificate-not-trusted',
  ],
  [
    'RFC 8460 4.3: a self-signed certificate is certificate-not-trusted',
    pkix('self-signed'),
    'temporary',
    'tls',
    '4.7.5',
    'certificate-not-trusted',
  ],
  [
    'RFC 8460 4.3: a not-yet-valid certificate is validation-failure',
    pkix('not-yet-valid'),
    'temporary',
    'tls',
    '4.7.5',
    'validation-failure',
  ],
  [
    'RFC 8460 4.3: any other certificate problem is validation-failure',
    pkix('other'),
    'temporary',
    'tls',
    '4.7.5',
    'validation-failure',
  ],
  [
    'RFC 5321 4.2.1: a 4xx reply is temporary with its enhanced code',
    smtpCause(
      smtpFailure('reply', 'rcpt-to', 'busy', { reply: makeReply(451, ['4.3.0 try later']) }),
    ),
    'temporary',
    'unexpected-reply',
    '4.3.0',
    undefined,
  ],
  [
    'RFC 5321 4.2.1: a 5xx reply is permanent with its enhanced code',
    smtpCause(
      smtpFailure('reply', 'rcpt-to', 'no such user', {
        reply: makeReply(550, ['5.1.1 no such user']),
      }),
    ),
    'permanent',
    'unexpected-reply',
    '5.1.1',
    undefined,
  ],
  [
    'RFC 5321 4.5.3.2: a connect failure is temporary 4.4.1, last_error connection',
    smtpCause(smtpFailure('connect', 'connect', 'refused', { errno: 'ECONNREFUSED' })),
    'temporary',
    'connection',
    '4.4.1',
    undefined,
  ],
  [
    'RFC 5321 4.5.3.2: a timeout is temporary 4.4.2, last_error io',
    smtpCause(smtpFailure('timeout', 'data', 'timed out')),
    'temporary',
    'io',
    '4.4.2',
    undefined,
  ],
  [
    'RFC 3207 5: bytes injected after STARTTLS 220 are a TLS failure',
    smtpCause(smtpFailure('injection', 'starttls', 'pipelined plaintext')),
    'temporary',
    'tls',
    '4.7.0',
    'validation-failure',
  ],
  [
    'RFC 1870 6: a message over SIZE is permanent 5.3.4',
    smtpCause(smtpFailure('too-large', 'mail-from', 'too big')),
    'permanent',
    'unexpected-reply',
    '5.3.4',
    undefined,
  ],
  [
    'RFC 3463 3.1: a local problem is temporary 4.3.5, last_error io',
    { reason: 'local', message: 'trust store unreadable' },
    'temporary',
    'io',
    '4.3.5',
    undefined,
  ],
];

describe('classify: the one failure classification table', () => {
  for (const [name, cause, severity, lastError, status, tlsRpt] of TABLE) {
    test(name, () => {
      const got = classify(cause);
      assert.deepEqual(
        [got.cause, got.severity, got.lastError, got.status, got.tlsRpt],
        [cause.reason, severity, lastError, status, tlsRpt],
      );
      assert.ok(got.message.length > 0);
      // RFC 3463 2: the class digit must agree with the severity.
      assert.equal(got.status[0], severity === 'permanent' ? '5' : '4');
    });
  }

  // Moved here from the SMTP client's own table, with their expectations unchanged.
  test('RFC 5321 4.2.1: a reply failure is as temporary or permanent as its reply', () => {
    assert.equal(
      classify(
        smtpCause(smtpFailure('reply', 'rcpt-to', 'x', { reply: makeReply(550, ['5.1.1 no']) })),
      ).severity,
      'permanent',
    );
    assert.equal(
      classify(
        smtpCause(smtpFailure('reply', 'rcpt-to', 'x', { reply: makeReply(451, ['later']) })),
      ).severity,
      'temporary',
    );
    assert.equal(
      classify(
        smtpCause(smtpFailure('reply', 'rcpt-to', 'x', { reply: makeReply(550, ['5.1.1 no']) })),
      ).status,
      '5.1.1',
    );
  });

  test('network and TLS failures are temporary and map to the strategy last_error vocabulary', () => {
    assert.equal(classify(smtpCause(smtpFailure('timeout', 'data', 'slow'))).severity, 'temporary');
    assert.equal(
      classify(smtpCause(smtpFailure('connect', 'connect', 'refused'))).lastError,
      'connection',
    );
    assert.equal(
      classify(smtpCause(smtpFailure('injection', 'starttls', 'bytes'))).lastError,
      'tls',
    );
    assert.equal(
      classify(smtpCause(smtpFailure('reply', 'ehlo', 'no'))).lastError,
      'unexpected-reply',
    );
    assert.equal(classify(smtpCause(smtpFailure('timeout', 'greeting', 'slow'))).status, '4.4.2');
  });

  test("Stalwart's tls class: a refused or broken STARTTLS is a TLS failure whatever the reply said", () => {
    const refused = classify(
      smtpCause(
        smtpFailure('reply', 'starttls', 'no', {
          reply: makeReply(454, ['4.7.0 TLS not available']),
        }),
      ),
    );
    assert.deepEqual(
      [refused.lastError, refused.severity, refused.status],
      ['tls', 'temporary', '4.7.0'],
    );
    assert.equal(classify(smtpCause(smtpFailure('timeout', 'starttls', 'slow'))).lastError, 'tls');
  });

  test('RFC 6531 3.4 / RFC 6152: a missing SMTPUTF8 is 5.6.7, a missing 8BITMIME 5.6.3', () => {
    assert.equal(
      classify(smtpCause(smtpFailure('smtputf8-unsupported', 'mail-from', 'x'))).status,
      '5.6.7',
    );
    assert.equal(
      classify(smtpCause(smtpFailure('8bitmime-unsupported', 'mail-from', 'x'))).status,
      '5.6.3',
    );
    assert.equal(
      classify(smtpCause(smtpFailure('invalid-address', 'mail-from', 'x'))).status,
      '5.1.3',
    );
  });

  test('RFC 5321 4.2: the remote reply is kept for DSNs', () => {
    const reply = makeReply(550, ['5.1.1 no such user']);
    assert.deepEqual(
      classify(smtpCause(smtpFailure('reply', 'rcpt-to', 'x', { reply }))).reply,
      reply,
    );
  });
});

// From the repository, whether the test runs from src/ or from dist/.
const GOLDEN = fixture('golden', 'failures.txt');

/** One line per reason (and per sub-table entry): the row and the DSN sentence it produces. */
function goldenLines(): string[] {
  const lines: string[] = [];
  const dsn = (row: Row, status: string): string =>
    explainFailure({
      lastError: row.lastError,
      code: status,
      message: 'DETAIL',
      mx: 'mx.example.test',
      domain: 'example.test',
    });
  for (const [reason, row] of Object.entries(ROWS) as [FailureReason, Row][]) {
    const replies =
      row.status === 'by-reply'
        ? [
            ['4', '451 4.3.0'],
            ['5', '550 5.1.1'],
          ]
        : [[row.status[0] ?? '', row.status]];
    for (const [klass, status] of replies) {
      const code = status?.split(' ').at(-1) ?? '';
      const severity =
        row.severity === 'by-reply' ? (klass === '5' ? 'permanent' : 'temporary') : row.severity;
      const sub =
        row.tlsRpt === 'by-certificate'
          ? Object.entries(CERTIFICATE_RESULTS)
              .map(([k, v]) => `${k}:${v}`)
              .join(',')
          : row.tlsRpt === 'by-policy-fetch'
            ? Object.entries(POLICY_FETCH_RESULTS)
                .map(([k, v]) => `${k}:${v}`)
                .join(',')
            : (row.tlsRpt ?? '-');
      const via = row.status === 'by-reply' ? ` (reply ${status ?? ''})` : '';
      lines.push(
        `${reason}${via} | ${severity} | ${row.lastError} | ${code} | ${sub} | ${dsn(row, code)}`,
      );
    }
  }
  return lines;
}

describe('the golden failure table', () => {
  test('every reason matches test/fixtures/golden/failures.txt (severity, last_error, status, TLS-RPT type, DSN text)', () => {
    const text = `${goldenLines().join('\n')}\n`;
    if (process.env['MXSEC_UPDATE_GOLDEN'] === '1') writeFileSync(GOLDEN, text);
    const expected = readFileSync(GOLDEN, 'utf8').split('\n');
    const actual = text.split('\n');
    for (let i = 0; i < Math.max(expected.length, actual.length); i += 1)
      assert.equal(actual[i], expected[i], `row ${i + 1}`);
  });

  test('RFC 3463 2: every fixed status has the class digit of its severity', () => {
    for (const [reason, row] of Object.entries(ROWS) as [FailureReason, Row][]) {
      if (row.status === 'by-reply' || row.severity === 'by-reply') continue;
      assert.equal(row.status[0], row.severity === 'permanent' ? '5' : '4', reason);
    }
  });

  test('RFC 7672 2.2: no DANE or DNSSEC failure is permanent unless dane = "require" asked for DANE', () => {
    const permanent = (
      [
        'mx-bogus',
        'address-bogus',
        'tlsa-bogus',
        'tlsa-lookup-failed',
        'dane-mx-lookup-failed',
        'dane-mismatch',
        'dane-no-starttls',
      ] as const
    ).filter((reason) => ROWS[reason].severity === 'permanent');
    assert.deepEqual(permanent, []);
  });
});
