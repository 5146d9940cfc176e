/**
 * Why a TLS handshake did not complete, as a value: one `TlsFailure` kind per thing an operator or a
 * TLS strategy would act on differently. Pure: classifies the error object Node emits, by its code
 * and the alert number OpenSSL puts in the message. An error nobody recognised is `handshake`, never
 * an exception.
 */

export type TlsFailureKind =
  'timeout' | 'protocol-version' | 'no-shared-cipher' | 'handshake' | 'closed';

export interface TlsFailure {
  readonly kind: TlsFailureKind;
  readonly message: string;
  /** The TLS alert received or sent, by its RFC 8446 section 6 name (e.g. `protocol_version`). */
  readonly alert?: string;
}

/** RFC 8446 section 6 and RFC 5246 section 7.2 alert descriptions, by number. */
const ALERTS: Readonly<Record<number, string>> = {
  0: 'close_notify',
  10: 'unexpected_message',
  20: 'bad_record_mac',
  22: 'record_overflow',
  40: 'handshake_failure',
  42: 'bad_certificate',
  43: 'unsupported_certificate',
  44: 'certificate_revoked',
  45: 'certificate_expired',
  46: 'certificate_unknown',
  47: 'illegal_parameter',
  48: 'unknown_ca',
  49: 'access_denied',
  50: 'decode_error',
  51: 'decrypt_error',
  70: 'protocol_version',
  71: 'insufficient_security',
  80: 'internal_error',
  86: 'inappropriate_fallback',
  90: 'user_canceled',
  100: 'no_renegotiation',
  109: 'missing_extension',
  110: 'unsupported_extension',
  112: 'unrecognized_name',
  113: 'bad_certificate_status_response',
  115: 'unknown_psk_identity',
  116: 'certificate_required',
  120: 'no_application_protocol',
};

/** Node's codes for the connection going away before the handshake finished. */
const CLOSED_CODES = new Set([
  'ECONNRESET',
  'EPIPE',
  'ECONNABORTED',
  'ERR_STREAM_DESTROYED',
  'ERR_SOCKET_CLOSED',
]);

/** OpenSSL reasons (Node's `ERR_SSL_*` codes) meaning the two sides share no protocol version. */
const VERSION_CODES = new Set([
  'ERR_SSL_UNSUPPORTED_PROTOCOL',
  'ERR_SSL_NO_PROTOCOLS_AVAILABLE',
  'ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION',
]);

/** OpenSSL reasons meaning the two sides share no cipher suite, group or signature algorithm. */
const CIPHER_CODES = new Set([
  'ERR_SSL_NO_SHARED_CIPHER',
  'ERR_SSL_NO_CIPHERS_AVAILABLE',
  'ERR_SSL_NO_SUITABLE_KEY_SHARE',
  'ERR_SSL_NO_SHARED_GROUPS',
  'ERR_SSL_NO_SUITABLE_SIGNATURE_ALGORITHM',
  'ERR_SSL_NO_SHARED_SIGNATURE_ALGORITHMS',
]);

/** The shape of the errors `tls.TLSSocket` emits; anything else is described by `String()`. */
interface NodeTlsError {
  readonly code?: unknown;
  readonly reason?: unknown;
  readonly message?: unknown;
}

/**
 * Classifies a handshake error. `protocol_version` (alert 70, RFC 8446 section 6.2) and a local
 * "unsupported protocol" mean no common version; `handshake_failure` (40) and `insufficient_security`
 * (71) are what a server sends when it finds no acceptable parameters (RFC 8446 section 4.1.1), which
 * with our profile almost always means no common AEAD/ECDHE suite or group.
 */
export function classifyHandshakeError(error: unknown): TlsFailure {
  const fields: NodeTlsError = typeof error === 'object' && error !== null ? error : {};
  const code = typeof fields.code === 'string' ? fields.code : '';
  const text = typeof fields.message === 'string' ? fields.message : String(error);
  const reason = typeof fields.reason === 'string' ? fields.reason : undefined;
  const alertNumber = /SSL alert number (\d+)/.exec(text)?.[1];
  const alert =
    alertNumber === undefined ? undefined : (ALERTS[Number(alertNumber)] ?? `alert ${alertNumber}`);
  // OpenSSL's message starts with a hex error queue dump; its reason string is the readable part.
  const message = reason ?? text.split('\n')[0] ?? text;
  const failure = (kind: TlsFailureKind): TlsFailure =>
    alert === undefined ? { kind, message } : { kind, message, alert };

  if (CLOSED_CODES.has(code)) return failure('closed');
  if (VERSION_CODES.has(code) || alert === 'protocol_version') return failure('protocol-version');
  if (CIPHER_CODES.has(code) || alert === 'handshake_failure' || alert === 'insufficient_security')
    return failure('no-shared-cipher');
  return failure('handshake');
}

/** The failure when the peer closed the connection without an error event (a clean TCP FIN). */
export function closedFailure(
  message = 'connection closed before the TLS handshake completed',
): TlsFailure {
  return { kind: 'closed', message };
}

/** The failure when the handshake did not finish within its deadline. */
export function timeoutFailure(timeoutMs: number): TlsFailure {
  return { kind: 'timeout', message: `TLS handshake did not complete within ${timeoutMs} ms` };
}
