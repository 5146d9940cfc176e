/**
 * Smoke test of the DNSSEC harness (nsd + unbound on loopback) with Debian's dig only: a signed zone's
 * records validate (AD set) through the chain from the `test.` trust anchor, an unsigned child is an
 * insecure delegation (answer without AD), a zone with expired or altered signatures is bogus (SERVFAIL,
 * RFC 4035 section 5.5) yet answers with CD set, and the parent publishes exactly the DS that `dsFor`
 * reports. All servers are stopped in `after`.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { SMOKE } from './harness/addresses.js';
import { dig } from './harness/dig.js';
import { startDnssec, txtData } from './harness/dnssec.js';
import type { DnssecInstance, ZoneSecurity, ZoneSpec } from './harness/dnssec.js';
import { interopAvailable } from './harness/require.js';

const TLSA_DATA = `3 1 1 ${'5a'.repeat(32)}`;

function zone(name: string, security: ZoneSecurity): ZoneSpec {
  return {
    name,
    security,
    records: [
      { name: '@', type: 'MX', data: `10 mx.${name}.` },
      { name: 'mx', type: 'A', data: '127.0.0.32' },
      { name: 'mx', type: 'AAAA', data: '::1' },
      { name: '_mta-sts', type: 'TXT', data: txtData('v=STSv1; id=20240101') },
      { name: '_25._tcp.mx', type: 'TLSA', data: TLSA_DATA },
      { name: 'alias', type: 'CNAME', data: `mx.${name}.` },
    ],
  };
}

describe(
  'DNSSEC harness: nsd + validating unbound',
  interopAvailable(['nsd', 'unbound', 'ldns-keygen', 'ldns-signzone', 'ldns-key2ds', 'dig']),
  () => {
    let dns: DnssecInstance | undefined;
    const server = (): string => dns!.resolver;

    before(async () => {
      dns = await startDnssec({
        authoritativeAddress: SMOKE.dnsAuthoritative,
        resolverAddress: SMOKE.dnsResolver,
        zones: [
          zone('secure.test', 'signed'),
          zone('plain.test', 'unsigned'),
          zone('expired.test', 'bogus-expired-signatures'),
          zone('altered.test', 'bogus-altered-signatures'),
        ],
      });
    });

    after(async () => {
      await dns?.stop();
    });

    test('RFC 4035 3.2.3: the MX and TLSA records of a signed zone validate (AD set)', async () => {
      const mx = await dig(server(), 'secure.test', 'MX');
      assert.equal(mx.status, 'NOERROR', mx.raw);
      assert.ok(mx.flags.includes('ad'), mx.raw);
      assert.ok(
        mx.answers.some((a) => a.endsWith('IN MX 10 mx.secure.test.')),
        mx.raw,
      );
      const tlsa = await dig(server(), '_25._tcp.mx.secure.test', 'TLSA');
      assert.equal(tlsa.status, 'NOERROR', tlsa.raw);
      assert.ok(tlsa.flags.includes('ad'), tlsa.raw);
      assert.ok(
        tlsa.answers.some(
          (a) => a.includes('IN TLSA 3 1 1 ') && a.toLowerCase().includes('5a'.repeat(32)),
        ),
        tlsa.raw,
      );
    });

    test('RFC 4035 3.2.3: A, AAAA, TXT and CNAME of a signed zone validate too', async () => {
      for (const [name, type, expected] of [
        ['mx.secure.test', 'A', 'IN A 127.0.0.32'],
        ['mx.secure.test', 'AAAA', 'IN AAAA ::1'],
        ['_mta-sts.secure.test', 'TXT', 'IN TXT "v=STSv1; id=20240101"'],
        ['alias.secure.test', 'CNAME', 'IN CNAME mx.secure.test.'],
      ] as const) {
        const reply = await dig(server(), name, type);
        assert.equal(reply.status, 'NOERROR', reply.raw);
        assert.ok(reply.flags.includes('ad'), `${name} ${type}: ${reply.raw}`);
        assert.ok(
          reply.answers.some((a) => a.endsWith(expected)),
          `${name} ${type}: ${reply.raw}`,
        );
      }
    });

    test('RFC 4035 5.2: an unsigned child (no DS) answers without AD', async () => {
      const mx = await dig(server(), 'plain.test', 'MX');
      assert.equal(mx.status, 'NOERROR', mx.raw);
      assert.ok(
        mx.answers.some((a) => a.endsWith('IN MX 10 mx.plain.test.')),
        mx.raw,
      );
      assert.ok(!mx.flags.includes('ad'), mx.raw);
      const tlsa = await dig(server(), '_25._tcp.mx.plain.test', 'TLSA');
      assert.ok(tlsa.answers.length > 0 && !tlsa.flags.includes('ad'), tlsa.raw);
    });

    test('RFC 4035 5.5: expired signatures are bogus (SERVFAIL), and answer with CD set', async () => {
      const bogus = await dig(server(), 'expired.test', 'MX');
      assert.equal(bogus.status, 'SERVFAIL', bogus.raw);
      assert.equal(bogus.answers.length, 0, bogus.raw);
      assert.match(bogus.ede ?? '', /^7 /, `EDE 7 (Signature Expired) expected: ${bogus.raw}`);
      const unchecked = await dig(server(), 'expired.test', 'MX', { checkingDisabled: true });
      assert.equal(unchecked.status, 'NOERROR', unchecked.raw);
      assert.ok(
        unchecked.answers.some((a) => a.endsWith('IN MX 10 mx.expired.test.')),
        unchecked.raw,
      );
      assert.ok(!unchecked.flags.includes('ad'), unchecked.raw);
    });

    test('RFC 4035 5.5: altered signatures are bogus (SERVFAIL), and answer with CD set', async () => {
      const bogus = await dig(server(), '_25._tcp.mx.altered.test', 'TLSA');
      assert.equal(bogus.status, 'SERVFAIL', bogus.raw);
      const unchecked = await dig(server(), '_25._tcp.mx.altered.test', 'TLSA', {
        checkingDisabled: true,
      });
      assert.equal(unchecked.status, 'NOERROR', unchecked.raw);
      assert.ok(
        unchecked.answers.some((a) => a.includes('IN TLSA 3 1 1 ')),
        unchecked.raw,
      );
    });

    test('RFC 4034 5: the parent publishes the DS that dsFor reports, and none for the unsigned child', async () => {
      const expected = dns!.dsFor('secure.test');
      assert.equal(expected.length, 1);
      const digest = expected[0]!.split(/\s+/).slice(4).join(' ').toLowerCase();
      const published = await dig(dns!.authoritative, 'secure.test', 'DS', { noRecursion: true });
      assert.ok(
        published.answers.some((a) => a.toLowerCase().endsWith(`in ds ${digest}`)),
        `${digest}\n${published.raw}`,
      );
      assert.deepEqual(dns!.dsFor('plain.test'), []);
      const none = await dig(server(), 'plain.test', 'DS');
      assert.equal(none.status, 'NOERROR', none.raw);
      assert.equal(none.answers.length, 0, none.raw);
      assert.ok(
        none.flags.includes('ad'),
        `the absence of DS is itself proven (NSEC): ${none.raw}`,
      );
    });
  },
);
