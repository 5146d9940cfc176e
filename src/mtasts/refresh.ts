/**
 * Proactive refresh of cached MTA-STS policies (RFC 8461 sections 3.3 and 10): a relay checks its cached
 * policies periodically, so a policy does not lapse for a domain that is mailed rarely and an attacker
 * cannot time a downgrade to its expiry. Only unexpired policies are refreshed here; an expired one is
 * fetched again by the next delivery to its domain. A failed refresh keeps the cached policy (that is
 * `resolveMtaSts`'s rule), so this can only ever add information. Never throws.
 */
import { needsProactiveRefresh, resolveMtaSts } from './resolve.js';
import type { MtaStsDeps } from './resolve.js';

export interface RefreshReport {
  readonly refreshed: readonly string[];
  readonly failed: readonly { readonly domain: string; readonly message: string }[];
}

/** Refreshes every cached, unexpired policy that is due, one domain at a time. */
export async function refreshDuePolicies(
  deps: MtaStsDeps,
  options: { readonly timeoutMs: number },
): Promise<RefreshReport> {
  const refreshed: string[] = [];
  const failed: { domain: string; message: string }[] = [];
  const now = deps.now();
  for (const entry of await deps.cache.list()) {
    if (now >= entry.expiresAt || !needsProactiveRefresh(entry, now)) continue;
    const lookup = await resolveMtaSts(deps, entry.domain, {
      timeoutMs: options.timeoutMs,
      forceFetch: true,
    });
    switch (lookup.kind) {
      case 'policy':
        if (lookup.refreshError === undefined) refreshed.push(entry.domain);
        else failed.push({ domain: entry.domain, message: lookup.refreshError.message });
        break;
      case 'error':
        failed.push({ domain: entry.domain, message: lookup.problem.message });
        break;
      case 'none':
        failed.push({ domain: entry.domain, message: lookup.message });
        break;
    }
  }
  return { refreshed, failed };
}
