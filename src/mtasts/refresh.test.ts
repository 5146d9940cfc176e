/**
 * RFC 8461 3.3 / 10: cached policies are refreshed before they expire; a failed refresh keeps the
 * cached policy; expired policies are left for the next delivery. In-memory resolver and a recording
 * fetcher (fixtures of the interfaces), the real in-memory cache, an injected clock.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { DnsResult, RecordType, RecordTypes, Resolver } from '../dns/types.js';
import { MemoryPolicyCache } from './cache.js';
import type { PolicyFetchResult } from './fetch-result.js';
import { parsePolicy } from './parse-policy.js';
import { refreshDuePolicies } from './refresh.js';

const DAY = 86_400_000;
const T0 = 1_700_000_000_000;

const resolver: Resolver = {
  query<T extends RecordType>(name: string, type: T): Promise<DnsResult<T>> {
    const records = (type === 'TXT' ? ['v=STSv1; id=2;'] : []) as RecordTypes[T][];
    return Promise.resolve({
      ok: true,
      answer: {
        name,
        type,
        canonicalName: name,
        cnameChain: [],
        rcode: 'NOERROR',
        ad: false,
        dnssec: 'insecure',
        records,
        ttl: 300,
      },
    });
  },
};

function policy(mx: string): PolicyFetchResult {
  const text = `version: STSv1\nmode: enforce\nmx: ${mx}\nmax_age: 604800\n`;
  const parsed = parsePolicy(text);
  assert.ok(parsed.ok);
  return { ok: true, policy: parsed.policy, text };
}

async function cacheWith(
  domains: Record<string, { fetchedAt: number; expiresAt: number }>,
): Promise<MemoryPolicyCache> {
  const cache = new MemoryPolicyCache();
  const base = policy('old.example');
  assert.ok(base.ok);
  for (const [domain, times] of Object.entries(domains)) {
    await cache.put(domain, {
      domain,
      id: '1',
      policy: base.policy,
      policyText: base.text,
      ...times,
    });
  }
  return cache;
}

test('RFC 8461 3.3: a policy a day old is refreshed, a fresh one is not, an expired one is left to the next delivery', async () => {
  const now = T0 + 2 * DAY;
  const cache = await cacheWith({
    'old.test': { fetchedAt: now - DAY - 1, expiresAt: now + 6 * DAY },
    'fresh.test': { fetchedAt: now - 3_600_000, expiresAt: now + 7 * DAY },
    'gone.test': { fetchedAt: now - 8 * DAY, expiresAt: now - DAY },
  });
  const fetched: string[] = [];
  const report = await refreshDuePolicies(
    {
      resolver,
      cache,
      now: () => now,
      fetch: (domain) => {
        fetched.push(domain);
        return Promise.resolve(policy('new.example'));
      },
    },
    { timeoutMs: 1_000 },
  );
  assert.deepEqual(fetched, ['old.test']);
  assert.deepEqual(report, { refreshed: ['old.test'], failed: [] });
  assert.deepEqual((await cache.get('old.test'))?.policy.mx, ['new.example']);
  assert.equal((await cache.get('old.test'))?.id, '2');
});

test('RFC 8461 5.1: a failed refresh keeps the cached policy and is reported', async () => {
  const now = T0;
  const cache = await cacheWith({
    'old.test': { fetchedAt: now - 2 * DAY, expiresAt: now + 5 * DAY },
  });
  const report = await refreshDuePolicies(
    {
      resolver,
      cache,
      now: () => now,
      fetch: () =>
        Promise.resolve({ ok: false, error: { kind: 'status', status: 503, message: 'HTTP 503' } }),
    },
    { timeoutMs: 1_000 },
  );
  assert.equal(report.refreshed.length, 0);
  assert.equal(report.failed[0]?.domain, 'old.test');
  assert.deepEqual((await cache.get('old.test'))?.policy.mx, ['old.example']);
});
