/**
 * The pure half of the test DNS server (`dns-server.ts`): the zone format and how a query becomes the
 * messages to send back, with the scripted misbehaviour of each name. No sockets here. Returns
 * `undefined` when the server must stay silent (`drop`, or a query without question).
 */
import dnsPacket from 'dns-packet';
import type { Answer, DecodedPacket } from 'dns-packet';

export interface TestTlsa {
  readonly usage: number;
  readonly selector: number;
  readonly matchingType: number;
  readonly data: Uint8Array;
}

/** How a name misbehaves. All default to off. */
export interface TestBehaviour {
  /** UDP answers carry TC and no records, forcing the client to TCP; TCP answers normally. */
  readonly truncate?: boolean;
  /** Answer this many milliseconds late (both transports). */
  readonly delayMs?: number;
  /** Never answer (both transports). */
  readonly drop?: boolean;
  /** Always SERVFAIL, with or without CD. */
  readonly servfail?: boolean;
  /** Always REFUSED. */
  readonly refused?: boolean;
  /** DNSSEC validation failure: SERVFAIL unless the query sets CD, then the normal answer. */
  readonly bogus?: boolean;
  /** The AD bit on answers for this name (for a CNAME chain: every name must have it); default server-wide. */
  readonly ad?: boolean;
  /**
   * Over UDP, first send two decoy NXDOMAIN replies, one with another id and one with the right id but
   * another question, then the real answer. A client that accepts a decoy reports NXDOMAIN.
   */
  readonly spoof?: boolean;
  /** Answer only this name's CNAME record, as a non-chasing server would, leaving the chase to the client. */
  readonly cnameOnly?: boolean;
}

/** One owner name: its records by type and its behaviour. */
export interface TestName extends TestBehaviour {
  readonly A?: readonly string[];
  readonly AAAA?: readonly string[];
  /** `exchange: '.'` (or `''`) is a null MX (RFC 7505). */
  readonly MX?: readonly { readonly preference: number; readonly exchange: string }[];
  /** A string is split into 255-byte character-strings; an array gives the character-strings as is. */
  readonly TXT?: readonly (string | readonly string[])[];
  readonly TLSA?: readonly TestTlsa[];
  readonly CNAME?: string;
  /** TTL of every record of this name: one number, or per type; default 300. */
  readonly ttl?:
    number | Readonly<Partial<Record<'A' | 'AAAA' | 'MX' | 'TXT' | 'TLSA' | 'CNAME', number>>>;
  /** Answer NXDOMAIN although the name is listed (handy to flip a name in a running test). */
  readonly nxdomain?: boolean;
}

/** Owner name (any case, trailing dot optional) to its entry. Unlisted names are NXDOMAIN. */
export type TestZone = Record<string, TestName>;

export interface AnswerContext {
  readonly zone: TestZone;
  readonly ad: boolean;
  readonly negativeTtl: number;
}

export interface ReplyPlan {
  readonly delayMs: number;
  readonly messages: readonly Buffer[];
}

const RCODE = { NOERROR: 0, SERVFAIL: 2, NXDOMAIN: 3, REFUSED: 5 } as const;

export function buildReply(
  query: DecodedPacket,
  transport: 'udp' | 'tcp',
  context: AnswerContext,
): ReplyPlan | undefined {
  const question = query.questions?.[0];
  if (question === undefined) return undefined;
  const name = normalize(question.name);
  const entry = find(context.zone, name);
  if (entry?.drop === true) return undefined;
  const opt = (query.additionals ?? []).find((a) => a.type === 'OPT');
  const reply = (
    rcode: number,
    answers: Answer[],
    authorities: Answer[],
    ad: boolean,
    tc = false,
  ): Buffer =>
    dnsPacket.encode({
      type: 'response',
      id: query.id ?? 0,
      flags:
        rcode |
        dnsPacket.RECURSION_AVAILABLE |
        ((query.flags ?? 0) & (dnsPacket.RECURSION_DESIRED | dnsPacket.CHECKING_DISABLED)) |
        (ad ? dnsPacket.AUTHENTIC_DATA : 0) |
        (tc ? dnsPacket.TRUNCATED_RESPONSE : 0),
      questions: [question],
      answers,
      authorities,
      additionals:
        opt === undefined
          ? []
          : [
              {
                type: 'OPT',
                name: '.',
                udpPayloadSize: 1232,
                flags: 0,
                flag_do: false,
                extendedRcode: 0,
                ednsVersion: 0,
                options: [],
              },
            ],
    });
  const delayMs = entry?.delayMs ?? 0;
  if (entry?.refused === true) return { delayMs, messages: [reply(RCODE.REFUSED, [], [], false)] };
  if (entry?.servfail === true || (entry?.bogus === true && !query.flag_cd)) {
    return { delayMs, messages: [reply(RCODE.SERVFAIL, [], [], false)] };
  }
  if (entry?.truncate === true && transport === 'udp')
    return { delayMs, messages: [reply(0, [], [], false, true)] };

  const { answers, owner, ad } = chase(context, name, question.type);
  const exists =
    find(context.zone, owner) !== undefined && find(context.zone, owner)?.nxdomain !== true;
  const nxdomain = !exists && !isEmptyNonTerminal(context.zone, owner);
  const negative =
    answers.every((a) => a.type === 'CNAME') && !(question.type === 'CNAME' && answers.length > 0);
  const authorities = negative ? [soa(owner, context.negativeTtl)] : [];
  let message = reply(nxdomain ? RCODE.NXDOMAIN : 0, answers, authorities, ad);
  // Over UDP an answer larger than the requester's buffer is truncated (RFC 6891 section 7).
  const limit = opt !== undefined && opt.type === 'OPT' ? Math.max(512, opt.udpPayloadSize) : 512;
  if (transport === 'udp' && message.length > limit)
    message = reply(nxdomain ? RCODE.NXDOMAIN : 0, [], [], ad, true);
  const messages = [message];
  if (entry?.spoof === true && transport === 'udp') {
    const decoy = (id: number, qname: string): Buffer =>
      dnsPacket.encode({
        type: 'response',
        id,
        flags: RCODE.NXDOMAIN,
        questions: [{ ...question, name: qname }],
      });
    messages.unshift(
      decoy(((query.id ?? 0) + 1) & 0xffff, question.name),
      decoy(query.id ?? 0, `decoy.${name}`),
    );
  }
  return { delayMs, messages };
}

/** Follows CNAMEs inside the zone like a recursive resolver, unless the name says `cnameOnly`. */
function chase(
  context: AnswerContext,
  name: string,
  type: string,
): { answers: Answer[]; owner: string; ad: boolean } {
  const answers: Answer[] = [];
  let owner = name;
  let ad = true;
  for (let hops = 0; hops < 16; hops += 1) {
    const entry = find(context.zone, owner);
    // Data a validator found bogus is only released under CD, and then never marked authentic.
    ad &&= entry?.bogus !== true && (entry?.ad ?? context.ad);
    if (entry === undefined || entry.nxdomain === true) break;
    if (entry.CNAME !== undefined && type !== 'CNAME') {
      answers.push({
        type: 'CNAME',
        name: owner,
        ttl: ttlOf(entry, 'CNAME'),
        data: normalize(entry.CNAME),
      });
      owner = normalize(entry.CNAME);
      if (entry.cnameOnly === true) break;
      continue;
    }
    answers.push(...records(entry, owner, type));
    break;
  }
  return { answers, owner, ad };
}

function records(entry: TestName, owner: string, type: string): Answer[] {
  switch (type) {
    case 'A':
      return (entry.A ?? []).map((data) => ({
        type: 'A',
        name: owner,
        ttl: ttlOf(entry, 'A'),
        data,
      }));
    case 'AAAA':
      return (entry.AAAA ?? []).map((data) => ({
        type: 'AAAA',
        name: owner,
        ttl: ttlOf(entry, 'AAAA'),
        data,
      }));
    case 'MX':
      return (entry.MX ?? []).map((mx) => ({
        type: 'MX',
        name: owner,
        ttl: ttlOf(entry, 'MX'),
        data: { preference: mx.preference, exchange: mx.exchange === '' ? '.' : mx.exchange },
      }));
    case 'TXT':
      return (entry.TXT ?? []).map((txt) => ({
        type: 'TXT',
        name: owner,
        ttl: ttlOf(entry, 'TXT'),
        data:
          typeof txt === 'string' ? split255(txt) : txt.map((part) => Buffer.from(part, 'utf8')),
      }));
    case 'TLSA':
      return (entry.TLSA ?? []).map((tlsa) => ({
        type: 'TLSA',
        name: owner,
        ttl: ttlOf(entry, 'TLSA'),
        data: {
          usage: tlsa.usage,
          selector: tlsa.selector,
          matchingType: tlsa.matchingType,
          certificate: Buffer.from(tlsa.data),
        },
      }));
    case 'CNAME':
      return entry.CNAME === undefined
        ? []
        : [
            {
              type: 'CNAME',
              name: owner,
              ttl: ttlOf(entry, 'CNAME'),
              data: normalize(entry.CNAME),
            },
          ];
    default:
      return [];
  }
}

function split255(text: string): Buffer[] {
  const bytes = Buffer.from(text, 'utf8');
  const parts: Buffer[] = [];
  for (let offset = 0; offset < bytes.length; offset += 255)
    parts.push(bytes.subarray(offset, offset + 255));
  return parts.length === 0 ? [Buffer.alloc(0)] : parts;
}

function ttlOf(entry: TestName, type: 'A' | 'AAAA' | 'MX' | 'TXT' | 'TLSA' | 'CNAME'): number {
  if (typeof entry.ttl === 'number') return entry.ttl;
  return entry.ttl?.[type] ?? 300;
}

function soa(owner: string, negativeTtl: number): Answer {
  const apex = owner.split('.').slice(-2).join('.') || '.';
  return {
    type: 'SOA',
    name: apex,
    ttl: negativeTtl,
    data: {
      mname: `ns.${apex}`,
      rname: `hostmaster.${apex}`,
      serial: 1,
      refresh: 3600,
      retry: 600,
      expire: 86400,
      minimum: negativeTtl,
    },
  };
}

function find(zone: TestZone, name: string): TestName | undefined {
  for (const [owner, entry] of Object.entries(zone)) if (normalize(owner) === name) return entry;
  return undefined;
}

/** RFC 8020: a name with descendants exists even without records of its own (NODATA, not NXDOMAIN). */
function isEmptyNonTerminal(zone: TestZone, name: string): boolean {
  return Object.keys(zone).some((owner) => normalize(owner).endsWith(`.${name}`));
}

function normalize(name: string): string {
  const lower = name.toLowerCase();
  return lower.endsWith('.') ? lower.slice(0, -1) : lower;
}
