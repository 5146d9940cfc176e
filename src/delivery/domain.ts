/**
 * The one per-domain loop (RFC 5321 section 5.1), shared by `mxsec send`, the relay and `mxsec check`:
 * resolve the route, then for each MX host in order gather its facts and decide its plan
 * (`host-facts.ts`), and open sessions to its addresses. `attemptDomain` yields each step as an event
 * and leaves stopping to its consumer: `deliverToDomain` stops once a transaction ran (the server
 * answered for every recipient) and turns the events into a `DomainDelivery`; a probe (`check`) sends
 * no message, stops each session before MAIL FROM and visits every host and address.
 *
 * A session whose transaction ran stays open until its consumer calls the event's `end`, so the outcome
 * can be made durable (`DeliveryRequest.settle`) before QUIT and before the next message takes the
 * connection: a crash then can only repeat a transaction whose final reply had just arrived.
 * With a `pool` in the dependencies, a session is first sought in the pool under the key of this host,
 * address and plan (see `pool.ts`), and a session whose transaction ended cleanly goes back to it at
 * `end`. A pooled session that turns out dead is replaced by a fresh connection inside the same attempt.
 * Never throws for remote or DNS problems.
 */
import type { EvalContext } from '../expr/index.js';
import type { MtaStsLookup } from '../mtasts/resolve.js';
import { classify, noAddressCause } from '../policy/failure.js';
import type { DeliveryFailure } from '../policy/failure.js';
import { reportedPolicy } from '../tlsrpt/policy.js';
import type { DeliveryDeps } from './deps.js';
import { decideHost, gatherHostFacts } from './host-facts.js';
import type { HostDecision } from './host-facts.js';
import { outcomesFromTransaction, pendingOutcome } from './outcomes.js';
import { poolKey } from './pool.js';
import { resolveRoute } from './route.js';
import type { Route } from './route.js';
import type { SmtpSession } from '../smtp/session.js';
import { endedCleanly, factsOf, needsSmtputf8, runSession, sendReused } from './session.js';
import type { SessionInput, SessionMessage, SessionResult } from './session.js';
import type { DeliveryRequest, DomainDelivery, HostAttempt, RecipientOutcome } from './types.js';

/** One step of the per-domain loop. */
export type DomainEvent =
  /** Always first: the MX hosts, in order. */
  | { readonly kind: 'route'; readonly route: Extract<Route, { kind: 'hosts' }> }
  /** Instead, when the domain has no usable route; nothing follows. */
  | {
      readonly kind: 'no-route';
      readonly route: Exclude<Route, { kind: 'hosts' }>;
      readonly failure: DeliveryFailure;
    }
  /** A host was decided. With `failure` (skipped by its plan, or no address), no session follows for it. */
  | { readonly kind: 'host'; readonly decision: HostDecision; readonly failure?: DeliveryFailure }
  | {
      readonly kind: 'session';
      readonly decision: HostDecision;
      readonly ip: string;
      readonly session: SessionResult;
      /** QUITs the session, or pools it after a clean transaction; a no-op once it is closed. */
      readonly end: () => Promise<void>;
    };

export interface DomainTarget {
  readonly domain: string;
  /** The strategy context of the recipients (see `completeContext`). */
  readonly context: EvalContext;
  /** Absent for a probe: sessions stop where MAIL FROM would be sent. */
  readonly message?: SessionMessage;
}

/**
 * The context the strategies of one delivery see: the caller's (queue counters, `--var`), completed
 * with the envelope facts of this delivery, which are the deliverer's to know.
 */
export function completeContext(request: DeliveryRequest, domain: string): EvalContext {
  const sender = request.from;
  return {
    ...request.context,
    rcpt: request.recipients[0] ?? '',
    rcpt_domain: domain,
    sender,
    sender_domain: sender.slice(sender.lastIndexOf('@') + 1).toLowerCase(),
    size: request.body.length,
  };
}

/** Why a domain has no usable route. A bogus MX RRset is a DNSSEC failure (RFC 7672 2.2): temporary, never a downgrade. */
export function routeFailure(
  route: Exclude<Route, { kind: 'hosts' }>,
  domain: string,
): DeliveryFailure {
  switch (route.kind) {
    case 'null-mx':
      return classify({
        reason: 'null-mx',
        message: `${domain} accepts no mail (null MX, RFC 7505)`,
      });
    case 'nxdomain':
      return classify({ reason: 'nxdomain', message: `the domain ${domain} does not exist` });
    case 'dns-error':
      if (route.failure.kind === 'bogus')
        return classify({
          reason: 'mx-bogus',
          message: `DNSSEC validation of the MX RRset of ${domain} failed: ${route.failure.message}`,
        });
      return classify({
        reason: 'mx-lookup-failed',
        message: `MX lookup failed: ${route.failure.kind}: ${route.failure.message}`,
      });
  }
}

/** Walks the domain's route; see the module header. */
export async function* attemptDomain(
  deps: DeliveryDeps,
  target: DomainTarget,
): AsyncGenerator<DomainEvent, void, undefined> {
  const domain = target.domain.toLowerCase();
  const route = await resolveRoute(deps.resolver, domain, {
    random: deps.random,
    ...(deps.maxMxHosts === undefined ? {} : { maxMxHosts: deps.maxMxHosts }),
    ...(deps.maxAddressesPerHost === undefined
      ? {}
      : { maxAddressesPerHost: deps.maxAddressesPerHost }),
  });
  if (route.kind !== 'hosts') {
    yield { kind: 'no-route', route, failure: routeFailure(route, domain) };
    return;
  }
  yield { kind: 'route', route };
  // MTA-STS discovery is a property of the domain: asked once, shared by its hosts.
  let sts: Promise<MtaStsLookup> | undefined;
  const mtaSts = (timeoutMs: number): Promise<MtaStsLookup> =>
    (sts ??= deps.mtaSts(domain, timeoutMs));
  const probe = target.message === undefined;
  for (const host of route.hosts) {
    const decision = decideHost(
      await gatherHostFacts(deps, { domain, route, host, context: target.context, mtaSts, probe }),
    );
    const plan = decision.plan;
    if (plan.kind === 'skip') {
      yield { kind: 'host', decision, failure: plan.failure };
      continue;
    }
    if (host.addresses.length === 0) {
      yield {
        kind: 'host',
        decision,
        failure: classify(noAddressCause(host.name, host.addressError)),
      };
      continue;
    }
    yield { kind: 'host', decision };
    const tlsa = decision.facts.tlsa;
    const input: Omit<SessionInput, 'ip'> = {
      port: deps.port,
      mxHost: host.name,
      plan,
      ehloName: deps.ehloName,
      timeouts: deps.timeouts,
      tlsTimeoutMs: decision.facts.selection.strategy.timeoutTlsMs,
      trust: deps.trust,
      now: deps.now,
      // A probe shows what the TLSA records would say of the chain, enforced or not.
      ...(probe && tlsa?.kind === 'secure' && tlsa.usable.length > 0
        ? {
            observeDane: {
              kind: 'authenticate',
              usable: tlsa.usable,
              referenceNames: tlsa.referenceNames,
              policyStrings: [],
            },
          }
        : {}),
    };
    for (const ip of host.addresses) {
      const { session, end } =
        target.message === undefined
          ? { session: await runSession({ ...input, ip }), end: closed }
          : await sessionAt(deps, decision, { ...input, ip, message: target.message });
      yield { kind: 'session', decision, ip, session, end };
    }
  }
}

const closed = (): Promise<void> => Promise.resolve();

/** How a session that ran a transaction ends: back to the pool when it ended cleanly, else QUIT. */
function ending(result: SessionResult, pool?: (session: SmtpSession) => void): () => Promise<void> {
  if (result.kind !== 'transaction' || result.kept === undefined) return closed;
  const session = result.kept;
  const clean = endedCleanly(result.outcome);
  let ended = false;
  return async () => {
    if (ended) return;
    ended = true;
    if (clean && pool !== undefined) pool(session);
    else await session.quit();
  };
}

/**
 * One session for the message at `input.ip`: a pooled one when the pool holds a live session under the
 * same key, else a fresh one; either stays open until `end` (see the module header).
 */
async function sessionAt(
  deps: DeliveryDeps,
  decision: HostDecision,
  input: SessionInput & { readonly message: SessionMessage },
): Promise<{ session: SessionResult; end: () => Promise<void> }> {
  const pool = deps.pool;
  if (pool === undefined) {
    const session = await runSession({ ...input, keep: true });
    return { session, end: ending(session) };
  }
  const key = poolKey({
    mxHost: input.mxHost,
    ip: input.ip,
    port: deps.port,
    strategy: decision.facts.selection.name,
    plan: input.plan,
    mtaSts: decision.mtaSts,
    ehloName: deps.ehloName,
    timeouts: deps.timeouts,
    trust: deps.trust,
  });
  const pooled = await pool.acquire(key);
  if (pooled !== undefined) {
    const messages = pooled.messages + 1;
    const reused = await sendReused(pooled.session, pooled.meta, messages, input.message);
    if (reused.kind === 'done') {
      const meta = pooled.meta;
      return {
        session: reused.result,
        end: ending(reused.result, (session) => pool.release(key, { session, meta, messages })),
      };
    }
  }
  const fresh = await runSession({ ...input, keep: true });
  const meta = fresh.kind === 'transaction' ? factsOf(fresh) : undefined;
  return {
    session: fresh,
    end: ending(fresh, (session) =>
      meta === undefined ? undefined : pool.release(key, { session, meta, messages: 1 }),
    ),
  };
}

function attemptOf(
  decision: HostDecision,
  ip: string | undefined,
  session: SessionResult | undefined,
  error: DeliveryFailure | null,
): HostAttempt {
  const { facts } = decision;
  return {
    mx: facts.host.name,
    ...(ip === undefined ? {} : { ip }),
    strategy: facts.selection.name,
    rule: facts.selection.rule,
    policy: reportedPolicy(facts.domain, facts.host.name, decision.dane, decision.mtaSts),
    reasons: [...decision.plan.reasons, ...(session?.notes ?? [])],
    tls: session?.tls ?? null,
    security: session?.kind === 'transaction' ? session.verdict.level : null,
    error,
    ...(session?.reportOnly === undefined ? {} : { reportOnly: session.reportOnly }),
    ...(error?.tlsRpt !== undefined
      ? { tlsRpt: error.tlsRpt }
      : session?.tlsRpt === undefined
        ? {}
        : { tlsRpt: session.tlsRpt }),
    ...(session === undefined ? {} : { transcript: session.transcript }),
  };
}

/**
 * Delivers `request` to its domain's MX hosts; never throws for remote or DNS problems. The result is
 * handed to `request.settle` before the last session is ended (see the module header).
 */
export async function deliverToDomain(
  deps: DeliveryDeps,
  request: DeliveryRequest,
): Promise<DomainDelivery> {
  const domain = request.domain.toLowerCase();
  const attempts: HostAttempt[] = [];
  const decided = new Map<string, RecipientOutcome>();
  // The recipients still pending at the end take the last failure; if any host failed temporarily the
  // outcome is temporary (a later attempt may reach it), and then the last temporary failure explains it.
  let lastFailure: DeliveryFailure = classify(noAddressCause(domain));
  let lastTemporary: DeliveryFailure | undefined;
  const fail = (failure: DeliveryFailure): void => {
    lastFailure = failure;
    if (failure.severity === 'temporary') lastTemporary = failure;
  };
  let end = closed;
  const sender = request.from;
  const pending = request.recipients;
  const message: SessionMessage = {
    from: sender,
    recipients: pending,
    body: request.body,
    smtputf8: needsSmtputf8([sender, ...pending]),
    eightBit: request.body.some((b) => b > 0x7f),
  };
  for await (const event of attemptDomain(deps, {
    domain,
    context: completeContext(request, domain),
    message,
  })) {
    if (event.kind === 'no-route') {
      const { failure } = event;
      return settled(request, {
        domain,
        attempts: [],
        recipients: pending.map((address) => pendingOutcome(address, failure, undefined)),
      });
    }
    if (event.kind === 'route') continue;
    if (event.kind === 'host') {
      if (event.failure === undefined) continue;
      attempts.push(attemptOf(event.decision, undefined, undefined, event.failure));
      fail(event.failure);
      continue;
    }
    const { session } = event;
    if (session.kind !== 'transaction') {
      const failure =
        session.kind === 'failed'
          ? session.failure
          : classify({ reason: 'local', message: 'a session with a message ended as a probe' });
      attempts.push(attemptOf(event.decision, event.ip, session, failure));
      fail(failure);
      continue;
    }
    const index = attempts.length;
    attempts.push(attemptOf(event.decision, event.ip, session, null));
    for (const outcome of outcomesFromTransaction(session.outcome, index))
      decided.set(outcome.address, outcome);
    // A transaction ran: the server answered for every recipient, so no other host is tried now.
    end = event.end;
    break;
  }
  const final = lastTemporary ?? lastFailure;
  for (const address of pending)
    if (!decided.has(address))
      decided.set(
        address,
        pendingOutcome(address, final, attempts.length === 0 ? undefined : attempts.length - 1),
      );
  try {
    return await settled(request, {
      domain,
      attempts,
      recipients: pending.map((a) => decided.get(a) ?? pendingOutcome(a, lastFailure, undefined)),
    });
  } finally {
    await end();
  }
}

async function settled(
  request: DeliveryRequest,
  delivery: DomainDelivery,
): Promise<DomainDelivery> {
  await request.settle?.(delivery);
  return delivery;
}
