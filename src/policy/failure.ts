/**
 * The one failure table. The mechanisms (routing, DANE, MTA-STS, the strategy's TLS rules, the SMTP
 * client, mxsec itself) only name *why* a delivery to a host failed, as a `FailureReason` from their
 * own closed union; this module alone decides what that means: temporary or permanent, the
 * `last_error` class the next attempt's strategy expression sees, the RFC 3463 status for DSNs and
 * logs, and the TLS-RPT result type (RFC 8460 section 4.3). `ROWS` is checked with
 * `satisfies Record<FailureReason, Row>`, so a reason added anywhere without a row fails to compile,
 * and `test/fixtures/golden/failures.txt` pins every row with the DSN sentence it produces.
 *
 * Status codes follow Postfix's usage where RFC 3463 leaves a choice: X.7.4 when required TLS is not
 * offered, X.7.5 for cryptographic and authentication failures (handshake, certificate, DANE, MTA-STS),
 * X.4.3 for DNS trouble, X.1.10 for a null MX (RFC 7505 section 4.2). Two rows defer to facts the
 * table cannot know in advance: a server's reply (its code decides severity and status, RFC 5321
 * 4.2.1, RFC 3463) and a certificate's or policy fetch's failure (their own sub-tables below).
 */
import type { LastError, Severity, TlsRptResult } from '../core/outcome.js';
import type { DaneFailure, DaneFailureReason } from '../dane/requirement.js';
import type { DnsFailure } from '../dns/types.js';
import type { PolicyFetchErrorKind } from '../mtasts/fetch-result.js';
import type { MtaStsFailure, MtaStsFailureReason } from '../mtasts/requirement.js';
import type { SmtpFailure, SmtpFailureKind } from '../smtp/failure.js';
import { effectiveEnhancedCode, replySeverity } from '../smtp/protocol/enhanced.js';
import type { SmtpReply } from '../smtp/protocol/reply.js';
import { describeTlsFailure } from '../tls/describe.js';
import type { TlsFailure } from '../tls/failure.js';
import type { PkixFailureReason, PkixVerdict } from '../tls/types.js';

/** Why a domain has no usable route (RFC 5321 section 5.1, RFC 7505). */
export type RouteFailureReason =
  'mx-lookup-failed' | 'null-mx' | 'nxdomain' | 'no-address' | 'address-lookup-failed';

/** The strategy's own TLS rules (`starttls`, `allow-invalid-certs`), outside DANE and MTA-STS. */
export type StrategyTlsReason = 'starttls-not-offered' | 'tls-handshake' | 'pkix-invalid';

/**
 * SMTP failures by kind; during STARTTLS every kind is a TLS failure (Stalwart's `tls` class: a refused
 * or broken STARTTLS says nothing about the message), so those have rows of their own.
 */
export type SmtpFailureReason = SmtpFailureKind | `starttls-${StarttlsKind}`;
type StarttlsKind = Extract<
  SmtpFailureKind,
  'reply' | 'timeout' | 'closed' | 'protocol' | 'injection' | 'tls'
>;

export type FailureReason =
  | RouteFailureReason
  | DaneFailureReason
  | MtaStsFailureReason
  | StrategyTlsReason
  | SmtpFailureReason
  /** mxsec itself could not proceed (trust store unreadable, ...): the operator must act. */
  | 'local';

/** What a reason means. `by-reply`, `by-certificate`, `by-policy-fetch`: see the module header. */
export interface Row {
  readonly severity: Severity | 'by-reply';
  readonly lastError: LastError;
  /** RFC 3463 `class.subject.detail`, or `by-reply` for the server's own code. */
  readonly status: string;
  readonly tlsRpt: TlsRptResult | 'by-certificate' | 'by-policy-fetch' | null;
}

const temporary = (lastError: LastError, status: string, tlsRpt: Row['tlsRpt'] = null): Row => ({
  severity: 'temporary',
  lastError,
  status,
  tlsRpt,
});
const permanent = (lastError: LastError, status: string, tlsRpt: Row['tlsRpt'] = null): Row => ({
  severity: 'permanent',
  lastError,
  status,
  tlsRpt,
});
const byReply = (lastError: LastError, tlsRpt: Row['tlsRpt'] = null): Row => ({
  severity: 'by-reply',
  lastError,
  status: 'by-reply',
  tlsRpt,
});

/** The table. Grouped by the mechanism that names the reason. */
export const ROWS = {
  // Routing (RFC 5321 5.1, RFC 7505 4.2, RFC 3463 3.2).
  'mx-lookup-failed': temporary('dns', '4.4.3'),
  'null-mx': permanent('dns', '5.1.10'),
  nxdomain: permanent('dns', '5.1.2'),
  'no-address': temporary('dns', '4.4.3'),
  'address-lookup-failed': temporary('dns', '4.4.3'),

  // DANE (RFC 7672 2.2, 3.1). A failed or bogus lookup is never a downgrade: temporary. RFC 8460 has
  // no result type for a resolver outage; `dnssec-invalid` is the closest, the `dns` class keeps it apart.
  'dane-mx-lookup-failed': temporary('dns', '4.4.3', 'dnssec-invalid'),
  'mx-bogus': temporary('dane', '4.7.5', 'dnssec-invalid'),
  'address-bogus': temporary('dane', '4.7.5', 'dnssec-invalid'),
  'tlsa-bogus': temporary('dane', '4.7.5', 'dnssec-invalid'),
  'tlsa-lookup-failed': temporary('dns', '4.4.3', 'dnssec-invalid'),
  'dane-required': permanent('dane', '5.7.5', 'dane-required'),
  'tlsa-unusable-required': permanent('dane', '5.7.5', 'tlsa-invalid'),
  // A host that publishes TLSA records but offers no STARTTLS: required TLS not offered (X.7.4).
  'dane-no-starttls': temporary('tls', '4.7.4', 'starttls-not-supported'),
  // A mismatch is most often a key rollover caught half-way: defer, as Postfix does.
  'dane-mismatch': temporary('dane', '4.7.5', 'validation-failure'),

  // MTA-STS (RFC 8461). The domain saying it does not enforce is permanent under `require`; anything
  // transient, or an attacker we should outwait, is temporary; section 5 forbids failing a message
  // permanently under `enforce` before a later attempt has checked for an updated policy.
  'txt-lookup-failed': temporary('mta-sts', '4.7.5'),
  'no-record': permanent('mta-sts', '5.7.5'),
  'multiple-records': temporary('mta-sts', '4.7.5'),
  'invalid-record': temporary('mta-sts', '4.7.5'),
  'fetch-failed': temporary('mta-sts', '4.7.5', 'by-policy-fetch'),
  'mode-testing': permanent('mta-sts', '5.7.5'),
  'mode-none': permanent('mta-sts', '5.7.5'),
  'mx-not-in-policy': temporary('mta-sts', '4.7.5', 'validation-failure'),
  'starttls-not-supported': temporary('mta-sts', '4.7.4', 'starttls-not-supported'),
  certificate: temporary('mta-sts', '4.7.5', 'by-certificate'),

  // The strategy's TLS rules (RFC 3207).
  'starttls-not-offered': temporary('tls', '4.7.4', 'starttls-not-supported'),
  'tls-handshake': temporary('tls', '4.7.5', 'validation-failure'),
  'pkix-invalid': temporary('tls', '4.7.5', 'by-certificate'),

  // The SMTP client (RFC 5321 4.2.1 and 4.5.3.2, RFC 1870, RFC 6531, RFC 6152).
  reply: byReply('unexpected-reply'),
  connect: temporary('connection', '4.4.1'),
  timeout: temporary('io', '4.4.2'),
  closed: temporary('io', '4.4.2'),
  protocol: temporary('unexpected-reply', '4.5.0'),
  // CVE-2011-0411 class: plaintext injected after the STARTTLS 220.
  injection: temporary('tls', '4.7.0', 'validation-failure'),
  tls: temporary('tls', '4.7.0'),
  'too-large': permanent('unexpected-reply', '5.3.4'),
  'smtputf8-unsupported': permanent('unexpected-reply', '5.6.7'),
  '8bitmime-unsupported': permanent('unexpected-reply', '5.6.3'),
  'invalid-address': permanent('unexpected-reply', '5.1.3'),
  'starttls-reply': byReply('tls'),
  'starttls-timeout': temporary('tls', '4.4.2'),
  'starttls-closed': temporary('tls', '4.4.2'),
  'starttls-protocol': temporary('tls', '4.5.0'),
  'starttls-injection': temporary('tls', '4.7.0', 'validation-failure'),
  'starttls-tls': temporary('tls', '4.7.0'),

  local: temporary('io', '4.3.5'),
} as const satisfies Record<FailureReason, Row>;

/** RFC 8460 4.3.2: the result type of a certificate that failed PKIX validation. */
export const CERTIFICATE_RESULTS = {
  expired: 'certificate-expired',
  'hostname-mismatch': 'certificate-host-mismatch',
  'untrusted-issuer': 'certificate-not-trusted',
  'self-signed': 'certificate-not-trusted',
  // RFC 8460 has no "not yet valid" type; validation-failure is its catch-all.
  'not-yet-valid': 'validation-failure',
  other: 'validation-failure',
} as const satisfies Record<PkixFailureReason, TlsRptResult>;

/**
 * RFC 8460 4.3.2: the result type of a failed policy fetch. A refused certificate is
 * `sts-webpki-invalid`, a body that is not a valid policy `sts-policy-invalid`, everything that kept
 * us from getting a body `sts-policy-fetch-error`.
 */
export const POLICY_FETCH_RESULTS = {
  tls: 'sts-webpki-invalid',
  parse: 'sts-policy-invalid',
  'media-type': 'sts-policy-invalid',
  dns: 'sts-policy-fetch-error',
  connect: 'sts-policy-fetch-error',
  status: 'sts-policy-fetch-error',
  redirect: 'sts-policy-fetch-error',
  'too-large': 'sts-policy-fetch-error',
  timeout: 'sts-policy-fetch-error',
} as const satisfies Record<PolicyFetchErrorKind, TlsRptResult>;

/** A named failure with the facts its row may defer to. */
export type FailureCause =
  | MtaStsFailure
  | DaneFailure
  | {
      readonly reason: 'pkix-invalid';
      readonly message: string;
      readonly certificate: PkixFailureReason;
    }
  | {
      readonly reason: Exclude<
        FailureReason,
        MtaStsFailureReason | DaneFailureReason | 'pkix-invalid'
      >;
      readonly message: string;
      /** The remote server's reply, when it gave one. */
      readonly reply?: SmtpReply;
    };

export interface DeliveryFailure {
  /** The reason whose row classified this failure. */
  readonly cause: FailureReason;
  readonly severity: Severity;
  readonly lastError: LastError;
  /** RFC 3463 `class.subject.detail`. */
  readonly status: string;
  readonly tlsRpt?: TlsRptResult;
  readonly message: string;
  /** The remote server's reply, when it gave one. */
  readonly reply?: SmtpReply;
}

function replyOf(cause: FailureCause): SmtpReply | undefined {
  return 'reply' in cause ? cause.reply : undefined;
}

/** The TLS-RPT result of a cause, resolving the rows that defer to a sub-table. */
export function tlsRptOf(cause: FailureCause): TlsRptResult | undefined {
  const row: Row = ROWS[cause.reason];
  switch (row.tlsRpt) {
    case null:
      return undefined;
    case 'by-certificate':
      return 'certificate' in cause ? CERTIFICATE_RESULTS[cause.certificate] : 'validation-failure';
    case 'by-policy-fetch':
      return 'policyFetch' in cause
        ? POLICY_FETCH_RESULTS[cause.policyFetch]
        : 'sts-policy-fetch-error';
    default:
      return row.tlsRpt;
  }
}

/** Whether a reason is permanent; rows that defer to a reply are judged by `classify` instead. */
export function severityOf(reason: Exclude<FailureReason, 'reply' | 'starttls-reply'>): Severity {
  const row: Row = ROWS[reason];
  return row.severity === 'by-reply' ? 'temporary' : row.severity;
}

/** Looks the cause up in the table. */
export function classify(cause: FailureCause): DeliveryFailure {
  const row: Row = ROWS[cause.reason];
  const reply = replyOf(cause);
  // RFC 5321 4.2.1: the reply code says whether the failure is permanent; no reply at all is temporary.
  const severity =
    row.severity === 'by-reply'
      ? reply === undefined
        ? 'temporary'
        : (replySeverity(reply) ?? 'temporary')
      : row.severity;
  const status =
    row.status === 'by-reply'
      ? reply === undefined
        ? '4.0.0'
        : effectiveEnhancedCode(reply)
      : row.status;
  const tlsRpt = tlsRptOf(cause);
  return {
    cause: cause.reason,
    severity,
    lastError: row.lastError,
    status,
    message: cause.message,
    ...(tlsRpt === undefined ? {} : { tlsRpt }),
    ...(reply === undefined ? {} : { reply }),
  };
}

/** The reason of an SMTP client failure: its kind, or its STARTTLS row when it happened there. */
export function smtpReason(failure: SmtpFailure): SmtpFailureReason {
  if (failure.phase !== 'starttls') return failure.kind;
  switch (failure.kind) {
    case 'reply':
    case 'timeout':
    case 'closed':
    case 'protocol':
    case 'injection':
    case 'tls':
      return `starttls-${failure.kind}`;
    default:
      return failure.kind;
  }
}

/** An SMTP client failure as a cause; the message names the phase. */
export function smtpCause(failure: SmtpFailure): FailureCause {
  return {
    reason: smtpReason(failure),
    message: `${failure.phase}: ${failure.message}`,
    ...(failure.reply === undefined ? {} : { reply: failure.reply }),
  };
}

/** A TLS handshake that did not complete (RFC 3207 4.1). */
export function handshakeCause(failure: TlsFailure): FailureCause {
  return { reason: 'tls-handshake', message: describeTlsFailure(failure) };
}

/** A certificate that failed PKIX where the strategy requires a valid one. */
export function pkixCause(pkix: Extract<PkixVerdict, { valid: false }>): FailureCause {
  return {
    reason: 'pkix-invalid',
    message: `certificate not valid (${pkix.reason}): ${pkix.message}`,
    certificate: pkix.reason,
  };
}

/** An MX host without usable addresses (RFC 5321 5.1). */
export function noAddressCause(host: string, failure?: DnsFailure): FailureCause {
  return failure === undefined
    ? { reason: 'no-address', message: `${host} has no address records` }
    : {
        reason: 'address-lookup-failed',
        message: `address lookup of ${host} failed: ${failure.kind}: ${failure.message}`,
      };
}
