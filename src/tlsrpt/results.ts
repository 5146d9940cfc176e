/**
 * Mapping of mxsec's certificate verdicts onto TLS-RPT result types (RFC 8460 section 4.3). One table,
 * shared by the strategy checks and MTA-STS, so a certificate failure is reported the same way whatever
 * required the certificate to be valid.
 */
import type { TlsRptResult } from '../core/outcome.js';
import type { PkixFailureReason } from '../tls/types.js';

/** RFC 8460 4.3.2: the result type of a certificate that failed PKIX validation. */
export function pkixResultType(reason: PkixFailureReason): TlsRptResult {
  switch (reason) {
    case 'expired':
      return 'certificate-expired';
    case 'hostname-mismatch':
      return 'certificate-host-mismatch';
    case 'untrusted-issuer':
    case 'self-signed':
      return 'certificate-not-trusted';
    case 'not-yet-valid':
    case 'other':
      // RFC 8460 has no "not yet valid" type; validation-failure is its catch-all.
      return 'validation-failure';
  }
}
