/**
 * DANE for SMTP (RFC 7672) against real servers: nsd serves zones signed with ldns-signzone (some
 * unsigned, some with expired or altered signatures), unbound validates them from a private trust anchor,
 * and one real Postfix instance receives on several loopback MX addresses. Each test is a real
 * `mxsec send --json` (in-process through `runCli`, configured by a TOML file as an operator would:
 * `[resolver] nameservers = ["127.0.0.31:53"]`, port 25).
 *
 * Every test asserts both sides: mxsec's result (exit code, recipient status, `last_error`, RFC 3463
 * code, attempt security and TLS-RPT type) and what Postfix itself holds (queue and Maildir, the TLS
 * recorded in its Received header, the listener that accepted). A failure case must leave no message
 * from that test's unique envelope sender anywhere in Postfix, so no DANE failure can hide a plaintext
 * (or unauthenticated) delivery behind the right error message.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runCli } from '../support/capture.js';
import { ADDR, buildFixtures, LISTENER } from './dane-fixtures.js';
import { acceptedBy, everAccepted, storedMessage } from './dane-observe.js';
import { postfixDaneVerdict } from './dane-posttls-finger.js';
import type { PostfixVerdict } from './dane-posttls-finger.js';
import { dig } from './harness/dig.js';
import { startDnssec } from './harness/dnssec.js';
import type { DnssecInstance } from './harness/dnssec.js';
import { receivedTls, startPostfix } from './harness/postfix.js';
import type { PostfixInstance } from './harness/postfix.js';
import { interopAvailable } from './harness/require.js';
import { writeMxsecConfigs } from './harness/mxsec-config.js';
import type { AttemptJson, SendJson } from '../../src/cli/json.js';

interface Sent {
  readonly code: number;
  readonly out: SendJson;
  readonly sender: string;
  /** For assertion messages: mxsec's output and the Postfix log. */
  readonly why: string;
}

const VARIANTS = {
  base: [],
  daneRequired: ['[queue.tls.default]', 'dane = "require"'],
  starttlsOff: [
    '[queue.strategy]',
    'tls = "\'plain\'"',
    '[queue.tls.plain]',
    'starttls = "disable"',
  ],
  allOff: [
    '[queue.strategy]',
    'tls = "\'plain\'"',
    '[queue.tls.plain]',
    'starttls = "disable"',
    'dane = "disable"',
  ],
} as const;
type Variant = keyof typeof VARIANTS;

describe(
  'DANE interop: mxsec with unbound + nsd (signed zones) and real Postfix receivers',
  interopAvailable([
    'nsd',
    'unbound',
    'ldns-keygen',
    'ldns-signzone',
    'ldns-key2ds',
    'dig',
    'postfix',
  ]),
  () => {
    let dns: DnssecInstance | undefined;
    let postfix: PostfixInstance | undefined;
    let dir: string | undefined;
    const configs = new Map<Variant, string>();
    let serial = 0;

    before(async () => {
      const fixtures = await buildFixtures();
      dir = mkdtempSync(path.join(tmpdir(), 'mxsec-dane-interop-'));
      for (const [name, file] of writeMxsecConfigs(
        dir,
        { resolver: ADDR.resolver, caPem: fixtures.ca.certPem },
        VARIANTS,
      ))
        configs.set(name, file);
      dns = await startDnssec({
        zones: fixtures.zones,
        authoritativeAddress: ADDR.authoritative,
        resolverAddress: ADDR.resolver,
      });
      postfix = await startPostfix({ domains: fixtures.domains, listeners: fixtures.listeners });
    });

    after(async () => {
      await postfix?.stop();
      await dns?.stop();
      if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
    });

    /** One `mxsec send --json` to `user@<domain>` from a sender no other test uses. */
    async function send(
      domain: string,
      variant: Variant = 'base',
      args: readonly string[] = [],
    ): Promise<Sent> {
      serial += 1;
      const sender = `dane-${serial}-${randomUUID().slice(0, 8)}@sender.test`;
      const message = `From: ${sender}\r\nTo: user@${domain}\r\nSubject: DANE interop ${domain}\r\n\r\nhello\r\n`;
      const r = await runCli(
        [
          'send',
          '--config',
          configs.get(variant)!,
          '--from',
          sender,
          '--to',
          `user@${domain}`,
          '--json',
          ...args,
        ],
        message,
      );
      let out: SendJson;
      try {
        out = JSON.parse(r.stdout) as SendJson;
      } catch {
        assert.fail(`mxsec send printed no JSON (exit ${r.code}):\n${r.stdout}\n${r.stderr}`);
      }
      return { code: r.code, out, sender, why: `${r.stdout}\n${r.stderr}` };
    }

    /** Delivered by mxsec AND stored by Postfix over TLS 1.2+ through `listener`; returns the last attempt. */
    async function assertDelivered(sent: Sent, listener: number): Promise<AttemptJson> {
      assert.equal(sent.code, 0, sent.why);
      assert.deepEqual(
        sent.out.recipients.map((r) => [r.status, r.code]),
        [['delivered', '2.0.0']],
        sent.why,
      );
      const message = await storedMessage(postfix!, sent.sender);
      const tls = receivedTls(message);
      assert.ok(tls !== undefined, `Postfix recorded no TLS for the message:\n${message}`);
      assert.match(tls.version, /^TLSv1\.[23]$/);
      assert.equal(await acceptedBy(postfix!, message), listener, message);
      // Control for `assertRefused`: the same detector does see a message that was accepted.
      assert.equal(everAccepted(postfix!, sent.sender), true);
      const last = sent.out.attempts.at(-1)!;
      assert.equal(last.error, null, sent.why);
      assert.ok(last.tls !== null, sent.why);
      return last;
    }

    /**
     * Failed in mxsec as expected AND nothing from this sender reached Postfix, over TLS or not. Returns
     * the last attempt, or undefined when no host was ever tried (a route failure).
     */
    function assertRefused(
      sent: Sent,
      expected: {
        status: 'temporary' | 'permanent';
        lastError: string;
        code: string;
        tlsrpt?: string;
      },
    ): AttemptJson | undefined {
      assert.equal(sent.code, expected.status === 'temporary' ? 75 : 69, sent.why);
      assert.deepEqual(
        sent.out.recipients.map((r) => [r.status, r.last_error, r.code]),
        [[expected.status, expected.lastError, expected.code]],
        sent.why,
      );
      assert.equal(
        everAccepted(postfix!, sent.sender),
        false,
        `Postfix accepted a message that must have been refused:\n${sent.why}`,
      );
      for (const attempt of sent.out.attempts) {
        assert.ok(attempt.error !== null, `an attempt succeeded:\n${sent.why}`);
        assert.notEqual(attempt.security, 'none', `an attempt reached plaintext:\n${sent.why}`);
      }
      const last = sent.out.attempts.at(-1);
      if (expected.tlsrpt !== undefined)
        assert.equal(last?.error?.tlsrpt, expected.tlsrpt, sent.why);
      return last;
    }

    /** A bogus answer on the way to the host: deferred before any connection, nothing received. */
    function assertBogusDeferred(sent: Sent): void {
      assert.equal(sent.code, 75, sent.why);
      assert.deepEqual(
        sent.out.recipients.map((r) => r.status),
        ['temporary'],
        sent.why,
      );
      assert.match(sent.out.recipients[0]!.message, /DNSSEC validation failed/, sent.why);
      assert.equal(everAccepted(postfix!, sent.sender), false, sent.why);
      assert.ok(
        sent.out.attempts.every((a) => a.ip === null),
        `a bogus answer must not be followed to any address:\n${sent.why}`,
      );
    }

    test('RFC 7672 3.1.1 / RFC 7671 5.1: a matching DANE-EE 3 1 1 record authenticates a self-signed server', async () => {
      const sent = await send('ee.dane.test');
      const attempt = await assertDelivered(sent, LISTENER.selfSigned);
      assert.deepEqual(
        [attempt.mx, attempt.ip, attempt.strategy, attempt.security, attempt.tlsrpt],
        ['mx.ee.dane.test', ADDR.selfSigned, 'default', 'dane', 'success'],
      );
    });

    test('RFC 7672 3.1.2 / RFC 7671 5.2: a matching DANE-TA 2 0 1 record and a leaf for the MX name deliver', async () => {
      const attempt = await assertDelivered(await send('ta.dane.test'), LISTENER.caValid);
      assert.deepEqual(
        [attempt.mx, attempt.security, attempt.tlsrpt],
        ['mx.ta.dane.test', 'dane', 'success'],
      );
    });

    test('RFC 7672 2.2: a mismatching digest defers (temporary dane, 4.7.5) and nothing is received', async () => {
      const attempt = assertRefused(await send('mismatch.dane.test'), {
        status: 'temporary',
        lastError: 'dane',
        code: '4.7.5',
        tlsrpt: 'validation-failure',
      });
      assert.ok(
        attempt !== undefined && attempt.tls !== null,
        'the handshake was made and judged, not skipped',
      );
      assert.equal(attempt.ip, ADDR.selfSigned);
    });

    test('RFC 7672 3.2.2: DANE-TA with a leaf for another name is refused and nothing is received', async () => {
      assertRefused(await send('wrongname.dane.test'), {
        status: 'temporary',
        lastError: 'dane',
        code: '4.7.5',
        tlsrpt: 'validation-failure',
      });
    });

    test('RFC 7672 3.1 / RFC 7671 5.2.2: a DANE-TA 2 0 1 of a root the server does not send is refused although tls.ca-file trusts that root', async () => {
      const attempt = assertRefused(await send('rootnotsent.dane.test'), {
        status: 'temporary',
        lastError: 'dane',
        code: '4.7.5',
        tlsrpt: 'validation-failure',
      });
      assert.equal(attempt?.ip, ADDR.rootNotSent);
      assert.equal(
        attempt?.tls?.chain.length,
        2,
        'the chain recorded is the one Postfix sent: leaf and intermediate',
      );
      // PKIX, which DANE does not consult, still validates the sent chain against tls.ca-file.
      assert.deepEqual(attempt?.tls?.pkix, { valid: true });
    });

    test('RFC 7672 2.2: TLSA published but no STARTTLS offered: 4.7.4, never plaintext', async () => {
      const attempt = assertRefused(await send('notls.dane.test'), {
        status: 'temporary',
        lastError: 'tls',
        code: '4.7.4',
        tlsrpt: 'starttls-not-supported',
      });
      assert.equal(attempt?.ip, ADDR.noTls);
    });

    describe('RFC 7672 3.1.3: only unusable records (PKIX-EE 1 1 1, a 3 1 1 of the wrong length)', () => {
      test('TLS is mandatory: a server without STARTTLS gets nothing in plaintext', async () => {
        assertRefused(await send('plainunusable.dane.test'), {
          status: 'temporary',
          lastError: 'tls',
          code: '4.7.4',
          tlsrpt: 'starttls-not-supported',
        });
      });

      test('mandatory unauthenticated TLS: a PKIX-valid server is delivered to over TLS, its validity recorded (pkix)', async () => {
        const attempt = await assertDelivered(
          await send('pkixunusable.dane.test'),
          LISTENER.caValid,
        );
        assert.equal(attempt.security, 'pkix');
      });

      // RFC 7672 2.2 and Postfix's `dane` level: TLS is mandatory but need not be authenticated, so the
      // default strategy delivers at once to a self-signed server (no `invalid-tls` retry needed).
      test('mandatory unauthenticated TLS: a self-signed server is delivered to at once over TLS, unverified', async () => {
        const attempt = await assertDelivered(
          await send('unusable.dane.test'),
          LISTENER.selfSigned,
        );
        assert.deepEqual([attempt.strategy, attempt.security], ['default', 'unverified']);
      });

      test('dane = "require": a permanent dane failure (tlsa-invalid), nothing received', async () => {
        assertRefused(await send('unusable.dane.test', 'daneRequired'), {
          status: 'permanent',
          lastError: 'dane',
          code: '5.7.5',
          tlsrpt: 'tlsa-invalid',
        });
      });
    });

    for (const [zone, how] of [
      ['expired.dane.test', 'expired'],
      ['altered.dane.test', 'altered'],
    ] as const) {
      test(`RFC 7672 2.2: a zone with ${how} signatures (bogus MX RRset) defers before connecting, nothing received`, async () => {
        assertBogusDeferred(await send(zone));
      });

      // A route-level failure has no host attempt to carry the TLS-RPT type; the recipient carries the class.
      test(`README DANE table, row "MX bogus": ${how} signatures are a temporary dane failure (4.7.5)`, async () => {
        const sent = await send(zone);
        assertRefused(sent, { status: 'temporary', lastError: 'dane', code: '4.7.5' });
        assert.equal(sent.out.attempts.length, 0, sent.why);
      });
    }

    test('RFC 7672 2.2.2: a secure MX whose host address records are bogus is a temporary dane failure', async () => {
      const sent = await send('addrbogus.dane.test');
      assertBogusDeferred(sent);
      assertRefused(sent, {
        status: 'temporary',
        lastError: 'dane',
        code: '4.7.5',
        tlsrpt: 'dnssec-invalid',
      });
    });

    test('RFC 7672 2.2: a corrupted TLSA signature under a secure MX is temporary, never "no DANE"', async () => {
      // Control: the MX and address answers validate; only the TLSA RRset is bogus (SERVFAIL, answers with CD).
      const mx = await dig(dns!.resolver, 'tlsabogus.dane.test', 'MX');
      assert.ok(mx.status === 'NOERROR' && mx.flags.includes('ad'), mx.raw);
      const tlsa = await dig(dns!.resolver, '_25._tcp.mx.tlsabogus.dane.test', 'TLSA');
      assert.equal(tlsa.status, 'SERVFAIL', tlsa.raw);
      const sent = await send('tlsabogus.dane.test');
      assertBogusDeferred(sent);
      assertRefused(sent, {
        status: 'temporary',
        lastError: 'dane',
        code: '4.7.5',
        tlsrpt: 'dnssec-invalid',
      });
    });

    test('RFC 7672 2.2.1: an insecure (unsigned) zone has no DANE: delivered per strategy (pkix), its TLSA ignored', async () => {
      const attempt = await assertDelivered(await send('insecure.dane.test'), LISTENER.caValid);
      assert.equal(attempt.security, 'pkix');
    });

    test('RFC 7672 2.2.1: an insecure zone with dane = "require" is a permanent dane failure, nothing received', async () => {
      assertRefused(await send('insecure.dane.test', 'daneRequired'), {
        status: 'permanent',
        lastError: 'dane',
        code: '5.7.5',
        tlsrpt: 'dane-required',
      });
    });

    test('RFC 7672 2.2: the first MX fails DANE (mismatch), the second matches: delivered via the second', async () => {
      const sent = await send('fallback.dane.test');
      const attempt = await assertDelivered(sent, LISTENER.caValid);
      assert.deepEqual([attempt.mx, attempt.security], ['mx2.fallback.dane.test', 'dane']);
      const first = sent.out.attempts[0]!;
      assert.equal(first.mx, 'mx1.fallback.dane.test', sent.why);
      assert.deepEqual(
        [first.error?.class, first.error?.severity, first.error?.tlsrpt],
        ['dane', 'temporary', 'validation-failure'],
        sent.why,
      );
    });

    test('RFC 7672 2.2: starttls = "disable" does not send in plaintext to a DANE host: TLS + dane', async () => {
      const attempt = await assertDelivered(
        await send('ee.dane.test', 'starttlsOff'),
        LISTENER.selfSigned,
      );
      assert.deepEqual([attempt.strategy, attempt.security], ['plain', 'dane']);
    });

    test('control: a strategy that also sets dane = "disable" does send in plaintext, and Postfix records it', async () => {
      const sent = await send('ee.dane.test', 'allOff');
      assert.equal(sent.code, 0, sent.why);
      assert.equal(sent.out.attempts.at(-1)?.security, 'none', sent.why);
      const message = await storedMessage(postfix!, sent.sender);
      assert.equal(receivedTls(message), undefined, message);
      assert.equal(await acceptedBy(postfix!, message), LISTENER.selfSigned);
    });

    /**
     * The same verdict as Postfix's DANE client for the same DNS and servers. `mxsec check` and
     * posttls-finger both stop after TLS, so neither sends mail; the first MX host is compared.
     */
    describe(
      'the same verdict as Postfix (posttls-finger -l dane)',
      interopAvailable(['posttls-finger', 'unshare', 'mount']),
      () => {
        const table: readonly {
          domain: string;
          postfix: PostfixVerdict;
          mxsec: { deliver: boolean; security?: string; class?: string };
        }[] = [
          {
            domain: 'ee.dane.test',
            postfix: 'dane-verified',
            mxsec: { deliver: true, security: 'dane' },
          },
          {
            domain: 'ta.dane.test',
            postfix: 'dane-verified',
            mxsec: { deliver: true, security: 'dane' },
          },
          {
            domain: 'mismatch.dane.test',
            postfix: 'dane-failed',
            mxsec: { deliver: false, class: 'dane' },
          },
          {
            domain: 'wrongname.dane.test',
            postfix: 'dane-failed',
            mxsec: { deliver: false, class: 'dane' },
          },
          {
            domain: 'rootnotsent.dane.test',
            postfix: 'dane-failed',
            mxsec: { deliver: false, class: 'dane' },
          },
          {
            domain: 'tlsabogus.dane.test',
            postfix: 'tlsa-lookup-error',
            mxsec: { deliver: false, class: 'dane' },
          },
        ];
        for (const row of table) {
          test(`RFC 7672: ${row.domain}: Postfix says ${row.postfix}, mxsec check agrees`, async () => {
            const reference = await postfixDaneVerdict(
              postfix!.configDir,
              ADDR.resolver,
              row.domain,
              dir!,
            );
            assert.equal(reference.verdict, row.postfix, reference.output);
            const r = await runCli([
              'check',
              row.domain,
              '--config',
              configs.get('base')!,
              '--json',
            ]);
            const out = JSON.parse(r.stdout) as {
              hosts: {
                verdict: { deliver: boolean; security?: string; class?: string; severity?: string };
              }[];
            };
            const verdict = out.hosts[0]?.verdict;
            assert.equal(verdict?.deliver, row.mxsec.deliver, r.stdout + r.stderr);
            if (row.mxsec.deliver) assert.equal(verdict?.security, row.mxsec.security, r.stdout);
            else
              assert.deepEqual(
                [verdict?.class, verdict?.severity],
                [row.mxsec.class, 'temporary'],
                r.stdout,
              );
          });
        }
      },
    );
  },
);
