/**
 * Delivers one message to the recipients of one domain (RFC 5321 section 5.1): resolve the route, then
 * for each MX host in order select the TLS strategy with `mx` in the context, build the DANE and
 * MTA-STS plans, decide the host plan, and try the host's addresses until a session reaches the
 * transaction. A temporary failure at one host moves on to the next; a reply to the envelope decides
 * the recipients it names. Whatever is still pending at the end takes the last host failure.
 *
 * With a `pool` in the dependencies, a session is first sought in the pool under the key of this host,
 * address and plan (see `pool.ts`), and a fresh session whose transaction ended cleanly goes back to it.
 * A pooled session that turns out dead is replaced by a fresh connection inside the same attempt.
 */
import type { MxsecConfig } from '../config/types.js';
import { lookupTlsa } from '../dane/lookup.js';
import { daneRequirement } from '../dane/requirement.js';
import type { DanePlan } from '../dane/requirement.js';
import type { Resolver } from '../dns/types.js';
import type { EvalContext } from '../expr/index.js';
import { planMtaSts } from '../mtasts/requirement.js';
import type { MtaStsPlan } from '../mtasts/requirement.js';
import type { MtaStsLookup } from '../mtasts/resolve.js';
import { classify } from '../policy/failure.js';
import type { DeliveryFailure } from '../policy/failure.js';
import { planHost } from '../policy/host-plan.js';
import type { HostPlan } from '../policy/host-plan.js';
import { reportFallback, selectStrategy } from '../policy/select.js';
import type { Selection } from '../policy/select.js';
import type { TlsStrategy } from '../config/types.js';
import { reportedPolicy } from '../tlsrpt/policy.js';
import { resolveRoute } from './route.js';
import type { Route, RouteHost } from './route.js';
import { factsOf, needsSmtputf8, runSession, sendReused } from './session.js';
import type { SessionFacts, SessionInput, SessionMessage, SessionResult } from './session.js';
import { poolKey } from './pool.js';
import type { ConnectionPool } from './pool.js';
import type { SmtpSession } from '../smtp/session.js';
import type { SmtpTimeouts } from '../smtp/timeouts.js';
import type { TrustStore } from '../tls/trust-store.js';
import { outcomesFromTransaction, pendingOutcome } from './outcomes.js';
import type { DeliveryRequest, DomainDelivery, HostAttempt, RecipientOutcome } from './types.js';

export interface DeliveryDeps {
  readonly config: MxsecConfig;
  readonly resolver: Resolver;
  readonly trust: TrustStore;
  /** MTA-STS discovery for a domain, bounded by the strategy's `timeout.mta-sts`. */
  readonly mtaSts: (domain: string, timeoutMs: number) => Promise<MtaStsLookup>;
  readonly now: () => Date;
  readonly random: () => number;
  readonly ehloName: string;
  readonly timeouts: SmtpTimeouts;
  /** 25 except in tests. */
  readonly port: number;
  readonly maxMxHosts?: number;
  readonly maxAddressesPerHost?: number;
  /** Idle sessions to reuse between messages (the relay's); absent: one connection per delivery. */
  readonly pool?: SessionPool;
}

/** The pool of SMTP sessions with the facts each proved when it was opened. */
export type SessionPool = ConnectionPool<SmtpSession, SessionFacts>;

/** Everything decided about one MX host before connecting; shared by delivery and `mxsec check`. */
export interface HostDecision {
  readonly domain: string;
  readonly host: RouteHost;
  readonly selection: Selection<TlsStrategy>;
  readonly dane: DanePlan;
  readonly mtaSts: MtaStsPlan;
  readonly plan: HostPlan;
}

/** Memoises the per-domain MTA-STS discovery across hosts: it is a property of the domain. */
function mtaStsOnce(deps: DeliveryDeps, domain: string): (timeoutMs: number) => Promise<MtaStsLookup> {
  let pending: Promise<MtaStsLookup> | undefined;
  return (timeoutMs) => (pending ??= deps.mtaSts(domain, timeoutMs));
}

/** Selects the strategy for a host and builds its plans (DNS and HTTPS lookups as the strategy needs). */
export async function decideHost(
  deps: DeliveryDeps,
  route: Extract<Route, { kind: 'hosts' }>,
  host: RouteHost,
  domain: string,
  context: EvalContext,
  mtaSts: (timeoutMs: number) => Promise<MtaStsLookup>,
): Promise<HostDecision> {
  const selection = selectStrategy(deps.config.tls.selector, deps.config.tls.strategies, { ...context, mx: host.name, remote_ip: host.addresses[0] ?? '' });
  reportFallback(selection, deps.config.tls.selector.key);
  const strategy = selection.strategy;
  let dane: DanePlan = { kind: 'none', reason: 'dane is disabled' };
  if (strategy.dane !== 'disable') {
    const tlsa = await lookupTlsa(deps.resolver, { name: host.name, mxDnssec: route.mxDnssec, addressDnssec: host.dnssec, implicitMx: route.implicit, nextHop: domain, ...(host.cnameChain === undefined ? {} : { cnameChain: host.cnameChain }) });
    dane = daneRequirement({ mode: strategy.dane, mxDnssec: route.mxDnssec, tlsa });
  }
  const lookup = strategy.mtaSts === 'disable' ? undefined : await mtaSts(strategy.timeoutMtaStsMs);
  const mtaStsPlan = planMtaSts(strategy.mtaSts, lookup);
  const plan = planHost({ strategyName: selection.name, strategy, mxHost: host.name, dane, mtaSts: mtaStsPlan });
  return { domain, host, selection, dane, mtaSts: mtaStsPlan, plan };
}

/** Why a domain has no usable route. A bogus MX RRset is a DNSSEC failure (RFC 7672 2.2): temporary, never a downgrade. */
export function routeFailure(route: Exclude<Route, { kind: 'hosts' }>, domain: string): DeliveryFailure {
  switch (route.kind) {
    case 'null-mx': return classify({ kind: 'null-mx', domain });
    case 'nxdomain': return classify({ kind: 'nxdomain', domain });
    case 'dns-error':
      if (route.failure.kind === 'bogus') {
        return classify({ kind: 'dane', severity: 'temporary', lastError: 'dane', tlsRpt: 'dnssec-invalid', message: `DNSSEC validation of the MX RRset of ${domain} failed: ${route.failure.message}` });
      }
      return classify({ kind: 'route-dns', failure: route.failure });
  }
}

/**
 * One session for `message` at `ip`: a pooled one when the pool holds a live session under the same
 * key, else a fresh one (which goes back to the pool if its transaction ended cleanly).
 */
async function sessionAt(deps: DeliveryDeps, decision: HostDecision, ip: string, message: SessionMessage): Promise<SessionResult> {
  const plan = decision.plan;
  if (plan.kind !== 'connect') throw new Error('sessionAt needs a connect plan');
  const input: SessionInput = {
    ip, port: deps.port, mxHost: decision.host.name, plan, ehloName: deps.ehloName, timeouts: deps.timeouts,
    tlsTimeoutMs: decision.selection.strategy.timeoutTlsMs, trust: deps.trust, now: deps.now, message,
  };
  const pool = deps.pool;
  if (pool === undefined) return runSession(input);
  const key = poolKey({
    mxHost: decision.host.name, ip, port: deps.port, strategy: decision.selection.name, plan, mtaSts: decision.mtaSts,
    ehloName: deps.ehloName, timeouts: deps.timeouts, trust: deps.trust,
  });
  const pooled = await pool.acquire(key);
  if (pooled !== undefined) {
    const messages = pooled.messages + 1;
    const reused = await sendReused(pooled.session, pooled.meta, messages, message, true);
    if (reused.kind === 'done') {
      if (reused.result.kept !== undefined) pool.release(key, { session: reused.result.kept, meta: pooled.meta, messages });
      return reused.result;
    }
  }
  const fresh = await runSession({ ...input, keep: true });
  if (fresh.kept !== undefined) pool.release(key, { session: fresh.kept, meta: factsOf(fresh), messages: 1 });
  return fresh;
}

function attemptOf(decision: HostDecision, ip: string | undefined, session: SessionResult | undefined, error: DeliveryFailure | null): HostAttempt {
  return {
    mx: decision.host.name,
    ...(ip === undefined ? {} : { ip }),
    strategy: decision.selection.name,
    rule: decision.selection.rule,
    policy: reportedPolicy(decision.domain, decision.host.name, decision.dane, decision.mtaSts),
    reasons: [...decision.plan.reasons, ...(session?.notes ?? [])],
    tls: session?.tls ?? null,
    security: session?.outcome === undefined ? null : session.security,
    error,
    ...(session?.reportOnly === undefined ? {} : { reportOnly: session.reportOnly }),
    ...(error?.tlsRpt !== undefined ? { tlsRpt: error.tlsRpt } : session?.tlsRpt === undefined ? {} : { tlsRpt: session.tlsRpt }),
    ...(session === undefined ? {} : { transcript: session.transcript }),
  };
}

/** Delivers `request` to its domain's MX hosts; never throws for remote or DNS problems. */
export async function deliverToDomain(deps: DeliveryDeps, request: DeliveryRequest): Promise<DomainDelivery> {
  const domain = request.domain.toLowerCase();
  const route = await resolveRoute(deps.resolver, domain, {
    random: deps.random,
    ...(deps.maxMxHosts === undefined ? {} : { maxMxHosts: deps.maxMxHosts }),
    ...(deps.maxAddressesPerHost === undefined ? {} : { maxAddressesPerHost: deps.maxAddressesPerHost }),
  });
  if (route.kind !== 'hosts') {
    const failure = routeFailure(route, domain);
    return { domain, attempts: [], recipients: request.recipients.map((address) => pendingOutcome(address, failure, undefined)) };
  }
  const attempts: HostAttempt[] = [];
  const decided = new Map<string, RecipientOutcome>();
  let pending = [...request.recipients];
  // The recipients still pending at the end take the last failure; if any host failed temporarily the
  // outcome is temporary (a later attempt may reach it), and then the last temporary failure explains it.
  let lastFailure: DeliveryFailure = classify({ kind: 'no-address', host: domain });
  let lastTemporary: DeliveryFailure | undefined;
  const fail = (failure: DeliveryFailure): void => {
    lastFailure = failure;
    if (failure.severity === 'temporary') lastTemporary = failure;
  };
  const mtaSts = mtaStsOnce(deps, domain);
  const sender = request.from;
  const base: EvalContext = {
    ...request.context,
    rcpt: request.recipients[0] ?? '', rcpt_domain: domain, sender, sender_domain: sender.slice(sender.lastIndexOf('@') + 1).toLowerCase(),
    size: request.body.length,
  };

  hosts: for (const host of route.hosts) {
    if (pending.length === 0) break;
    const decision = await decideHost(deps, route, host, domain, base, mtaSts);
    if (decision.plan.kind === 'skip') {
      attempts.push(attemptOf(decision, undefined, undefined, decision.plan.failure));
      fail(decision.plan.failure);
      continue;
    }
    if (host.addresses.length === 0) {
      const failure = classify({ kind: 'no-address', host: host.name, ...(host.addressError === undefined ? {} : { failure: host.addressError }) });
      attempts.push(attemptOf(decision, undefined, undefined, failure));
      fail(failure);
      continue;
    }
    for (const ip of host.addresses) {
      const session = await sessionAt(deps, decision, ip, {
        from: sender, recipients: pending, body: request.body, smtputf8: needsSmtputf8([sender, ...pending]), eightBit: request.body.some((b) => b > 0x7f),
      });
      const index = attempts.length;
      if (session.outcome === undefined) {
        const failure = session.failure ?? classify({ kind: 'local', message: 'session ended without an outcome' });
        attempts.push(attemptOf(decision, ip, session, failure));
        fail(failure);
        continue;
      }
      attempts.push(attemptOf(decision, ip, session, null));
      for (const outcome of outcomesFromTransaction(session.outcome, index)) decided.set(outcome.address, outcome);
      pending = pending.filter((a) => !decided.has(a));
      // A transaction ran: the server answered for every recipient, so no other host is tried now.
      break hosts;
    }
  }
  const final = lastTemporary ?? lastFailure;
  for (const address of pending) decided.set(address, pendingOutcome(address, final, attempts.length === 0 ? undefined : attempts.length - 1));
  return { domain, attempts, recipients: request.recipients.map((a) => decided.get(a) ?? pendingOutcome(a, lastFailure, undefined)) };
}
