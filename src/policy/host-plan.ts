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
import { authorizeMx } from '../mtasts/requirement.js';
import type { MtaStsFailure, MtaStsPlan } from '../mtasts/requirement.js';
import { classify } from './failure.js';
import type { DeliveryFailure } from './failure.js';

/** The DANE plan of a host its TLSA records authenticate. */
export type DaneAuthentication = Extract<DanePlan, { kind: 'authenticate' }>;

/** What must authenticate the server once TLS is up. */
export type Authentication =
  /** TLSA records (RFC 7672); PKIX is not consulted. */
  | { readonly kind: 'dane'; readonly plan: DaneAuthentication }
  /** WebPKI validation for the MX host name, required by an MTA-STS enforce policy with these patterns. */
  | { readonly kind: 'mta-sts'; readonly patterns: readonly string[] }
  /** WebPKI validation required by the strategy (`allow-invalid-certs = false`). */
  | { readonly kind: 'pkix' }
  /** Any certificate is accepted (`allow-invalid-certs = true`); the result is recorded. */
  | { readonly kind: 'none' };

/**
 * An MTA-STS `testing` policy (RFC 8461 5): its failures are recorded for reports and never enforced;
 * `reportOnly` when it would already have refused this MX host by name.
 */
export type StsTesting = 'off' | { readonly mode: 'testing'; readonly reportOnly?: MtaStsFailure };

export type TlsRequirement = 'required' | 'opportunistic' | 'disabled';

export type ConnectPlan = {
  readonly kind: 'connect';
  readonly tls: TlsRequirement;
  readonly authentication: Authentication;
  readonly sts: StsTesting;
  readonly reasons: readonly string[];
};

export type HostPlan =
  | {
      readonly kind: 'skip';
      readonly failure: DeliveryFailure;
      readonly reasons: readonly string[];
    }
  | ConnectPlan;

export interface HostPlanInput {
  readonly strategyName: string;
  readonly strategy: TlsStrategy;
  readonly mxHost: string;
  readonly dane: DanePlan;
  readonly mtaSts: MtaStsPlan;
}

function baseline(strategy: TlsStrategy): { tls: TlsRequirement; authentication: Authentication } {
  const tls: TlsRequirement =
    strategy.starttls === 'require'
      ? 'required'
      : strategy.starttls === 'optional'
        ? 'opportunistic'
        : 'disabled';
  return { tls, authentication: { kind: strategy.allowInvalidCerts ? 'none' : 'pkix' } };
}

/** Decides how to secure the connection to one MX host. */
export function planHost(input: HostPlanInput): HostPlan {
  const { strategy, strategyName, dane, mtaSts, mxHost } = input;
  const reasons: string[] = [
    `strategy '${strategyName}': starttls ${strategy.starttls}, dane ${strategy.dane}, ` +
      `mta-sts ${strategy.mtaSts}, allow-invalid-certs ${String(strategy.allowInvalidCerts)}`,
  ];

  // DANE failures (bogus DNSSEC, lookup errors, `require` without DANE) never downgrade: skip the host.
  if (dane.kind === 'fail') {
    reasons.push(`DANE: ${dane.failure.message}`);
    return { kind: 'skip', failure: classify(dane.failure), reasons };
  }

  // DANE authenticates: TLS is mandatory, PKIX and MTA-STS do not apply (RFC 7672 2.2, RFC 8461 2).
  if (dane.kind === 'authenticate') {
    reasons.push(
      `DANE: ${dane.usable.length} usable TLSA record(s); TLS mandatory, authenticated by DANE; MTA-STS does not apply to this host`,
    );
    if (strategy.starttls === 'disable')
      reasons.push(
        'starttls = "disable" overridden: the host publishes usable TLSA records and this strategy does not disable DANE',
      );
    if (strategy.allowInvalidCerts) reasons.push('allow-invalid-certs does not weaken DANE');
    return {
      kind: 'connect',
      tls: 'required',
      authentication: { kind: 'dane', plan: dane },
      sts: 'off',
      reasons,
    };
  }

  // MTA-STS required but not obtainable, or discovery failed under `require`.
  if (mtaSts.kind === 'failed') {
    reasons.push(`MTA-STS: ${mtaSts.failure.message}`);
    return { kind: 'skip', failure: classify(mtaSts.failure), reasons };
  }

  const base = baseline(strategy);
  let authentication = base.authentication;
  let tls = base.tls;
  if (dane.kind === 'tls-unauthenticated') {
    // RFC 7672 2.2: a secure TLSA RRset with no usable record still proves the server does TLS, so TLS is
    // mandatory; none of its records can authenticate, so the session is not required to be authenticated
    // (Postfix's "encrypt" level). An MTA-STS enforce policy below still demands a valid certificate.
    reasons.push(`DANE: ${dane.reason}; TLS mandatory, unauthenticated (RFC 7672 2.2)`);
    if (tls !== 'required')
      reasons.push(
        `starttls = "${strategy.starttls}" raised to required by the published TLSA records`,
      );
    tls = 'required';
    authentication = { kind: 'none' };
  } else {
    reasons.push(`DANE: ${dane.reason}`);
  }

  if (mtaSts.kind === 'enforce') {
    const authorized = authorizeMx(mtaSts, mxHost);
    if (authorized.kind === 'failed') {
      reasons.push(`MTA-STS enforce: ${authorized.failure.message}`);
      return { kind: 'skip', failure: classify(authorized.failure), reasons };
    }
    const matched = authorized.kind === 'ok' ? (authorized.pattern ?? '') : '';
    reasons.push(
      `MTA-STS enforce: ${mxHost} matches '${matched}'; TLS with a valid certificate required`,
    );
    if (strategy.starttls === 'disable')
      reasons.push(
        'starttls = "disable" overridden: the domain enforces MTA-STS and this strategy does not disable it',
      );
    if (strategy.allowInvalidCerts)
      reasons.push('allow-invalid-certs does not weaken an MTA-STS enforce policy');
    return {
      kind: 'connect',
      tls: 'required',
      authentication: { kind: 'mta-sts', patterns: mtaSts.patterns },
      sts: 'off',
      reasons,
    };
  }

  if (mtaSts.kind === 'testing') {
    const authorized = authorizeMx(mtaSts, mxHost);
    const wouldRefuse =
      authorized.kind === 'report-only' ? `; would refuse: ${authorized.failure.message}` : '';
    reasons.push(`MTA-STS testing: failures are reported, not enforced${wouldRefuse}`);
    return {
      kind: 'connect',
      tls,
      authentication,
      sts: {
        mode: 'testing',
        ...(authorized.kind === 'report-only' ? { reportOnly: authorized.failure } : {}),
      },
      reasons,
    };
  }
  if (mtaSts.kind === 'none') reasons.push(`MTA-STS: ${mtaSts.message}`);
  return { kind: 'connect', tls, authentication, sts: 'off', reasons };
}
