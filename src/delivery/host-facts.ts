/**
 * Everything known about one MX host before connecting, gathered once and then decided on without
 * further I/O. `gatherHostFacts` does the lookups a host needs (the TLS strategy is selected first, with
 * `mx` and `remote_ip` in the context, because it says which lookups are wanted): the TLSA records
 * unless the strategy disables DANE, the domain's MTA-STS policy unless it disables MTA-STS. A probe
 * (`mxsec check`) looks TLSA up in every case, so it can show what DANE would have said. The lookups
 * never reject; their failures are values in the snapshot.
 *
 * `decideHost` is pure: the DANE plan (RFC 7672 2.2), the MTA-STS plan (RFC 8461 5.1) and the host plan
 * (`policy/host-plan.ts`) are functions of the snapshot, which is kept beside them, so whoever reports
 * the decision (logs, `mxsec check`, TLS-RPT) sees exactly the facts it was made on.
 */
import type { TlsStrategy } from '../config/types.js';
import { lookupTlsa } from '../dane/lookup.js';
import type { TlsaLookup } from '../dane/lookup.js';
import { daneRequirement } from '../dane/requirement.js';
import type { DanePlan } from '../dane/requirement.js';
import type { EvalContext } from '../expr/index.js';
import { planMtaSts } from '../mtasts/requirement.js';
import type { MtaStsPlan } from '../mtasts/requirement.js';
import type { MtaStsLookup } from '../mtasts/resolve.js';
import { planHost } from '../policy/host-plan.js';
import type { HostPlan } from '../policy/host-plan.js';
import { reportFallback, selectStrategy } from '../policy/select.js';
import type { Selection } from '../policy/select.js';
import type { DeliveryDeps } from './deps.js';
import type { Route, RouteHost } from './route.js';

export type HostRoute = Extract<Route, { kind: 'hosts' }>;

/** The I/O results a host's plan is decided on. */
export interface HostFacts {
  readonly domain: string;
  readonly route: HostRoute;
  readonly host: RouteHost;
  readonly selection: Selection<TlsStrategy>;
  /** Absent when the strategy disables DANE (and this is not a probe). */
  readonly tlsa?: TlsaLookup;
  /** Absent when the strategy disables MTA-STS. */
  readonly mtaSts?: MtaStsLookup;
}

/** The facts and what was decided on them. */
export interface HostDecision {
  readonly facts: HostFacts;
  readonly dane: DanePlan;
  readonly mtaSts: MtaStsPlan;
  readonly plan: HostPlan;
}

export interface GatherInput {
  readonly domain: string;
  readonly route: HostRoute;
  readonly host: RouteHost;
  readonly context: EvalContext;
  /** The domain's MTA-STS discovery, shared by its hosts (it is a property of the domain). */
  readonly mtaSts: (timeoutMs: number) => Promise<MtaStsLookup>;
  readonly probe: boolean;
}

/** Selects the host's strategy and asks what it needs to know (DNS and HTTPS, as the strategy wants). */
export async function gatherHostFacts(deps: DeliveryDeps, input: GatherInput): Promise<HostFacts> {
  const { domain, route, host } = input;
  const selection = selectStrategy(deps.config.tls.selector, deps.config.tls.strategies, {
    ...input.context,
    mx: host.name,
    remote_ip: host.addresses[0] ?? '',
  });
  reportFallback(selection, deps.config.tls.selector.key);
  const strategy = selection.strategy;
  const tlsa =
    strategy.dane === 'disable' && !input.probe
      ? undefined
      : await lookupTlsa(deps.resolver, {
          name: host.name,
          mxDnssec: route.mxDnssec,
          addressDnssec: host.dnssec,
          implicitMx: route.implicit,
          nextHop: domain,
          ...(host.cnameChain === undefined ? {} : { cnameChain: host.cnameChain }),
        });
  const mtaSts =
    strategy.mtaSts === 'disable' ? undefined : await input.mtaSts(strategy.timeoutMtaStsMs);
  return {
    domain,
    route,
    host,
    selection,
    ...(tlsa === undefined ? {} : { tlsa }),
    ...(mtaSts === undefined ? {} : { mtaSts }),
  };
}

/** The plans for a host, from its facts alone. */
export function decideHost(facts: HostFacts): HostDecision {
  const { strategy } = facts.selection;
  const dane: DanePlan =
    strategy.dane === 'disable' || facts.tlsa === undefined
      ? { kind: 'none', reason: 'dane is disabled' }
      : daneRequirement({ mode: strategy.dane, mxDnssec: facts.route.mxDnssec, tlsa: facts.tlsa });
  const mtaSts = planMtaSts(strategy.mtaSts, facts.mtaSts);
  const plan = planHost({
    strategyName: facts.selection.name,
    strategy,
    mxHost: facts.host.name,
    dane,
    mtaSts,
  });
  return { facts, dane, mtaSts, plan };
}
