/**
 * One-line, human descriptions of a TLS session and of a failed handshake, for CLI output and logs.
 * Pure and total: every input gives a line, nothing is thrown. Not a stable format for machines;
 * reports use the structured facts.
 */
import type { TlsFailure } from './failure.js';
import type { PkixVerdict, TlsFacts } from './types.js';

/** For example `TLSv1.3 TLS_AES_256_GCM_SHA384, CN=mx.example.test issued by CN=mxsec Test CA, valid`. */
export function describeTlsFacts(facts: TlsFacts): string {
  const leaf = facts.chain[0];
  const certificate =
    leaf === undefined
      ? 'no certificate'
      : `${leaf.subject || '(empty subject)'} issued by ${leaf.issuer || '(empty issuer)'}`;
  return `${facts.version} ${facts.cipher}, ${certificate}, ${describePkix(facts.pkix)}`;
}

/** `valid`, or the reason and OpenSSL's or the name check's words, e.g. `expired (certificate chain: CERT_HAS_EXPIRED)`. */
export function describePkix(pkix: PkixVerdict): string {
  return pkix.valid ? 'valid' : `${pkix.reason} (${pkix.message})`;
}

/** For example `TLS handshake failed (protocol-version, alert protocol_version): tlsv1 alert protocol version`. */
export function describeTlsFailure(failure: TlsFailure): string {
  const alert = failure.alert === undefined ? '' : `, alert ${failure.alert}`;
  return `TLS handshake failed (${failure.kind}${alert}): ${failure.message}`;
}
