/**
 * Every way a delivery to a host can fail, and the one exhaustive classification of them: whether the
 * failure is temporary or permanent, the `last_error` class the next attempt's strategy expression sees,
 * the RFC 3463 status code for DSNs and logs, and the TLS-RPT result type (RFC 8460 section 4.3) when
 * the failure is a transport-security one. A cause added without a row here fails to compile.
 *
 * Status codes follow Postfix's usage where RFC 3463 leaves a choice: X.7.4 when required TLS is not
 * offered, X.7.5 for cryptographic and authentication failures (handshake, certificate, DANE, MTA-STS),
 * X.4.3 for DNS trouble, X.1.10 for a null MX (RFC 7505 section 4.2).
 */
import type { LastError, Severity, TlsRptResult } from '../core/outcome.js';
import type { DnsFailure } from '../dns/types.js';
import type { MtaStsFailure } from '../mtasts/requirement.js';
import { failureEnhancedCode, failureLastError, failureSeverity } from '../smtp/failure.js';
import type { SmtpFailure } from '../smtp/failure.js';
import type { SmtpReply } from '../smtp/protocol/reply.js';
import type { TlsFailure } from '../tls/failure.js';
import type { PkixVerdict } from '../tls/types.js';
import { pkixResultType } from '../tlsrpt/results.js';

export type FailureCause =
  | { readonly kind: 'route-dns'; readonly failure: DnsFailure }
  | { readonly kind: 'null-mx'; readonly domain: string }
  | { readonly kind: 'nxdomain'; readonly domain: string }
  | { readonly kind: 'no-address'; readonly host: string; readonly failure?: DnsFailure }
  /** A DANE plan or judgement failure, already classified by the DANE module. */
  | { readonly kind: 'dane'; readonly severity: Severity; readonly lastError: LastError; readonly tlsRpt: TlsRptResult; readonly message: string }
  | { readonly kind: 'mta-sts'; readonly failure: MtaStsFailure }
  /** The strategy requires TLS and the server does not offer STARTTLS. */
  | { readonly kind: 'starttls-not-offered'; readonly host: string }
  | { readonly kind: 'tls-handshake'; readonly failure: TlsFailure }
  /** PKIX validation failed and the strategy does not allow invalid certificates. */
  | { readonly kind: 'certificate'; readonly pkix: Extract<PkixVerdict, { valid: false }> }
  | { readonly kind: 'smtp'; readonly failure: SmtpFailure }
  /** mxsec itself could not proceed (trust store unreadable, ...): the operator must act. */
  | { readonly kind: 'local'; readonly message: string };

export interface DeliveryFailure {
  readonly cause: FailureCause['kind'];
  readonly severity: Severity;
  readonly lastError: LastError;
  /** RFC 3463 `class.subject.detail`. */
  readonly status: string;
  readonly tlsRpt?: TlsRptResult;
  readonly message: string;
  /** The remote server's reply, when it gave one. */
  readonly reply?: SmtpReply;
}

function withClass(severity: Severity, status: string): string {
  return `${severity === 'permanent' ? '5' : '4'}${status.slice(1)}`;
}

/**
 * A host that publishes TLSA records but offers no STARTTLS is "required TLS not offered" (X.7.4), as
 * for `starttls = "require"` and MTA-STS; DNS trouble is X.4.3; everything else DANE reports is X.7.5.
 */
function daneStatus(cause: Extract<FailureCause, { kind: 'dane' }>): string {
  if (cause.lastError === 'dns') return '4.4.3';
  return cause.tlsRpt === 'starttls-not-supported' ? '4.7.4' : '4.7.5';
}

/** The classification table. */
export function classify(cause: FailureCause): DeliveryFailure {
  switch (cause.kind) {
    case 'route-dns':
      return { cause: cause.kind, severity: 'temporary', lastError: 'dns', status: '4.4.3', message: `MX lookup failed: ${cause.failure.kind}: ${cause.failure.message}` };
    case 'null-mx':
      return { cause: cause.kind, severity: 'permanent', lastError: 'dns', status: '5.1.10', message: `${cause.domain} accepts no mail (null MX, RFC 7505)` };
    case 'nxdomain':
      return { cause: cause.kind, severity: 'permanent', lastError: 'dns', status: '5.1.2', message: `the domain ${cause.domain} does not exist` };
    case 'no-address':
      return {
        cause: cause.kind, severity: 'temporary', lastError: 'dns', status: '4.4.3',
        message: cause.failure === undefined ? `${cause.host} has no address records` : `address lookup of ${cause.host} failed: ${cause.failure.kind}: ${cause.failure.message}`,
      };
    case 'dane':
      return { cause: cause.kind, severity: cause.severity, lastError: cause.lastError, status: withClass(cause.severity, daneStatus(cause)), tlsRpt: cause.tlsRpt, message: cause.message };
    case 'mta-sts': {
      const f = cause.failure;
      return { cause: cause.kind, severity: f.severity, lastError: 'mta-sts', status: withClass(f.severity, f.reason === 'starttls-not-supported' ? '4.7.4' : '4.7.5'), ...(f.result === undefined ? {} : { tlsRpt: f.result }), message: f.message };
    }
    case 'starttls-not-offered':
      return { cause: cause.kind, severity: 'temporary', lastError: 'tls', status: '4.7.4', tlsRpt: 'starttls-not-supported', message: `TLS is required but ${cause.host} does not offer STARTTLS` };
    case 'tls-handshake':
      return { cause: cause.kind, severity: 'temporary', lastError: 'tls', status: '4.7.5', tlsRpt: 'validation-failure', message: `TLS handshake failed (${cause.failure.kind}): ${cause.failure.message}` };
    case 'certificate':
      return { cause: cause.kind, severity: 'temporary', lastError: 'tls', status: '4.7.5', tlsRpt: pkixResultType(cause.pkix.reason), message: `certificate not valid (${cause.pkix.reason}): ${cause.pkix.message}` };
    case 'smtp': {
      const f = cause.failure;
      const severity = failureSeverity(f);
      return {
        cause: cause.kind, severity, lastError: failureLastError(f), status: failureEnhancedCode(f),
        ...(f.kind === 'injection' ? { tlsRpt: 'validation-failure' as const } : {}),
        message: `${f.phase}: ${f.message}`, ...(f.reply === undefined ? {} : { reply: f.reply }),
      };
    }
    case 'local':
      return { cause: cause.kind, severity: 'temporary', lastError: 'io', status: '4.3.5', message: cause.message };
  }
}
