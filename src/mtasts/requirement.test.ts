/**
 * The `mta-sts` strategy setting applied to every kind of discovery result (a golden table), then MX
 * authorization and handshake judgement under enforce and testing policies.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Mode } from '../core/outcome.js';
import { parsePolicy } from './parse-policy.js';
import type { MtaStsLookup } from './resolve.js';
import { classify, severityOf, tlsRptOf } from '../policy/failure.js';
import { authorizeMx, judgeMtaSts, planMtaSts, type MtaStsPlan } from './requirement.js';

function policyLookup(mode: 'enforce' | 'testing' | 'none'): MtaStsLookup {
  const text =
    mode === 'none'
      ? 'version: STSv1\nmode: none\nmax_age: 86400\n'
      : `version: STSv1\nmode: ${mode}\nmx: mail.example.com\nmx: *.example.net\nmax_age: 86400\n`;
  const parsed = parsePolicy(text);
  assert.ok(parsed.ok);
  return {
    kind: 'policy',
    domain: 'example.com',
    policy: parsed.policy,
    id: 'id1',
    policyText: text,
    source: 'fetched',
    fetchedAt: 0,
    expiresAt: 86_400_000,
  };
}

const lookups: Readonly<Record<string, MtaStsLookup>> = {
  enforce: policyLookup('enforce'),
  testing: policyLookup('testing'),
  'mode none': policyLookup('none'),
  'no record': { kind: 'none', domain: 'example.com', reason: 'no-record', message: 'no record' },
  'two records': {
    kind: 'none',
    domain: 'example.com',
    reason: 'multiple-records',
    message: 'two',
  },
  'invalid record': {
    kind: 'none',
    domain: 'example.com',
    reason: 'invalid-record',
    message: 'bad',
  },
  'TXT timeout': {
    kind: 'error',
    domain: 'example.com',
    problem: {
      stage: 'dns',
      failure: { kind: 'timeout', name: '_mta-sts.example.com', type: 'TXT', message: 't' },
      message: 'timeout',
    },
  },
  'fetch 404': {
    kind: 'error',
    domain: 'example.com',
    problem: {
      stage: 'fetch',
      id: 'x',
      error: { kind: 'status', status: 404, message: 'HTTP 404' },
      message: 'HTTP 404',
    },
  },
  'bad certificate': {
    kind: 'error',
    domain: 'example.com',
    problem: {
      stage: 'fetch',
      id: 'x',
      error: { kind: 'tls', reason: 'untrusted', message: 'self-signed' },
      message: 'self-signed',
    },
  },
};

/** Expected plan per (mode, lookup): plan kind, or `failed/<severity>/<reason>`. */
const golden: readonly [Mode, string, string][] = [
  ['disable', 'enforce', 'disabled'],
  ['disable', 'no record', 'disabled'],
  ['optional', 'enforce', 'enforce'],
  ['optional', 'testing', 'testing'],
  ['optional', 'mode none', 'none'],
  ['optional', 'no record', 'none'],
  ['optional', 'two records', 'none'],
  ['optional', 'invalid record', 'none'],
  ['optional', 'TXT timeout', 'none'],
  ['optional', 'fetch 404', 'none'],
  ['optional', 'bad certificate', 'none'],
  ['require', 'enforce', 'enforce'],
  ['require', 'testing', 'failed/permanent/mode-testing'],
  ['require', 'mode none', 'failed/permanent/mode-none'],
  ['require', 'no record', 'failed/permanent/no-record'],
  ['require', 'two records', 'failed/temporary/multiple-records'],
  ['require', 'invalid record', 'failed/temporary/invalid-record'],
  ['require', 'TXT timeout', 'failed/temporary/txt-lookup-failed'],
  ['require', 'fetch 404', 'failed/temporary/fetch-failed'],
  ['require', 'bad certificate', 'failed/temporary/fetch-failed'],
];

function summary(plan: MtaStsPlan): string {
  return plan.kind === 'failed'
    ? `failed/${classify(plan.failure).severity}/${plan.failure.reason}`
    : plan.kind;
}

describe('RFC 8461 5.1: the mta-sts strategy setting (golden table)', () => {
  for (const [mode, lookup, expected] of golden) {
    test(`RFC 8461 5.1: mta-sts = ${mode} with ${lookup} gives ${expected}`, () => {
      const plan = planMtaSts(mode, lookups[lookup]);
      assert.equal(summary(plan), expected);
      if (plan.kind === 'failed') assert.equal(classify(plan.failure).lastError, 'mta-sts');
    });
  }

  test('RFC 8461 5.1: disable means no lookup at all', () => {
    assert.deepEqual(planMtaSts('disable', undefined), { kind: 'disabled' });
  });

  test('asking for a plan without a lookup is a caller bug', () => {
    assert.throws(() => planMtaSts('optional', undefined), /needs an MTA-STS lookup/);
  });

  test('RFC 8460 4.4: an applied policy reports type sts, the policy text and the mx patterns', () => {
    const plan = planMtaSts('optional', lookups.enforce);
    assert.ok(plan.kind === 'enforce');
    assert.deepEqual(plan.report, {
      policyType: 'sts',
      policyDomain: 'example.com',
      policyText: (lookups.enforce as { policyText: string }).policyText,
      mxPatterns: ['mail.example.com', '*.example.net'],
    });
  });

  test('RFC 8460 4.3.2: a failed policy fetch is reported with its result type even when optional', () => {
    const plan = planMtaSts('optional', lookups['bad certificate']);
    assert.ok(plan.kind === 'none');
    assert.equal(
      plan.report.failure === undefined ? undefined : tlsRptOf(plan.report.failure),
      'sts-webpki-invalid',
    );
    const required = planMtaSts('require', lookups['fetch 404']);
    assert.equal(
      required.kind === 'failed' && tlsRptOf(required.failure),
      'sts-policy-fetch-error',
    );
  });

  test('RFC 8461 5: every enforce-time failure is temporary', () => {
    for (const reason of ['mx-not-in-policy', 'starttls-not-supported', 'certificate'] as const) {
      assert.equal(severityOf(reason), 'temporary');
    }
  });
});

describe('RFC 8461 4.1 and 5: MX authorization and handshake judgement', () => {
  const enforce = planMtaSts('optional', lookups.enforce);
  const testing = planMtaSts('optional', lookups.testing);
  const none = planMtaSts('optional', lookups['no record']);
  const failed = planMtaSts('require', lookups['no record']);

  test('RFC 8461 4.1: an MX matching a pattern is allowed and the pattern is named', () => {
    assert.deepEqual(authorizeMx(enforce, 'mx1.example.net.'), {
      kind: 'ok',
      pattern: '*.example.net',
    });
  });

  test('RFC 8461 5: under enforce, an MX matching no pattern is refused (validation-failure, temporary)', () => {
    const judgement = authorizeMx(enforce, 'evil.example.org');
    assert.ok(judgement.kind === 'failed');
    assert.deepEqual(
      [tlsRptOf(judgement.failure), classify(judgement.failure).severity, judgement.failure.reason],
      ['validation-failure', 'temporary', 'mx-not-in-policy'],
    );
  });

  test('RFC 8461 5: under testing, an MX matching no pattern is only reported', () => {
    const judgement = authorizeMx(testing, 'evil.example.org');
    assert.equal(judgement.kind, 'report-only');
    assert.equal(
      judgement.kind === 'report-only' && tlsRptOf(judgement.failure),
      'validation-failure',
    );
  });

  test('RFC 8461 5.1: without a policy any MX is allowed; a failed requirement allows none', () => {
    assert.equal(authorizeMx(none, 'anything.example').kind, 'ok');
    assert.equal(authorizeMx({ kind: 'disabled' }, 'anything.example').kind, 'ok');
    assert.equal(authorizeMx(failed, 'mail.example.com').kind, 'failed');
  });

  const handshakes = [
    ['no STARTTLS', 'no-starttls', 'starttls-not-supported'],
    [
      'an expired certificate',
      { pkix: { valid: false, reason: 'expired', message: 'expired' } },
      'certificate-expired',
    ],
    [
      'a host name mismatch',
      { pkix: { valid: false, reason: 'hostname-mismatch', message: 'name' } },
      'certificate-host-mismatch',
    ],
    [
      'an untrusted issuer',
      { pkix: { valid: false, reason: 'untrusted-issuer', message: 'ca' } },
      'certificate-not-trusted',
    ],
    [
      'a self-signed certificate',
      { pkix: { valid: false, reason: 'self-signed', message: 'self' } },
      'certificate-not-trusted',
    ],
    [
      'a not-yet-valid certificate',
      { pkix: { valid: false, reason: 'not-yet-valid', message: 'future' } },
      'validation-failure',
    ],
    [
      'another PKIX failure',
      { pkix: { valid: false, reason: 'other', message: 'other' } },
      'validation-failure',
    ],
  ] as const;
  for (const [what, handshake, result] of handshakes) {
    test(`RFC 8461 4.2: under enforce, ${what} fails with ${result}`, () => {
      const judgement = judgeMtaSts('enforce', handshake);
      assert.ok(judgement.kind === 'failed');
      assert.equal(tlsRptOf(judgement.failure), result);
      assert.equal(classify(judgement.failure).severity, 'temporary');
    });
    test(`RFC 8461 5: under testing, ${what} is reported as ${result} but does not fail`, () => {
      const judgement = judgeMtaSts('testing', handshake);
      assert.equal(judgement.kind, 'report-only');
      assert.equal(judgement.kind === 'report-only' && tlsRptOf(judgement.failure), result);
    });
  }

  test('RFC 8461 4.2: a valid certificate passes under enforce and testing', () => {
    assert.deepEqual(judgeMtaSts('enforce', { pkix: { valid: true } }), { kind: 'ok' });
    assert.deepEqual(judgeMtaSts('testing', { pkix: { valid: true } }), { kind: 'ok' });
  });
});
