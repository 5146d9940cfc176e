import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  classifyBogusProbe,
  classifySecureProbe,
  judgeSelftest,
  nameserverTrust,
  untrustedNameserverWarning,
} from './selftest.js';
import type { SelftestFacts } from './selftest.js';
import type { DnsAnswer, DnsFailure, DnsResult, RecordType } from './types.js';

const LOOPBACK = nameserverTrust(['127.0.0.1:53'], false);
const GOOD: SelftestFacts = {
  nameservers: LOOPBACK,
  trustAd: false,
  secureName: 'isc.org',
  bogusName: 'dnssec-failed.org',
  secure: { kind: 'secure' },
  bogus: { kind: 'bogus' },
};

function answer(ad: boolean, dnssec: 'secure' | 'insecure'): DnsResult<RecordType> {
  const a: DnsAnswer<'A'> = {
    name: 'x.test',
    type: 'A',
    canonicalName: 'x.test',
    cnameChain: [],
    rcode: 'NOERROR',
    ad,
    dnssec,
    records: ['192.0.2.1'],
    ttl: 60,
  };
  return { ok: true, answer: a };
}
function failure(kind: DnsFailure['kind']): DnsResult<RecordType> {
  return { ok: false, failure: { kind, name: 'x.test', type: 'A', message: `${kind} happened` } };
}

describe('AD trust of nameservers', () => {
  test('RFC 7672 2.1.1: loopback nameservers are trusted for AD, others only with trust-ad', () => {
    assert.deepEqual(
      nameserverTrust(['127.0.0.1:53', '[::1]:53', '192.0.2.53:53'], false).map((n) => [
        n.server,
        n.loopback,
        n.trusted,
      ]),
      [
        ['127.0.0.1:53', true, true],
        ['[::1]:53', true, true],
        ['192.0.2.53:53', false, false],
      ],
    );
    assert.equal(nameserverTrust(['192.0.2.53:53'], true)[0]?.trusted, true);
  });

  test('RFC 7672 2.1.1: the start-up warning names only the untrusted nameservers, and none with trust-ad', () => {
    assert.equal(untrustedNameserverWarning(['127.0.0.1:53', '[::1]:53'], false), undefined);
    const warning = untrustedNameserverWarning(
      ['127.0.0.1:53', '192.0.2.53:53', '[2001:db8::1]:53'],
      false,
    );
    assert.match(
      warning ?? '',
      /^DNSSEC answers from 192\.0\.2\.53:53, \[2001:db8::1\]:53 are not trusted; DANE will not be used/,
    );
    assert.equal(untrustedNameserverWarning(['192.0.2.53:53'], true), undefined);
  });
});

describe('probe classification', () => {
  test('RFC 4035 3.2.3: the signed name is secure only with AD from a trusted server', () => {
    assert.deepEqual(classifySecureProbe(answer(true, 'secure')), { kind: 'secure' });
    assert.deepEqual(classifySecureProbe(answer(true, 'insecure')), { kind: 'ad-untrusted' });
    assert.deepEqual(classifySecureProbe(answer(false, 'insecure')), {
      kind: 'no-ad',
      rcode: 'NOERROR',
    });
    assert.equal(classifySecureProbe(failure('timeout')).kind, 'failed');
  });

  test('RFC 4035 3.2.2: the broken name must fail as bogus (SERVFAIL, data with CD)', () => {
    assert.deepEqual(classifyBogusProbe(failure('bogus')), { kind: 'bogus' });
    assert.equal(classifyBogusProbe(failure('servfail')).kind, 'servfail');
    assert.deepEqual(classifyBogusProbe(answer(false, 'insecure')), {
      kind: 'answered',
      ad: false,
      rcode: 'NOERROR',
    });
    for (const kind of ['timeout', 'refused', 'network', 'malformed'] as const)
      assert.equal(classifyBogusProbe(failure(kind)).kind, 'failed');
  });
});

describe('the selftest verdict', () => {
  test('RFC 7672 2.1.1: a trusted validating resolver lets DANE work', () => {
    assert.deepEqual(judgeSelftest(GOOD), { dane: true, reasons: [], warnings: [] });
  });

  test('RFC 7672 2.1.1: a non-loopback nameserver without trust-ad means DANE cannot work, even if it validates', () => {
    const verdict = judgeSelftest({
      ...GOOD,
      nameservers: nameserverTrust(['192.0.2.53:53'], false),
      secure: { kind: 'ad-untrusted' },
    });
    assert.equal(verdict.dane, false);
    assert.deepEqual(verdict.reasons, [
      'the AD bit from 192.0.2.53:53 is not trusted (not loopback and resolver.trust-ad is false), so no answer is ever secure',
    ]);
  });

  test('RFC 7672 2.1.1: the same remote nameserver with trust-ad lets DANE work', () => {
    assert.equal(
      judgeSelftest({
        ...GOOD,
        nameservers: nameserverTrust(['192.0.2.53:53'], true),
        trustAd: true,
      }).dane,
      true,
    );
  });

  test('RFC 4035 3.2.3: no AD on the signed name means the resolver does not validate', () => {
    const verdict = judgeSelftest({ ...GOOD, secure: { kind: 'no-ad', rcode: 'NOERROR' } });
    assert.equal(verdict.dane, false);
    assert.match(
      verdict.reasons[0] ?? '',
      /^isc\.org MX came back without the AD bit: the resolver does not validate DNSSEC/,
    );
  });

  test('RFC 4035 5.5: a resolver that answers the bogus name passes forged data on: DANE cannot work', () => {
    const verdict = judgeSelftest({
      ...GOOD,
      bogus: { kind: 'answered', ad: false, rcode: 'NOERROR' },
    });
    assert.equal(verdict.dane, false);
    assert.match(
      verdict.reasons[0] ?? '',
      /^dnssec-failed\.org A was answered although its signatures are broken on purpose/,
    );
  });

  test('RFC 4035 3.2.2: SERVFAIL also with CD still rejects bogus data: a warning, not a failure', () => {
    const verdict = judgeSelftest({
      ...GOOD,
      bogus: {
        kind: 'servfail',
        failure: { kind: 'servfail', name: 'dnssec-failed.org', type: 'A', message: 'SERVFAIL' },
      },
    });
    assert.equal(verdict.dane, true);
    assert.equal(verdict.warnings.length, 1);
  });

  test('a probe that could not run is a reason, never a pass', () => {
    const timeout: DnsFailure = {
      kind: 'timeout',
      name: 'isc.org',
      type: 'MX',
      message: 'no answer',
    };
    const verdict = judgeSelftest({
      ...GOOD,
      secure: { kind: 'failed', failure: timeout },
      bogus: { kind: 'failed', failure: { ...timeout, name: 'dnssec-failed.org', type: 'A' } },
    });
    assert.equal(verdict.dane, false);
    assert.equal(verdict.reasons.length, 2);
    assert.match(verdict.reasons[0] ?? '', /could not ask isc\.org MX \(timeout: no answer\)/);
    assert.match(verdict.reasons[1] ?? '', /could not ask dnssec-failed\.org A/);
    assert.equal(judgeSelftest({ ...GOOD, nameservers: [] }).dane, false);
  });
});
