/**
 * The `Resolver` of `types.ts` on our own DNS packets: a validating-resolver client that reports the
 * DNSSEC facts DANE (RFC 7672) and MTA-STS need. For each question it consults the TTL cache, else asks
 * the nameservers (`ask.ts`), maps the rcode, tells a DNSSEC-bogus SERVFAIL from a plain one by asking
 * again with CD set (RFC 4035 section 3.2.2), follows CNAMEs (at most 8 hops, loops refused) and derives
 * `dnssec` from the AD bit of every reply in the chain and the trust placed in the server. Failures are
 * `DnsFailure` values and are not cached; the promise never rejects. Concurrent identical questions
 * share one lookup.
 */
import { randomInt } from 'node:crypto';
import { ask } from './ask.js';
import type { AskResult, AskSettings } from './ask.js';
import { AnswerCache } from './cache.js';
import { formatNameserver, normalizeName, parseNameserver } from './names.js';
import type { NameserverAddress } from './names.js';
import { negativeTtl, readAnswer } from './packet.js';
import { adTrusted, dnssecStatus } from './trust.js';
import type {
  DnsAnswer,
  DnsFailure,
  DnsFailureKind,
  DnsResult,
  RecordType,
  RecordTypes,
  Resolver,
  ResolverSettings,
} from './types.js';

/** More hops than any sane zone uses; a longer chain is treated as a misconfiguration. */
export const MAX_CNAME_HOPS = 8;

export interface ResolverDeps {
  /** Milliseconds clock for the cache; default `Date.now`. */
  readonly now?: () => number;
  /** Uniform in [0, 1) for query ids; default a CSPRNG, because ids defend against spoofing. */
  readonly random?: () => number;
}

/**
 * Creates a resolver. Throws a `TypeError` when a nameserver is not an IP `host:port`, since that is a
 * configuration bug that the configuration loader should have reported (see `parseNameserver`).
 */
export function createResolver(settings: ResolverSettings, deps: ResolverDeps = {}): Resolver {
  const servers = settings.nameservers.map((text) => {
    const parsed = parseNameserver(text);
    if (parsed === undefined)
      throw new TypeError(`nameserver is not an IP address with optional port: ${text}`);
    return parsed;
  });
  const random = deps.random;
  const newId =
    random === undefined
      ? () => randomInt(0, 0x10000)
      : () => Math.floor(random() * 0x10000) & 0xffff;
  const askSettings: AskSettings = {
    servers,
    timeoutMs: settings.timeoutMs,
    attempts: settings.attempts,
    newId,
  };
  const cache = new AnswerCache({ now: deps.now ?? Date.now });
  const inflight = new Map<string, Promise<DnsResult<RecordType>>>();

  async function query<T extends RecordType>(name: string, type: T): Promise<DnsResult<T>> {
    const normalized = normalizeName(name);
    const cached = cache.get(normalized, type);
    if (cached !== undefined) return { ok: true, answer: cached };
    const key = `${type} ${normalized}`;
    const pending = inflight.get(key) as Promise<DnsResult<T>> | undefined;
    if (pending !== undefined) return pending;
    const lookup = resolveChain(askSettings, settings.trustAd, normalized, type)
      .then((result) => {
        if (result.ok) cache.set(result.answer);
        return result;
      })
      // Cleared even if a socket API throws (a bug), so one failure cannot poison later queries.
      .finally(() => inflight.delete(key));
    inflight.set(key, lookup);
    return lookup;
  }

  return { query };
}

async function resolveChain<T extends RecordType>(
  settings: AskSettings,
  trustAd: boolean,
  name: string,
  type: T,
): Promise<DnsResult<T>> {
  const fail = (
    kind: DnsFailureKind,
    message: string,
    server?: NameserverAddress,
  ): DnsResult<T> => {
    const failure: DnsFailure =
      server === undefined
        ? { kind, name, type, message }
        : { kind, name, type, message, server: formatNameserver(server) };
    return { ok: false, failure };
  };
  const cnameChain: string[] = [];
  const seen = new Set([name]);
  let current = name;
  let allAd = true;
  let allTrusted = true;
  let ttl: number | undefined;
  for (;;) {
    const asked = await ask(settings, { name: current, type, checkingDisabled: false });
    if (!asked.ok) return fail(asked.kind, `${current} ${type}: ${asked.message}`, asked.server);
    const { reply, server } = asked;
    switch (reply.rcode) {
      case 'NOERROR':
      case 'NXDOMAIN':
        break;
      case 'SERVFAIL': {
        const kind = await servfailKind(settings, current, type, server);
        return fail(
          kind,
          kind === 'bogus'
            ? `${current} ${type}: SERVFAIL that succeeds with CD set: DNSSEC validation failed`
            : `${current} ${type}: SERVFAIL`,
          server,
        );
      }
      case 'REFUSED':
      case 'NOTIMP':
        return fail('refused', `${current} ${type}: ${reply.rcode}`, server);
      case 'FORMERR':
      case 'OTHER':
        return fail('malformed', `${current} ${type}: rcode ${reply.rcode}`, server);
    }
    const facts = readAnswer(reply, current, type);
    allAd &&= reply.authenticData;
    allTrusted &&= adTrusted(server.host, trustAd);
    cnameChain.push(...facts.chain);
    if (facts.ttl !== undefined) ttl = ttl === undefined ? facts.ttl : Math.min(ttl, facts.ttl);
    // A target seen before, in this reply or an earlier one, means the chain would never end.
    let loop = facts.loop;
    for (const hop of facts.chain) {
      const target = hop.slice(hop.indexOf(' -> ') + 4);
      if (seen.has(target)) loop = true;
      seen.add(target);
    }
    if (loop)
      return fail('malformed', `${name} ${type}: CNAME loop (${cnameChain.join(', ')})`, server);
    if (cnameChain.length > MAX_CNAME_HOPS) {
      return fail(
        'malformed',
        `${name} ${type}: CNAME chain longer than ${MAX_CNAME_HOPS}`,
        server,
      );
    }
    const finished =
      facts.records.length > 0 || reply.rcode === 'NXDOMAIN' || facts.chain.length === 0;
    if (finished) {
      const records: readonly RecordTypes[T][] = facts.records;
      if (records.length === 0) ttl = Math.min(ttl ?? Number.MAX_SAFE_INTEGER, negativeTtl(reply));
      const answer: DnsAnswer<T> = {
        name,
        type,
        canonicalName: facts.canonicalName,
        cnameChain,
        rcode: reply.rcode,
        ad: allAd,
        dnssec: dnssecStatus(allAd, allTrusted),
        records,
        ttl: ttl ?? 0,
      };
      return { ok: true, answer };
    }
    // The chain ends at a name whose records this reply did not include: ask for the target itself.
    current = facts.canonicalName;
  }
}

/**
 * RFC 4035 section 3.2.2: a validating resolver returns SERVFAIL for bogus data but hands it over when
 * the query sets CD. Success with CD therefore means the failure was DNSSEC validation, not the zone.
 */
async function servfailKind(
  settings: AskSettings,
  name: string,
  type: RecordType,
  server: NameserverAddress,
): Promise<'bogus' | 'servfail'> {
  const again: AskResult = await ask(
    { ...settings, servers: [server] },
    { name, type, checkingDisabled: true },
  );
  const succeeded =
    again.ok && (again.reply.rcode === 'NOERROR' || again.reply.rcode === 'NXDOMAIN');
  return succeeded ? 'bogus' : 'servfail';
}
