// The DNS client against the in-process DNS server on loopback: transports, retries, rcodes, CNAMEs,
// DNSSEC status and the cache. Servers listen on ephemeral ports and are closed in `after`.
// Timeouts are generous; tests that wait for a timeout use a server that never answers, so no outcome
// depends on the machine's speed.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createResolver } from '../../src/dns/client.js';
import type { ResolverSettings } from '../../src/dns/types.js';
import { startDnsServer } from '../support/dns-server.js';
import type { TestDnsServer, TestZone } from '../support/dns-server.js';

const SLOW_OK = 5000;

function settings(
  nameservers: string[],
  overrides: Partial<ResolverSettings> = {},
): ResolverSettings {
  return { nameservers, timeoutMs: SLOW_OK, attempts: 2, trustAd: false, ...overrides };
}

const zone: TestZone = {
  'mail.example': { A: ['192.0.2.10'], AAAA: ['2001:db8::10'], ttl: 120 },
  'Upper.Example': { A: ['192.0.2.11'] },
  'big.example': {
    TXT: [Array.from({ length: 12 }, (_, i) => String.fromCharCode(97 + i).repeat(200)).join('')],
  },
  'tc.example': { A: ['192.0.2.12'], truncate: true },
  'spoofed.example': { A: ['192.0.2.13'], spoof: true },
  'dropped.example': { A: ['192.0.2.14'], drop: true },
  'slow.example': { A: ['192.0.2.15'], delayMs: 50 },
  'www.example': { CNAME: 'web.example', ttl: 30 },
  'web.example': { CNAME: 'mail.example', ttl: 600 },
  'hop.example': { CNAME: 'mail.example', cnameOnly: true },
  'loop-a.example': { CNAME: 'loop-b.example', cnameOnly: true },
  'loop-b.example': { CNAME: 'loop-a.example', cnameOnly: true },
  'broken.example': { A: ['192.0.2.16'], servfail: true },
  'bogus.example': { A: ['192.0.2.17'], bogus: true },
  'refused.example': { A: ['192.0.2.18'], refused: true },
  'txt.example': { TXT: ['v=STSv1; id=1', ['part one, ', 'part two']] },
  '_25._tcp.mail.example': {
    TLSA: [{ usage: 3, selector: 1, matchingType: 1, data: new Uint8Array(32).fill(7) }],
  },
  'signed.example': { A: ['192.0.2.20'], ad: true },
  'to-unsigned.example': { CNAME: 'unsigned.example', ad: true, cnameOnly: true },
  'unsigned.example': { A: ['192.0.2.21'], ad: false },
};
for (let i = 0; i < 10; i += 1)
  zone[`chain${i}.example`] = { CNAME: `chain${i + 1}.example`, cnameOnly: true };
zone['chain10.example'] = { A: ['192.0.2.30'] };

describe('DNS client over UDP and TCP', () => {
  let server: TestDnsServer;
  let other: TestDnsServer;
  before(async () => {
    server = await startDnsServer({ zone, negativeTtl: 90 });
    other = await startDnsServer({
      zone: {
        'dropped.example': { A: ['198.51.100.1'] },
        'broken.example': { A: ['198.51.100.2'] },
      },
    });
  });
  after(async () => {
    await server.close();
    await other.close();
  });

  test('RFC 1035 4.2.1: an A query over UDP returns the records with their TTL', async () => {
    const result = await createResolver(settings([server.nameserver])).query('MAIL.example.', 'A');
    assert.ok(result.ok, JSON.stringify(result));
    assert.deepEqual(result.answer.records, ['192.0.2.10']);
    assert.equal(result.answer.name, 'mail.example');
    assert.equal(result.answer.rcode, 'NOERROR');
    assert.equal(result.answer.ttl, 120);
    assert.equal(result.answer.canonicalName, 'mail.example');
    assert.ok(server.queries.all.some((q) => q.name === 'mail.example' && q.dnssecOk && !q.cd));
  });

  test('AAAA, TXT and TLSA answers are typed', async () => {
    const resolver = createResolver(settings([server.nameserver]));
    const aaaa = await resolver.query('mail.example', 'AAAA');
    assert.ok(aaaa.ok);
    assert.deepEqual(aaaa.answer.records, ['2001:db8::10']);
    const txt = await resolver.query('txt.example', 'TXT');
    assert.ok(txt.ok);
    assert.deepEqual(txt.answer.records, ['v=STSv1; id=1', 'part one, part two']);
    const tlsa = await resolver.query('_25._tcp.mail.example', 'TLSA');
    assert.ok(tlsa.ok);
    assert.deepEqual(
      tlsa.answer.records.map((r) => [r.usage, r.selector, r.matchingType, r.data.length]),
      [[3, 1, 1, 32]],
    );
  });

  test('RFC 7766 5: a truncated UDP reply is retried over TCP', async () => {
    const result = await createResolver(settings([server.nameserver])).query('tc.example', 'A');
    assert.ok(result.ok);
    assert.deepEqual(result.answer.records, ['192.0.2.12']);
    assert.equal(server.queries.count('tc.example', 'A', 'udp'), 1);
    assert.equal(server.queries.count('tc.example', 'A', 'tcp'), 1);
  });

  test('RFC 6891 7: an answer larger than the EDNS buffer arrives over TCP intact', async () => {
    const result = await createResolver(settings([server.nameserver])).query('big.example', 'TXT');
    assert.ok(result.ok);
    assert.equal(result.answer.records[0]?.length, 2400);
    assert.equal(server.queries.count('big.example', 'TXT', 'tcp'), 1);
  });

  test('RFC 5452 4.3: replies with another id or another question are ignored', async () => {
    const result = await createResolver(settings([server.nameserver])).query(
      'spoofed.example',
      'A',
    );
    assert.ok(result.ok, JSON.stringify(result));
    assert.equal(result.answer.rcode, 'NOERROR');
    assert.deepEqual(result.answer.records, ['192.0.2.13']);
  });

  test('a slow answer within the timeout is accepted', async () => {
    const result = await createResolver(settings([server.nameserver])).query('slow.example', 'A');
    assert.ok(result.ok);
    assert.deepEqual(result.answer.records, ['192.0.2.15']);
  });

  test('resolv.conf(5): after a timeout the next nameserver is asked', async () => {
    const resolver = createResolver(
      settings([server.nameserver, other.nameserver], { timeoutMs: 1000, attempts: 1 }),
    );
    const result = await resolver.query('dropped.example', 'A');
    assert.ok(result.ok, JSON.stringify(result));
    assert.deepEqual(result.answer.records, ['198.51.100.1']);
  });

  test('resolv.conf(5): `attempts` rounds are made before reporting a timeout', async () => {
    const before = server.queries.count('dropped.example', 'A', 'udp');
    const resolver = createResolver(settings([server.nameserver], { timeoutMs: 300, attempts: 3 }));
    const result = await resolver.query('dropped.example', 'A');
    assert.ok(!result.ok);
    assert.equal(result.failure.kind, 'timeout');
    assert.equal(result.failure.server, server.nameserver);
    assert.equal(server.queries.count('dropped.example', 'A', 'udp') - before, 3);
  });

  test('RFC 2308 2.1: NXDOMAIN is an answer with no records and the negative TTL', async () => {
    const result = await createResolver(settings([server.nameserver])).query(
      'nowhere.example',
      'MX',
    );
    assert.ok(result.ok);
    assert.equal(result.answer.rcode, 'NXDOMAIN');
    assert.deepEqual(result.answer.records, []);
    assert.equal(result.answer.ttl, 90);
  });

  test('RFC 2308 2.2: NODATA is NOERROR with no records', async () => {
    const result = await createResolver(settings([server.nameserver])).query('mail.example', 'MX');
    assert.ok(result.ok);
    assert.equal(result.answer.rcode, 'NOERROR');
    assert.deepEqual(result.answer.records, []);
    assert.equal(result.answer.ttl, 90);
  });

  test('RFC 1034 3.6.2: a CNAME chain in the answer is recorded, with the smallest TTL', async () => {
    const result = await createResolver(settings([server.nameserver])).query('www.example', 'A');
    assert.ok(result.ok);
    assert.deepEqual(result.answer.cnameChain, [
      'www.example -> web.example',
      'web.example -> mail.example',
    ]);
    assert.equal(result.answer.canonicalName, 'mail.example');
    assert.deepEqual(result.answer.records, ['192.0.2.10']);
    assert.equal(result.answer.ttl, 30);
  });

  test('RFC 1034 3.6.2: a chain that ends without the type is chased by querying the target', async () => {
    const result = await createResolver(settings([server.nameserver])).query('hop.example', 'A');
    assert.ok(result.ok);
    assert.deepEqual(result.answer.cnameChain, ['hop.example -> mail.example']);
    assert.deepEqual(result.answer.records, ['192.0.2.10']);
    assert.ok(server.queries.count('mail.example', 'A') >= 1);
  });

  test('RFC 1034 3.6.2: CNAME loops and chains over 8 hops fail instead of looping', async () => {
    const resolver = createResolver(settings([server.nameserver]));
    const loop = await resolver.query('loop-a.example', 'A');
    assert.ok(!loop.ok);
    assert.equal(loop.failure.kind, 'malformed');
    assert.match(loop.failure.message, /loop/);
    const long = await resolver.query('chain0.example', 'A');
    assert.ok(!long.ok);
    assert.match(long.failure.message, /longer than 8/);
    assert.equal(server.queries.count('chain10.example', 'A'), 0);
  });

  test('RFC 4035 3.2.2: SERVFAIL that persists with CD set is servfail', async () => {
    const result = await createResolver(settings([server.nameserver])).query('broken.example', 'A');
    assert.ok(!result.ok);
    assert.equal(result.failure.kind, 'servfail');
    assert.ok(server.queries.all.some((q) => q.name === 'broken.example' && q.cd));
  });

  test('RFC 4035 3.2.2: SERVFAIL that succeeds with CD set is bogus', async () => {
    const result = await createResolver(settings([server.nameserver])).query('bogus.example', 'A');
    assert.ok(!result.ok);
    assert.equal(result.failure.kind, 'bogus');
  });

  test('a SERVFAIL from one nameserver sends the question to the next', async () => {
    const result = await createResolver(settings([server.nameserver, other.nameserver])).query(
      'broken.example',
      'A',
    );
    assert.ok(result.ok);
    assert.deepEqual(result.answer.records, ['198.51.100.2']);
  });

  test('RFC 1035 4.1.1: REFUSED is a refused failure', async () => {
    const result = await createResolver(settings([server.nameserver])).query(
      'refused.example',
      'A',
    );
    assert.ok(!result.ok);
    assert.equal(result.failure.kind, 'refused');
  });

  test('RFC 4035 4.9.3: AD from a loopback resolver makes the answer secure', async () => {
    const result = await createResolver(settings([server.nameserver])).query('signed.example', 'A');
    assert.ok(result.ok);
    assert.equal(result.answer.ad, true);
    assert.equal(result.answer.dnssec, 'secure');
    const plain = await createResolver(settings([server.nameserver])).query('mail.example', 'A');
    assert.ok(plain.ok);
    assert.equal(plain.answer.dnssec, 'insecure');
  });

  test('RFC 7672 2.1.3: a CNAME chain is secure only if every hop had AD', async () => {
    const result = await createResolver(settings([server.nameserver])).query(
      'to-unsigned.example',
      'A',
    );
    assert.ok(result.ok);
    assert.deepEqual(result.answer.records, ['192.0.2.21']);
    assert.equal(result.answer.ad, false);
    assert.equal(result.answer.dnssec, 'insecure');
  });

  test('RFC 2308 / RFC 1035 3.2.1: cache hit within the TTL, a new query after it', async () => {
    let now = 0;
    const resolver = createResolver(settings([server.nameserver]), { now: () => now });
    const count = (): number => server.queries.count('upper.example', 'A');
    const start = count();
    assert.ok((await resolver.query('upper.example', 'A')).ok);
    now += 299_000;
    const cached = await resolver.query('UPPER.example.', 'A');
    assert.ok(cached.ok);
    assert.equal(cached.answer.ttl, 1);
    assert.equal(count() - start, 1);
    now += 1_000;
    assert.ok((await resolver.query('upper.example', 'A')).ok);
    assert.equal(count() - start, 2);
  });

  test('RFC 2308 5: negative answers are cached for the negative TTL', async () => {
    let now = 0;
    const resolver = createResolver(settings([server.nameserver]), { now: () => now });
    const count = (): number => server.queries.count('missing.example', 'A');
    await resolver.query('missing.example', 'A');
    await resolver.query('missing.example', 'A');
    assert.equal(count(), 1);
    now += 90_000;
    await resolver.query('missing.example', 'A');
    assert.equal(count(), 2);
  });

  test('failures are not cached', async () => {
    const resolver = createResolver(settings([server.nameserver]), { now: () => 0 });
    const start = server.queries.count('refused.example', 'A');
    await resolver.query('refused.example', 'A');
    await resolver.query('refused.example', 'A');
    assert.equal(server.queries.count('refused.example', 'A') - start, 2);
  });

  test('concurrent identical questions share one lookup', async () => {
    const resolver = createResolver(settings([server.nameserver]));
    const start = server.queries.count('txt.example', 'TXT');
    const [first, second] = await Promise.all([
      resolver.query('txt.example', 'TXT'),
      resolver.query('TXT.example', 'TXT'),
    ]);
    assert.ok(first.ok && second.ok);
    assert.equal(server.queries.count('txt.example', 'TXT') - start, 1);
  });
});

describe('DNS client with an IPv6 nameserver', () => {
  let server: TestDnsServer;
  before(async () => {
    server = await startDnsServer({
      address: '::1',
      ad: true,
      zone: { 'v6.example': { A: ['192.0.2.60'], truncate: true } },
    });
  });
  after(async () => {
    await server.close();
  });

  test('RFC 4035 4.9.3: [::1] is a trusted loopback resolver, over UDP and TCP', async () => {
    assert.match(server.nameserver, /^\[::1\]:\d+$/);
    const result = await createResolver(settings([server.nameserver])).query('v6.example', 'A');
    assert.ok(result.ok, JSON.stringify(result));
    assert.deepEqual(result.answer.records, ['192.0.2.60']);
    assert.equal(result.answer.dnssec, 'secure');
    assert.equal(server.queries.count('v6.example', 'A', 'tcp'), 1);
  });
});
