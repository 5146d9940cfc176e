/**
 * The pure rules that turn an MX RRset and address records into an ordered delivery route (RFC 5321
 * section 5.1, RFC 7505). No DNS here: `route.ts` feeds the answers in. Randomness is an input so the
 * order is reproducible in tests. These functions cannot fail; odd input (duplicates, a null MX among
 * real ones) is normalised as documented on each function.
 */
import type { MxRecord } from '../dns/types.js';

export interface MxCandidate {
  /** Lower-case host name, no trailing dot. */
  readonly name: string;
  readonly preference: number;
}

/**
 * What an MX RRset means. RFC 7505 section 3: a null MX is a single MX record whose exchange is the root
 * (`''` in our records); it says the domain accepts no mail. An empty RRset means "use the domain itself"
 * (RFC 5321 section 5.1, implicit MX).
 */
export type MxKind = 'null-mx' | 'implicit' | 'hosts';

export function classifyMx(records: readonly MxRecord[]): MxKind {
  if (records.length === 0) return 'implicit';
  // Several copies of the root record still only say "no mail"; a root record next to real hosts is a
  // misconfiguration RFC 7505 section 3 forbids, and we ignore that root record (see orderMxHosts).
  return records.every((record) => record.exchange === '') ? 'null-mx' : 'hosts';
}

export interface OrderOptions {
  /** At most this many hosts are kept, after ordering. */
  readonly maxHosts: number;
  /** Uniform in [0, 1). */
  readonly random: () => number;
}

/**
 * RFC 5321 section 5.1: hosts in ascending preference; hosts of equal preference in random order so load
 * spreads across them. Null-MX records among real ones are dropped (a sender cannot honour both), a host
 * listed twice keeps its most preferred entry, and only the first `maxHosts` hosts are returned.
 */
export function orderMxHosts(records: readonly MxRecord[], options: OrderOptions): MxCandidate[] {
  const best = new Map<string, number>();
  for (const record of records) {
    if (record.exchange === '') continue;
    const known = best.get(record.exchange);
    if (known === undefined || record.preference < known)
      best.set(record.exchange, record.preference);
  }
  // Sorting by name first makes the shuffle depend only on `random`, not on the order the server sent.
  const hosts = [...best]
    .map(([name, preference]) => ({ name, preference }))
    .sort(
      (a, b) => a.preference - b.preference || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0),
    );
  let start = 0;
  while (start < hosts.length) {
    let end = start + 1;
    while (end < hosts.length && hosts[end]?.preference === hosts[start]?.preference) end += 1;
    shuffleRange(hosts, start, end, options.random);
    start = end;
  }
  return hosts.slice(0, Math.max(0, options.maxHosts));
}

/** Fisher-Yates over `items[start, end)`, in place. */
function shuffleRange<T>(items: T[], start: number, end: number, random: () => number): void {
  for (let i = end - 1; i > start; i -= 1) {
    const j = start + Math.floor(random() * (i - start + 1));
    const a = items[i];
    const b = items[j];
    if (a === undefined || b === undefined) continue;
    items[i] = b;
    items[j] = a;
  }
}

/**
 * The addresses to try for one host: IPv4 first, then IPv6 (when enabled), duplicates removed, at most
 * `max`. IPv4 goes first because it is still the family most receiving servers are reachable on.
 */
export function selectAddresses(
  ipv4: readonly string[],
  ipv6: readonly string[],
  options: { readonly max: number; readonly ipv6: boolean },
): string[] {
  const all = options.ipv6 ? [...ipv4, ...ipv6] : [...ipv4];
  return [...new Set(all)].slice(0, Math.max(0, options.max));
}
