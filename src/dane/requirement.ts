/**
 * The `dane` setting of a TLS strategy (`optional` | `require` | `disable`) applied to the DNS facts of
 * one MX host: what the connection must achieve (`daneRequirement`), and, after the handshake, whether
 * it did (`judgeDane`). Both are pure functions of their inputs.
 *
 * The guard clauses follow RFC 7672 section 2.2: a secure, usable TLSA RRset makes authenticated TLS
 * mandatory; a secure RRset of only unusable records still makes TLS mandatory; a secure denial or an
 * unsigned answer means the host does not do DANE; and a lookup that failed or did not validate is never
 * read as "no DANE" (that is the downgrade an attacker would aim for), so it defers the host instead.
 * `require` turns every "no DANE" outcome into a permanent failure. Failures name their reason only;
 * what a reason means (severity, `last_error`, status, TLS-RPT type) is decided in `policy/failure.ts`.
 */
import type { TlsaRecord, DnssecStatus } from '../dns/types.js';
import type { Mode } from '../core/outcome.js';
import type { TlsaLookup } from './lookup.js';
import type { DaneVerdict } from './verify.js';
import { policyString } from './records.js';

/** Why DANE stops a delivery to a host (RFC 7672 sections 2.2 and 3.1). */
export type DaneFailureReason =
  /** The MX lookup itself failed, so nothing about DANE can be known. */
  | 'dane-mx-lookup-failed'
  | 'mx-bogus'
  | 'address-bogus'
  | 'tlsa-bogus'
  | 'tlsa-lookup-failed'
  /** `dane = "require"` and the host does not do DANE. */
  | 'dane-required'
  /** `dane = "require"` and no TLSA record of the host is usable. */
  | 'tlsa-unusable-required'
  /** TLSA records are published but the server offers no STARTTLS. */
  | 'dane-no-starttls'
  /** No usable record matched the server's chain. */
  | 'dane-mismatch';

export interface DaneFailure {
  readonly reason: DaneFailureReason;
  readonly message: string;
}

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
  | {
      readonly kind: 'tls-unauthenticated';
      readonly reason: string;
      readonly policyStrings: readonly string[];
    }
  /** DANE imposes nothing on this host; other mechanisms (MTA-STS, `starttls`) decide. */
  | { readonly kind: 'none'; readonly reason: string }
  /** Do not connect to this host. */
  | {
      readonly kind: 'fail';
      readonly failure: DaneFailure;
      readonly policyStrings: readonly string[];
    };

export interface DaneRequirementInput {
  readonly mode: Mode;
  /** DNSSEC status of the MX RRset, or `error` when the MX lookup itself failed. */
  readonly mxDnssec: DnssecStatus | 'error';
  readonly tlsa: TlsaLookup;
}

function fail(
  reason: DaneFailureReason,
  message: string,
  records: readonly TlsaRecord[] = [],
): DanePlan {
  return { kind: 'fail', failure: { reason, message }, policyStrings: records.map(policyString) };
}

/** What `require` turns a "this host does not do DANE" outcome into. */
function withoutDane(mode: 'optional' | 'require', why: string): DanePlan {
  if (mode === 'require') return fail('dane-required', `DANE required but ${why}`);
  return { kind: 'none', reason: why };
}

/** A failed or unvalidated lookup, never a downgrade (RFC 7672 section 2.2). */
function dnssecInvalid(
  reason: 'mx-bogus' | 'address-bogus' | 'tlsa-bogus',
  what: string,
): DanePlan {
  return fail(reason, `DNSSEC validation failed for ${what}`);
}

/**
 * The delivery plan the `dane` setting imposes on one MX host (RFC 7672 sections 2.2 and 2.2.3).
 * `disable` always yields `none`.
 */
export function daneRequirement(input: DaneRequirementInput): DanePlan {
  const { mode, mxDnssec, tlsa } = input;
  if (mode === 'disable') return { kind: 'none', reason: 'dane is disabled' };
  if (mxDnssec === 'error') return fail('dane-mx-lookup-failed', 'the MX lookup failed');
  if (mxDnssec === 'bogus') return dnssecInvalid('mx-bogus', 'the MX RRset');
  // RFC 7672 section 2.2.1: an unsigned MX RRset may be forged, so the host's TLSA records prove nothing.
  if (mxDnssec === 'insecure') return withoutDane(mode, 'the MX RRset is not DNSSEC-signed');
  switch (tlsa.kind) {
    case 'secure':
      if (tlsa.usable.length > 0) {
        return {
          kind: 'authenticate',
          usable: tlsa.usable,
          referenceNames: tlsa.referenceNames,
          policyStrings: tlsa.records.map(policyString),
        };
      }
      // RFC 7672 section 2.2: unusable records still prove the server offers TLS, so it stays mandatory.
      if (mode === 'require') {
        return fail(
          'tlsa-unusable-required',
          `DANE required but no TLSA record of ${tlsa.baseName} is usable`,
          tlsa.records,
        );
      }
      return {
        kind: 'tls-unauthenticated',
        reason: `no TLSA record of ${tlsa.baseName} is usable`,
        policyStrings: tlsa.records.map(policyString),
      };
    case 'secure-none':
      return withoutDane(mode, `${tlsa.name} has no TLSA records (validated denial)`);
    case 'insecure':
      return withoutDane(mode, `the TLSA answer for ${tlsa.name} is not DNSSEC-signed`);
    case 'bogus':
      return dnssecInvalid('tlsa-bogus', `${tlsa.name} TLSA: ${tlsa.message}`);
    case 'error':
      return fail(
        'tlsa-lookup-failed',
        `TLSA lookup of ${tlsa.failure.name} failed: ${tlsa.failure.kind}: ${tlsa.failure.message}`,
      );
    case 'not-applicable':
      switch (tlsa.reason) {
        case 'mx-bogus':
          return dnssecInvalid('mx-bogus', 'the MX RRset');
        case 'address-bogus':
          return dnssecInvalid('address-bogus', 'the MX host address records');
        case 'mx-insecure':
          return withoutDane(mode, 'the MX RRset is not DNSSEC-signed');
        case 'address-insecure':
          return withoutDane(mode, 'the MX host address records are not DNSSEC-signed');
      }
  }
}

/** The host result of a DANE plan once the handshake has been observed. */
export type DaneJudgement =
  | {
      readonly kind: 'authenticated';
      readonly usage: 'DANE-EE' | 'DANE-TA';
      readonly matched: TlsaRecord;
    }
  /** TLS was mandatory and was negotiated; DANE could not authenticate it (unusable records only). */
  | { readonly kind: 'unauthenticated' }
  /** DANE imposed nothing; the other mechanisms judge this host. */
  | { readonly kind: 'not-applicable' }
  /** Give up on this host; temporary failures try the next MX and defer the message. */
  | { readonly kind: 'failure'; readonly failure: DaneFailure };

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
      return { kind: 'failure', failure: plan.failure };
    case 'tls-unauthenticated':
    case 'authenticate':
      break;
  }
  // RFC 7672 section 2.2: with TLSA records published, a missing STARTTLS is an attack or an outage.
  if (observed === 'no-starttls') {
    return {
      kind: 'failure',
      failure: {
        reason: 'dane-no-starttls',
        message: 'the server does not offer STARTTLS but publishes TLSA records',
      },
    };
  }
  if (plan.kind === 'tls-unauthenticated') return { kind: 'unauthenticated' };
  if (observed.ok)
    return { kind: 'authenticated', usage: observed.usage, matched: observed.matched };
  return {
    kind: 'failure',
    failure: {
      reason: 'dane-mismatch',
      message: `DANE verification failed (${observed.reason}): ${observed.message}`,
    },
  };
}
