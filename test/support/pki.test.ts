import { test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { createSelfSigned, createTestCa } from './pki.js';

test('a leaf issued by an intermediate chains to the root', async () => {
  const root = await createTestCa();
  const intermediate = await root.issueCa();
  const leaf = await intermediate.issue({ dnsNames: ['mx.example.test'] });
  const leafX = new X509Certificate(leaf.certPem);
  const interX = new X509Certificate(intermediate.certPem);
  const rootX = new X509Certificate(root.certPem);
  assert.ok(leafX.checkIssued(interX));
  assert.ok(leafX.verify(interX.publicKey));
  assert.ok(interX.verify(rootX.publicKey));
  assert.equal(leafX.checkHost('mx.example.test'), 'mx.example.test');
  assert.equal(leaf.chainPem.split('BEGIN CERTIFICATE').length - 1, 2);
});

test('validity dates are those requested, so tests can make expired certificates', async () => {
  const notAfter = new Date(Date.now() - 86_400_000);
  const cert = await createSelfSigned({
    dnsNames: ['old.example.test'],
    notBefore: new Date(Date.now() - 10 * 86_400_000),
    notAfter,
  });
  const x = new X509Certificate(cert.certPem);
  assert.ok(new Date(x.validTo).getTime() < Date.now());
  assert.ok(x.verify(x.publicKey));
});
