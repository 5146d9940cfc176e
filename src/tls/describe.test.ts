import { test } from 'node:test';
import assert from 'node:assert/strict';
import { describeTlsFacts, describeTlsFailure } from './describe.js';
import type { CertificateFacts, TlsFacts } from './types.js';

const leaf: CertificateFacts = {
  subject: 'CN=mx.example.test',
  issuer: 'CN=mxsec Test CA',
  dnsNames: ['mx.example.test'],
  notBefore: '2025-01-01T00:00:00.000Z',
  notAfter: '2026-01-01T00:00:00.000Z',
  spkiSha256: '00',
  selfSigned: false,
  der: new Uint8Array(),
};

test('a valid session reads version, cipher, subject, issuer and verdict', () => {
  const facts: TlsFacts = {
    version: 'TLSv1.3',
    cipher: 'TLS_AES_256_GCM_SHA384',
    chain: [leaf],
    pkix: { valid: true },
  };
  assert.equal(
    describeTlsFacts(facts),
    'TLSv1.3 TLS_AES_256_GCM_SHA384, CN=mx.example.test issued by CN=mxsec Test CA, valid',
  );
});

test('an invalid session names the PKIX reason and its detail', () => {
  const facts: TlsFacts = {
    version: 'TLSv1.2',
    cipher: 'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256',
    chain: [leaf],
    pkix: { valid: false, reason: 'expired', message: 'certificate chain: CERT_HAS_EXPIRED' },
  };
  assert.equal(
    describeTlsFacts(facts),
    'TLSv1.2 TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, CN=mx.example.test issued by CN=mxsec Test CA, expired (certificate chain: CERT_HAS_EXPIRED)',
  );
});

test('a session without a certificate still gives a line', () => {
  const facts: TlsFacts = {
    version: 'TLSv1.3',
    cipher: 'X',
    chain: [],
    pkix: { valid: false, reason: 'other', message: 'none' },
  };
  assert.equal(describeTlsFacts(facts), 'TLSv1.3 X, no certificate, other (none)');
});

test('a failure names its kind and the alert', () => {
  assert.equal(
    describeTlsFailure({
      kind: 'protocol-version',
      message: 'tlsv1 alert protocol version',
      alert: 'protocol_version',
    }),
    'TLS handshake failed (protocol-version, alert protocol_version): tlsv1 alert protocol version',
  );
  assert.equal(
    describeTlsFailure({ kind: 'timeout', message: 'slow' }),
    'TLS handshake failed (timeout): slow',
  );
});
