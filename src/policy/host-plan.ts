/**
 * The security plan for one MX host: a pure function of the selected TLS strategy, the DANE plan for the
 * host and the MTA-STS plan for the domain. It decides whether TLS is required, opportunistic or off, and
 * what must authenticate the server. Every rule that overrides the strategy is a guard clause with its
 * reason, and the reasons are kept in the plan so `mxsec check` and the logs can explain the decision.
 *
 * Precedence (RFC 7672 section 2.2, RFC 8461 section 2): DANE first, and when DANE authenticates a host,
 * MTA-STS does not apply to it. A published DANE or MTA-STS enforce policy makes TLS mandatory even under
 * `starttls = "disable"`, unless the same strategy disabled that mechanism (then its plan is `none` and
 * never reaches here as a requirement). `allow-invalid-certs` only relaxes plain PKIX checks.
 */
import type { TlsStrategy } from '../config/types.js';
import type { DanePlan } from '../dane/requirement.js';
import type { TlsaRecord } from '../dns/types.js';
import { authorizeMx } from '../mtasts/requirement.js';
import type { MtaStsFailure, MtaStsPlan } from '../mtasts/requirement.js';
import { classify } from './failure.js';
import type { DeliveryFailure } from './failure.js';

/** What must authenticate the server once TLS is up. */
export type Authentication =
  /** TLSA records (RFC 7672); PKIX is not consulted. */
  | 'dane'
  /** WebPKI validation for the MX host name, required by an MTA-STS enforce policy. */
  | 'mta-sts'
  /** WebPKI validation required by the strategy (`allow-invalid-certs = false`). */
  | 'pkix'
  /** Any certificate is accepted (`allow-invalid-certs = true`); the result is recorded. */
  | 'none';

export type TlsRequirement = 'required' | 'opportunistic' | 'disabled';

export type HostPlan =
  | { readonly kind: 'skip'; readonly failure: DeliveryFailure; readonly reasons: readonly string[] }
  | {
    readonly kind: 'connect';
    readonly tls: TlsRequirement;
    readonly authentication: Authentication;
    /** Present when `authentication` is `dane`. */
    readonly dane?: { readonly usable: readonly TlsaRecord[]; readonly referenceNames: readonly string[] };
    /** An MTA-STS `testing` policy: failures are recorded for reports and never enforced. */
    readonly stsTesting: boolean;
    /** A testing policy that would have refused this MX host. */
    readonly stsReportOnly?: MtaStsFailure;
    readonly reasons: readonly string[];
  };

export interface HostPlanInput {
  readonly strategyName: string;
  readonly strategy: TlsStrategy;
  readonly mxHost: string;
  readonly dane: DanePlan;
  readonly mtaSts: MtaStsPlan;
}

function baseline(strategy: TlsStrategy): { tls: TlsRequirement; authentication: Authentication } {
  const tls: TlsRequirement = strategy.starttls === 'require' ? 'required' : strategy.starttls === 'optional' ? 'opportunistic' : 'disabled';
  return { tls, authentication: strategy.allowInvalidCerts ? 'none' : 'pkix' };
}

/** Decides how to secure the connection to one MX host. */
export function planHost(input: HostPlanInput): HostPlan {
  const { strategy, strategyName, dane, mtaSts, mxHost } = input;
  const reasons: string[] = [`strategy '${strategyName}': starttls ${strategy.starttls}, dane ${strategy.dane}, mta-sts ${strategy.mtaSts}, allow-invalid-certs ${String(strategy.allowInvalidCerts)}`];

  // DANE failures (bogus DNSSEC, lookup errors, `require` without DANE) never downgrade: skip the host.
  if (dane.kind === 'fail') {
    reasons.push(`DANE: ${dane.message}`);
    return { kind: 'skip', failure: classify({ kind: 'dane', severity: dane.severity, lastError: dane.lastError, tlsRpt: dane.tlsRpt, message: dane.message }), reasons };
  }

  // DANE authenticates: TLS is mandatory, PKIX and MTA-STS do not apply (RFC 7672 2.2, RFC 8461 2).
  if (dane.kind === 'authenticate') {
    reasons.push(`DANE: ${dane.usable.length} usable TLSA record(s); TLS mandatory, authenticated by DANE; MTA-STS does not apply to this host`);
    if (strategy.starttls === 'disable') reasons.push('starttls = "disable" overridden: the host publishes usable TLSA records and this strategy does not disable DANE');
    if (strategy.allowInvalidCerts) reasons.push('allow-invalid-certs does not weaken DANE');
    return { kind: 'connect', tls: 'required', authentication: 'dane', dane: { usable: dane.usable, referenceNames: dane.referenceNames }, stsTesting: false, reasons };
  }

  // MTA-STS required but not obtainable, or discovery failed under `require`.
  if (mtaSts.kind === 'failed') {
    reasons.push(`MTA-STS: ${mtaSts.failure.message}`);
    return { kind: 'skip', failure: classify({ kind: 'mta-sts', failure: mtaSts.failure }), reasons };
  }

  const base = baseline(strategy);
  let authentication = base.authentication;
  let tls = base.tls;
  if (dane.kind === 'tls-unauthenticated') {
    // RFC 7672 2.2: a secure TLSA RRset with no usable record still proves the server does TLS, so TLS is
    // mandatory; none of its records can authenticate, so the session is not required to be authenticated
    // (Postfix's "encrypt" level). An MTA-STS enforce policy below still demands a valid certificate.
    reasons.push(`DANE: ${dane.reason}; TLS mandatory, unauthenticated (RFC 7672 2.2)`);
    if (tls !== 'required') reasons.push(`starttls = "${strategy.starttls}" raised to required by the published TLSA records`);
    tls = 'required';
    authentication = 'none';
  } else {
    reasons.push(`DANE: ${dane.reason}`);
  }

  if (mtaSts.kind === 'enforce') {
    const authorized = authorizeMx(mtaSts, mxHost);
    if (authorized.kind === 'failed') {
      reasons.push(`MTA-STS enforce: ${authorized.failure.message}`);
      return { kind: 'skip', failure: classify({ kind: 'mta-sts', failure: authorized.failure }), reasons };
    }
    reasons.push(`MTA-STS enforce: ${mxHost} matches '${authorized.kind === 'ok' ? authorized.pattern ?? '' : ''}'; TLS with a valid certificate required`);
    if (strategy.starttls === 'disable') reasons.push('starttls = "disable" overridden: the domain enforces MTA-STS and this strategy does not disable it');
    if (strategy.allowInvalidCerts) reasons.push('allow-invalid-certs does not weaken an MTA-STS enforce policy');
    return { kind: 'connect', tls: 'required', authentication: 'mta-sts', stsTesting: false, reasons };
  }

  if (mtaSts.kind === 'testing') {
    const authorized = authorizeMx(mtaSts, mxHost);
    reasons.push(`MTA-STS testing: failures are reported, not enforced${authorized.kind === 'report-only' ? `; would refuse: ${authorized.failure.message}` : ''}`);
    return { kind: 'connect', tls, authentication, stsTesting: true, ...(authorized.kind === 'report-only' ? { stsReportOnly: authorized.failure } : {}), reasons };
  }
  if (mtaSts.kind === 'none') reasons.push(`MTA-STS: ${mtaSts.message}`);
  return { kind: 'connect', tls, authentication, stsTesting: false, reasons };
}
