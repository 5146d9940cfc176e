/**
 * The vocabulary shared by every delivery mechanism: policy modes, security levels, the `last_error`
 * classes that the TLS strategy expression sees, and TLS-RPT result types (RFC 8460 section 4.3).
 * These are string unions so that a decision keeps its reason and a switch over them is checked for
 * exhaustiveness by the compiler.
 */

/** `queue.tls.<id>.dane`, `.mta-sts` and `.starttls`. */
export type Mode = 'optional' | 'require' | 'disable';

/**
 * The security a delivery reached, weakest first. `dane` and `mta-sts` authenticated the host by policy,
 * `pkix` validated the certificate against the trust store, `unverified` is TLS without authentication,
 * `none` is plaintext.
 */
export type SecurityLevel = 'none' | 'unverified' | 'pkix' | 'mta-sts' | 'dane';

/** The `last_error` variable of the strategy expressions, with Stalwart's spellings. */
export type LastError =
  | 'none'
  | 'dns'
  | 'unexpected-reply'
  | 'connection'
  | 'tls'
  | 'dane'
  | 'mta-sts'
  | 'rate'
  | 'concurrency'
  | 'io';

export const LAST_ERRORS: readonly LastError[] = [
  'none',
  'dns',
  'unexpected-reply',
  'connection',
  'tls',
  'dane',
  'mta-sts',
  'rate',
  'concurrency',
  'io',
];

/** Result types of RFC 8460 section 4.3, plus `success` for a successful session. */
export type TlsRptResult =
  | 'success'
  | 'starttls-not-supported'
  | 'certificate-host-mismatch'
  | 'certificate-expired'
  | 'certificate-not-trusted'
  | 'validation-failure'
  | 'tlsa-invalid'
  | 'dnssec-invalid'
  | 'dane-required'
  | 'sts-policy-fetch-error'
  | 'sts-policy-invalid'
  | 'sts-webpki-invalid';

/** Whether a failure may succeed later (4xx, retry) or never will (5xx, bounce). */
export type Severity = 'temporary' | 'permanent';
