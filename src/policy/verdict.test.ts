/**
 * `decideStarttls` and `judgeTls` for each kind of authentication a host plan can demand, with real
 * certificates from the test PKI turned into TlsFacts by `certificateFacts`, and DANE records computed
 * from those certificates. Plans are built by `planHost` from a strategy and policy plans, so the
 * verdicts are checked against the plans delivery really uses. The PKIX verdict is an input here (it
 * comes from OpenSSL during the handshake), set to what OpenSSL reports for each certificate.
 */
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import type { TlsStrategy } from '../config/types.js';
import type { DanePlan } from '../dane/requirement.js';
import type { TlsaRecord } from '../dns/types.js';
import type { MtaStsPlan } from '../mtasts/requirement.js';
import { createSelfSigned, createTestCa } from '../../test/support/pki.js';
import type { TestCa, TestCert } from '../../test/support/pki.js';
import { certificateFacts } from '../tls/certificate.js';
import type { PkixVerdict, TlsFacts } from '../tls/types.js';
import { planHost } from './host-plan.js';
import { decideStarttls, judgeTls } from './verdict.js';
import type { ConnectPlan } from './host-plan.js';
import { tlsRptOf } from './failure.js';

const MX = 'mx.example.test';
const NOW = new Date();
const DAY = 86_400_000;
const sha256 = (data: Uint8Array): Uint8Array =>
  new Uint8Array(createHash('sha256').update(data).digest());

const STS_NONE: MtaStsPlan = {
  kind: 'none',
  reason: 'no-policy',
  message: 'no policy',
  report: { policyType: 'no-policy-found', policyDomain: 'example.test' },
};
const stsPlan = (kind: 'enforce' | 'testing', patterns = [MX]): MtaStsPlan => ({
  kind,
  patterns,
  report: {
    policyType: 'sts',
    policyDomain: 'example.test',
    policyText: 'version: STSv1',
    mxPatterns: patterns,
  },
});
const NO_DANE: DanePlan = { kind: 'none', reason: 'no TLSA records' };

function strategy(
  settings: Partial<Pick<TlsStrategy, 'starttls' | 'allowInvalidCerts' | 'dane' | 'mtaSts'>> = {},
): TlsStrategy {
  return {
    id: 's',
    starttls: 'optional',
    allowInvalidCerts: false,
    dane: 'optional',
    mtaSts: 'optional',
    timeoutTlsMs: 30_000,
    timeoutMtaStsMs: 60_000,
    builtIn: false,
    ...settings,
  };
}

function plan(
  s: TlsStrategy,
  dane: DanePlan = NO_DANE,
  mtaSts: MtaStsPlan = STS_NONE,
): ConnectPlan {
  const p = planHost({ strategyName: 's', strategy: s, mxHost: MX, dane, mtaSts });
  assert.equal(p.kind, 'connect', p.reasons.join('; '));
  if (p.kind !== 'connect') throw new Error('unreachable');
  return p;
}

function daneAuth(records: TlsaRecord[]): DanePlan {
  return { kind: 'authenticate', usable: records, referenceNames: [MX], policyStrings: [] };
}

function facts(chain: readonly Uint8Array[], pkix: PkixVerdict): TlsFacts {
  return {
    version: 'TLSv1.3',
    cipher: 'TLS_AES_128_GCM_SHA256',
    chain: chain.map(certificateFacts),
    pkix,
  };
}

const VALID: PkixVerdict = { valid: true };
const SELF_SIGNED: PkixVerdict = {
  valid: false,
  reason: 'self-signed',
  message: 'self-signed certificate',
};

let ca: TestCa;
let leaf: TestCert;
let otherName: TestCert;
let expiredLeaf: TestCert;
let self: TestCert;
let otherSelf: TestCert;

before(async () => {
  ca = await createTestCa();
  leaf = await ca.issue({ dnsNames: [MX] });
  otherName = await ca.issue({ dnsNames: ['other.example.test'] });
  expiredLeaf = await ca.issue({
    dnsNames: [MX],
    notBefore: new Date(Date.now() - 30 * DAY),
    notAfter: new Date(Date.now() - DAY),
  });
  self = await createSelfSigned({ dnsNames: [MX] });
  otherSelf = await createSelfSigned({ dnsNames: [MX] });
});

const eeRecord = (cert: TestCert): TlsaRecord => ({
  usage: 3,
  selector: 1,
  matchingType: 1,
  data: sha256(cert.spkiDer),
});
const taRecord = (cert: TestCert): TlsaRecord => ({
  usage: 2,
  selector: 0,
  matchingType: 1,
  data: sha256(cert.der),
});

describe('decideStarttls (RFC 3207, RFC 7672 2.2, RFC 8461 5)', () => {
  test('RFC 3207 4: STARTTLS is sent whenever it is offered and TLS is not disabled', () => {
    for (const p of [
      plan(strategy()),
      plan(strategy({ starttls: 'require' })),
      plan(strategy(), daneAuth([])),
      plan(strategy(), NO_DANE, stsPlan('enforce')),
    ]) {
      assert.deepEqual(decideStarttls(p, true, MX), { kind: 'starttls' });
    }
  });

  test('starttls = "disable" with no policy: plaintext even when STARTTLS is offered', () => {
    assert.equal(
      decideStarttls(plan(strategy({ starttls: 'disable' })), true, MX).kind,
      'plaintext',
    );
  });

  test('RFC 7672 2.2: starttls = "disable" does not stop STARTTLS to a DANE host', () => {
    assert.deepEqual(
      decideStarttls(plan(strategy({ starttls: 'disable' }), daneAuth([])), true, MX),
      { kind: 'starttls' },
    );
  });

  test('RFC 7672 2.2: a DANE host without STARTTLS fails temporarily with 4.7.4, never plaintext', () => {
    const d = decideStarttls(plan(strategy({ allowInvalidCerts: true }), daneAuth([])), false, MX);
    assert.equal(d.kind, 'fail');
    if (d.kind !== 'fail') return;
    assert.deepEqual(
      [d.failure.severity, d.failure.lastError, d.failure.status, d.failure.tlsRpt],
      ['temporary', 'tls', '4.7.4', 'starttls-not-supported'],
    );
  });

  test('RFC 8461 5: an enforce policy host without STARTTLS fails with last_error mta-sts, 4.7.4', () => {
    const d = decideStarttls(
      plan(strategy({ starttls: 'disable' }), NO_DANE, stsPlan('enforce')),
      false,
      MX,
    );
    assert.equal(d.kind, 'fail');
    if (d.kind !== 'fail') return;
    assert.deepEqual(
      [d.failure.lastError, d.failure.status, d.failure.tlsRpt],
      ['mta-sts', '4.7.4', 'starttls-not-supported'],
    );
  });

  test('RFC 3207 4: starttls = "require" without STARTTLS offered fails with 4.7.4', () => {
    const d = decideStarttls(
      plan(strategy({ starttls: 'require', allowInvalidCerts: true })),
      false,
      MX,
    );
    assert.equal(d.kind, 'fail');
    if (d.kind !== 'fail') return;
    assert.deepEqual(
      [d.failure.cause, d.failure.lastError, d.failure.status],
      ['starttls-not-offered', 'tls', '4.7.4'],
    );
  });

  test('RFC 7672 2.2: unusable TLSA records still make a missing STARTTLS fatal', () => {
    const d = decideStarttls(
      plan(strategy(), { kind: 'tls-unauthenticated', reason: 'unusable', policyStrings: [] }),
      false,
      MX,
    );
    assert.equal(d.kind, 'fail');
  });

  test('opportunistic TLS without STARTTLS offered: plaintext, nothing to report without a testing policy', () => {
    const d = decideStarttls(plan(strategy()), false, MX);
    assert.equal(d.kind, 'plaintext');
    assert.equal(d.kind === 'plaintext' ? d.verdict.reportOnly : 'x', undefined);
  });

  test('RFC 8461 5: under a testing policy a missing STARTTLS is delivered and reported (report-only)', () => {
    const d = decideStarttls(plan(strategy(), NO_DANE, stsPlan('testing')), false, MX);
    assert.equal(d.kind, 'plaintext');
    if (d.kind !== 'plaintext') return;
    const reportOnly = d.verdict.reportOnly;
    assert.deepEqual(
      [reportOnly?.reason, reportOnly === undefined ? undefined : tlsRptOf(reportOnly)],
      ['starttls-not-supported', 'starttls-not-supported'],
    );
  });
});

describe('judgeTls with DANE (RFC 7672 3.1, RFC 7671 5)', () => {
  test('RFC 7671 5.1: DANE-EE 3 1 1 authenticates a self-signed certificate PKIX rejects', () => {
    const v = judgeTls(
      plan(strategy(), daneAuth([eeRecord(self)])),
      facts([self.der], SELF_SIGNED),
      NOW,
    );
    assert.deepEqual([v.kind, v.kind === 'secure' ? v.verdict.level : ''], ['secure', 'dane']);
  });

  test('RFC 7671 5.1: DANE-EE ignores names and dates (expired leaf, pinned key)', () => {
    const v = judgeTls(
      plan(strategy(), daneAuth([eeRecord(expiredLeaf)])),
      facts([expiredLeaf.der, ca.der], { valid: false, reason: 'expired', message: 'expired' }),
      NOW,
    );
    assert.equal(v.kind === 'secure' ? v.verdict.level : v.kind, 'dane');
  });

  test('RFC 7671 5.2: DANE-TA 2 0 1 of the issuing CA authenticates a leaf named for the MX', () => {
    const v = judgeTls(
      plan(strategy(), daneAuth([taRecord(ca)])),
      facts([leaf.der, ca.der], VALID),
      NOW,
    );
    assert.deepEqual(
      [v.kind, v.kind === 'secure' ? v.verdict.note : ''],
      ['secure', 'DANE DANE-TA matched'],
    );
  });

  test('RFC 7672 3.2.3: DANE-TA rejects a leaf that does not carry a reference name', () => {
    const v = judgeTls(
      plan(strategy(), daneAuth([taRecord(ca)])),
      facts([otherName.der, ca.der], VALID),
      NOW,
    );
    assert.equal(v.kind, 'fail');
  });

  test('RFC 7671 5.2: DANE-TA checks the leaf validity dates at now', () => {
    const v = judgeTls(
      plan(strategy(), daneAuth([taRecord(ca)])),
      facts([expiredLeaf.der, ca.der], VALID),
      NOW,
    );
    assert.equal(v.kind, 'fail');
  });

  /** Attack: a man in the middle presents its own key; a valid PKIX chain must not rescue the DANE host. */
  test('RFC 7672 3.1: a TLSA mismatch fails temporarily (4.7.5, validation-failure) even with a PKIX-valid chain', () => {
    const v = judgeTls(
      plan(strategy(), daneAuth([eeRecord(otherSelf)])),
      facts([leaf.der, ca.der], VALID),
      NOW,
    );
    assert.equal(v.kind, 'fail');
    if (v.kind !== 'fail') return;
    assert.deepEqual(
      [v.failure.severity, v.failure.lastError, v.failure.status, v.failure.tlsRpt],
      ['temporary', 'dane', '4.7.5', 'validation-failure'],
    );
  });

  test('allow-invalid-certs does not weaken DANE: a mismatch still fails', () => {
    const v = judgeTls(
      plan(
        strategy({ allowInvalidCerts: true, starttls: 'disable' }),
        daneAuth([eeRecord(otherSelf)]),
      ),
      facts([self.der], SELF_SIGNED),
      NOW,
    );
    assert.equal(v.kind, 'fail');
  });

  test('RFC 7672 2.2: DANE wins over a testing MTA-STS policy; no report-only entry is made', () => {
    const v = judgeTls(
      plan(strategy(), daneAuth([eeRecord(self)]), stsPlan('testing', ['elsewhere.test'])),
      facts([self.der], SELF_SIGNED),
      NOW,
    );
    assert.equal(v.kind === 'secure' ? v.verdict.reportOnly : 'fail', undefined);
  });
});

describe('judgeTls with MTA-STS, PKIX and unverified TLS', () => {
  test('RFC 8461 4.2: enforce with a valid certificate reaches security mta-sts', () => {
    const v = judgeTls(
      plan(strategy(), NO_DANE, stsPlan('enforce')),
      facts([leaf.der, ca.der], VALID),
      NOW,
    );
    assert.equal(v.kind === 'secure' ? v.verdict.level : v.kind, 'mta-sts');
  });

  test('RFC 8461 4.2: enforce refuses a self-signed certificate even with allow-invalid-certs', () => {
    const v = judgeTls(
      plan(strategy({ allowInvalidCerts: true }), NO_DANE, stsPlan('enforce')),
      facts([self.der], SELF_SIGNED),
      NOW,
    );
    assert.equal(v.kind, 'fail');
    if (v.kind !== 'fail') return;
    assert.deepEqual(
      [v.failure.lastError, v.failure.status, v.failure.tlsRpt],
      ['mta-sts', '4.7.5', 'certificate-not-trusted'],
    );
  });

  test('RFC 8460 4.3: PKIX failure under allow-invalid-certs = false is a tls failure with the matching result type', () => {
    const v = judgeTls(
      plan(strategy()),
      facts([otherName.der, ca.der], {
        valid: false,
        reason: 'hostname-mismatch',
        message: 'name',
      }),
      NOW,
    );
    assert.equal(v.kind, 'fail');
    if (v.kind !== 'fail') return;
    assert.deepEqual(
      [v.failure.lastError, v.failure.status, v.failure.tlsRpt],
      ['tls', '4.7.5', 'certificate-host-mismatch'],
    );
  });

  test('PKIX-valid certificate: security pkix', () => {
    const v = judgeTls(plan(strategy()), facts([leaf.der, ca.der], VALID), NOW);
    assert.equal(v.kind === 'secure' ? v.verdict.level : v.kind, 'pkix');
  });

  test('allow-invalid-certs = true: an invalid certificate is accepted and recorded as unverified, a valid one as pkix', () => {
    const p = plan(strategy({ allowInvalidCerts: true }));
    const invalid = judgeTls(p, facts([self.der], SELF_SIGNED), NOW);
    assert.deepEqual(
      [invalid.kind, invalid.kind === 'secure' ? invalid.verdict.level : ''],
      ['secure', 'unverified'],
    );
    const valid = judgeTls(p, facts([leaf.der, ca.der], VALID), NOW);
    assert.equal(valid.kind === 'secure' ? valid.verdict.level : valid.kind, 'pkix');
  });

  test('RFC 8461 5: under a testing policy an invalid certificate is delivered and reported (report-only)', () => {
    const v = judgeTls(
      plan(strategy({ allowInvalidCerts: true }), NO_DANE, stsPlan('testing')),
      facts([self.der], SELF_SIGNED),
      NOW,
    );
    assert.equal(v.kind, 'secure');
    if (v.kind !== 'secure') return;
    const reportOnly = v.verdict.reportOnly;
    assert.deepEqual(
      [
        v.verdict.level,
        reportOnly?.reason,
        reportOnly === undefined ? undefined : tlsRptOf(reportOnly),
      ],
      ['unverified', 'certificate', 'certificate-not-trusted'],
    );
  });

  test('RFC 8461 5: under a testing policy a valid certificate has nothing to report', () => {
    const v = judgeTls(
      plan(strategy(), NO_DANE, stsPlan('testing')),
      facts([leaf.der, ca.der], VALID),
      NOW,
    );
    assert.equal(v.kind === 'secure' ? v.verdict.reportOnly : 'fail', undefined);
  });

  test('RFC 8461 4.1: a testing policy that does not list the MX is reported with the session', () => {
    const v = judgeTls(
      plan(strategy(), NO_DANE, stsPlan('testing', ['elsewhere.test'])),
      facts([leaf.der, ca.der], VALID),
      NOW,
    );
    assert.equal(v.kind === 'secure' ? v.verdict.reportOnly?.reason : v.kind, 'mx-not-in-policy');
  });
});
