import { test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate, createHash } from 'node:crypto';
import { createSelfSigned, createTestCa } from '../../test/support/pki.js';
import { parsePemBundle, pemSha256 } from './pem.js';

test('RFC 7468 5.1: a bundle yields every CERTIFICATE block, ignoring text and other labels around them', async () => {
  const root = await createTestCa();
  const other = await createSelfSigned({ dnsNames: ['other.example.test'] });
  const text = `# my CAs\nsubject=CN=mxsec Test CA\n${root.certPem}\n${other.keyPem}${other.certPem}trailing words\n`;
  const result = parsePemBundle(text);
  assert.ok(result.ok);
  assert.equal(result.certificates.length, 2);
  assert.equal(
    new X509Certificate(result.certificates[0]!).fingerprint256,
    new X509Certificate(root.certPem).fingerprint256,
  );
  assert.equal(
    new X509Certificate(result.certificates[1]!).fingerprint256,
    new X509Certificate(other.certPem).fingerprint256,
  );
});

test('RFC 7468 5.1: text without a CERTIFICATE block is invalid', () => {
  const result = parsePemBundle('just some text\n');
  assert.equal(result.ok, false);
  assert.match(!result.ok ? result.message : '', /no PEM CERTIFICATE block/);
});

test('RFC 7468 5.1: a block whose base64 is not an X.509 certificate is invalid and is named', async () => {
  const root = await createTestCa();
  const text =
    root.certPem +
    '-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n';
  const result = parsePemBundle(text);
  assert.equal(result.ok, false);
  assert.match(!result.ok ? result.message : '', /certificate 2 of 2 is not valid X\.509/);
});

test('RFC 7468 2: a truncated last block (no END line) is invalid rather than silently dropped', async () => {
  const root = await createTestCa();
  const truncated = root.certPem.slice(0, root.certPem.indexOf('-----END'));
  const result = parsePemBundle(root.certPem + truncated);
  assert.equal(result.ok, false);
  assert.match(!result.ok ? result.message : '', /certificate 2 has no END CERTIFICATE line/);
});

test('pemSha256 is the SHA-256 of the DER certificate', async () => {
  const root = await createTestCa();
  assert.equal(pemSha256(root.certPem), createHash('sha256').update(root.der).digest('hex'));
});
