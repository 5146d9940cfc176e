import { test } from 'node:test';
import assert from 'node:assert/strict';
import { classifyHandshakeError, closedFailure, timeoutFailure } from './failure.js';

/** The shape of the errors OpenSSL 3 raises through Node when an alert arrives (message abridged). */
function opensslError(code: string, reason: string, alertNumber?: number): Error {
  const suffix = alertNumber === undefined ? '' : `:SSL alert number ${alertNumber}`;
  const error = new Error(
    `80AC456D517F0000:error:0A00042E:SSL routines:ssl3_read_bytes:${reason}:rec_layer_s3.c:1601${suffix}\n`,
  );
  return Object.assign(error, { code, reason, library: 'SSL routines' });
}

test('RFC 8446 6.2: a protocol_version alert (70) is protocol-version, with the alert named', () => {
  const failure = classifyHandshakeError(
    opensslError('ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION', 'tlsv1 alert protocol version', 70),
  );
  assert.deepEqual(failure, {
    kind: 'protocol-version',
    message: 'tlsv1 alert protocol version',
    alert: 'protocol_version',
  });
});

test('RFC 8446 4.1.3: a ServerHello with a version we did not offer is protocol-version', () => {
  const failure = classifyHandshakeError(
    opensslError('ERR_SSL_UNSUPPORTED_PROTOCOL', 'unsupported protocol'),
  );
  assert.deepEqual(failure, { kind: 'protocol-version', message: 'unsupported protocol' });
});

test('RFC 8446 4.1.1: a handshake_failure alert (40) means no acceptable parameters: no-shared-cipher', () => {
  const failure = classifyHandshakeError(
    opensslError('ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE', 'sslv3 alert handshake failure', 40),
  );
  assert.equal(failure.kind, 'no-shared-cipher');
  assert.equal(failure.alert, 'handshake_failure');
});

test('RFC 8446 6.2: insufficient_security (71) is no-shared-cipher', () => {
  assert.equal(
    classifyHandshakeError(
      opensslError(
        'ERR_SSL_TLSV1_ALERT_INSUFFICIENT_SECURITY',
        'tlsv1 alert insufficient security',
        71,
      ),
    ).kind,
    'no-shared-cipher',
  );
});

test('RFC 3207 5: a connection reset or a FIN before the handshake finished is closed', () => {
  const reset = Object.assign(
    new Error('Client network socket disconnected before secure TLS connection was established'),
    { code: 'ECONNRESET' },
  );
  assert.deepEqual(classifyHandshakeError(reset), {
    kind: 'closed',
    message: 'Client network socket disconnected before secure TLS connection was established',
  });
  assert.equal(closedFailure().kind, 'closed');
});

test('a reply that is not TLS (e.g. plaintext SMTP after STARTTLS) is a generic handshake failure', () => {
  const failure = classifyHandshakeError(
    opensslError('ERR_SSL_WRONG_VERSION_NUMBER', 'wrong version number'),
  );
  assert.deepEqual(failure, { kind: 'handshake', message: 'wrong version number' });
});

test('an unknown alert number is kept by number; a value that is not an Error is described', () => {
  assert.equal(classifyHandshakeError(opensslError('ERR_SSL_X', 'x', 199)).alert, 'alert 199');
  assert.deepEqual(classifyHandshakeError('boom'), { kind: 'handshake', message: 'boom' });
});

test('the timeout failure names the deadline', () => {
  assert.deepEqual(timeoutFailure(1500), {
    kind: 'timeout',
    message: 'TLS handshake did not complete within 1500 ms',
  });
});
