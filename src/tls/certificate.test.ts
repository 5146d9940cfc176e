import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate, createHash } from 'node:crypto';
import { createSelfSigned, createTestCa } from '../../test/support/pki.js';
import {
  anchoredVerifyCode,
  certificateFacts,
  chainEnd,
  chainFacts,
  classifyPkix,
  sha256Hex,
} from './certificate.js';
import type { PeerCertificateNode } from './certificate.js';
import type { PkixFailureReason } from './types.js';

const DAY = 86_400_000;

/** A peer chain shaped like Node's `getPeerCertificate(true)`, whose root links to itself. */
function peerChain(ders: readonly Uint8Array[]): PeerCertificateNode | undefined {
  let next:
    | { raw: Uint8Array; fingerprint256: string; issuerCertificate?: PeerCertificateNode }
    | undefined;
  for (const der of [...ders].reverse()) {
    const node: {
      raw: Uint8Array;
      fingerprint256: string;
      issuerCertificate?: PeerCertificateNode;
    } = {
      raw: der,
      fingerprint256: new X509Certificate(der).fingerprint256,
    };
    node.issuerCertificate = next ?? node;
    next = node;
  }
  return next;
}

describe('certificate facts', () => {
  test('RFC 7671 5.1: spkiSha256 is the SHA-256 of the DER SubjectPublicKeyInfo (selector 1, matching 1)', async () => {
    const root = await createTestCa();
    const leaf = await root.issue({ dnsNames: ['mx.example.test'], keyType: 'rsa' });
    const facts = certificateFacts(leaf.der);
    assert.equal(facts.spkiSha256, createHash('sha256').update(leaf.spkiDer).digest('hex'));
    assert.deepEqual([...facts.der], [...leaf.der]);
  });

  test('RFC 5280 4.2.1.6: dNSName SANs are collected in lower case, other name types are not', async () => {
    const root = await createTestCa();
    const leaf = await root.issue({
      commonName: 'Mx.Example.Test',
      dnsNames: ['MX.Example.TEST', '*.Mail.example.test'],
    });
    const facts = certificateFacts(leaf.der);
    assert.deepEqual(facts.dnsNames, ['mx.example.test', '*.mail.example.test']);
    assert.equal(facts.subject, 'CN=Mx.Example.Test');
    assert.equal(facts.issuer, 'CN=mxsec Test CA');
    assert.equal(facts.selfSigned, false);
  });

  test('RFC 5280 4.2.1.6: a certificate without subjectAltName has no DNS names', async () => {
    const root = await createTestCa();
    assert.deepEqual(certificateFacts(root.der).dnsNames, []);
  });

  test("RFC 5280 4.1.2.5: validity dates are ISO 8601 instants equal to the certificate's", async () => {
    const notBefore = new Date(Math.floor((Date.now() - 3 * DAY) / 1000) * 1000);
    const notAfter = new Date(Math.floor((Date.now() + 9 * DAY) / 1000) * 1000);
    const cert = await createSelfSigned({ dnsNames: ['a.example.test'], notBefore, notAfter });
    const facts = certificateFacts(cert.der);
    assert.equal(facts.notBefore, notBefore.toISOString());
    assert.equal(facts.notAfter, notAfter.toISOString());
  });

  test('RFC 5280 3.2: a self-signed certificate is selfSigned, one issued by a CA is not', async () => {
    const self = await createSelfSigned({ dnsNames: ['a.example.test'] });
    const root = await createTestCa();
    assert.equal(certificateFacts(self.der).selfSigned, true);
    assert.equal(certificateFacts(root.der).selfSigned, true);
    assert.equal(certificateFacts((await root.issueCa()).der).selfSigned, false);
  });
});

describe('chain walk', () => {
  test('walks leaf, intermediate, root and stops at the root that Node links to itself', async () => {
    const root = await createTestCa();
    const intermediate = await root.issueCa();
    const leaf = await intermediate.issue({ dnsNames: ['mx.example.test'] });
    const chain = chainFacts(peerChain([leaf.der, intermediate.der, root.der]));
    assert.deepEqual(
      chain.map((c) => c.subject),
      ['CN=mx.example.test', 'CN=mxsec Test Intermediate', 'CN=mxsec Test CA'],
    );
  });

  test('stops at a repeated fingerprint even when no certificate is self-signed (a loop)', async () => {
    const root = await createTestCa();
    const a = await root.issue({ dnsNames: ['a.example.test'] });
    const b = await root.issue({ dnsNames: ['b.example.test'] });
    const nodeA: {
      raw: Uint8Array;
      fingerprint256: string;
      issuerCertificate?: PeerCertificateNode;
    } = { raw: a.der, fingerprint256: 'A' };
    const nodeB = { raw: b.der, fingerprint256: 'B', issuerCertificate: nodeA };
    nodeA.issuerCertificate = nodeB;
    assert.equal(chainFacts(nodeA).length, 2);
  });

  test('a peer without a certificate (Node gives {}) has an empty chain', () => {
    assert.deepEqual(chainFacts({}), []);
    assert.deepEqual(chainFacts(undefined), []);
  });

  test('chainEnd tells a trust anchor from an untrusted root and from a missing issuer', async () => {
    const root = await createTestCa();
    const intermediate = await root.issueCa();
    const leaf = await intermediate.issue({ dnsNames: ['mx.example.test'] });
    const full = chainFacts(peerChain([leaf.der, intermediate.der, root.der]));
    const anchors = new Set([sha256Hex(root.der)]);
    assert.equal(chainEnd(full, anchors), 'trust-anchor');
    assert.equal(chainEnd(full, new Set()), 'untrusted-root');
    assert.equal(chainEnd(full.slice(0, 2), new Set()), 'incomplete');
    assert.equal(chainEnd([], anchors), 'incomplete');
  });

  test('chainEnd: a chain sent without its root reaches the anchor that issued one of its certificates', async () => {
    const root = await createTestCa();
    const intermediate = await root.issueCa();
    const leaf = await intermediate.issue({ dnsNames: ['mx.example.test'] });
    const sent = chainFacts(peerChain([leaf.der, intermediate.der]));
    const byRoot = (cert: { readonly der: Uint8Array }): boolean =>
      sha256Hex(cert.der) === sha256Hex(intermediate.der);
    assert.equal(chainEnd(sent, new Set(), byRoot), 'trust-anchor');
    assert.equal(
      chainEnd(sent, new Set(), () => false),
      'incomplete',
    );
  });
});

describe('anchoredVerifyCode', () => {
  test('"no anchor" codes from an empty store clear when the chain reaches an anchor of the real store', () => {
    for (const code of [
      'DEPTH_ZERO_SELF_SIGNED_CERT',
      'SELF_SIGNED_CERT_IN_CHAIN',
      'UNABLE_TO_GET_ISSUER_CERT',
      'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
      'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
    ]) {
      assert.equal(anchoredVerifyCode(code, 'trust-anchor'), undefined, code);
      assert.equal(anchoredVerifyCode(code, 'incomplete'), code, code);
      assert.equal(anchoredVerifyCode(code, 'untrusted-root'), code, code);
    }
  });

  test('any other code stands: OpenSSL met that problem after looking for the anchor', () => {
    assert.equal(anchoredVerifyCode('CERT_HAS_EXPIRED', 'trust-anchor'), 'CERT_HAS_EXPIRED');
    assert.equal(
      anchoredVerifyCode('CERT_SIGNATURE_FAILURE', 'trust-anchor'),
      'CERT_SIGNATURE_FAILURE',
    );
    assert.equal(anchoredVerifyCode(undefined, 'incomplete'), undefined);
  });
});

describe('classifyPkix', () => {
  const table: readonly [string, PkixFailureReason][] = [
    ['CERT_HAS_EXPIRED', 'expired'],
    ['CERT_NOT_YET_VALID', 'not-yet-valid'],
    ['DEPTH_ZERO_SELF_SIGNED_CERT', 'self-signed'],
    ['SELF_SIGNED_CERT_IN_CHAIN', 'self-signed'],
    ['UNABLE_TO_GET_ISSUER_CERT', 'untrusted-issuer'],
    ['UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'untrusted-issuer'],
    ['UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'untrusted-issuer'],
    ['CERT_SIGNATURE_FAILURE', 'other'],
    ['INVALID_PURPOSE', 'other'],
  ];
  for (const [code, reason] of table) {
    test(`RFC 5280 6.1: OpenSSL ${code} is ${reason}`, () => {
      const verdict = classifyPkix(code, undefined);
      assert.deepEqual(verdict, { valid: false, reason, message: `certificate chain: ${code}` });
    });
  }

  test('RFC 6125 6.3: a verified chain with a name mismatch is hostname-mismatch', () => {
    const verdict = classifyPkix(
      null,
      new Error("Hostname/IP does not match certificate's altnames"),
    );
    assert.equal(verdict.valid, false);
    assert.equal(!verdict.valid && verdict.reason, 'hostname-mismatch');
  });

  test('RFC 8460 4.3: a chain problem takes precedence over a name mismatch', () => {
    const verdict = classifyPkix('CERT_HAS_EXPIRED', new Error('mismatch'));
    assert.equal(!verdict.valid && verdict.reason, 'expired');
  });

  test('a date error on a chain that does not reach a trust anchor is reported as the missing trust', () => {
    assert.equal(
      ((v) => !v.valid && v.reason)(classifyPkix('CERT_HAS_EXPIRED', undefined, 'untrusted-root')),
      'self-signed',
    );
    assert.equal(
      ((v) => !v.valid && v.reason)(classifyPkix('CERT_NOT_YET_VALID', undefined, 'incomplete')),
      'untrusted-issuer',
    );
    assert.equal(
      ((v) => !v.valid && v.reason)(classifyPkix('CERT_NOT_YET_VALID', undefined, 'trust-anchor')),
      'not-yet-valid',
    );
  });

  test('RFC 5280 6.1.6: no chain error and a matching name is valid', () => {
    assert.deepEqual(classifyPkix(null, undefined), { valid: true });
    assert.deepEqual(classifyPkix(undefined, undefined, 'untrusted-root'), { valid: true });
  });
});
