/**
 * What mxsec records about every TLS handshake, and the verdict of PKIX (WebPKI) validation. DANE
 * verification works from `chain[].der`; MTA-STS and `starttls` strategies work from `pkix`.
 */

export interface CertificateFacts {
  readonly subject: string;
  readonly issuer: string;
  /** subjectAltName dNSName entries, lower-case. */
  readonly dnsNames: readonly string[];
  /** ISO 8601. */
  readonly notBefore: string;
  readonly notAfter: string;
  /** Hex SHA-256 of the DER SubjectPublicKeyInfo. */
  readonly spkiSha256: string;
  readonly selfSigned: boolean;
  /** The DER encoding, for DANE matching. */
  readonly der: Uint8Array;
}

/** Why PKIX validation failed, mapped onto TLS-RPT's vocabulary by the policy code. */
export type PkixFailureReason =
  'expired' | 'not-yet-valid' | 'hostname-mismatch' | 'untrusted-issuer' | 'self-signed' | 'other';

export type PkixVerdict =
  | { readonly valid: true }
  | { readonly valid: false; readonly reason: PkixFailureReason; readonly message: string };

export interface TlsFacts {
  /** `TLSv1.2` or `TLSv1.3`. */
  readonly version: string;
  /** OpenSSL/IANA cipher name as Node reports it. */
  readonly cipher: string;
  /** Leaf first, as sent by the peer; for a non-DANE host possibly ending in a trust store root (certificate.ts). */
  readonly chain: readonly CertificateFacts[];
  /** Validation of the leaf for the SNI host name against the configured trust store. */
  readonly pkix: PkixVerdict;
}
