/**
 * Wires the adapters a delivery needs from a validated configuration: the DNS client (configured
 * nameservers, or those of /etc/resolv.conf), the trust store (Node's roots, NODE_EXTRA_CA_CERTS, the
 * configured ca-file), the MTA-STS fetcher and its persistent policy cache in the data directory.
 * Failures to build one (an unreadable ca-file, an unusable data directory) are returned as messages,
 * never thrown, so commands can report them with the right exit code. Conditions that weaken delivery
 * without stopping it (a cache kept in memory only, nameservers whose AD bit is not trusted, so DANE is
 * never used) are `warnings`, found statically, without touching the network.
 */
import { randomInt } from 'node:crypto';
import type { MxsecConfig } from '../config/types.js';
import { createResolver } from '../dns/client.js';
import { systemNameservers } from '../dns/system.js';
import type { Resolver } from '../dns/types.js';
import { MemoryPolicyCache } from '../mtasts/cache.js';
import type { PolicyCache } from '../mtasts/cache.js';
import { openSqlitePolicyCache } from '../mtasts/cache-sqlite.js';
import { createPolicyFetcher } from '../mtasts/fetch.js';
import { resolveMtaSts } from '../mtasts/resolve.js';
import type { MtaStsDeps } from '../mtasts/resolve.js';
import { untrustedNameserverWarning } from '../dns/selftest.js';
import type { ConnectionStrategy } from '../config/types.js';
import { describeTrustStoreError, loadTrustStore } from '../tls/trust-store.js';
import type { DeliveryDeps } from './deps.js';

export interface Runtime {
  readonly resolver: Resolver;
  /** The nameservers the resolver asks (configured, or those of /etc/resolv.conf). */
  readonly nameservers: readonly string[];
  readonly cache: PolicyCache;
  /** False when the SQLite policy cache could not be opened (or was not asked for) and `cache` is in memory. */
  readonly persistentCache: boolean;
  /** What MTA-STS discovery uses, for callers that need `resolveMtaSts` options (`forceFetch`). */
  readonly mtaStsDeps: MtaStsDeps;
  /** Delivery dependencies for a connection strategy chosen per message (by the deliverer). */
  deps(connection: ConnectionStrategy): DeliveryDeps;
  close(): void;
  readonly warnings: readonly string[];
}

export type RuntimeResult =
  | { readonly ok: true; readonly runtime: Runtime }
  | { readonly ok: false; readonly message: string };

export interface RuntimeOptions {
  /** Keep MTA-STS policies in memory only (no data directory is touched). */
  readonly ephemeralCache?: boolean;
}

export async function createRuntime(
  config: MxsecConfig,
  options: RuntimeOptions = {},
): Promise<RuntimeResult> {
  const nameservers = config.resolver.nameservers ?? (await systemNameservers());
  const resolver = createResolver({
    nameservers,
    timeoutMs: config.resolver.timeoutMs,
    attempts: config.resolver.attempts,
    trustAd: config.resolver.trustAd,
  });
  const trust = await loadTrustStore(
    config.trust.caFile === undefined ? {} : { caFile: config.trust.caFile },
  );
  if (!trust.ok) return { ok: false, message: describeTrustStoreError(trust.error) };
  const warnings: string[] = [];
  // RFC 7672 2.1.1: AD from a resolver reached over an unauthenticated path proves nothing.
  const untrusted = untrustedNameserverWarning(nameservers, config.resolver.trustAd);
  if (untrusted !== undefined) warnings.push(untrusted);
  let cache: PolicyCache = new MemoryPolicyCache();
  let persistentCache = false;
  let close = (): void => {};
  if (options.ephemeralCache !== true) {
    const opened = openSqlitePolicyCache(config.storage.dataDir);
    if (opened.ok) {
      cache = opened.cache;
      persistentCache = true;
      close = () => opened.cache.close();
    } else {
      warnings.push(
        `MTA-STS policy cache unavailable, policies are kept in memory only: ${opened.message}`,
      );
    }
  }
  const fetch = createPolicyFetcher({
    resolver,
    ca: trust.store.certificates,
    port: config.delivery.mtaStsPort,
  });
  const now = (): number => Date.now();
  const mtaStsDeps: MtaStsDeps = { resolver, fetch, cache, now };
  const runtime: Runtime = {
    resolver,
    nameservers,
    cache,
    persistentCache,
    mtaStsDeps,
    warnings,
    deps(connection) {
      return {
        config,
        resolver,
        trust: trust.store,
        mtaSts: (domain, timeoutMs) => resolveMtaSts(mtaStsDeps, domain, { timeoutMs }),
        now: () => new Date(),
        random: () => randomInt(0, 2 ** 30) / 2 ** 30,
        ehloName: connection.ehloHostname,
        timeouts: connection.timeouts,
        port: config.delivery.port,
      };
    },
    close: () => close(),
  };
  return { ok: true, runtime };
}
