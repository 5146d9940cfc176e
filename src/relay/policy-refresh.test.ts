/**
 * The relay refreshes due MTA-STS policies on its own (RFC 8461 3.3), reports failures without dropping
 * the cached policy, and stops cleanly. Real in-memory cache; resolver and fetcher are fixtures of their
 * interfaces answering with a TXT record and a policy.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { DnsResult, RecordType, RecordTypes, Resolver } from '../dns/types.js';
import { MemoryPolicyCache } from '../mtasts/cache.js';
import { parsePolicy } from '../mtasts/parse-policy.js';
import { startPolicyRefresh } from './policy-refresh.js';

const DAY = 86_400_000;

const resolver: Resolver = {
  query<T extends RecordType>(name: string, type: T): Promise<DnsResult<T>> {
    const records = (type === 'TXT' ? ['v=STSv1; id=new1;'] : []) as RecordTypes[T][];
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

test('RFC 8461 3.3: the relay refreshes a day-old cached policy by itself and logs it', async () => {
  const now = Date.now();
  const text = 'version: STSv1\nmode: enforce\nmx: mx.example\nmax_age: 604800\n';
  const parsed = parsePolicy(text);
  assert.ok(parsed.ok);
  const cache = new MemoryPolicyCache();
  await cache.put('rare.test', {
    domain: 'rare.test',
    id: 'old1',
    policy: parsed.policy,
    policyText: text,
    fetchedAt: now - 2 * DAY,
    expiresAt: now + 5 * DAY,
  });
  let logged: (value: unknown) => void = () => {};
  const seen = new Promise((resolve) => {
    logged = resolve;
  });
  const refresh = startPolicyRefresh({
    deps: () => ({
      resolver,
      cache,
      now: () => now,
      fetch: () => Promise.resolve({ ok: true, policy: parsed.policy, text }),
    }),
    timeoutMs: () => 1_000,
    logger: {
      info: (object) => logged(object),
      warn: (object) => logged(object),
      error: (object) => logged(object),
    },
    firstDelayMs: 1,
  });
  try {
    assert.deepEqual(await seen, { event: 'mta-sts-refreshed', domains: ['rare.test'] });
    assert.equal((await cache.get('rare.test'))?.id, 'new1');
  } finally {
    await refresh.stop();
  }
});
