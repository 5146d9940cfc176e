/**
 * TLSA lookup for one MX host (RFC 7672 section 2.2), a thin adapter over the `Resolver` interface.
 *
 * Contract: never throws and never retries; every DNS outcome becomes one `TlsaLookup` value that
 * `requirement.ts` turns into a delivery plan. A resolver failure is reported as `error` (SERVFAIL,
 * timeout, ...) or `bogus` (DNSSEC validation failed), and the caller must not treat either as "no DANE":
 * doing so would let an attacker who can drop DNS packets downgrade the connection.
 *
 * TLSA records are only looked up when the host was reached through secure DNS: the MX RRset (or, for an
 * implicit MX, the domain's own address records) and the MX host's address records. When the address
 * lookup followed a secure CNAME chain, the fully expanded name is tried first and the initial name
 * second (RFC 7672 section 2.2.2, RFC 7671 section 7); both names are then reference identifiers.
 */
import type { DnsFailure, DnssecStatus, Resolver, TlsaRecord } from '../dns/types.js';
import { normalizeName } from '../dns/names.js';
import { usableRecords } from './records.js';

/** What is known about the MX host before its TLSA lookup. */
export interface MxHostFacts {
  /** The MX exchange (or, for an implicit MX, the domain), any case, with or without a trailing dot. */
  readonly name: string;
  /** DNSSEC status of the MX RRset. Ignored when `implicitMx` is true. */
  readonly mxDnssec: DnssecStatus;
  /** DNSSEC status of the host's A/AAAA answer, which is `secure` only if every CNAME hop was. */
  readonly addressDnssec: DnssecStatus;
  /** The CNAME hops of the address answer, `owner -> target`, as in `DnsAnswer.cnameChain`. */
  readonly cnameChain?: readonly string[];
  /** True when the domain has no MX RRset and the domain itself is the host (RFC 5321 section 5.1). */
  readonly implicitMx?: boolean;
  /** The next-hop (recipient) domain, accepted as an extra reference identifier (RFC 7672 section 3.2.2). */
  readonly nextHop?: string;
}

export type NotApplicableReason = 'mx-insecure' | 'mx-bogus' | 'address-insecure' | 'address-bogus';

/** The outcome of the TLSA lookup, as RFC 7672 section 2.2 distinguishes them. */
export type TlsaLookup =
  /** A validated TLSA RRset; `usable` may be empty when every record is unusable. */
  | {
      readonly kind: 'secure';
      readonly records: readonly TlsaRecord[];
      readonly usable: readonly TlsaRecord[];
      /** The TLSA base domain: the host name under which the records were found. */
      readonly baseName: string;
      /** Names the certificate may carry under DANE-TA, the base name first. */
      readonly referenceNames: readonly string[];
      readonly ttl: number;
    }
  /** Validated denial of existence (NXDOMAIN or NODATA): the host does not publish DANE. */
  | { readonly kind: 'secure-none'; readonly name: string }
  /** The answer was not signed: DANE cannot apply. */
  | { readonly kind: 'insecure'; readonly name: string }
  /** DNSSEC validation failed: possibly an attack, never a reason to downgrade. */
  | { readonly kind: 'bogus'; readonly name: string; readonly message: string }
  /** The lookup failed (SERVFAIL, timeout, ...): nothing is known, so nothing may be downgraded. */
  | { readonly kind: 'error'; readonly failure: DnsFailure }
  /** DANE does not apply to this host because the way to it was not secure. */
  | { readonly kind: 'not-applicable'; readonly reason: NotApplicableReason };

/** `_25._tcp.<host>` (RFC 6698 section 3, RFC 7672 section 2.2). */
export function tlsaQueryName(host: string, port = 25): string {
  return `_${port}._tcp.${normalizeName(host)}`;
}

/** The final target of a CNAME chain given as `owner -> target` hops, or undefined for no chain. */
function expandedName(chain: readonly string[] | undefined): string | undefined {
  const last = chain?.[chain.length - 1];
  if (last === undefined) return undefined;
  const target = last.split('->')[1];
  return target === undefined ? undefined : normalizeName(target.trim());
}

function uniqueNames(names: readonly (string | undefined)[]): string[] {
  const out: string[] = [];
  for (const name of names) {
    if (name !== undefined && name !== '' && !out.includes(name)) out.push(name);
  }
  return out;
}

/** One TLSA query, classified. `referenceNames` is filled in by the caller. */
async function queryTlsa(resolver: Resolver, host: string, port: number): Promise<TlsaLookup> {
  const name = tlsaQueryName(host, port);
  const result = await resolver.query(name, 'TLSA');
  if (!result.ok) {
    // A validating resolver's SERVFAIL that disappears with CD set is a validation failure, not an outage.
    if (result.failure.kind === 'bogus')
      return { kind: 'bogus', name, message: result.failure.message };
    return { kind: 'error', failure: result.failure };
  }
  const { answer } = result;
  if (answer.dnssec === 'bogus')
    return { kind: 'bogus', name, message: `DNSSEC validation of ${name} TLSA failed` };
  if (answer.dnssec === 'insecure') return { kind: 'insecure', name };
  if (answer.rcode === 'NXDOMAIN' || answer.records.length === 0)
    return { kind: 'secure-none', name };
  return {
    kind: 'secure',
    records: answer.records,
    usable: usableRecords(answer.records),
    baseName: host,
    referenceNames: [host],
    ttl: answer.ttl,
  };
}

/** Why DANE cannot apply to this host, or undefined when the path to it was secure. */
function notApplicable(mx: MxHostFacts): NotApplicableReason | undefined {
  // RFC 7672 section 2.2.1: an insecure MX RRset could have been forged, so its TLSA records prove nothing.
  if (mx.implicitMx !== true) {
    if (mx.mxDnssec === 'bogus') return 'mx-bogus';
    if (mx.mxDnssec === 'insecure') return 'mx-insecure';
  }
  // RFC 7672 section 2.2.2: TLSA records are only sought for hosts whose address records are secure.
  if (mx.addressDnssec === 'bogus') return 'address-bogus';
  if (mx.addressDnssec === 'insecure') return 'address-insecure';
  return undefined;
}

/**
 * Looks up the TLSA RRset of one MX host (RFC 7672 section 2.2).
 *
 * With a secure CNAME chain the expanded name is queried first; only a validated denial there makes the
 * initial name worth asking (an insecure, bogus or failed answer is returned as is, so that a forged
 * or dropped reply at one name cannot steer the client to the other).
 */
export async function lookupTlsa(
  resolver: Resolver,
  mx: MxHostFacts,
  port = 25,
): Promise<TlsaLookup> {
  const reason = notApplicable(mx);
  if (reason !== undefined) return { kind: 'not-applicable', reason };
  const initial = normalizeName(mx.name);
  const expanded = expandedName(mx.cnameChain);
  const nextHop = mx.nextHop === undefined ? undefined : normalizeName(mx.nextHop);
  const names = expanded !== undefined && expanded !== initial ? [expanded, initial] : [initial];
  let outcome: TlsaLookup = { kind: 'secure-none', name: tlsaQueryName(initial, port) };
  for (const host of names) {
    outcome = await queryTlsa(resolver, host, port);
    if (outcome.kind !== 'secure-none') break;
  }
  if (outcome.kind !== 'secure') return outcome;
  return { ...outcome, referenceNames: uniqueNames([outcome.baseName, ...names, nextHop]) };
}
