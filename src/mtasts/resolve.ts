/**
 * MTA-STS policy discovery for one recipient domain (RFC 8461 sections 3.3 and 5.1): read the cache,
 * look up `_mta-sts.<domain>` TXT, fetch the policy when needed, and fall back to the cached policy
 * whenever a live one cannot be obtained. All I/O comes in through `deps` (resolver, fetcher, cache,
 * clock), so this module is deterministic under test. It never throws for DNS or fetch failures: those
 * become `MtaStsLookup` values. A cache that rejects is an environment fault and rejects this call.
 *
 * The rules, in the order they are applied:
 * 1. A cached entry is "live" while `now < expiresAt` (`fetchedAt + max_age`).
 * 2. TXT lookup failed (timeout, SERVFAIL, bogus...): a live entry is used; otherwise `error`.
 * 3. No valid TXT record (none, several, or unparseable): a live entry is used (section 3.3: a cached
 *    policy that has not expired MUST be applied); otherwise `none`.
 * 4. The TXT `id` equals the live entry's id and no forced refresh was asked: the entry is used, no fetch.
 * 5. Otherwise fetch. Success replaces the cache entry (also for `mode: none` and `max_age: 0`, so the
 *    id is remembered); failure falls back to a live entry, or is `error`.
 */
import type { DnsFailure, Resolver } from '../dns/types.js';
import { normalizeName } from '../dns/names.js';
import type { PolicyCache, PolicyCacheEntry } from './cache.js';
import type { PolicyFetchError, PolicyFetcher } from './fetch-result.js';
import type { StsPolicy } from './parse-policy.js';
import { discoverStsRecord, type StsTxtNoneReason } from './parse-txt.js';

export interface MtaStsDeps {
  readonly resolver: Resolver;
  readonly fetch: PolicyFetcher;
  readonly cache: PolicyCache;
  /** Milliseconds since the epoch. */
  readonly now: () => number;
}

export interface ResolveMtaStsOptions {
  /** Budget for the policy fetch (RFC 8461 section 3.3 suggests at most a minute). */
  readonly timeoutMs: number;
  /** Fetch even when the TXT id matches the live cache entry: the proactive refresh of section 3.3. */
  readonly forceFetch?: boolean;
}

/** Why a live policy could not be (re)discovered; carried beside a cached policy, or in `error`. */
export type MtaStsProblem =
  | { readonly stage: 'dns'; readonly failure: DnsFailure; readonly message: string }
  | { readonly stage: 'txt'; readonly reason: StsTxtNoneReason; readonly message: string }
  | {
      readonly stage: 'fetch';
      readonly id: string;
      readonly error: PolicyFetchError;
      readonly message: string;
    };

export type MtaStsLookup =
  | {
      readonly kind: 'policy';
      readonly domain: string;
      readonly policy: StsPolicy;
      readonly id: string;
      readonly policyText: string;
      readonly source: 'cache' | 'fetched';
      readonly fetchedAt: number;
      readonly expiresAt: number;
      /** Set when the cached policy is used because discovery or refresh failed. */
      readonly refreshError?: MtaStsProblem;
    }
  /** The domain publishes no usable MTA-STS record and nothing is cached (RFC 8461 section 3.1). */
  | {
      readonly kind: 'none';
      readonly domain: string;
      readonly reason: StsTxtNoneReason;
      readonly message: string;
    }
  /** Discovery or fetch failed and nothing live is cached: proceed as without MTA-STS, or fail if required. */
  | { readonly kind: 'error'; readonly domain: string; readonly problem: MtaStsProblem };

/** Discovers the MTA-STS policy of `domain` (RFC 8461 section 5.1, steps 1 and 2). */
export async function resolveMtaSts(
  deps: MtaStsDeps,
  domain: string,
  options: ResolveMtaStsOptions,
): Promise<MtaStsLookup> {
  const name = normalizeName(domain);
  const cached = await deps.cache.get(name);
  const live = cached !== undefined && deps.now() < cached.expiresAt ? cached : undefined;

  const txt = await deps.resolver.query(`_mta-sts.${name}`, 'TXT');
  if (!txt.ok) {
    const problem: MtaStsProblem = {
      stage: 'dns',
      failure: txt.failure,
      message: `_mta-sts.${name} TXT: ${txt.failure.kind}: ${txt.failure.message}`,
    };
    return live !== undefined ? fromCache(live, problem) : { kind: 'error', domain: name, problem };
  }

  const record = discoverStsRecord(txt.answer.records);
  if (record.kind === 'none') {
    const message = `_mta-sts.${name}: ${record.detail}`;
    if (live !== undefined)
      return fromCache(live, { stage: 'txt', reason: record.reason, message });
    return { kind: 'none', domain: name, reason: record.reason, message };
  }

  if (live !== undefined && live.id === record.id && options.forceFetch !== true)
    return fromCache(live, undefined);

  const fetched = await deps.fetch(name, { timeoutMs: options.timeoutMs });
  if (!fetched.ok) {
    const problem: MtaStsProblem = {
      stage: 'fetch',
      id: record.id,
      error: fetched.error,
      message: fetched.error.message,
    };
    return live !== undefined ? fromCache(live, problem) : { kind: 'error', domain: name, problem };
  }

  const fetchedAt = deps.now();
  const entry: PolicyCacheEntry = {
    domain: name,
    id: record.id,
    policy: fetched.policy,
    policyText: fetched.text,
    fetchedAt,
    expiresAt: fetchedAt + fetched.policy.maxAge * 1000,
  };
  await deps.cache.put(name, entry);
  return { ...lookupOf(entry), source: 'fetched' };
}

const DAY_MS = 86_400_000;

/**
 * True when a cached policy should be refreshed in the background (RFC 8461 recommends refreshing cached
 * policies periodically, about daily, so a policy does not lapse for domains mailed rarely and an
 * attacker cannot time a downgrade to its expiry; sections 3.3 and 10): once it is a day
 * old, or once it is in the last tenth of its lifetime (which matters for short `max_age` values), or
 * when it has already expired. Use `resolveMtaSts(..., { forceFetch: true })` to perform the refresh.
 */
export function needsProactiveRefresh(entry: PolicyCacheEntry, now: number): boolean {
  if (now >= entry.expiresAt) return true;
  const lifetime = entry.expiresAt - entry.fetchedAt;
  return now - entry.fetchedAt >= DAY_MS || entry.expiresAt - now <= lifetime / 10;
}

function fromCache(entry: PolicyCacheEntry, problem: MtaStsProblem | undefined): MtaStsLookup {
  return {
    ...lookupOf(entry),
    source: 'cache',
    ...(problem === undefined ? {} : { refreshError: problem }),
  };
}

function lookupOf(entry: PolicyCacheEntry) {
  return {
    kind: 'policy' as const,
    domain: entry.domain,
    policy: entry.policy,
    id: entry.id,
    policyText: entry.policyText,
    fetchedAt: entry.fetchedAt,
    expiresAt: entry.expiresAt,
  };
}
