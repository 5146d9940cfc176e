/**
 * Can DANE work with the configured resolver? DANE (RFC 7672 section 2.1.1) needs answers validated by
 * a DNSSEC-validating resolver whose AD bit mxsec may believe. Three facts decide it:
 * (a) a name known to be signed comes back `secure` (AD set by a trusted nameserver);
 * (b) a name whose signatures are broken on purpose fails as `bogus`: SERVFAIL without CD, the data with
 *     CD (RFC 4035 section 3.2.2), so validation failures are told apart from outages;
 * (c) every configured nameserver is trusted for AD: loopback, or `resolver.trust-ad = true`.
 *
 * `judgeSelftest` and the classifiers are pure; `runDnsSelftest` asks the two questions through the
 * `Resolver` interface and never throws (DNS trouble is a probe result). A probe that could not run is a
 * reason DANE cannot be shown to work, never silently a pass.
 */
import { parseNameserver } from './names.js';
import { adTrusted, isLoopbackAddress } from './trust.js';
import type { DnsFailure, DnsResult, RecordType, Resolver } from './types.js';

/** The question asked about the signed name: MX, the first thing a delivery asks. */
export const SECURE_PROBE_TYPE = 'MX' satisfies RecordType;
/** The question asked about the broken name; any type fails validation in a bogus zone. */
export const BOGUS_PROBE_TYPE = 'A' satisfies RecordType;

export interface NameserverTrust {
  /** `host:port` as configured. */
  readonly server: string;
  readonly loopback: boolean;
  /** Whether its AD bit counts as evidence (RFC 7672 section 2.1.1): loopback or `trust-ad`. */
  readonly trusted: boolean;
}

/** Probe (a): the signed name. */
export type SecureProbe =
  | { readonly kind: 'secure' }
  /** AD was set, but by a nameserver whose AD bit is not trusted. */
  | { readonly kind: 'ad-untrusted' }
  /** Answered without AD: the resolver does not validate (or the name is no longer signed). */
  | { readonly kind: 'no-ad'; readonly rcode: 'NOERROR' | 'NXDOMAIN' }
  | { readonly kind: 'failed'; readonly failure: DnsFailure };

/** Probe (b): the deliberately broken name. */
export type BogusProbe =
  /** SERVFAIL, and the data with CD set: the resolver validates and rejects it, as it should. */
  | { readonly kind: 'bogus' }
  /** The resolver handed the data out: it does not validate (or the name has been repaired). */
  | { readonly kind: 'answered'; readonly ad: boolean; readonly rcode: 'NOERROR' | 'NXDOMAIN' }
  /** SERVFAIL with and without CD: rejected, but a validation failure cannot be told from an outage. */
  | { readonly kind: 'servfail'; readonly failure: DnsFailure }
  | { readonly kind: 'failed'; readonly failure: DnsFailure };

export interface SelftestFacts {
  readonly nameservers: readonly NameserverTrust[];
  readonly trustAd: boolean;
  readonly secureName: string;
  readonly bogusName: string;
  readonly secure: SecureProbe;
  readonly bogus: BogusProbe;
}

export interface SelftestVerdict {
  /** True when DANE can work with this resolver. */
  readonly dane: boolean;
  /** Why it cannot; empty when it can. */
  readonly reasons: readonly string[];
  /** Worth knowing, but not stopping DANE. */
  readonly warnings: readonly string[];
}

export interface SelftestSettings {
  readonly nameservers: readonly string[];
  readonly trustAd: boolean;
  readonly secureName: string;
  readonly bogusName: string;
}

/** The AD trust of each nameserver (RFC 7672 section 2.1.1): loopback, or any when `trustAd`. */
export function nameserverTrust(
  nameservers: readonly string[],
  trustAd: boolean,
): NameserverTrust[] {
  return nameservers.map((server) => {
    const host = parseNameserver(server)?.host ?? server;
    return { server, loopback: isLoopbackAddress(host), trusted: adTrusted(host, trustAd) };
  });
}

/**
 * The static check made when a delivery command starts (no network): the warning to print when some
 * nameserver's AD bit is not trusted, or undefined. Their answers are then never `secure`, so DANE is
 * never used for mail they resolve.
 */
export function untrustedNameserverWarning(
  nameservers: readonly string[],
  trustAd: boolean,
): string | undefined {
  const untrusted = nameserverTrust(nameservers, trustAd)
    .filter((n) => !n.trusted)
    .map((n) => n.server);
  if (untrusted.length === 0) return undefined;
  return (
    `DNSSEC answers from ${untrusted.join(', ')} are not trusted; DANE will not be used ` +
    '(use a validating resolver on loopback, or set resolver.trust-ad = true if the path to it is secure)'
  );
}

export function classifySecureProbe(result: DnsResult<RecordType>): SecureProbe {
  if (!result.ok) return { kind: 'failed', failure: result.failure };
  if (result.answer.dnssec === 'secure') return { kind: 'secure' };
  return result.answer.ad
    ? { kind: 'ad-untrusted' }
    : { kind: 'no-ad', rcode: result.answer.rcode };
}

export function classifyBogusProbe(result: DnsResult<RecordType>): BogusProbe {
  if (result.ok) return { kind: 'answered', ad: result.answer.ad, rcode: result.answer.rcode };
  switch (result.failure.kind) {
    case 'bogus':
      return { kind: 'bogus' };
    case 'servfail':
      return { kind: 'servfail', failure: result.failure };
    case 'timeout':
    case 'refused':
    case 'network':
    case 'malformed':
      return { kind: 'failed', failure: result.failure };
  }
}

/** Decides from the facts whether DANE can work; one guard per way it cannot. */
export function judgeSelftest(facts: SelftestFacts): SelftestVerdict {
  const reasons: string[] = [];
  const warnings: string[] = [];
  const secureQ = `${facts.secureName} ${SECURE_PROBE_TYPE}`;
  const bogusQ = `${facts.bogusName} ${BOGUS_PROBE_TYPE}`;

  // (c) An AD bit that crossed an unauthenticated path could have been set by anyone on it.
  const untrusted = facts.nameservers.filter((n) => !n.trusted).map((n) => n.server);
  if (facts.nameservers.length === 0) reasons.push('no nameserver is configured');
  if (untrusted.length > 0) {
    reasons.push(
      `the AD bit from ${untrusted.join(', ')} is not trusted (not loopback and resolver.trust-ad is false), so no answer is ever secure`,
    );
  }

  // (a) Without AD on a signed name, TLSA records can never be shown to be authentic.
  switch (facts.secure.kind) {
    case 'secure':
      break;
    case 'ad-untrusted':
      if (untrusted.length === 0)
        reasons.push(`${secureQ} came back with AD from a nameserver that is not trusted`);
      break;
    case 'no-ad':
      reasons.push(
        `${secureQ} came back without the AD bit: the resolver does not validate DNSSEC (or ${facts.secureName} is no longer signed; see resolver.selftest-secure-name)`,
      );
      break;
    case 'failed':
      reasons.push(
        facts.secure.failure.kind === 'bogus'
          ? `${secureQ} failed DNSSEC validation at the resolver: check its trust anchor and clock (or choose another resolver.selftest-secure-name)`
          : `could not ask ${secureQ} (${facts.secure.failure.kind}: ${facts.secure.failure.message}), so validation could not be checked`,
      );
      break;
  }

  // (b) A resolver that passes bogus data on would let a forged TLSA RRset through.
  switch (facts.bogus.kind) {
    case 'bogus':
      break;
    case 'answered':
      reasons.push(
        `${bogusQ} was answered although its signatures are broken on purpose: the resolver does not reject bogus data (or ${facts.bogusName} has been repaired; see resolver.selftest-bogus-name)`,
      );
      break;
    case 'servfail':
      warnings.push(
        `${bogusQ}: SERVFAIL also with CD set, so a DNSSEC failure looks like a DNS outage to mxsec (still temporary, never a downgrade)`,
      );
      break;
    case 'failed':
      reasons.push(
        `could not ask ${bogusQ} (${facts.bogus.failure.kind}: ${facts.bogus.failure.message}), so rejection of bogus data could not be checked`,
      );
      break;
  }
  return { dane: reasons.length === 0, reasons, warnings };
}

/** Asks both probes concurrently and judges them. Never rejects for DNS trouble. */
export async function runDnsSelftest(
  resolver: Resolver,
  settings: SelftestSettings,
): Promise<{ readonly facts: SelftestFacts; readonly verdict: SelftestVerdict }> {
  const [secure, bogus] = await Promise.all([
    resolver.query(settings.secureName, SECURE_PROBE_TYPE),
    resolver.query(settings.bogusName, BOGUS_PROBE_TYPE),
  ]);
  const facts: SelftestFacts = {
    nameservers: nameserverTrust(settings.nameservers, settings.trustAd),
    trustAd: settings.trustAd,
    secureName: settings.secureName,
    bogusName: settings.bogusName,
    secure: classifySecureProbe(secure),
    bogus: classifyBogusProbe(bogus),
  };
  return { facts, verdict: judgeSelftest(facts) };
}
