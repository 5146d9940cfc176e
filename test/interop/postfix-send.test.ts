/**
 * `mxsec send --json` and `mxsec check --json` (in-process through `runCli`, configured by TOML files as
 * an operator would) against a real Postfix as the receiving MTA, for every STARTTLS strategy setting
 * (RFC 3207; README "How each decision is made", step 5) against six kinds of listener: a certificate
 * from the test CA, self-signed, expired, issued for another name, no STARTTLS at all, and STARTTLS that
 * speaks only TLS 1.0/1.1. DNS is a real nsd + unbound pair (unsigned child zone: no DANE here).
 *
 * Both sides are asserted: mxsec's exit code, recipient status, RFC 3463 code and attempt security, and
 * what Postfix itself holds: the message with this test's unique envelope sender (or its absence from
 * every queue and the Maildir), the TLS its Received header records, and the listener that accepted it.
 * `check` is asserted to stop after TLS: the smtpd session Postfix logged for it has no MAIL command and
 * no queue id. Addresses (from the task's plan): DNS 127.0.0.56/57, MX listeners 127.0.0.40 - 127.0.0.45,
 * shared with mtasts-nginx.test.ts: run the two one at a time (`--test-concurrency=1`, as `npm test` does).
 * Every server is stopped in `after`.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runCli } from '../support/capture.js';
import { createSelfSigned, createTestCa } from '../support/pki.js';
import { acceptedBy, everAccepted, storedMessage } from './dane-observe.js';
import { startDnssec } from './harness/dnssec.js';
import type { DnssecInstance, ZoneRecord } from './harness/dnssec.js';
import { receivedTls, startPostfix } from './harness/postfix.js';
import type { PostfixInstance, PostfixListener } from './harness/postfix.js';
import { interopAvailable } from './harness/require.js';
import { waitUntil } from './harness/run.js';
import { fixture } from '../support/paths.js';
import { writeMxsecConfigs } from './harness/mxsec-config.js';
import type { SendJson } from '../../src/cli/json.js';

const DNS = { authoritative: '127.0.0.56', resolver: '127.0.0.57' } as const;
const ZONE = 'pf.test';
const DAY = 86_400_000;

/** The listeners, in master.cf order (Postfix logs each as `postfix/listener-<index>/smtpd`). */
const KINDS = ['ca', 'self', 'expired', 'wrongname', 'notls', 'legacy'] as const;
type Kind = (typeof KINDS)[number];
const address = (kind: Kind): string => `127.0.0.${40 + KINDS.indexOf(kind)}`;
const domainOf = (kind: Kind): string => `${kind}.${ZONE}`;
const mxOf = (kind: Kind): string => `mx.${kind}.${ZONE}`;

const VARIANTS = {
  optional: ['[queue.tls.default]', 'starttls = "optional"'],
  require: ['[queue.tls.default]', 'starttls = "require"'],
  disable: ['[queue.tls.default]', 'starttls = "disable"'],
  invalid: ['[queue.tls.default]', 'allow-invalid-certs = true'],
  invalidRequire: ['[queue.tls.default]', 'allow-invalid-certs = true', 'starttls = "require"'],
  /** Stalwart's documented "Handling TLS Errors" example, verbatim (test/fixtures/reference). */
  reference: [readFileSync(fixture('reference', 'handling-tls-errors.toml'), 'utf8')],
} as const;
type Variant = keyof typeof VARIANTS;
const RETRY_AFTER_TLS = ['--var', 'retry_num=1', '--var', 'last_error=tls'];

/** What must happen: delivered over TLS at a security level, delivered in plaintext, or refused. */
type Expect =
  | { readonly tls: 'pkix' | 'unverified' }
  | { readonly plain: true }
  | { readonly refused: '4.7.4' | '4.7.5'; readonly tlsrpt: string };

const PKIX: Expect = { tls: 'pkix' };
const UNVERIFIED: Expect = { tls: 'unverified' };
const PLAIN: Expect = { plain: true };
const NO_STARTTLS: Expect = { refused: '4.7.4', tlsrpt: 'starttls-not-supported' };
const HANDSHAKE: Expect = { refused: '4.7.5', tlsrpt: 'validation-failure' };
const refusedCert = (tlsrpt: string): Expect => ({ refused: '4.7.5', tlsrpt });

/** The truth table: what each strategy must do with each listener. */
const OPTIONAL: Record<Kind, Expect> = {
  ca: PKIX,
  self: refusedCert('certificate-not-trusted'),
  expired: refusedCert('certificate-expired'),
  wrongname: refusedCert('certificate-host-mismatch'),
  notls: PLAIN,
  legacy: HANDSHAKE,
};
const INVALID: Record<Kind, Expect> = {
  ca: PKIX,
  self: UNVERIFIED,
  expired: UNVERIFIED,
  wrongname: UNVERIFIED,
  notls: PLAIN,
  legacy: HANDSHAKE,
};
const TABLE: readonly {
  variant: Variant;
  args?: readonly string[];
  strategy: string;
  expect: Record<Kind, Expect>;
}[] = [
  { variant: 'optional', strategy: 'default', expect: OPTIONAL },
  { variant: 'require', strategy: 'default', expect: { ...OPTIONAL, notls: NO_STARTTLS } },
  {
    variant: 'disable',
    strategy: 'default',
    expect: {
      ca: PLAIN,
      self: PLAIN,
      expired: PLAIN,
      wrongname: PLAIN,
      notls: PLAIN,
      legacy: PLAIN,
    },
  },
  { variant: 'invalid', strategy: 'default', expect: INVALID },
  { variant: 'invalidRequire', strategy: 'default', expect: { ...INVALID, notls: NO_STARTTLS } },
  { variant: 'reference', strategy: 'default', expect: OPTIONAL },
  { variant: 'reference', args: RETRY_AFTER_TLS, strategy: 'invalid-tls', expect: INVALID },
];

interface CheckJson {
  readonly hosts: readonly {
    readonly mx: string;
    readonly strategy: string;
    readonly sessions: readonly {
      readonly ip: string;
      readonly starttls_offered: boolean | null;
      readonly tls: { readonly version: string } | null;
      readonly security: string | null;
    }[];
    readonly verdict: {
      readonly deliver: boolean;
      readonly security?: string;
      readonly class?: string;
      readonly code?: string;
    };
  }[];
}

describe(
  'mxsec send and check against a real Postfix, every STARTTLS strategy setting',
  interopAvailable(['postfix', 'nsd', 'unbound', 'ldns-keygen', 'ldns-signzone', 'ldns-key2ds']),
  () => {
    let dns: DnssecInstance | undefined;
    let postfix: PostfixInstance | undefined;
    let dir: string | undefined;
    const configs = new Map<Variant, string>();
    let serial = 0;

    before(async () => {
      const ca = await createTestCa({ commonName: 'mxsec Postfix interop CA' });
      const issue = (name: string, validity: { notBefore?: Date; notAfter?: Date } = {}) =>
        ca.issue({ dnsNames: [name], ...validity });
      const now = Date.now();
      const certs = {
        ca: await issue(mxOf('ca')),
        self: await createSelfSigned({ dnsNames: [mxOf('self')] }),
        expired: await issue(mxOf('expired'), {
          notBefore: new Date(now - 30 * DAY),
          notAfter: new Date(now - DAY),
        }),
        wrongname: await issue('unrelated.elsewhere.test'),
        legacy: await issue(mxOf('legacy')),
      };
      const listeners: PostfixListener[] = KINDS.map((kind) => {
        if (kind === 'notls') return { address: address(kind) };
        const cert = certs[kind];
        return {
          address: address(kind),
          tls: {
            certPem: cert.chainPem,
            keyPem: cert.keyPem,
            ...(kind === 'legacy' ? { insecureLegacyTlsOnly: true } : {}),
          },
        };
      });
      const records: ZoneRecord[] = KINDS.flatMap((kind) => [
        { name: kind, type: 'MX' as const, data: `10 ${mxOf(kind)}.` },
        { name: `mx.${kind}`, type: 'A' as const, data: address(kind) },
      ]);
      dir = mkdtempSync(path.join(tmpdir(), 'mxsec-postfix-send-'));
      for (const [name, file] of writeMxsecConfigs(
        dir,
        { resolver: DNS.resolver, caPem: ca.certPem },
        VARIANTS,
      ))
        configs.set(name, file);
      dns = await startDnssec({
        authoritativeAddress: DNS.authoritative,
        resolverAddress: DNS.resolver,
        zones: [{ name: ZONE, security: 'unsigned', records }],
      });
      postfix = await startPostfix({ domains: KINDS.map(domainOf), listeners });
    });

    after(async () => {
      await postfix?.stop();
      await dns?.stop();
      if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
    });

    /** The smtpd sessions (connect ... disconnect) of `listener` that began after log offset `from`. */
    function sessions(from: number, listener: number): string[][] {
      const tag = new RegExp(`postfix/listener-${listener}/smtpd\\[(\\d+)\\]: (.*)$`);
      const open = new Map<string, string[]>();
      const done: string[][] = [];
      for (const row of postfix!.log().slice(from).split('\n')) {
        const m = tag.exec(row);
        if (m === null) continue;
        const [pid, text] = [m[1] ?? '', m[2] ?? ''];
        if (text.startsWith('connect from ')) open.set(pid, []);
        const lines = open.get(pid);
        if (lines === undefined) continue;
        lines.push(text);
        if (text.startsWith('disconnect from ')) {
          done.push(lines);
          open.delete(pid);
        }
      }
      return done;
    }

    /** Waits until Postfix has logged the end of a session that began after `from` on `listener`. */
    async function finishedSessions(from: number, listener: number): Promise<string[][]> {
      await waitUntil(
        `smtpd session on listener ${listener} logged`,
        () => Promise.resolve(sessions(from, listener).length > 0),
        () => undefined,
        60_000,
      ).catch((error: unknown) => {
        throw new Error(
          `${error instanceof Error ? error.message : String(error)}\n--- maillog ---\n${postfix!.log()}`,
        );
      });
      return sessions(from, listener);
    }

    async function send(kind: Kind, variant: Variant, args: readonly string[] = []) {
      serial += 1;
      const sender = `pf-${serial}-${randomUUID().slice(0, 8)}@sender.test`;
      const to = `user@${domainOf(kind)}`;
      const message = `From: ${sender}\r\nTo: ${to}\r\nSubject: Postfix interop ${kind} ${variant}\r\n\r\nhello\r\n`;
      const r = await runCli(
        [
          'send',
          '--config',
          configs.get(variant)!,
          '--from',
          sender,
          '--to',
          to,
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

    for (const row of TABLE) {
      const label = `${row.variant}${row.args === undefined ? '' : ` ${row.args.join(' ')}`}`;
      describe(`send, strategy config "${label}" (selects '${row.strategy}')`, () => {
        for (const kind of KINDS) {
          const expect = row.expect[kind];
          const outcome =
            'refused' in expect
              ? `temporary ${expect.refused} (${expect.tlsrpt}), nothing received`
              : 'plain' in expect
                ? 'delivered in plaintext, Postfix records no TLS'
                : `delivered over TLS, security ${expect.tls}`;
          test(`RFC 3207: ${kind} listener: ${outcome}`, async () => {
            const sent = await send(kind, row.variant, row.args);
            const last = sent.out.attempts.at(-1);
            assert.equal(last?.strategy, row.strategy, sent.why);
            assert.deepEqual([last?.mx, last?.ip], [mxOf(kind), address(kind)], sent.why);
            if ('refused' in expect) {
              assert.equal(sent.code, 75, sent.why);
              assert.deepEqual(
                sent.out.recipients.map((r) => [r.status, r.last_error, r.code]),
                [['temporary', 'tls', expect.refused]],
                sent.why,
              );
              assert.deepEqual(
                [last?.error?.class, last?.error?.tlsrpt, last?.security],
                ['tls', expect.tlsrpt, null],
                sent.why,
              );
              assert.equal(
                everAccepted(postfix!, sent.sender),
                false,
                `Postfix accepted a message that must have been refused:\n${sent.why}`,
              );
              return;
            }
            assert.equal(sent.code, 0, sent.why);
            assert.deepEqual(
              sent.out.recipients.map((r) => [r.status, r.code]),
              [['delivered', '2.0.0']],
              sent.why,
            );
            const stored = await storedMessage(postfix!, sent.sender);
            assert.equal(await acceptedBy(postfix!, stored), KINDS.indexOf(kind), stored);
            const received = receivedTls(stored);
            if ('plain' in expect) {
              assert.equal(
                received,
                undefined,
                `Postfix recorded TLS for a plaintext delivery:\n${stored}`,
              );
              assert.deepEqual([last?.security, last?.tls], ['none', null], sent.why);
              return;
            }
            assert.ok(received !== undefined, `Postfix recorded no TLS:\n${stored}`);
            assert.match(received.version, /^TLSv1\.[23]$/);
            assert.equal(last?.tls?.version, received.version, sent.why);
            assert.equal(last?.security, expect.tls, sent.why);
          });
        }
      });
    }

    test('control: the refusal detector sees a message Postfix did accept', async () => {
      const sent = await send('ca', 'optional');
      assert.equal(sent.code, 0, sent.why);
      await storedMessage(postfix!, sent.sender);
      assert.equal(everAccepted(postfix!, sent.sender), true);
    });

    /** What `check` must conclude per listener: deliver at a level, or refuse with a class and code. */
    type CheckExpect =
      { readonly deliver: string } | { readonly refuse: string; readonly code: string };
    const CHECK_OPTIONAL: Record<Kind, CheckExpect> = {
      ca: { deliver: 'pkix' },
      self: { refuse: 'tls', code: '4.7.5' },
      expired: { refuse: 'tls', code: '4.7.5' },
      wrongname: { refuse: 'tls', code: '4.7.5' },
      notls: { deliver: 'none' },
      legacy: { refuse: 'tls', code: '4.7.5' },
    };
    const CHECKS: readonly { variant: Variant; expect: Record<Kind, CheckExpect> }[] = [
      { variant: 'optional', expect: CHECK_OPTIONAL },
      {
        variant: 'require',
        expect: { ...CHECK_OPTIONAL, notls: { refuse: 'tls', code: '4.7.4' } },
      },
      {
        variant: 'disable',
        expect: {
          ca: { deliver: 'none' },
          self: { deliver: 'none' },
          expired: { deliver: 'none' },
          wrongname: { deliver: 'none' },
          notls: { deliver: 'none' },
          legacy: { deliver: 'none' },
        },
      },
      {
        variant: 'invalid',
        expect: {
          ...CHECK_OPTIONAL,
          self: { deliver: 'unverified' },
          expired: { deliver: 'unverified' },
          wrongname: { deliver: 'unverified' },
        },
      },
    ];

    for (const row of CHECKS) {
      describe(`check, strategy config "${row.variant}": the verdict, and Postfix never sees MAIL FROM`, () => {
        for (const kind of KINDS) {
          const expect = row.expect[kind];
          const verdict =
            'deliver' in expect
              ? `would deliver at ${expect.deliver}`
              : `would refuse (${expect.refuse} ${expect.code})`;
          test(`RFC 3207: ${kind} listener: ${verdict}; the session ends before MAIL`, async () => {
            const from = postfix!.log().length;
            const r = await runCli([
              'check',
              domainOf(kind),
              '--config',
              configs.get(row.variant)!,
              '--json',
            ]);
            const why = `${r.stdout}\n${r.stderr}`;
            assert.equal(r.code, 'deliver' in expect ? 0 : 75, why);
            const host = (JSON.parse(r.stdout) as CheckJson).hosts[0];
            assert.equal(host?.mx, mxOf(kind), why);
            const session = host?.sessions[0];
            assert.deepEqual(
              [session?.ip, session?.starttls_offered],
              [address(kind), kind !== 'notls'],
              why,
            );
            if ('deliver' in expect) {
              assert.deepEqual(
                [host?.verdict.deliver, host?.verdict.security],
                [true, expect.deliver],
                why,
              );
              assert.equal(session?.tls !== null, expect.deliver !== 'none', why);
            } else {
              assert.deepEqual(
                [host?.verdict.deliver, host?.verdict.class, host?.verdict.code],
                [false, expect.refuse, expect.code],
                why,
              );
            }
            // Postfix's own record of the session: no MAIL command, no queue id, no envelope sender.
            const logged = await finishedSessions(from, KINDS.indexOf(kind));
            for (const lines of logged) {
              const text = lines.join('\n');
              assert.doesNotMatch(
                text,
                /\bmail=|\bfrom=<|: client=/,
                `check went past TLS:\n${text}`,
              );
            }
            const stats = logged.at(-1)?.at(-1) ?? '';
            // Postfix counts a STARTTLS whose handshake then failed as `starttls=0/1`.
            if (kind !== 'notls' && row.variant !== 'disable')
              assert.match(
                stats,
                kind === 'legacy' ? /\bstarttls=0\/1\b/ : /\bstarttls=1\b/,
                stats,
              );
            if (row.variant === 'disable')
              assert.doesNotMatch(
                stats,
                /\bstarttls=/,
                `STARTTLS sent under starttls = "disable": ${stats}`,
              );
          });
        }
      });
    }
  },
);
