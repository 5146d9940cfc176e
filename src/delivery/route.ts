/**
 * Where mail for a domain goes: the MX lookup of RFC 5321 section 5.1 with RFC 7505 null MX, then the
 * address records of each chosen host, with the DNSSEC status of every lookup kept for DANE (RFC 7672
 * section 2.2). Talks to DNS only through the `Resolver` interface; ordering rules are in
 * `route-order.ts`. Never rejects: an MX lookup failure is `dns-error` (temporary), NXDOMAIN and null MX
 * are permanent kinds, and a host whose address lookup failed carries `addressError` for the caller.
 * The domain must be a DNS name; address literals (`[192.0.2.1]`) are the caller's business.
 */
import type { DnsFailure, DnsResult, DnssecStatus, Resolver } from '../dns/types.js';
import { classifyMx, orderMxHosts, selectAddresses } from './route-order.js';

export interface RouteHost {
  /** Lower-case, no trailing dot. */
  readonly name: string;
  readonly preference: number;
  /** DNSSEC status of this host's address lookups (`secure` only if every successful one was). */
  readonly dnssec: DnssecStatus;
  /** IPv4 first, at most `maxAddressesPerHost`. Empty with no `addressError`: the host has no address. */
  readonly addresses: readonly string[];
  /**
   * A failed A or AAAA lookup. `addresses` may still hold the other family's addresses, except for a
   * DNSSEC `bogus` failure, which empties them: an attacker who can forge one family can forge both.
   */
  readonly addressError?: DnsFailure;
  /** CNAME hops of the address answer (`owner -> target`); DANE looks up TLSA at the expanded name first (RFC 7672 2.2.2). */
  readonly cnameChain?: readonly string[];
}

export type Route =
  | {
      readonly kind: 'hosts';
      /** DNSSEC status of the MX answer (for an implicit MX, of the denial that there is none). */
      readonly mxDnssec: DnssecStatus;
      /** True when the domain had no MX records and is its own mail host (RFC 5321 section 5.1). */
      readonly implicit: boolean;
      readonly hosts: readonly RouteHost[];
    }
  /** RFC 7505: the domain declares it accepts no mail. Permanent. */
  | { readonly kind: 'null-mx' }
  /** The domain does not exist. Permanent. */
  | { readonly kind: 'nxdomain' }
  /** The MX lookup failed. Temporary. */
  | { readonly kind: 'dns-error'; readonly failure: DnsFailure };

export interface RouteOptions {
  /** Default 5. */
  readonly maxMxHosts?: number;
  /** Default 2. */
  readonly maxAddressesPerHost?: number;
  /** Look up AAAA records too; default true. */
  readonly ipv6?: boolean;
  /** Uniform in [0, 1); orders hosts of equal preference. */
  readonly random: () => number;
}

/** Resolves the route for `domain` (any case, trailing dot optional). */
export async function resolveRoute(
  resolver: Resolver,
  domain: string,
  options: RouteOptions,
): Promise<Route> {
  const name = domain.toLowerCase().replace(/\.$/, '');
  const mx = await resolver.query(name, 'MX');
  if (!mx.ok) return { kind: 'dns-error', failure: mx.failure };
  if (mx.answer.rcode === 'NXDOMAIN') return { kind: 'nxdomain' };
  const kind = classifyMx(mx.answer.records);
  if (kind === 'null-mx') return { kind: 'null-mx' };
  const candidates =
    kind === 'implicit'
      ? [{ name, preference: 0 }]
      : orderMxHosts(mx.answer.records, {
          maxHosts: options.maxMxHosts ?? 5,
          random: options.random,
        });
  const ipv6 = options.ipv6 ?? true;
  const max = options.maxAddressesPerHost ?? 2;
  const hosts = await Promise.all(
    candidates.map(async (candidate): Promise<RouteHost> => {
      const [a, aaaa] = await Promise.all([
        resolver.query(candidate.name, 'A'),
        ipv6 ? resolver.query(candidate.name, 'AAAA') : Promise.resolve(undefined),
      ]);
      return hostFrom(candidate.name, candidate.preference, a, aaaa, { max, ipv6 });
    }),
  );
  return { kind: 'hosts', mxDnssec: mx.answer.dnssec, implicit: kind === 'implicit', hosts };
}

function hostFrom(
  name: string,
  preference: number,
  a: DnsResult<'A'>,
  aaaa: DnsResult<'AAAA'> | undefined,
  limits: { readonly max: number; readonly ipv6: boolean },
): RouteHost {
  const lookups = aaaa === undefined ? [a] : [a, aaaa];
  const failures = lookups.flatMap((result) => (result.ok ? [] : [result.failure]));
  const bogus = failures.find((failure) => failure.kind === 'bogus');
  if (bogus !== undefined)
    return { name, preference, dnssec: 'bogus', addresses: [], addressError: bogus };
  const successes = lookups.flatMap((result) => (result.ok ? [result.answer] : []));
  const dnssec: DnssecStatus =
    successes.length > 0 && successes.every((answer) => answer.dnssec === 'secure')
      ? 'secure'
      : 'insecure';
  const addresses = selectAddresses(
    a.ok ? a.answer.records : [],
    aaaa?.ok === true ? aaaa.answer.records : [],
    limits,
  );
  const failure = failures[0];
  const chain = successes.find((answer) => answer.cnameChain.length > 0)?.cnameChain;
  return {
    name,
    preference,
    dnssec,
    addresses,
    ...(failure === undefined ? {} : { addressError: failure }),
    ...(chain === undefined ? {} : { cnameChain: chain }),
  };
}
