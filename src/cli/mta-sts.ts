/**
 * `mxsec mta-sts show|fetch|flush DOMAIN [--config F] [--json]`: the MTA-STS policy cache in
 * `storage.data-dir` (RFC 8461 sections 3.3 and 5.1), seen and changed by hand.
 * - `show`: the cached policy (id, mode, max_age, mx patterns, fetch and expiry times, whether a
 *   proactive refresh is due) or "not cached". Never creates the cache file. Exit 0 either way.
 * - `fetch`: discovery and fetch now, through mxsec's own resolver and fetcher, as a forced refresh; a
 *   policy obtained is stored. Prints the TXT record, the policy text and the result, or the precise
 *   error. Exit 0 stored, 75 on a temporary failure (DNS, fetch, a broken TXT record), 69 when the domain
 *   publishes no policy, 78 when the cache cannot be opened.
 * - `flush`: removes the domain's entry. Exit 0 whether or not there was one.
 * Usage errors exit 64, configuration errors 78. The description helpers are shared with `mxsec check`.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { didYouMean } from '../config/diagnostics.js';
import type { MxsecConfig } from '../config/types.js';
import { formatDuration } from '../core/duration.js';
import { normalizeName } from '../dns/names.js';
import type { DnsResult, RecordType, Resolver } from '../dns/types.js';
import { openSqlitePolicyCache, POLICY_CACHE_FILE } from '../mtasts/cache-sqlite.js';
import type { SqlitePolicyCache } from '../mtasts/cache-sqlite.js';
import type { PolicyCacheEntry } from '../mtasts/cache.js';
import { policyUrl } from '../mtasts/fetch.js';
import { POLICY_FETCH_RESULTS, severityOf } from '../policy/failure.js';
import { needsProactiveRefresh, resolveMtaSts } from '../mtasts/resolve.js';
import type { MtaStsLookup, MtaStsProblem } from '../mtasts/resolve.js';
import { isStsCandidate } from '../mtasts/parse-txt.js';
import { CONFIG_OPTION, UsageError, loadForCommand, parse, runtimeForCommand } from './common.js';
import type { Command } from './common.js';
import { EXIT } from './exit-codes.js';
import type { ExitCode } from './exit-codes.js';
import { line, paint } from './output.js';
import type { Out } from './output.js';

/**
 * A resolver that asks each question once per command run and remembers the result, failures included,
 * so what a command prints is exactly what it decided on (and a timeout is not waited for twice).
 */
export function rememberingResolver(inner: Resolver): Resolver {
  const seen = new Map<string, Promise<DnsResult<RecordType>>>();
  return {
    query<T extends RecordType>(name: string, type: T): Promise<DnsResult<T>> {
      const key = `${type} ${normalizeName(name)}`;
      let pending = seen.get(key);
      if (pending === undefined) {
        pending = inner.query(name, type);
        seen.set(key, pending);
      }
      return pending as Promise<DnsResult<T>>;
    },
  };
}

/** `in 3h` / `5m ago`, to the largest whole unit. */
export function relative(ms: number): string {
  const size = Math.abs(ms);
  const [unit, step] =
    size >= 86_400_000
      ? ['d', 86_400_000]
      : size >= 3_600_000
        ? ['h', 3_600_000]
        : size >= 60_000
          ? ['m', 60_000]
          : ['s', 1_000];
  const text = `${Math.floor(size / step)}${unit}`;
  return ms >= 0 ? `in ${text}` : `${text} ago`;
}

type PolicyFacts = Pick<PolicyCacheEntry, 'id' | 'policy' | 'fetchedAt' | 'expiresAt'>;

/** The JSON of a policy with its cache times (RFC 8461 section 3.2 fields). */
export function policyJson(p: PolicyFacts, now: number): Record<string, unknown> {
  return {
    id: p.id,
    mode: p.policy.mode,
    max_age: p.policy.maxAge,
    mx: p.policy.mx,
    fetched_at: new Date(p.fetchedAt).toISOString(),
    expires_at: new Date(p.expiresAt).toISOString(),
    expired: now >= p.expiresAt,
    refresh_due: needsProactiveRefresh({ ...p, domain: '', policyText: '' }, now),
  };
}

/** One line: `id 1: mode enforce, max_age 86400 (1d), mx a, b`. */
export function describePolicy(p: PolicyFacts): string {
  const mx = p.policy.mx.length === 0 ? 'no mx' : `mx ${p.policy.mx.join(', ')}`;
  return `id ${p.id}: mode ${p.policy.mode}, max_age ${p.policy.maxAge} (${formatDuration(p.policy.maxAge * 1000)}), ${mx}`;
}

/** What went wrong, for JSON: the stage, its specific kind, the message and the TLS-RPT result type. */
export function problemJson(problem: MtaStsProblem): Record<string, unknown> {
  switch (problem.stage) {
    case 'dns':
      return { stage: 'dns', kind: problem.failure.kind, message: problem.message, tlsrpt: null };
    case 'txt':
      return { stage: 'txt', kind: problem.reason, message: problem.message, tlsrpt: null };
    case 'fetch':
      return {
        stage: 'fetch',
        kind: problem.error.kind,
        message: problem.message,
        tlsrpt: POLICY_FETCH_RESULTS[problem.error.kind],
      };
  }
}

/** A TXT-stage outcome is permanent only when the domain publishes no record (`severityOf`). */
function problemExit(problem: MtaStsProblem): ExitCode {
  if (problem.stage !== 'txt') return EXIT.tempfail;
  return severityOf(problem.reason) === 'permanent' ? EXIT.unavailable : EXIT.tempfail;
}

/** The exit code of a forced refresh: 0 only when a policy was fetched and stored. */
export function fetchExit(lookup: MtaStsLookup): ExitCode {
  switch (lookup.kind) {
    case 'policy':
      return lookup.refreshError === undefined ? EXIT.ok : problemExit(lookup.refreshError);
    case 'none':
      return severityOf(lookup.reason) === 'permanent' ? EXIT.unavailable : EXIT.tempfail;
    case 'error':
      return problemExit(lookup.problem);
  }
}

/** The `v=STSv1` candidates among the TXT answer, or the failure, for display. */
export function txtJson(result: DnsResult<'TXT'> | undefined): Record<string, unknown> | null {
  if (result === undefined) return null;
  if (!result.ok)
    return { records: [], error: { kind: result.failure.kind, message: result.failure.message } };
  return {
    records: result.answer.records.filter(isStsCandidate),
    dnssec: result.answer.dnssec,
    error: null,
  };
}

export function describeTxt(domain: string, result: DnsResult<'TXT'> | undefined): string {
  const name = `_mta-sts.${domain} TXT`;
  if (result === undefined) return `${name}: not looked up`;
  if (!result.ok) return `${name}: ${result.failure.kind}: ${result.failure.message}`;
  const records = result.answer.records.filter(isStsCandidate);
  return records.length === 0
    ? `${name}: no v=STSv1 record`
    : `${name}: ${records.map((r) => JSON.stringify(r)).join(', ')}`;
}

function domainArgument(positionals: readonly string[], verb: string): string {
  if (positionals.length !== 1) throw new UsageError(`mta-sts ${verb} takes exactly one DOMAIN`);
  const domain = normalizeName(positionals[0] ?? '');
  if (!/^[a-z0-9_-]+(?:\.[a-z0-9_-]+)+$/.test(domain))
    throw new UsageError(`'${positionals[0] ?? ''}' is not a domain name`);
  return domain;
}

async function withConfig(
  argv: readonly string[],
  verb: string,
  out: Out,
): Promise<{ domain: string; json: boolean; config?: MxsecConfig }> {
  const { values, positionals } = parse(
    argv,
    { ...CONFIG_OPTION, json: { type: 'boolean' } },
    true,
  );
  const domain = domainArgument(positionals, verb);
  const { config } = await loadForCommand(values.config, out);
  return { domain, json: values.json === true, ...(config === undefined ? {} : { config }) };
}

/** Runs `work` on the cache; an exit code when the cache cannot be opened (78) or fails (75). */
async function onCache<T>(
  config: MxsecConfig,
  out: Out,
  work: (cache: SqlitePolicyCache) => Promise<T>,
): Promise<T | ExitCode> {
  const opened = openSqlitePolicyCache(config.storage.dataDir);
  if (!opened.ok) {
    line(out.stderr, `mxsec: ${opened.message}`);
    return EXIT.config;
  }
  try {
    return await work(opened.cache);
  } catch (error) {
    line(
      out.stderr,
      `mxsec: MTA-STS cache error: ${error instanceof Error ? error.message : String(error)}`,
    );
    return EXIT.tempfail;
  } finally {
    opened.cache.close();
  }
}

const show = async (argv: readonly string[], out: Out): Promise<ExitCode> => {
  const { domain, json, config } = await withConfig(argv, 'show', out);
  if (config === undefined) return EXIT.config;
  const now = Date.now();
  // `show` must not create the data directory or the cache file just to say "not cached".
  const exists = existsSync(join(config.storage.dataDir, POLICY_CACHE_FILE));
  const entry = exists ? await onCache(config, out, (cache) => cache.get(domain)) : undefined;
  if (typeof entry === 'number') return entry;
  const o = out.stdout;
  if (json) {
    line(
      o,
      JSON.stringify(
        entry === undefined
          ? { domain, cached: false }
          : { domain, cached: true, ...policyJson(entry, now), policy_text: entry.policyText },
        null,
        2,
      ),
    );
    return EXIT.ok;
  }
  if (entry === undefined) {
    line(o, `${domain}: not cached`);
    return EXIT.ok;
  }
  const expired = now >= entry.expiresAt;
  line(o, `${paint(o, 'bold', domain)}: cached MTA-STS policy ${describePolicy(entry)}`);
  line(
    o,
    `  fetched ${new Date(entry.fetchedAt).toISOString()} (${relative(entry.fetchedAt - now)})`,
  );
  line(
    o,
    expired
      ? paint(
          o,
          'yellow',
          `  expired ${new Date(entry.expiresAt).toISOString()} (${relative(entry.expiresAt - now)}): no longer applied`,
        )
      : `  expires ${new Date(entry.expiresAt).toISOString()} (${relative(entry.expiresAt - now)})`,
  );
  line(o, `  proactive refresh ${needsProactiveRefresh(entry, now) ? 'due' : 'not due'}`);
  return EXIT.ok;
};

const flush = async (argv: readonly string[], out: Out): Promise<ExitCode> => {
  const { domain, json, config } = await withConfig(argv, 'flush', out);
  if (config === undefined) return EXIT.config;
  const exists = existsSync(join(config.storage.dataDir, POLICY_CACHE_FILE));
  const removed = exists
    ? await onCache(config, out, async (cache) => {
        const had = (await cache.get(domain)) !== undefined;
        await cache.delete(domain);
        return had;
      })
    : false;
  if (typeof removed === 'number') return removed;
  line(
    out.stdout,
    json
      ? JSON.stringify({ domain, removed }, null, 2)
      : `${domain}: ${removed ? 'removed from the MTA-STS cache' : 'not cached'}`,
  );
  return EXIT.ok;
};

const fetch = async (argv: readonly string[], out: Out): Promise<ExitCode> => {
  const { domain, json, config } = await withConfig(argv, 'fetch', out);
  if (config === undefined) return EXIT.config;
  const runtime = await runtimeForCommand(config, out);
  if (runtime === undefined) return EXIT.config;
  try {
    // Storing the policy is the point of this command: without the persistent cache it would be lost.
    if (!runtime.persistentCache) {
      line(
        out.stderr,
        `mxsec: mta-sts fetch stores policies in ${join(config.storage.dataDir, POLICY_CACHE_FILE)}, which cannot be opened`,
      );
      return EXIT.config;
    }
    const resolver = rememberingResolver(runtime.resolver);
    const txt = await resolver.query(`_mta-sts.${domain}`, 'TXT');
    // The `default` strategy's `timeout.mta-sts` bounds a fetch made outside any delivery.
    const timeoutMs = config.tls.strategies.get('default')?.timeoutMtaStsMs ?? 60_000;
    const lookup = await resolveMtaSts({ ...runtime.mtaStsDeps, resolver }, domain, {
      timeoutMs,
      forceFetch: true,
    });
    const now = Date.now();
    const code = fetchExit(lookup);
    const url = policyUrl(domain, config.delivery.mtaStsPort);
    const problem =
      lookup.kind === 'policy'
        ? lookup.refreshError
        : lookup.kind === 'error'
          ? lookup.problem
          : undefined;
    if (json) {
      line(
        out.stdout,
        JSON.stringify(
          {
            domain,
            txt: txtJson(txt),
            url,
            result:
              lookup.kind === 'policy'
                ? lookup.source === 'fetched'
                  ? 'fetched'
                  : 'cached'
                : lookup.kind,
            stored: lookup.kind === 'policy' && lookup.source === 'fetched',
            policy: lookup.kind === 'policy' ? policyJson(lookup, now) : null,
            policy_text: lookup.kind === 'policy' ? lookup.policyText : null,
            error:
              problem !== undefined
                ? problemJson(problem)
                : lookup.kind === 'none'
                  ? { stage: 'txt', kind: lookup.reason, message: lookup.message, tlsrpt: null }
                  : null,
          },
          null,
          2,
        ),
      );
      return code;
    }
    const o = out.stdout;
    line(o, describeTxt(domain, txt));
    if (lookup.kind === 'policy' && lookup.source === 'fetched') {
      line(o, `policy from ${url}:`);
      for (const text of lookup.policyText.replace(/\r?\n$/, '').split(/\r?\n/))
        line(o, paint(o, 'dim', `  | ${text}`));
      line(
        o,
        paint(
          o,
          'green',
          `stored: ${describePolicy(lookup)}; expires ${new Date(lookup.expiresAt).toISOString()} (${relative(lookup.expiresAt - now)})`,
        ),
      );
      return code;
    }
    const message =
      lookup.kind === 'none'
        ? `no MTA-STS policy: ${lookup.message}`
        : problem === undefined
          ? 'the cached policy was kept'
          : `${problem.stage} failed: ${problem.message}`;
    const tlsrpt =
      problem?.stage === 'fetch' ? ` [TLS-RPT ${POLICY_FETCH_RESULTS[problem.error.kind]}]` : '';
    line(o, paint(o, 'red', `${domain}: ${message}${tlsrpt}`));
    // RFC 8461 5.1: a failed refresh never removes a policy that has not expired.
    if (lookup.kind === 'policy')
      line(
        o,
        paint(
          o,
          'yellow',
          `the cached policy ${describePolicy(lookup)} stays in force until ${new Date(lookup.expiresAt).toISOString()}`,
        ),
      );
    return code;
  } finally {
    runtime.close();
  }
};

const VERBS: Readonly<Record<string, Command>> = { show, fetch, flush };

export const mtaStsCommand: Command = async (argv, out) => {
  const verb = argv[0];
  const run = verb === undefined ? undefined : VERBS[verb];
  if (run === undefined) {
    throw new UsageError(
      `mta-sts takes show|fetch|flush DOMAIN${verb === undefined ? '' : `; unknown '${verb}'${didYouMean(verb, Object.keys(VERBS))}`}`,
    );
  }
  return run(argv.slice(1), out);
};
