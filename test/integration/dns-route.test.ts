// MX routing (RFC 5321 5.1, RFC 7505) through the real DNS client against the in-process DNS server.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createResolver } from '../../src/dns/client.js';
import type { Resolver } from '../../src/dns/types.js';
import { resolveRoute } from '../../src/delivery/route.js';
import type { Route } from '../../src/delivery/route.js';
import { startDnsServer } from '../support/dns-server.js';
import type { TestDnsServer } from '../support/dns-server.js';

function hostsOf(route: Route): Extract<Route, { kind: 'hosts' }> {
  assert.equal(route.kind, 'hosts', JSON.stringify(route));
  return route;
}

describe('MX routing', () => {
  let server: TestDnsServer;
  let resolver: Resolver;
  before(async () => {
    server = await startDnsServer({
      zone: {
        'ordered.example': {
          MX: [
            { preference: 20, exchange: 'mx-b.ordered.example' },
            { preference: 10, exchange: 'MX-A.ordered.example.' },
            { preference: 20, exchange: 'mx-c.ordered.example' },
          ],
        },
        'mx-a.ordered.example': {
          A: ['192.0.2.1', '192.0.2.2', '192.0.2.3'],
          AAAA: ['2001:db8::1'],
        },
        'mx-b.ordered.example': { A: ['192.0.2.4'] },
        'mx-c.ordered.example': { AAAA: ['2001:db8::5'] },
        'implicit.example': { A: ['192.0.2.9'], AAAA: ['2001:db8::9'] },
        'nomail.example': { MX: [{ preference: 0, exchange: '.' }] },
        'mixed.example': {
          MX: [
            { preference: 0, exchange: '.' },
            { preference: 10, exchange: 'mx.mixed.example' },
          ],
        },
        'mx.mixed.example': { A: ['192.0.2.20'] },
        'broken.example': {
          MX: [{ preference: 10, exchange: 'mx.broken.example' }],
          servfail: true,
        },
        'partial.example': {
          MX: [
            { preference: 10, exchange: 'dead.partial.example' },
            { preference: 20, exchange: 'bad.partial.example' },
          ],
        },
        'dead.partial.example': { A: ['192.0.2.30'], servfail: true },
        'bad.partial.example': { A: ['192.0.2.31'], bogus: true },
        'signed.example': { MX: [{ preference: 10, exchange: 'mx.signed.example' }], ad: true },
        'mx.signed.example': { A: ['192.0.2.40'], AAAA: ['2001:db8::40'], ad: true },
      },
    });
    resolver = createResolver({
      nameservers: [server.nameserver],
      timeoutMs: 5000,
      attempts: 2,
      trustAd: false,
    });
  });
  after(async () => {
    await server.close();
  });

  test('RFC 5321 5.1: hosts in preference order, equal preferences shuffled by the injected random', async () => {
    const low = hostsOf(await resolveRoute(resolver, 'Ordered.Example.', { random: () => 0 }));
    assert.equal(low.implicit, false);
    assert.deepEqual(
      low.hosts.map((h) => [h.name, h.preference]),
      [
        ['mx-a.ordered.example', 10],
        ['mx-c.ordered.example', 20],
        ['mx-b.ordered.example', 20],
      ],
    );
    const high = hostsOf(await resolveRoute(resolver, 'ordered.example', { random: () => 0.99 }));
    assert.deepEqual(
      high.hosts.map((h) => h.name),
      ['mx-a.ordered.example', 'mx-b.ordered.example', 'mx-c.ordered.example'],
    );
  });

  test('RFC 5321 5.1: addresses IPv4 first, at most maxAddressesPerHost, at most maxMxHosts hosts', async () => {
    const route = hostsOf(
      await resolveRoute(resolver, 'ordered.example', {
        random: () => 0.99,
        maxMxHosts: 2,
        maxAddressesPerHost: 2,
      }),
    );
    assert.deepEqual(
      route.hosts.map((h) => h.addresses),
      [['192.0.2.1', '192.0.2.2'], ['192.0.2.4']],
    );
    const wide = hostsOf(
      await resolveRoute(resolver, 'ordered.example', {
        random: () => 0.99,
        maxAddressesPerHost: 5,
      }),
    );
    assert.deepEqual(wide.hosts[0]?.addresses, [
      '192.0.2.1',
      '192.0.2.2',
      '192.0.2.3',
      '2001:db8::1',
    ]);
    assert.deepEqual(wide.hosts[2]?.addresses, ['2001:db8::5']);
  });

  test('with ipv6 off no AAAA lookup is made', async () => {
    const before = server.queries.count('mx-c.ordered.example', 'AAAA');
    const route = hostsOf(
      await resolveRoute(
        createResolver({
          nameservers: [server.nameserver],
          timeoutMs: 5000,
          attempts: 2,
          trustAd: false,
        }),
        'ordered.example',
        { random: () => 0.99, ipv6: false },
      ),
    );
    assert.deepEqual(route.hosts[2], {
      name: 'mx-c.ordered.example',
      preference: 20,
      dnssec: 'insecure',
      addresses: [],
    });
    assert.equal(server.queries.count('mx-c.ordered.example', 'AAAA'), before);
  });

  test('RFC 5321 5.1: no MX records means the domain itself, preference 0 (implicit MX)', async () => {
    const route = hostsOf(await resolveRoute(resolver, 'implicit.example', { random: () => 0 }));
    assert.equal(route.implicit, true);
    assert.deepEqual(route.hosts, [
      {
        name: 'implicit.example',
        preference: 0,
        dnssec: 'insecure',
        addresses: ['192.0.2.9', '2001:db8::9'],
      },
    ]);
  });

  test('RFC 7505 3: a null MX means the domain accepts no mail', async () => {
    assert.deepEqual(await resolveRoute(resolver, 'nomail.example', { random: () => 0 }), {
      kind: 'null-mx',
    });
  });

  test('RFC 7505 3: a null MX next to real MX records is ignored', async () => {
    const route = hostsOf(await resolveRoute(resolver, 'mixed.example', { random: () => 0 }));
    assert.deepEqual(
      route.hosts.map((h) => [h.name, h.addresses]),
      [['mx.mixed.example', ['192.0.2.20']]],
    );
  });

  test('RFC 5321 5.1: a domain that does not exist is nxdomain', async () => {
    assert.deepEqual(await resolveRoute(resolver, 'no-such-domain.example', { random: () => 0 }), {
      kind: 'nxdomain',
    });
  });

  test('a failed MX lookup is a dns-error carrying the failure', async () => {
    const route = await resolveRoute(resolver, 'broken.example', { random: () => 0 });
    assert.equal(route.kind, 'dns-error');
    assert.equal(route.kind === 'dns-error' ? route.failure.kind : undefined, 'servfail');
  });

  test('RFC 7672 2.2.2: a host whose address lookup fails keeps the failure; bogus empties its addresses', async () => {
    const route = hostsOf(await resolveRoute(resolver, 'partial.example', { random: () => 0 }));
    const [dead, bad] = route.hosts;
    assert.equal(dead?.addressError?.kind, 'servfail');
    assert.deepEqual(dead?.addresses, []);
    assert.equal(bad?.addressError?.kind, 'bogus');
    assert.equal(bad?.dnssec, 'bogus');
    assert.deepEqual(bad?.addresses, []);
  });

  test('RFC 7672 2.2.1: MX and address DNSSEC status from a trusted validating resolver', async () => {
    const route = hostsOf(await resolveRoute(resolver, 'signed.example', { random: () => 0 }));
    assert.equal(route.mxDnssec, 'secure');
    assert.equal(route.hosts[0]?.dnssec, 'secure');
    const plain = hostsOf(await resolveRoute(resolver, 'ordered.example', { random: () => 0 }));
    assert.equal(plain.mxDnssec, 'insecure');
  });
});
