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
 * Severity of every failure, one table (`severityOf`), and why:
 * - `txt-lookup-failed` (DNS timeout/SERVFAIL/bogus at `_mta-sts`), `fetch-failed` (any HTTPS, TLS or
 *   parse failure), `multiple-records`, `invalid-record`: temporary. The cause is transient or a
 *   publishing mistake the domain is likely to fix, or an attacker we should outwait, not obey.
 * - `no-record`, `mode-testing`, `mode-none`: permanent. The domain has authoritatively said it does not
 *   enforce MTA-STS; retrying will not change that before the queue lifetime runs out, and a bounce now
 *   tells the sender more than a bounce in five days.
 * - `mx-not-in-policy`, `starttls-not-supported`, `certificate`: temporary. RFC 8461 section 5 forbids
 *   failing a message permanently under `enforce` before checking for an updated policy, which only a
 *   later attempt does.
 * Every failure carries `lastError: 'mta-sts'` for the strategy expressions, and a TLS-RPT result type
 * (RFC 8460 section 4.3) when the failure is one the recipient domain's report should contain.
 */
import type { Mode, Severity, TlsRptResult } from '../core/outcome.js';
import type { PkixVerdict } from '../tls/types.js';
import { pkixResultType } from '../tlsrpt/results.js';
import { fetchErrorResultType } from './fetch-result.js';
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

export interface MtaStsFailure {
  readonly reason: MtaStsFailureReason;
  readonly severity: Severity;
  readonly lastError: 'mta-sts';
  /** For TLS-RPT; absent when the failure is our own requirement, not the domain's policy. */
  readonly result?: TlsRptResult;
  readonly message: string;
}

/** RFC 8460 section 4.4 facts for a session under an STS policy. */
export interface StsReportFacts {
  readonly policyType: 'sts';
  readonly policyDomain: string;
  readonly policyText: string;
  readonly mxPatterns: readonly string[];
}

/** RFC 8460 facts when no policy was applied; `failure` when discovery failed in a reportable way. */
export interface NoPolicyReportFacts {
  readonly policyType: 'no-policy-found';
  readonly policyDomain: string;
  readonly failure?: { readonly result: TlsRptResult; readonly message: string };
}

export type MtaStsPlan =
  | { readonly kind: 'disabled' }
  | { readonly kind: 'none'; readonly reason: 'no-policy' | 'mode-none' | 'lookup-failed'; readonly message: string; readonly report: NoPolicyReportFacts }
  | { readonly kind: 'enforce' | 'testing'; readonly patterns: readonly string[]; readonly report: StsReportFacts }
  | { readonly kind: 'failed'; readonly failure: MtaStsFailure };

/** `report-only`: a `testing` policy would have failed this; report it, deliver anyway. */
export type MtaStsJudgement =
  | { readonly kind: 'ok'; readonly pattern?: string }
  | { readonly kind: 'failed'; readonly failure: MtaStsFailure }
  | { readonly kind: 'report-only'; readonly failure: MtaStsFailure };

/** What the TLS layer observed at one MX host. */
export type MtaStsHandshake = 'no-starttls' | { readonly pkix: PkixVerdict };

/** The single classification table; adding a reason without a row fails to compile. */
export function severityOf(reason: MtaStsFailureReason): Severity {
  switch (reason) {
    case 'no-record':
    case 'mode-testing':
    case 'mode-none':
      return 'permanent';
    case 'txt-lookup-failed':
    case 'multiple-records':
    case 'invalid-record':
    case 'fetch-failed':
    case 'mx-not-in-policy':
    case 'starttls-not-supported':
    case 'certificate':
      return 'temporary';
  }
}

/** False for `disable`: the caller must then skip discovery entirely. */
export function mtaStsLookupWanted(mode: Mode): boolean {
  return mode !== 'disable';
}

/** Turns the strategy's `mta-sts` mode and the discovery result into a plan (RFC 8461 section 5.1). */
export function planMtaSts(mode: Mode, lookup: MtaStsLookup | undefined): MtaStsPlan {
  if (mode === 'disable') return { kind: 'disabled' };
  if (lookup === undefined) throw new Error(`planMtaSts: mode ${mode} needs an MTA-STS lookup`);
  const required = mode === 'require';

  if (lookup.kind === 'policy') {
    const { policy } = lookup;
    if (policy.mode === 'enforce' || policy.mode === 'testing') {
      if (required && policy.mode === 'testing') {
        return failed('mode-testing', `${lookup.domain} publishes an MTA-STS policy in testing mode; enforce is required`);
      }
      return {
        kind: policy.mode,
        patterns: policy.mx,
        report: { policyType: 'sts', policyDomain: lookup.domain, policyText: lookup.policyText, mxPatterns: policy.mx },
      };
    }
    if (required) return failed('mode-none', `${lookup.domain} publishes an MTA-STS policy in mode none; enforce is required`);
    return { kind: 'none', reason: 'mode-none', message: `${lookup.domain}: MTA-STS mode none`, report: noPolicy(lookup.domain) };
  }

  if (lookup.kind === 'none') {
    if (required) return failed(lookup.reason, `MTA-STS required: ${lookup.message}`);
    return { kind: 'none', reason: 'no-policy', message: lookup.message, report: noPolicy(lookup.domain) };
  }

  const reportable = problemResult(lookup.problem);
  if (required) return failed(problemReason(lookup.problem), `MTA-STS required: ${lookup.problem.message}`, reportable);
  return {
    kind: 'none',
    reason: 'lookup-failed',
    message: lookup.problem.message,
    report: noPolicy(lookup.domain, reportable === undefined ? undefined : { result: reportable, message: lookup.problem.message }),
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
      const failure = makeFailure('mx-not-in-policy', `MX ${mxHost} matches no mx pattern of the MTA-STS policy (${plan.patterns.join(', ')})`, 'validation-failure');
      return plan.kind === 'enforce' ? { kind: 'failed', failure } : { kind: 'report-only', failure };
    }
  }
}

/** RFC 8461 sections 4.2 and 5: judges the TLS outcome at an MX host under the plan. */
export function judgeMtaSts(plan: MtaStsPlan, handshake: MtaStsHandshake): MtaStsJudgement {
  switch (plan.kind) {
    case 'disabled':
    case 'none':
      return { kind: 'ok' };
    case 'failed':
      return { kind: 'failed', failure: plan.failure };
    case 'enforce':
    case 'testing': {
      const failure = stsHandshakeFailure(handshake);
      if (failure === undefined) return { kind: 'ok' };
      return plan.kind === 'enforce' ? { kind: 'failed', failure } : { kind: 'report-only', failure };
    }
  }
}

/** The failure an MTA-STS policy sees in a handshake (RFC 8461 section 4.2), or undefined when it passes. */
export function stsHandshakeFailure(handshake: MtaStsHandshake): MtaStsFailure | undefined {
  if (handshake === 'no-starttls') {
    return makeFailure('starttls-not-supported', 'MX does not offer STARTTLS, required by the MTA-STS policy', 'starttls-not-supported');
  }
  const { pkix } = handshake;
  if (pkix.valid) return undefined;
  return makeFailure('certificate', `MX certificate invalid under the MTA-STS policy: ${pkix.message}`, pkixResultType(pkix.reason));
}

function problemReason(problem: MtaStsProblem): MtaStsFailureReason {
  switch (problem.stage) {
    case 'dns':
      return 'txt-lookup-failed';
    case 'txt':
      return problem.reason;
    case 'fetch':
      return 'fetch-failed';
  }
}

/** Only a failed fetch is a fact about the domain's policy that TLS-RPT has a result type for. */
function problemResult(problem: MtaStsProblem): TlsRptResult | undefined {
  return problem.stage === 'fetch' ? fetchErrorResultType(problem.error) : undefined;
}

function noPolicy(domain: string, failure?: { result: TlsRptResult; message: string }): NoPolicyReportFacts {
  return failure === undefined ? { policyType: 'no-policy-found', policyDomain: domain } : { policyType: 'no-policy-found', policyDomain: domain, failure };
}

function failed(reason: MtaStsFailureReason, message: string, result?: TlsRptResult): MtaStsPlan {
  return { kind: 'failed', failure: makeFailure(reason, message, result) };
}

function makeFailure(reason: MtaStsFailureReason, message: string, result?: TlsRptResult): MtaStsFailure {
  const base = { reason, severity: severityOf(reason), lastError: 'mta-sts' as const, message };
  return result === undefined ? base : { ...base, result };
}
