// The answer cache with an injected clock: TTLs are honoured to the millisecond, never by waiting.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AnswerCache } from './cache.js';
import type { DnsAnswer } from './types.js';

function answer(name: string, ttl: number): DnsAnswer<'A'> {
  return {
    name,
    type: 'A',
    canonicalName: name,
    cnameChain: [],
    rcode: 'NOERROR',
    ad: false,
    dnssec: 'insecure',
    records: ['192.0.2.1'],
    ttl,
  };
}

test('RFC 1035 3.2.1: an answer is served until its TTL runs out, with the TTL counted down', () => {
  let now = 1_000_000;
  const cache = new AnswerCache({ now: () => now });
  cache.set(answer('a.example', 60));
  now += 59_000;
  assert.equal(cache.get('a.example', 'A')?.ttl, 1);
  now += 1_000;
  assert.equal(cache.get('a.example', 'A'), undefined);
  assert.equal(cache.size, 0);
});

test('RFC 1035 3.2.1: entries are keyed by name and type, and TTL 0 is never stored', () => {
  const cache = new AnswerCache({ now: () => 0 });
  cache.set(answer('a.example', 60));
  assert.equal(cache.get('a.example', 'AAAA'), undefined);
  assert.equal(cache.get('b.example', 'A'), undefined);
  cache.set(answer('zero.example', 0));
  assert.equal(cache.get('zero.example', 'A'), undefined);
});

test('cache bound: the oldest entry is evicted when full', () => {
  const cache = new AnswerCache({ now: () => 0, maxEntries: 2 });
  cache.set(answer('a.example', 60));
  cache.set(answer('b.example', 60));
  cache.set(answer('c.example', 60));
  assert.equal(cache.get('a.example', 'A'), undefined);
  assert.ok(cache.get('b.example', 'A'));
  assert.ok(cache.get('c.example', 'A'));
});
