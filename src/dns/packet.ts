/**
 * DNS messages on the wire, through `dns-packet`: encoding our queries (RFC 1035 section 4.1, EDNS0 per
 * RFC 6891 with the DO bit of RFC 3225) and turning a reply into typed facts. Pure: no sockets, no clock.
 * Decoding never throws: an undecodable reply is `undefined`, and records the caller did not ask for, or
 * whose data does not have the expected shape, are skipped.
 */
import dnsPacket from 'dns-packet';
import type { Answer, DecodedPacket } from 'dns-packet';
import type { MxRecord, Rcode, RecordType, RecordTypes, TlsaRecord } from './types.js';
import { normalizeName } from './names.js';

/** RFC 6891 section 6.2.5 and the DNS flag day 2020 advice: 1232 bytes avoids IP fragmentation. */
export const EDNS_UDP_SIZE = 1232;

/** RFC 2308 section 5 allows long negative caching; we cap it so a fixed zone is noticed within an hour. */
export const MAX_NEGATIVE_TTL = 3600;

export interface QueryMessage {
  readonly id: number;
  readonly name: string;
  readonly type: RecordType;
  /** RFC 4035 section 3.2.2: ask the resolver not to validate (used to tell bogus from servfail). */
  readonly checkingDisabled: boolean;
}

/** Encodes a recursive query with EDNS0 and DO set, so a validating resolver reports the AD bit. */
export function encodeQuery(query: QueryMessage): Buffer {
  const flags =
    dnsPacket.RECURSION_DESIRED | (query.checkingDisabled ? dnsPacket.CHECKING_DISABLED : 0);
  return dnsPacket.encode({
    type: 'query',
    id: query.id,
    flags,
    questions: [{ type: query.type, name: normalizeName(query.name) || '.', class: 'IN' }],
    additionals: [
      {
        type: 'OPT',
        name: '.',
        udpPayloadSize: EDNS_UDP_SIZE,
        extendedRcode: 0,
        ednsVersion: 0,
        flags: dnsPacket.DNSSEC_OK,
        flag_do: true,
        options: [],
      },
    ],
  });
}

/** The facts of a reply header the client needs, plus the raw sections. */
export interface Reply {
  readonly id: number;
  readonly rcode: Rcode;
  readonly truncated: boolean;
  readonly authenticData: boolean;
  readonly packet: DecodedPacket;
}

const RCODES: Readonly<Record<number, Rcode>> = {
  0: 'NOERROR',
  1: 'FORMERR',
  2: 'SERVFAIL',
  3: 'NXDOMAIN',
  4: 'NOTIMP',
  5: 'REFUSED',
};

/** Decodes a reply; `undefined` when the bytes are not a DNS response. */
export function decodeReply(bytes: Buffer): Reply | undefined {
  let packet: DecodedPacket;
  try {
    packet = dnsPacket.decode(bytes);
  } catch {
    return undefined;
  }
  if (!packet.flag_qr) return undefined;
  return {
    id: packet.id ?? 0,
    rcode: RCODES[(packet.flags ?? 0) & 0xf] ?? 'OTHER',
    truncated: packet.flag_tc,
    authenticData: packet.flag_ad,
    packet,
  };
}

/**
 * RFC 5452 section 4.3: accept a reply only when its id and its question match what we asked; anything
 * else may be a spoofing attempt and is ignored by the transport.
 */
export function replyMatches(reply: Reply, query: QueryMessage): boolean {
  if (reply.id !== query.id) return false;
  const questions = reply.packet.questions ?? [];
  // A FORMERR reply may legitimately echo no question; the id alone must then match.
  if (questions.length === 0) return reply.rcode === 'FORMERR';
  const question = questions[0];
  return (
    questions.length === 1 &&
    question !== undefined &&
    question.type === query.type &&
    normalizeName(question.name) === normalizeName(query.name)
  );
}

/** What the answer section of one reply says about `name`/`type`, after CNAMEs within it. */
export interface AnswerFacts<T extends RecordType> {
  /** Hops followed inside this reply, as `owner -> target`. */
  readonly chain: readonly string[];
  /** The last name of the chain (the owner of `records`). */
  readonly canonicalName: string;
  readonly records: readonly RecordTypes[T][];
  /** Smallest TTL among the CNAMEs followed and the records, or undefined when there were none. */
  readonly ttl: number | undefined;
  /** True when the chain revisited a name: the caller must stop. */
  readonly loop: boolean;
}

/** Reads the answer section for `name`, following CNAMEs in it (RFC 1034 section 3.6.2). */
export function readAnswer<T extends RecordType>(
  reply: Reply,
  name: string,
  type: T,
): AnswerFacts<T> {
  const answers = (reply.packet.answers ?? []).filter(
    (a) => a.type !== 'OPT' && (a.class ?? 'IN') === 'IN',
  );
  const chain: string[] = [];
  const seen = new Set<string>();
  let owner = normalizeName(name);
  let ttl: number | undefined;
  let loop = false;
  for (;;) {
    seen.add(owner);
    const cname = answers.find((a) => a.type === 'CNAME' && normalizeName(a.name) === owner);
    if (cname === undefined || cname.type !== 'CNAME') break;
    const target = normalizeName(cname.data);
    chain.push(`${owner} -> ${target}`);
    ttl = minTtl(ttl, answerTtl(cname));
    if (seen.has(target)) {
      loop = true;
      break;
    }
    owner = target;
  }
  const records: RecordTypes[T][] = [];
  for (const answer of answers) {
    if (answer.type !== type || normalizeName(answer.name) !== owner) continue;
    const record = parseRecord(answer, type);
    if (record === undefined) continue;
    records.push(record);
    ttl = minTtl(ttl, answerTtl(answer));
  }
  return { chain, canonicalName: owner, records, ttl, loop };
}

/**
 * RFC 2308 section 5: a negative answer may be cached for the smaller of the SOA record's TTL and its
 * MINIMUM field. Without an SOA the answer must not be cached (0).
 */
export function negativeTtl(reply: Reply): number {
  const soa = (reply.packet.authorities ?? []).find((a) => a.type === 'SOA');
  if (soa === undefined || soa.type !== 'SOA') return 0;
  const minimum = soa.data.minimum ?? 0;
  return Math.min(answerTtl(soa), minimum, MAX_NEGATIVE_TTL);
}

function answerTtl(answer: Answer): number {
  return 'ttl' in answer && typeof answer.ttl === 'number' ? answer.ttl : 0;
}

function minTtl(current: number | undefined, next: number): number {
  return current === undefined ? next : Math.min(current, next);
}

/** Converts one dns-packet record into the typed record of `types.ts`; undefined when its data is off. */
export function parseRecord<T extends RecordType>(
  answer: Answer,
  type: T,
): RecordTypes[T] | undefined {
  const parsed = parseAny(answer);
  return answer.type === type ? (parsed as RecordTypes[T] | undefined) : undefined;
}

function parseAny(answer: Answer): RecordTypes[RecordType] | undefined {
  switch (answer.type) {
    case 'A':
    case 'AAAA':
      return typeof answer.data === 'string' ? answer.data.toLowerCase() : undefined;
    case 'MX': {
      const data = answer.data;
      if (typeof data.exchange !== 'string') return undefined;
      const mx: MxRecord = {
        preference: data.preference ?? 0,
        exchange: normalizeName(data.exchange),
      };
      return mx;
    }
    case 'TXT':
      return decodeText(answer.data);
    case 'TLSA': {
      const data = answer.data;
      if (!Buffer.isBuffer(data.certificate)) return undefined;
      const tlsa: TlsaRecord = {
        usage: data.usage,
        selector: data.selector,
        matchingType: data.matchingType,
        data: new Uint8Array(data.certificate),
      };
      return tlsa;
    }
    default:
      return undefined;
  }
}

const UTF8 = new TextDecoder('utf-8', { fatal: true });

/**
 * RFC 7208 section 3.3 style: the character-strings of one TXT record are concatenated without separator.
 * Text is UTF-8 when it decodes as such, else latin1, so no byte is ever lost or replaced.
 */
export function decodeText(data: string | Buffer | readonly (string | Buffer)[]): string {
  const parts = Array.isArray(data) ? data : [data];
  const bytes = Buffer.concat(
    parts.map((part: string | Buffer) =>
      typeof part === 'string' ? Buffer.from(part, 'utf8') : part,
    ),
  );
  try {
    return UTF8.decode(bytes);
  } catch {
    return bytes.toString('latin1');
  }
}
