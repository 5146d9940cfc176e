/**
 * The `mta-sts` setting of a TLS strategy (`disable | optional | require`) applied to a discovered policy:
 * `planMtaSts` turns the lookup into a plan before any connection, `authorizeMx` checks each MX host
 * against it (RFC 8461 section 4.1), and `judgeMtaSts` judges the observed handshake (sections 4.2 and 5).
 * Pure and total; the only `throw` is for a caller bug (asking for a plan without having looked up).
 *
 * Meaning of the setting:
 * - `disable`: MTA-STS plays no part; the caller must not even look the policy up.
 * - `optional`: apply what the domain publishes. `enforce` restricts MX hosts and requires STARTTLS with
 *   a valid certificate; `testing` checks the same but only reports; no policy, `mode: none` or a failed
 *   discovery mean delivery as without MTA-STS (RFC 8461 section 5.1).
 * - `require`: a valid `enforce` policy must be obtained (fresh or cached), then applied as above.
 *
 * Failures name their reason only (`MtaStsFailureReason`); what each means (temporary or permanent,
 * `last_error`, status, TLS-RPT type) is decided in `policy/failure.ts`, with the reasons why.
 */
import type { Mode } from '../core/outcome.js';
import type { PkixFailureReason, PkixVerdict } from '../tls/types.js';
import type { PolicyFetchErrorKind } from './fetch-result.js';
import { findMatchingPattern } from './match.js';
import type { MtaStsLookup, MtaStsProblem } from './resolve.js';

export type MtaStsFailureReason =
  | 'txt-lookup-failed'
  | 'no-record'
  | 'multiple-records'
  | 'invalid-record'
  | 'fetch-failed'
  | 'mode-testing'
  | 'mode-none'
  | 'mx-not-in-policy'
  | 'starttls-not-supported'
  | 'certificate';

/** A failure with the facts its TLS-RPT result type depends on (the certificate's, the fetch's). */
export type MtaStsFailure =
  | {
      readonly reason: Exclude<MtaStsFailureReason, 'certificate' | 'fetch-failed'>;
      readonly message: string;
    }
  | {
      readonly reason: 'certificate';
      readonly message: string;
      readonly certificate: PkixFailureReason;
    }
  | {
      readonly reason: 'fetch-failed';
      readonly message: string;
      readonly policyFetch: PolicyFetchErrorKind;
    };

/** RFC 8460 section 4.4 facts for a session under an STS policy. */
export interface StsReportFacts {
  readonly policyType: 'sts';
  readonly policyDomain: string;
  readonly policyText: string;
  readonly mxPatterns: readonly string[];
}

/** RFC 8460 facts when no policy was applied; `failure` when the policy fetch failed (reportable). */
export interface NoPolicyReportFacts {
  readonly policyType: 'no-policy-found';
  readonly policyDomain: string;
  readonly failure?: Extract<MtaStsFailure, { reason: 'fetch-failed' }>;
}

export type MtaStsPlan =
  | { readonly kind: 'disabled' }
  | {
      readonly kind: 'none';
      readonly reason: 'no-policy' | 'mode-none' | 'lookup-failed';
      readonly message: string;
      readonly report: NoPolicyReportFacts;
    }
  | {
      readonly kind: 'enforce' | 'testing';
      readonly patterns: readonly string[];
      readonly report: StsReportFacts;
    }
  | { readonly kind: 'failed'; readonly failure: MtaStsFailure };

/** `report-only`: a `testing` policy would have failed this; report it, deliver anyway. */
export type MtaStsJudgement =
  | { readonly kind: 'ok'; readonly pattern?: string }
  | { readonly kind: 'failed'; readonly failure: MtaStsFailure }
  | { readonly kind: 'report-only'; readonly failure: MtaStsFailure };

/** What the TLS layer observed at one MX host. */
export type MtaStsHandshake = 'no-starttls' | { readonly pkix: PkixVerdict };

/** Turns the strategy's `mta-sts` mode and the discovery result into a plan (RFC 8461 section 5.1). */
export function planMtaSts(mode: Mode, lookup: MtaStsLookup | undefined): MtaStsPlan {
  if (mode === 'disable') return { kind: 'disabled' };
  if (lookup === undefined) throw new Error(`planMtaSts: mode ${mode} needs an MTA-STS lookup`);
  const required = mode === 'require';

  if (lookup.kind === 'policy') {
    const { policy } = lookup;
    if (policy.mode === 'enforce' || policy.mode === 'testing') {
      if (required && policy.mode === 'testing') {
        return failed(
          'mode-testing',
          `${lookup.domain} publishes an MTA-STS policy in testing mode; enforce is required`,
        );
      }
      return {
        kind: policy.mode,
        patterns: policy.mx,
        report: {
          policyType: 'sts',
          policyDomain: lookup.domain,
          policyText: lookup.policyText,
          mxPatterns: policy.mx,
        },
      };
    }
    if (required)
      return failed(
        'mode-none',
        `${lookup.domain} publishes an MTA-STS policy in mode none; enforce is required`,
      );
    return {
      kind: 'none',
      reason: 'mode-none',
      message: `${lookup.domain}: MTA-STS mode none`,
      report: noPolicy(lookup.domain),
    };
  }

  if (lookup.kind === 'none') {
    if (required) return failed(lookup.reason, `MTA-STS required: ${lookup.message}`);
    return {
      kind: 'none',
      reason: 'no-policy',
      message: lookup.message,
      report: noPolicy(lookup.domain),
    };
  }

  const { problem } = lookup;
  if (required)
    return {
      kind: 'failed',
      failure: problemFailure(problem, `MTA-STS required: ${problem.message}`),
    };
  // Only a failed fetch is a fact about the domain's policy that TLS-RPT has a result type for.
  const reportable =
    problem.stage === 'fetch'
      ? {
          reason: 'fetch-failed' as const,
          message: problem.message,
          policyFetch: problem.error.kind,
        }
      : undefined;
  return {
    kind: 'none',
    reason: 'lookup-failed',
    message: problem.message,
    report: noPolicy(lookup.domain, reportable),
  };
}

/** RFC 8461 section 4.1: may this MX host be used under the plan? */
export function authorizeMx(plan: MtaStsPlan, mxHost: string): MtaStsJudgement {
  switch (plan.kind) {
    case 'disabled':
    case 'none':
      return { kind: 'ok' };
    case 'failed':
      return { kind: 'failed', failure: plan.failure };
    case 'enforce':
    case 'testing': {
      const pattern = findMatchingPattern(mxHost, plan.patterns);
      if (pattern !== undefined) return { kind: 'ok', pattern };
      const failure: MtaStsFailure = {
        reason: 'mx-not-in-policy',
        message: `MX ${mxHost} matches no mx pattern of the MTA-STS policy (${plan.patterns.join(', ')})`,
      };
      return plan.kind === 'enforce'
        ? { kind: 'failed', failure }
        : { kind: 'report-only', failure };
    }
  }
}

/**
 * RFC 8461 sections 4.2 and 5: judges the TLS outcome at an MX host under an `enforce` or `testing`
 * policy: STARTTLS offered and a certificate valid for the MX host, or a failure that `enforce` fails
 * the host for and `testing` only reports.
 */
export function judgeMtaSts(
  mode: 'enforce' | 'testing',
  handshake: MtaStsHandshake,
): MtaStsJudgement {
  const failure = handshakeFailure(handshake);
  if (failure === undefined) return { kind: 'ok' };
  return mode === 'enforce' ? { kind: 'failed', failure } : { kind: 'report-only', failure };
}

function handshakeFailure(handshake: MtaStsHandshake): MtaStsFailure | undefined {
  if (handshake === 'no-starttls')
    return {
      reason: 'starttls-not-supported',
      message: 'MX does not offer STARTTLS, required by the MTA-STS policy',
    };
  const { pkix } = handshake;
  if (pkix.valid) return undefined;
  return {
    reason: 'certificate',
    message: `MX certificate invalid under the MTA-STS policy: ${pkix.message}`,
    certificate: pkix.reason,
  };
}

function problemFailure(problem: MtaStsProblem, message: string): MtaStsFailure {
  switch (problem.stage) {
    case 'dns':
      return { reason: 'txt-lookup-failed', message };
    case 'txt':
      return { reason: problem.reason, message };
    case 'fetch':
      return { reason: 'fetch-failed', message, policyFetch: problem.error.kind };
  }
}

function noPolicy(domain: string, failure?: NoPolicyReportFacts['failure']): NoPolicyReportFacts {
  return failure === undefined
    ? { policyType: 'no-policy-found', policyDomain: domain }
    : { policyType: 'no-policy-found', policyDomain: domain, failure };
}

function failed(
  reason: Exclude<MtaStsFailureReason, 'certificate' | 'fetch-failed'>,
  message: string,
): MtaStsPlan {
  return { kind: 'failed', failure: { reason, message } };
}
