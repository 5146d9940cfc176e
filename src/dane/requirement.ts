/**
 * The `dane` setting of a TLS strategy (`optional` | `require` | `disable`) applied to the DNS facts of
 * one MX host: what the connection must achieve (`daneRequirement`), and, after the handshake, whether
 * it did (`judgeDane`). Both are pure functions of their inputs.
 *
 * The guard clauses follow RFC 7672 section 2.2: a secure, usable TLSA RRset makes authenticated TLS
 * mandatory; a secure RRset of only unusable records still makes TLS mandatory; a secure denial or an
 * unsigned answer means the host does not do DANE; and a lookup that failed or did not validate is never
 * read as "no DANE" (that is the downgrade an attacker would aim for), so it defers the host instead.
 * `require` turns every "no DANE" outcome into a permanent failure. Failures carry the `last_error` class
 * the strategy expressions see and the TLS-RPT result type (RFC 8460 section 4.3).
 */
import type { TlsaRecord, DnssecStatus } from '../dns/types.js';
import type { LastError, Mode, Severity, TlsRptResult } from '../core/outcome.js';
import type { TlsaLookup } from './lookup.js';
import type { DaneVerdict } from './verify.js';
import { policyString } from './records.js';

export type DanePlan =
  /** Authenticated TLS is mandatory: verify the chain with `usable` against `referenceNames`. */
  | {
    readonly kind: 'authenticate';
    readonly usable: readonly TlsaRecord[];
    readonly referenceNames: readonly string[];
    /** Every record of the RRset in presentation form, for TLS-RPT `policy-string`. */
    readonly policyStrings: readonly string[];
  }
  /** TLS is mandatory but cannot be authenticated by DANE (RFC 7672 section 2.2, unusable records). */
  | { readonly kind: 'tls-unauthenticated'; readonly reason: string; readonly policyStrings: readonly string[] }
  /** DANE imposes nothing on this host; other mechanisms (MTA-STS, `starttls`) decide. */
  | { readonly kind: 'none'; readonly reason: string }
  /** Do not connect to this host. */
  | {
    readonly kind: 'fail';
    readonly severity: Severity;
    readonly lastError: 'dane' | 'dns';
    readonly tlsRpt: TlsRptResult;
    readonly message: string;
    readonly policyStrings: readonly string[];
  };

export interface DaneRequirementInput {
  readonly mode: Mode;
  /** DNSSEC status of the MX RRset, or `error` when the MX lookup itself failed. */
  readonly mxDnssec: DnssecStatus | 'error';
  readonly tlsa: TlsaLookup;
}

function fail(severity: Severity, lastError: 'dane' | 'dns', tlsRpt: TlsRptResult, message: string, records: readonly TlsaRecord[] = []): DanePlan {
  return { kind: 'fail', severity, lastError, tlsRpt, message, policyStrings: records.map(policyString) };
}

/** What `require` turns a "this host does not do DANE" outcome into. */
function withoutDane(mode: 'optional' | 'require', why: string): DanePlan {
  if (mode === 'require') return fail('permanent', 'dane', 'dane-required', `DANE required but ${why}`);
  return { kind: 'none', reason: why };
}

/** A failed or unvalidated lookup, never a downgrade (RFC 7672 section 2.2). */
function dnssecInvalid(what: string): DanePlan {
  return fail('temporary', 'dane', 'dnssec-invalid', `DNSSEC validation failed for ${what}`);
}

/**
 * The delivery plan the `dane` setting imposes on one MX host (RFC 7672 sections 2.2 and 2.2.3).
 * `disable` always yields `none`.
 */
export function daneRequirement(input: DaneRequirementInput): DanePlan {
  const { mode, mxDnssec, tlsa } = input;
  if (mode === 'disable') return { kind: 'none', reason: 'dane is disabled' };
  // RFC 8460 has no result type for a resolver outage; `dnssec-invalid` ("no valid records were
  // returned from the recursive resolver") is the closest, and the `dns` class keeps the distinction.
  if (mxDnssec === 'error') return fail('temporary', 'dns', 'dnssec-invalid', 'the MX lookup failed');
  if (mxDnssec === 'bogus') return dnssecInvalid('the MX RRset');
  // RFC 7672 section 2.2.1: an unsigned MX RRset may be forged, so the host's TLSA records prove nothing.
  if (mxDnssec === 'insecure') return withoutDane(mode, 'the MX RRset is not DNSSEC-signed');
  switch (tlsa.kind) {
    case 'secure':
      if (tlsa.usable.length > 0) {
        return { kind: 'authenticate', usable: tlsa.usable, referenceNames: tlsa.referenceNames, policyStrings: tlsa.records.map(policyString) };
      }
      // RFC 7672 section 2.2: unusable records still prove the server offers TLS, so it stays mandatory.
      if (mode === 'require') {
        return fail('permanent', 'dane', 'tlsa-invalid', `DANE required but no TLSA record of ${tlsa.baseName} is usable`, tlsa.records);
      }
      return { kind: 'tls-unauthenticated', reason: `no TLSA record of ${tlsa.baseName} is usable`, policyStrings: tlsa.records.map(policyString) };
    case 'secure-none':
      return withoutDane(mode, `${tlsa.name} has no TLSA records (validated denial)`);
    case 'insecure':
      return withoutDane(mode, `the TLSA answer for ${tlsa.name} is not DNSSEC-signed`);
    case 'bogus':
      return dnssecInvalid(`${tlsa.name} TLSA: ${tlsa.message}`);
    case 'error':
      return fail('temporary', 'dns', 'dnssec-invalid', `TLSA lookup of ${tlsa.failure.name} failed: ${tlsa.failure.kind}: ${tlsa.failure.message}`);
    case 'not-applicable':
      switch (tlsa.reason) {
        case 'mx-bogus': return dnssecInvalid('the MX RRset');
        case 'address-bogus': return dnssecInvalid('the MX host address records');
        case 'mx-insecure': return withoutDane(mode, 'the MX RRset is not DNSSEC-signed');
        case 'address-insecure': return withoutDane(mode, 'the MX host address records are not DNSSEC-signed');
      }
  }
}

/** The host result of a DANE plan once the handshake has been observed. */
export type DaneJudgement =
  | { readonly kind: 'authenticated'; readonly usage: 'DANE-EE' | 'DANE-TA'; readonly matched: TlsaRecord }
  /** TLS was mandatory and was negotiated; DANE could not authenticate it (unusable records only). */
  | { readonly kind: 'unauthenticated' }
  /** DANE imposed nothing; the other mechanisms judge this host. */
  | { readonly kind: 'not-applicable' }
  /** Give up on this host; temporary failures try the next MX and defer the message. */
  | {
    readonly kind: 'failure';
    readonly severity: Severity;
    readonly lastError: LastError;
    readonly tlsRpt: TlsRptResult;
    readonly message: string;
  };

/**
 * Judges the observed handshake against a plan (RFC 7672 sections 2.2 and 3.1). `no-starttls` means the
 * server did not offer STARTTLS (or TLS could not be negotiated). A DANE mismatch fails the host
 * temporarily: the next MX is tried and the message is deferred rather than bounced, as Postfix does,
 * because a mismatch is most often a key rollover caught half-way.
 */
export function judgeDane(plan: DanePlan, observed: DaneVerdict | 'no-starttls'): DaneJudgement {
  switch (plan.kind) {
    case 'none':
      return { kind: 'not-applicable' };
    case 'fail':
      return { kind: 'failure', severity: plan.severity, lastError: plan.lastError, tlsRpt: plan.tlsRpt, message: plan.message };
    case 'tls-unauthenticated':
    case 'authenticate':
      break;
  }
  // RFC 7672 section 2.2: with TLSA records published, a missing STARTTLS is an attack or an outage.
  if (observed === 'no-starttls') {
    return { kind: 'failure', severity: 'temporary', lastError: 'tls', tlsRpt: 'starttls-not-supported', message: 'the server does not offer STARTTLS but publishes TLSA records' };
  }
  if (plan.kind === 'tls-unauthenticated') return { kind: 'unauthenticated' };
  if (observed.ok) return { kind: 'authenticated', usage: observed.usage, matched: observed.matched };
  return { kind: 'failure', severity: 'temporary', lastError: 'dane', tlsRpt: 'validation-failure', message: `DANE verification failed (${observed.reason}): ${observed.message}` };
}
