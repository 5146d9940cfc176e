/**
 * The contract of mxsec's DNS client. Every answer carries its DNSSEC facts (rcode, AD bit, the derived
 * DNSSEC status) and its TTL, because DANE (RFC 7672) and MTA-STS decisions depend on them. Transport
 * failures are values (`DnsFailure`), never exceptions. Implementations: `dns/client.ts` (UDP with TCP
 * fallback on our own packets) and in-memory fakes used only by tests of code above the resolver.
 */

/** RFC 4035 section 4.3 terms as a validating stub sees them. */
export type DnssecStatus = 'secure' | 'insecure' | 'bogus';

export type Rcode =
  'NOERROR' | 'NXDOMAIN' | 'SERVFAIL' | 'REFUSED' | 'FORMERR' | 'NOTIMP' | 'OTHER';

export interface MxRecord {
  readonly preference: number;
  /** Lower-case, no trailing dot. `.`-only exchange (RFC 7505 null MX) is represented as `''`. */
  readonly exchange: string;
}

export interface TlsaRecord {
  /** 0 PKIX-TA, 1 PKIX-EE, 2 DANE-TA, 3 DANE-EE (RFC 6698 section 2.1.1, RFC 7218 names). */
  readonly usage: number;
  /** 0 full certificate, 1 SubjectPublicKeyInfo. */
  readonly selector: number;
  /** 0 exact, 1 SHA-256, 2 SHA-512. */
  readonly matchingType: number;
  readonly data: Uint8Array;
}

export interface RecordTypes {
  A: string;
  AAAA: string;
  MX: MxRecord;
  /** One string per TXT record, its character-strings concatenated (RFC 7208 section 3.3 style). */
  TXT: string;
  TLSA: TlsaRecord;
}
export type RecordType = keyof RecordTypes;

/** A complete answer from the resolver, including negative ones (NXDOMAIN, NODATA = NOERROR with no records). */
export interface DnsAnswer<T extends RecordType> {
  /** The name asked, lower-case, no trailing dot. */
  readonly name: string;
  readonly type: T;
  /** The name the records belong to after following CNAMEs (equals `name` when there were none). */
  readonly canonicalName: string;
  /** Each CNAME hop followed, in order, as `owner -> target`. */
  readonly cnameChain: readonly string[];
  /** NOERROR or NXDOMAIN; failures are reported as `DnsFailure` instead. */
  readonly rcode: 'NOERROR' | 'NXDOMAIN';
  /** The AD bit as received (only meaningful when the resolver is trusted to validate). */
  readonly ad: boolean;
  /** `secure` only when AD was set by a trusted resolver, for every hop of the CNAME chain. */
  readonly dnssec: DnssecStatus;
  readonly records: readonly RecordTypes[T][];
  /** Smallest TTL of the records (or the SOA minimum for negative answers), in seconds. */
  readonly ttl: number;
}

export type DnsFailureKind =
  /** No answer within `timeout` after `attempts` tries on every nameserver. */
  | 'timeout'
  /** SERVFAIL that is not explained by a DNSSEC validation failure. */
  | 'servfail'
  /** The validating resolver answered SERVFAIL but the same query with CD set succeeded: DNSSEC bogus. */
  | 'bogus'
  | 'refused'
  | 'network'
  | 'malformed';

export interface DnsFailure {
  readonly kind: DnsFailureKind;
  readonly name: string;
  readonly type: RecordType;
  readonly message: string;
  /** `host:port` of the last nameserver tried. */
  readonly server?: string;
}

export type DnsResult<T extends RecordType> =
  | { readonly ok: true; readonly answer: DnsAnswer<T> }
  | { readonly ok: false; readonly failure: DnsFailure };

/** The resolver every mechanism uses. Names may be given with or without a trailing dot, any case. */
export interface Resolver {
  query<T extends RecordType>(name: string, type: T): Promise<DnsResult<T>>;
}

export interface ResolverSettings {
  /** `host:port` (IPv6 as `[::1]:53`). */
  readonly nameservers: readonly string[];
  readonly timeoutMs: number;
  readonly attempts: number;
  /** Trust the AD bit from non-loopback nameservers too (a risk: the path to them is not authenticated). */
  readonly trustAd: boolean;
}
