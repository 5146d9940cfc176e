/**
 * The MTA-STS policy cache contract (RFC 8461 sections 3.3 and 5.1: senders cache a policy for up to
 * `max_age` from its fetch and keep applying it when a refresh fails) and its in-memory implementation.
 * The SQLite implementation is in `cache-sqlite.ts`; both pass `cache.test.ts`.
 *
 * Contract: domains are keys compared case-insensitively without a trailing dot; `put` replaces any
 * entry of the domain; `get` of an unknown domain is `undefined`; `list` returns every entry, expired or
 * not, ordered by domain (expiry is the caller's judgement, made with its own clock). Methods resolve
 * normally on success; a storage failure rejects, since it is an environment fault, not a policy fact.
 */
import { normalizeName } from '../dns/names.js';
import type { StsPolicy } from './parse-policy.js';

export interface PolicyCacheEntry {
  /** The policy domain, lower-case, no trailing dot. */
  readonly domain: string;
  /** The `id` of the TXT record that was current when the policy was fetched. */
  readonly id: string;
  readonly policy: StsPolicy;
  /** The body as fetched, kept for TLS-RPT (`policy-string`) and to re-parse after a restart. */
  readonly policyText: string;
  /** Milliseconds since the epoch. */
  readonly fetchedAt: number;
  /** `fetchedAt + max_age * 1000`: after this instant the entry must not be applied. */
  readonly expiresAt: number;
}

export interface PolicyCache {
  get(domain: string): Promise<PolicyCacheEntry | undefined>;
  put(domain: string, entry: PolicyCacheEntry): Promise<void>;
  delete(domain: string): Promise<void>;
  list(): Promise<readonly PolicyCacheEntry[]>;
}

/** A cache that lives as long as the process; for tests and for runs without a data directory. */
export class MemoryPolicyCache implements PolicyCache {
  readonly #entries = new Map<string, PolicyCacheEntry>();

  get(domain: string): Promise<PolicyCacheEntry | undefined> {
    return Promise.resolve(this.#entries.get(normalizeName(domain)));
  }

  put(domain: string, entry: PolicyCacheEntry): Promise<void> {
    const key = normalizeName(domain);
    this.#entries.set(key, { ...entry, domain: key });
    return Promise.resolve();
  }

  delete(domain: string): Promise<void> {
    this.#entries.delete(normalizeName(domain));
    return Promise.resolve();
  }

  list(): Promise<readonly PolicyCacheEntry[]> {
    const entries = [...this.#entries.values()].sort((a, b) =>
      a.domain < b.domain ? -1 : a.domain > b.domain ? 1 : 0,
    );
    return Promise.resolve(entries);
  }
}
