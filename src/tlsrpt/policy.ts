/**
 * Which policy a delivery attempt to one MX host was made under, in TLS-RPT's terms (RFC 8460 section
 * 4.4): `tlsa` with the TLSA records as policy strings when DANE applied to the host, `sts` with the
 * policy text and MX patterns when an MTA-STS policy applied, otherwise `no-policy-found` (with the
 * reportable discovery failure, if any). DANE takes precedence as it does for delivery. Pure.
 */
import type { TlsRptResult } from '../core/outcome.js';
import type { DanePlan } from '../dane/requirement.js';
import type { MtaStsFailure, MtaStsPlan } from '../mtasts/requirement.js';
import { tlsRptOf } from '../policy/failure.js';

export type ReportedPolicy =
  | { readonly type: 'tlsa'; readonly domain: string; readonly strings: readonly string[] }
  | {
      readonly type: 'sts';
      readonly domain: string;
      readonly strings: readonly string[];
      readonly mxPatterns: readonly string[];
    }
  | {
      readonly type: 'no-policy-found';
      readonly domain: string;
      readonly failure?: { readonly result: TlsRptResult; readonly message: string };
    };

/** The policy of an attempt to `mxHost` of `domain`. */
export function reportedPolicy(
  domain: string,
  mxHost: string,
  dane: DanePlan,
  mtaSts: MtaStsPlan,
): ReportedPolicy {
  switch (dane.kind) {
    case 'authenticate':
    case 'tls-unauthenticated':
      return { type: 'tlsa', domain: mxHost, strings: dane.policyStrings };
    case 'fail':
      if (dane.policyStrings.length > 0)
        return { type: 'tlsa', domain: mxHost, strings: dane.policyStrings };
      break;
    case 'none':
      break;
  }
  switch (mtaSts.kind) {
    case 'enforce':
    case 'testing':
      return {
        type: 'sts',
        domain: mtaSts.report.policyDomain,
        strings: mtaSts.report.policyText.split(/\r?\n/).filter((l) => l !== ''),
        mxPatterns: mtaSts.report.mxPatterns,
      };
    case 'none':
      return {
        type: 'no-policy-found',
        domain: mtaSts.report.policyDomain,
        ...reportedFailure(mtaSts.report.failure),
      };
    case 'failed':
      return { type: 'no-policy-found', domain, ...reportedFailure(mtaSts.failure) };
    case 'disabled':
      return { type: 'no-policy-found', domain };
  }
}

/** The discovery failure as TLS-RPT reports it; nothing when it has no result type (our own requirement). */
function reportedFailure(failure: MtaStsFailure | undefined): {
  failure?: { result: TlsRptResult; message: string };
} {
  const result = failure === undefined ? undefined : tlsRptOf(failure);
  return failure === undefined || result === undefined
    ? {}
    : { failure: { result, message: failure.message } };
}
