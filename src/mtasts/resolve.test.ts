/**
 * Discovery and caching rules of RFC 8461 sections 3.3 and 5.1, with an in-memory resolver, a recording
 * fetcher that returns scripted results, the real in-memory cache and an injected clock.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { DnsFailureKind, DnsResult, RecordType, RecordTypes, Resolver } from '../dns/types.js';
import { MemoryPolicyCache, type PolicyCacheEntry } from './cache.js';
import type { PolicyFetchResult, PolicyFetcher } from './fetch-result.js';
import { parsePolicy } from './parse-policy.js';
import { needsProactiveRefresh, resolveMtaSts, type MtaStsDeps } from './resolve.js';

const DAY = 86_400_000;
const T0 = 1_700_000_000_000;

/** TXT answers by name; a string value is a failure kind. */
class TxtFixture implements Resolver {
  readonly records = new Map<string, readonly string[] | DnsFailureKind>();
  queries = 0;

  query<T extends RecordType>(name: string, type: T): Promise<DnsResult<T>> {
    this.queries += 1;
    const key = name.toLowerCase().replace(/\.$/, '');
    const value = this.records.get(key);
    if (typeof value === 'string') {
      return Promise.resolve({
        ok: false,
        failure: { kind: value, name: key, type, message: `fixture ${value}` },
      });
    }
    const records = (type === 'TXT' ? (value ?? []) : []) as RecordTypes[T][];
    return Promise.resolve({
      ok: true,
      answer: {
        name: key,
        type,
        canonicalName: key,
        cnameChain: [],
        rcode: value === undefined ? 'NXDOMAIN' : 'NOERROR',
        ad: false,
        dnssec: 'insecure',
        records,
        ttl: 300,
      },
    });
  }
}

function policyText(mode: string, maxAge: number, mx = 'mail.example.com'): string {
  return `version: STSv1\nmode: ${mode}\nmx: ${mx}\nmax_age: ${maxAge}\n`;
}

function ok(text: string): PolicyFetchResult {
  const parsed = parsePolicy(text);
  assert.ok(parsed.ok);
  return { ok: true, policy: parsed.policy, text };
}

const fetchFailure: PolicyFetchResult = {
  ok: false,
  error: { kind: 'status', status: 503, message: 'HTTP 503' },
};

/** A fetcher that records its calls and answers from a queue (the last answer repeats). */
function recordingFetch(
  ...answers: PolicyFetchResult[]
): PolicyFetcher & { calls: { domain: string; timeoutMs: number }[] } {
  const calls: { domain: string; timeoutMs: number }[] = [];
  const fetcher = (
    domain: string,
    options: { readonly timeoutMs: number },
  ): Promise<PolicyFetchResult> => {
    calls.push({ domain, timeoutMs: options.timeoutMs });
    const answer = answers.length > 1 ? answers.shift() : answers[0];
    assert.ok(answer !== undefined, 'unexpected fetch');
    return Promise.resolve(answer);
  };
  return Object.assign(fetcher, { calls });
}

function setup(
  txt: readonly string[] | DnsFailureKind | undefined,
  ...answers: PolicyFetchResult[]
) {
  const resolver = new TxtFixture();
  if (txt !== undefined) resolver.records.set('_mta-sts.example.com', txt);
  const fetch = recordingFetch(...answers);
  const cache = new MemoryPolicyCache();
  const clock = { now: T0 };
  const deps: MtaStsDeps = { resolver, fetch, cache, now: () => clock.now };
  return { resolver, fetch, cache, clock, deps };
}

describe('RFC 8461 3.3 and 5.1: policy discovery', () => {
  test('RFC 8461 3.3: first delivery fetches and caches the policy for max_age', async () => {
    const { deps, fetch, cache } = setup(['v=STSv1; id=one;'], ok(policyText('enforce', 86400)));
    const lookup = await resolveMtaSts(deps, 'Example.COM.', { timeoutMs: 1234 });
    assert.equal(lookup.kind, 'policy');
    assert.ok(lookup.kind === 'policy');
    assert.equal(lookup.source, 'fetched');
    assert.equal(lookup.id, 'one');
    assert.equal(lookup.expiresAt, T0 + DAY);
    assert.deepEqual(fetch.calls, [{ domain: 'example.com', timeoutMs: 1234 }]);
    assert.equal((await cache.get('example.com'))?.id, 'one');
  });

  test('RFC 8461 3.3: same id and unexpired cache means no fetch', async () => {
    const { deps, fetch, clock } = setup(['v=STSv1; id=one'], ok(policyText('enforce', 86400)));
    await resolveMtaSts(deps, 'example.com', { timeoutMs: 1000 });
    clock.now = T0 + DAY - 1;
    const lookup = await resolveMtaSts(deps, 'example.com', { timeoutMs: 1000 });
    assert.equal(lookup.kind === 'policy' && lookup.source, 'cache');
    assert.equal(fetch.calls.length, 1);
  });

  test('RFC 8461 3.3: a changed TXT id triggers a fetch', async () => {
    const { deps, fetch, resolver, clock } = setup(
      ['v=STSv1; id=one'],
      ok(policyText('testing', 86400)),
      ok(policyText('enforce', 86400)),
    );
    await resolveMtaSts(deps, 'example.com', { timeoutMs: 1000 });
    resolver.records.set('_mta-sts.example.com', ['v=STSv1; id=two']);
    clock.now = T0 + 1000;
    const lookup = await resolveMtaSts(deps, 'example.com', { timeoutMs: 1000 });
    assert.ok(lookup.kind === 'policy');
    assert.deepEqual([lookup.source, lookup.id, lookup.policy.mode], ['fetched', 'two', 'enforce']);
    assert.equal(fetch.calls.length, 2);
  });

  test('RFC 8461 5.1: an expired cached policy is fetched again even with the same id', async () => {
    const { deps, fetch, clock } = setup(['v=STSv1; id=one'], ok(policyText('enforce', 60)));
    await resolveMtaSts(deps, 'example.com', { timeoutMs: 1000 });
    clock.now = T0 + 60_000;
    const lookup = await resolveMtaSts(deps, 'example.com', { timeoutMs: 1000 });
    assert.equal(lookup.kind === 'policy' && lookup.source, 'fetched');
    assert.equal(fetch.calls.length, 2);
  });

  test('RFC 8461 3.3: when a refresh fails, the unexpired cached policy is still applied', async () => {
    const { deps, fetch, resolver, clock } = setup(
      ['v=STSv1; id=one'],
      ok(policyText('enforce', 86400)),
      fetchFailure,
    );
    await resolveMtaSts(deps, 'example.com', { timeoutMs: 1000 });
    resolver.records.set('_mta-sts.example.com', ['v=STSv1; id=two']);
    clock.now = T0 + 5000;
    const lookup = await resolveMtaSts(deps, 'example.com', { timeoutMs: 1000 });
    assert.ok(lookup.kind === 'policy');
    assert.deepEqual(
      [lookup.source, lookup.id, lookup.refreshError?.stage],
      ['cache', 'one', 'fetch'],
    );
    assert.equal(fetch.calls.length, 2);
  });

  test('RFC 8461 3.3: a failed fetch with an expired cache is an error, not the stale policy', async () => {
    const { deps, clock } = setup(['v=STSv1; id=one'], ok(policyText('enforce', 10)), fetchFailure);
    await resolveMtaSts(deps, 'example.com', { timeoutMs: 1000 });
    clock.now = T0 + 10_000;
    const lookup = await resolveMtaSts(deps, 'example.com', { timeoutMs: 1000 });
    assert.equal(lookup.kind, 'error');
    assert.equal(lookup.kind === 'error' && lookup.problem.stage, 'fetch');
  });

  test('RFC 8461 3.3: a failed fetch with nothing cached is an error', async () => {
    const { deps } = setup(['v=STSv1; id=one'], fetchFailure);
    const lookup = await resolveMtaSts(deps, 'example.com', { timeoutMs: 1000 });
    assert.ok(lookup.kind === 'error' && lookup.problem.stage === 'fetch');
    assert.equal(lookup.problem.id, 'one');
  });

  for (const failure of ['timeout', 'servfail', 'bogus'] as const) {
    test(`RFC 8461 3.3: a TXT lookup ${failure} uses the cached policy without fetching`, async () => {
      const { deps, fetch, resolver, clock } = setup(
        ['v=STSv1; id=one'],
        ok(policyText('enforce', 86400)),
      );
      await resolveMtaSts(deps, 'example.com', { timeoutMs: 1000 });
      resolver.records.set('_mta-sts.example.com', failure);
      clock.now = T0 + 1000;
      const lookup = await resolveMtaSts(deps, 'example.com', { timeoutMs: 1000 });
      assert.ok(lookup.kind === 'policy');
      assert.equal(lookup.source, 'cache');
      assert.equal(
        lookup.refreshError?.stage === 'dns' && lookup.refreshError.failure.kind,
        failure,
      );
      assert.equal(fetch.calls.length, 1);
    });
  }

  test('RFC 8461 3.3: a TXT lookup failure with nothing cached is an error and nothing is fetched', async () => {
    const { deps, fetch } = setup('timeout', ok(policyText('enforce', 1)));
    const lookup = await resolveMtaSts(deps, 'example.com', { timeoutMs: 1000 });
    assert.equal(lookup.kind === 'error' && lookup.problem.stage, 'dns');
    assert.equal(fetch.calls.length, 0);
  });

  test('RFC 8461 3.3: a vanished TXT record does not drop an unexpired cached policy', async () => {
    const { deps, fetch, resolver, clock } = setup(
      ['v=STSv1; id=one'],
      ok(policyText('enforce', 86400)),
    );
    await resolveMtaSts(deps, 'example.com', { timeoutMs: 1000 });
    resolver.records.delete('_mta-sts.example.com');
    clock.now = T0 + 1000;
    const lookup = await resolveMtaSts(deps, 'example.com', { timeoutMs: 1000 });
    assert.ok(lookup.kind === 'policy');
    assert.equal(lookup.refreshError?.stage === 'txt' && lookup.refreshError.reason, 'no-record');
    assert.equal(fetch.calls.length, 1);
  });

  const noPolicy: readonly [string, readonly string[] | undefined, string][] = [
    ['NXDOMAIN', undefined, 'no-record'],
    ['only unrelated TXT records', ['v=spf1 -all'], 'no-record'],
    ['two v=STSv1 records', ['v=STSv1; id=a', 'v=STSv1; id=b'], 'multiple-records'],
    ['an invalid v=STSv1 record', ['v=STSv1; id=no-hyphens'], 'invalid-record'],
  ];
  for (const [what, txt, reason] of noPolicy) {
    test(`RFC 8461 3.1: ${what} and no cache means no policy, without a fetch`, async () => {
      const { deps, fetch } = setup(txt, ok(policyText('enforce', 1)));
      const lookup = await resolveMtaSts(deps, 'example.com', { timeoutMs: 1000 });
      assert.equal(lookup.kind === 'none' && lookup.reason, reason);
      assert.equal(fetch.calls.length, 0);
    });
  }

  test('RFC 8461 5: a mode none policy is cached too, so its id is not fetched again', async () => {
    const { deps, fetch, cache, clock } = setup(
      ['v=STSv1; id=off'],
      ok('version: STSv1\nmode: none\nmax_age: 86400\n'),
    );
    await resolveMtaSts(deps, 'example.com', { timeoutMs: 1000 });
    clock.now = T0 + 1000;
    const lookup = await resolveMtaSts(deps, 'example.com', { timeoutMs: 1000 });
    assert.ok(
      lookup.kind === 'policy' && lookup.policy.mode === 'none' && lookup.source === 'cache',
    );
    assert.equal(fetch.calls.length, 1);
    assert.equal((await cache.get('example.com'))?.policy.mode, 'none');
  });

  test('RFC 8461 3.3: forceFetch refreshes a live policy with an unchanged id and extends its expiry', async () => {
    const { deps, fetch, clock } = setup(['v=STSv1; id=one'], ok(policyText('enforce', 86400)));
    await resolveMtaSts(deps, 'example.com', { timeoutMs: 1000 });
    clock.now = T0 + DAY / 2;
    const lookup = await resolveMtaSts(deps, 'example.com', { timeoutMs: 1000, forceFetch: true });
    assert.ok(lookup.kind === 'policy' && lookup.source === 'fetched');
    assert.equal(lookup.expiresAt, T0 + DAY / 2 + DAY);
    assert.equal(fetch.calls.length, 2);
  });
});

describe('RFC 8461 3.3: proactive refresh', () => {
  const make = (fetchedAt: number, maxAgeSeconds: number): PolicyCacheEntry => {
    const text = policyText('enforce', maxAgeSeconds);
    const parsed = parsePolicy(text);
    assert.ok(parsed.ok);
    return {
      domain: 'example.com',
      id: 'x',
      policy: parsed.policy,
      policyText: text,
      fetchedAt,
      expiresAt: fetchedAt + maxAgeSeconds * 1000,
    };
  };

  test('RFC 8461 3.3: a fresh long-lived policy needs no refresh', () => {
    assert.equal(needsProactiveRefresh(make(T0, 7 * 86400), T0 + DAY - 1), false);
  });

  test('RFC 8461 3.3: a policy fetched a day ago is refreshed', () => {
    assert.equal(needsProactiveRefresh(make(T0, 7 * 86400), T0 + DAY), true);
  });

  test('RFC 8461 3.3: a short-lived policy is refreshed in the last tenth of its life', () => {
    const entry = make(T0, 3600);
    assert.equal(needsProactiveRefresh(entry, T0 + 3_239_999), false);
    assert.equal(needsProactiveRefresh(entry, T0 + 3_240_000), true);
  });

  test('RFC 8461 3.3: an expired policy needs a refresh', () => {
    assert.equal(needsProactiveRefresh(make(T0, 0), T0), true);
  });
});
