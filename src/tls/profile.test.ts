import { test } from 'node:test';
import assert from 'node:assert/strict';
import { constants } from 'node:crypto';
import { createSecureContext, getCiphers } from 'node:tls';
import { CLIENT_PROFILE, clientConnectionOptions, secureContextOptions } from './profile.js';

test('RFC 8996: TLS 1.0 and 1.1 are never offered; TLS 1.2 and 1.3 are', () => {
  assert.equal(CLIENT_PROFILE.minVersion, 'TLSv1.2');
  assert.equal(CLIENT_PROFILE.maxVersion, 'TLSv1.3');
  const options = secureContextOptions([]);
  assert.equal(options.minVersion, 'TLSv1.2');
  assert.equal(options.maxVersion, 'TLSv1.3');
});

test('RFC 8446 B.4: TLS 1.3 offers exactly the three standard AEAD suites', () => {
  assert.deepEqual([...CLIENT_PROFILE.tls13CipherSuites].sort(), [
    'TLS_AES_128_GCM_SHA256',
    'TLS_AES_256_GCM_SHA384',
    'TLS_CHACHA20_POLY1305_SHA256',
  ]);
});

test('RFC 7525 4.2: every TLS 1.2 suite is ECDHE with an AEAD cipher (no CBC, no static RSA, no DHE)', () => {
  assert.equal(CLIENT_PROFILE.tls12Ciphers.length, 6);
  for (const name of CLIENT_PROFILE.tls12Ciphers) {
    assert.match(
      name,
      /^ECDHE-(ECDSA|RSA)-(AES(128|256)-GCM-SHA(256|384)|CHACHA20-POLY1305)$/,
      name,
    );
    assert.doesNotMatch(name, /CBC|-SHA$|^AES|^DHE|RC4|3DES|NULL/);
  }
  // Each name is one OpenSSL knows; a misspelt name would be dropped silently from the cipher list.
  const known = new Set(getCiphers());
  for (const name of CLIENT_PROFILE.tls12Ciphers) assert.ok(known.has(name.toLowerCase()), name);
});

test('RFC 8422 5.1.1: the offered groups are X25519, P-256 and P-384 only', () => {
  assert.deepEqual(CLIENT_PROFILE.groups, ['X25519', 'P-256', 'P-384']);
  assert.equal(secureContextOptions([]).ecdhCurve, 'X25519:P-256:P-384');
});

test('RFC 5746 / RFC 7457 2.6: renegotiation and compression are disabled', () => {
  const flags = secureContextOptions([]).secureOptions ?? 0;
  assert.equal(flags & constants.SSL_OP_NO_RENEGOTIATION, constants.SSL_OP_NO_RENEGOTIATION);
  assert.equal(flags & constants.SSL_OP_NO_COMPRESSION, constants.SSL_OP_NO_COMPRESSION);
});

test('the cipher string lists TLS 1.3 suites first and OpenSSL accepts the whole profile', () => {
  const options = secureContextOptions(['x']);
  assert.equal(
    options.ciphers,
    [...CLIENT_PROFILE.tls13CipherSuites, ...CLIENT_PROFILE.tls12Ciphers].join(':'),
  );
  assert.deepEqual(options.ca, ['x']);
  assert.doesNotThrow(() => createSecureContext(secureContextOptions([])));
});

test('RFC 6066 3: SNI carries a host name and is omitted for IPv4 and IPv6 literals', () => {
  const secureContext = createSecureContext(secureContextOptions([]));
  const named = clientConnectionOptions({
    servername: 'mx.example.test',
    secureContext,
    judgement: 'deferred',
  });
  assert.equal(named.servername, 'mx.example.test');
  for (const literal of ['192.0.2.1', '2001:db8::25']) {
    const options = clientConnectionOptions({
      servername: literal,
      secureContext,
      judgement: 'deferred',
    });
    assert.equal('servername' in options, false, literal);
  }
});

test('deferred judgement lets the handshake finish; enforced judgement makes Node reject bad chains', () => {
  const secureContext = createSecureContext(secureContextOptions([]));
  assert.equal(
    clientConnectionOptions({ servername: 'a.test', secureContext, judgement: 'deferred' })
      .rejectUnauthorized,
    false,
  );
  assert.equal(
    clientConnectionOptions({ servername: 'a.test', secureContext, judgement: 'enforced' })
      .rejectUnauthorized,
    true,
  );
  assert.equal(
    clientConnectionOptions({ servername: 'a.test', secureContext, judgement: 'enforced' })
      .secureContext,
    secureContext,
  );
  // Deferred: Node's own name check is off so `authorizationError` holds the chain verdict alone.
  assert.equal(
    typeof clientConnectionOptions({ servername: 'a.test', secureContext, judgement: 'deferred' })
      .checkServerIdentity,
    'function',
  );
  assert.equal(
    clientConnectionOptions({ servername: 'a.test', secureContext, judgement: 'enforced' })
      .checkServerIdentity,
    undefined,
  );
});
