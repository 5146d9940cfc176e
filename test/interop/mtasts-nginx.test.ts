/**
 * MTA-STS (RFC 8461) against real servers: nginx serves `https://mta-sts.<domain>/.well-known/mta-sts.txt`
 * with certificates from a test CA (or deliberately bad ones), nsd + unbound publish `_mta-sts.<domain>`
 * TXT records and the MX and policy host addresses, and one real Postfix receives on several MX
 * listeners. Each recipient domain is one scenario; each test is a real `mxsec send --json` (in-process
 * through `runCli`, configured by a TOML file: resolver 127.0.0.57, the test CA as `ca-file`, ports 25 and
 * 443 as on the internet).
 *
 * The rules checked: under `enforce` only listed MX hosts are used, only over TLS with a certificate
 * valid for the MX name, whatever the strategy says (sections 4.1, 4.2, 5); `testing` delivers and
 * records what it would have refused (section 5); `none`, a malformed policy, a 404, a redirect (never
 * followed, section 3.3), a bad policy-host certificate (section 3.3), a missing TXT record and two TXT
 * records (section 3.1) all mean "no policy" under `mta-sts = "optional"`. Every site that must be
 * ignored serves (or points to) an enforce policy that excludes the MX, so wrongly applying it would
 * defer the mail: a pass cannot come from a policy silently not consulted. Nothing must reach Postfix
 * from a refused message (queue and Maildir are searched for the test's unique envelope sender), and
 * nginx's access log shows which policies were really fetched. Addresses: DNS 127.0.0.56/57, MX
 * listeners 127.0.0.40 - 127.0.0.44, policy hosts 127.0.0.48 - 127.0.0.55 (one nginx each), shared with
 * postfix-send.test.ts: run the two one at a time (`--test-concurrency=1`, as `npm test` does). Every
 * server is stopped in `after`.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runCli } from '../support/capture.js';
import { policyText } from '../support/https-policy-server.js';
import { createSelfSigned, createTestCa } from '../support/pki.js';
import type { TestCert } from '../support/pki.js';
import { acceptedBy, everAccepted, storedMessage } from './dane-observe.js';
import { startDnssec, txtData } from './harness/dnssec.js';
import type { DnssecInstance, ZoneRecord } from './harness/dnssec.js';
import { startNginx } from './harness/nginx.js';
import type { NginxInstance, NginxSite, ServedFile } from './harness/nginx.js';
import { receivedTls, startPostfix } from './harness/postfix.js';
import type { PostfixInstance, PostfixListener } from './harness/postfix.js';
import { interopAvailable } from './harness/require.js';
import { writeMxsecConfigs } from './harness/mxsec-config.js';
import type { AttemptJson, SendJson } from '../../src/cli/json.js';

const DNS = { authoritative: '127.0.0.56', resolver: '127.0.0.57' } as const;
const ZONE = 'mtasts.test';
const WELL_KNOWN = '/.well-known/mta-sts.txt';
const DAY = 86_400_000;

/** MX listeners in master.cf order (Postfix logs each as `postfix/listener-<index>/smtpd`). */
const LISTENERS = ['ca', 'self', 'expired', 'wrongname', 'notls'] as const;
type Listener = (typeof LISTENERS)[number];
const mxAddress = (l: Listener): string => `127.0.0.${40 + LISTENERS.indexOf(l)}`;
/** Policy host n (0 - 7) is nginx on 127.0.0.(48 + n):443. */
const policyAddress = (n: number): string => `127.0.0.${48 + n}`;

type PolicyCert = 'valid' | 'self' | 'wrongname' | 'expired';
interface Scenario {
  readonly listener: Listener;
  /** First label of the MX host name; default `mx`. */
  readonly mxLabel?: string;
  /** TXT strings at `_mta-sts.<domain>`; default one valid record. */
  readonly txt?: readonly string[];
  readonly host: number;
  readonly cert?: PolicyCert;
  /** What the policy host serves; `(domain) =>` so policies can name the scenario's hosts. */
  readonly files: (domain: string) => Record<string, ServedFile>;
}

/** An enforce policy that does not list the scenario's MX: applying it would defer the message. */
const excluding = (domain: string): string => policyText('enforce', [`elsewhere.${domain}`]);
const served =
  (body: string, extra: Omit<ServedFile, 'body'> = {}) =>
  (): Record<string, ServedFile> => ({ [WELL_KNOWN]: { body, ...extra } });

const SCENARIOS = {
  exact: {
    listener: 'ca',
    host: 0,
    files: (d) => ({ [WELL_KNOWN]: { body: policyText('enforce', [`mx.${d}`]) } }),
  },
  wild: {
    listener: 'ca',
    mxLabel: 'mail',
    host: 0,
    files: (d) => ({ [WELL_KNOWN]: { body: policyText('enforce', [`*.${d}`]) } }),
  },
  unlisted: {
    listener: 'ca',
    host: 0,
    files: (d) => ({
      [WELL_KNOWN]: { body: policyText('enforce', [`mail.${d}`, `*.other.${d}`]) },
    }),
  },
  selfmx: {
    listener: 'self',
    host: 0,
    files: (d) => ({ [WELL_KNOWN]: { body: policyText('enforce', [`mx.${d}`]) } }),
  },
  wrongmx: {
    listener: 'wrongname',
    host: 0,
    files: (d) => ({ [WELL_KNOWN]: { body: policyText('enforce', [`mx.${d}`]) } }),
  },
  expiredmx: {
    listener: 'expired',
    host: 0,
    files: (d) => ({ [WELL_KNOWN]: { body: policyText('enforce', [`mx.${d}`]) } }),
  },
  plainmx: {
    listener: 'notls',
    host: 0,
    files: (d) => ({ [WELL_KNOWN]: { body: policyText('enforce', [`mx.${d}`]) } }),
  },
  testing: {
    listener: 'ca',
    host: 1,
    files: (d) => ({ [WELL_KNOWN]: { body: policyText('testing', [`elsewhere.${d}`]) } }),
  },
  testingplain: {
    listener: 'notls',
    host: 1,
    files: (d) => ({ [WELL_KNOWN]: { body: policyText('testing', [`mx.${d}`]) } }),
  },
  none: { listener: 'ca', host: 1, files: served(policyText('none', [])) },
  // A lenient parser that defaulted the bad max_age would enforce this policy and defer the mail.
  malformed: {
    listener: 'ca',
    host: 2,
    files: (d) => ({
      [WELL_KNOWN]: {
        body: `version: STSv1\r\nmode: enforce\r\nmx: elsewhere.${d}\r\nmax_age: forever\r\n`,
      },
    }),
  },
  notfound: {
    listener: 'ca',
    host: 3,
    files: (d) => ({ [WELL_KNOWN]: { status: 404, body: excluding(d) } }),
  },
  redirect: {
    listener: 'ca',
    host: 4,
    files: (d) => ({
      [WELL_KNOWN]: { redirectTo: `https://mta-sts.${d}/moved.txt` },
      '/moved.txt': { body: excluding(d) },
    }),
  },
  badself: {
    listener: 'ca',
    host: 5,
    cert: 'self',
    files: (d) => ({ [WELL_KNOWN]: { body: excluding(d) } }),
  },
  badname: {
    listener: 'ca',
    host: 5,
    cert: 'wrongname',
    files: (d) => ({ [WELL_KNOWN]: { body: excluding(d) } }),
  },
  badexpired: {
    listener: 'ca',
    host: 5,
    cert: 'expired',
    files: (d) => ({ [WELL_KNOWN]: { body: excluding(d) } }),
  },
  notxt: {
    listener: 'ca',
    host: 6,
    txt: [],
    files: (d) => ({ [WELL_KNOWN]: { body: excluding(d) } }),
  },
  twotxt: {
    listener: 'ca',
    host: 7,
    txt: ['v=STSv1; id=first1;', 'v=STSv1; id=second2;'],
    files: (d) => ({ [WELL_KNOWN]: { body: excluding(d) } }),
  },
} satisfies Record<string, Scenario>;
type Name = keyof typeof SCENARIOS;
const domainOf = (name: Name): string => `${name}.${ZONE}`;
const scenario = (name: Name): Scenario => SCENARIOS[name];
const mxOf = (name: Name): string => `${scenario(name).mxLabel ?? 'mx'}.${domainOf(name)}`;

const VARIANTS = {
  base: [],
  noStarttls: ['[queue.tls.default]', 'starttls = "disable"'],
  stsOff: ['[queue.tls.default]', 'mta-sts = "disable"'],
  stsRequired: ['[queue.tls.default]', 'mta-sts = "require"'],
} as const;
type Variant = keyof typeof VARIANTS;
const RETRY_AFTER_TLS = ['--var', 'retry_num=1', '--var', 'last_error=tls'];

interface Sent {
  readonly code: number;
  readonly out: SendJson;
  readonly sender: string;
  readonly why: string;
}

describe(
  'MTA-STS interop: mxsec with nginx policy hosts, nsd + unbound, and real Postfix receivers',
  interopAvailable([
    'nginx',
    'postfix',
    'nsd',
    'unbound',
    'ldns-keygen',
    'ldns-signzone',
    'ldns-key2ds',
  ]),
  () => {
    let dns: DnssecInstance | undefined;
    let postfix: PostfixInstance | undefined;
    const nginx = new Map<number, NginxInstance>();
    let dir: string | undefined;
    const configs = new Map<Variant, string>();
    let serial = 0;

    before(async () => {
      const ca = await createTestCa({ commonName: 'mxsec MTA-STS interop CA' });
      const now = Date.now();
      const expiredDates = { notBefore: new Date(now - 30 * DAY), notAfter: new Date(now - DAY) };
      const names = Object.keys(SCENARIOS) as Name[];
      // One leaf for every MX name on the CA-valid listener; the others present what their name says.
      const mxCerts: Record<Listener, TestCert | undefined> = {
        ca: await ca.issue({
          dnsNames: names.filter((n) => scenario(n).listener === 'ca').map(mxOf),
        }),
        self: await createSelfSigned({ dnsNames: [mxOf('selfmx')] }),
        expired: await ca.issue({ dnsNames: [mxOf('expiredmx')], ...expiredDates }),
        wrongname: await ca.issue({ dnsNames: ['unrelated.elsewhere.test'] }),
        notls: undefined,
      };
      const listeners: PostfixListener[] = LISTENERS.map((l) => {
        const cert = mxCerts[l];
        return cert === undefined
          ? { address: mxAddress(l) }
          : { address: mxAddress(l), tls: { certPem: cert.chainPem, keyPem: cert.keyPem } };
      });
      const policyCert = async (domain: string, kind: PolicyCert): Promise<TestCert> => {
        const host = `mta-sts.${domain}`;
        switch (kind) {
          case 'valid':
            return ca.issue({ dnsNames: [host] });
          case 'self':
            return createSelfSigned({ dnsNames: [host] });
          case 'wrongname':
            return ca.issue({ dnsNames: ['mta-sts.elsewhere.test'] });
          case 'expired':
            return ca.issue({ dnsNames: [host], ...expiredDates });
        }
      };
      const records: ZoneRecord[] = [];
      const sites = new Map<number, NginxSite[]>();
      for (const [i, name] of names.entries()) {
        const s = scenario(name);
        const domain = domainOf(name);
        records.push(
          { name, type: 'MX', data: `10 ${mxOf(name)}.` },
          { name: `${s.mxLabel ?? 'mx'}.${name}`, type: 'A', data: mxAddress(s.listener) },
        );
        for (const txt of s.txt ?? [`v=STSv1; id=2025n${i};`])
          records.push({ name: `_mta-sts.${name}`, type: 'TXT', data: txtData(txt) });
        records.push({ name: `mta-sts.${name}`, type: 'A', data: policyAddress(s.host) });
        const cert = await policyCert(domain, s.cert ?? 'valid');
        sites.set(s.host, [
          ...(sites.get(s.host) ?? []),
          {
            address: policyAddress(s.host),
            serverName: `mta-sts.${domain}`,
            certPem: cert.chainPem,
            keyPem: cert.keyPem,
            files: s.files(domain),
          },
        ]);
      }

      dir = mkdtempSync(path.join(tmpdir(), 'mxsec-mtasts-interop-'));
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
      postfix = await startPostfix({ domains: names.map(domainOf), listeners });
      for (const [host, list] of sites) nginx.set(host, await startNginx({ sites: list }));
    });

    after(async () => {
      for (const instance of nginx.values()) await instance.stop();
      await postfix?.stop();
      await dns?.stop();
      if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
    });

    /** Requests for the well-known path that policy host `n` logged, with their status. */
    function fetches(n: number): string[] {
      return (nginx.get(n)?.accessLog() ?? '')
        .split('\n')
        .filter((l) => l.includes('"GET '))
        .map((l) => /"GET (\S+) [^"]*" (\d{3})/.exec(l)?.slice(1).join(' ') ?? l);
    }

    async function send(
      name: Name,
      variant: Variant = 'base',
      args: readonly string[] = [],
    ): Promise<Sent> {
      serial += 1;
      const sender = `sts-${serial}-${randomUUID().slice(0, 8)}@sender.test`;
      const to = `user@${domainOf(name)}`;
      const message = `From: ${sender}\r\nTo: ${to}\r\nSubject: MTA-STS interop ${name}\r\n\r\nhello\r\n`;
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
      return {
        code: r.code,
        out,
        sender,
        why: `${r.stdout}\n${r.stderr}\n--- nginx ---\n${[...nginx.values()].map((n) => n.log()).join('\n')}`,
      };
    }

    /** Delivered by mxsec AND stored by Postfix through the scenario's listener; returns the last attempt. */
    async function assertDelivered(sent: Sent, name: Name, security: string): Promise<AttemptJson> {
      assert.equal(sent.code, 0, sent.why);
      assert.deepEqual(
        sent.out.recipients.map((r) => [r.status, r.code]),
        [['delivered', '2.0.0']],
        sent.why,
      );
      const message = await storedMessage(postfix!, sent.sender);
      assert.equal(
        await acceptedBy(postfix!, message),
        LISTENERS.indexOf(scenario(name).listener),
        message,
      );
      const tls = receivedTls(message);
      if (security === 'none')
        assert.equal(tls, undefined, `Postfix recorded TLS for a plaintext delivery:\n${message}`);
      else assert.match(tls?.version ?? `no TLS in:\n${message}`, /^TLSv1\.[23]$/);
      const last = sent.out.attempts.at(-1)!;
      assert.deepEqual(
        [last.mx, last.security, last.error],
        [mxOf(name), security, null],
        sent.why,
      );
      return last;
    }

    /** Refused by mxsec as expected AND nothing from this sender in any Postfix queue or the Maildir. */
    function assertRefused(
      sent: Sent,
      expected: { severity: 'temporary' | 'permanent'; code: string; tlsrpt?: string },
    ): AttemptJson {
      assert.equal(sent.code, expected.severity === 'temporary' ? 75 : 69, sent.why);
      assert.deepEqual(
        sent.out.recipients.map((r) => [r.status, r.last_error, r.code]),
        [[expected.severity, 'mta-sts', expected.code]],
        sent.why,
      );
      assert.equal(
        everAccepted(postfix!, sent.sender),
        false,
        `Postfix accepted a message that must have been refused:\n${sent.why}`,
      );
      for (const attempt of sent.out.attempts)
        assert.ok(
          attempt.error !== null && attempt.security === null,
          `an attempt succeeded:\n${sent.why}`,
        );
      const last = sent.out.attempts.at(-1)!;
      if (expected.tlsrpt !== undefined)
        assert.equal(last.error?.tlsrpt, expected.tlsrpt, sent.why);
      return last;
    }

    describe('RFC 8461 mode enforce', () => {
      test('RFC 8461 4.1: an MX listed exactly, with a CA-valid certificate: delivered over TLS, security mta-sts', async () => {
        const last = await assertDelivered(await send('exact'), 'exact', 'mta-sts');
        assert.equal(last.tlsrpt, 'success');
        assert.ok(
          last.reasons.some((r) => r.includes(`${mxOf('exact')} matches '${mxOf('exact')}'`)),
          JSON.stringify(last.reasons),
        );
        assert.ok(fetches(0).includes(`${WELL_KNOWN} 200`), 'the policy was fetched from nginx');
      });

      test('RFC 8461 4.1: an MX matched by the wildcard *.domain: delivered, security mta-sts', async () => {
        const last = await assertDelivered(await send('wild'), 'wild', 'mta-sts');
        assert.ok(
          last.reasons.some((r) => r.includes(`matches '*.${domainOf('wild')}'`)),
          JSON.stringify(last.reasons),
        );
      });

      test('RFC 8461 4.1, 5: an MX the policy does not list is never contacted; deferred, nothing received', async () => {
        const last = assertRefused(await send('unlisted'), {
          severity: 'temporary',
          code: '4.7.5',
          tlsrpt: 'validation-failure',
        });
        assert.equal(last.ip, null, 'no connection to an unlisted MX');
      });

      test('control: the same MX with mta-sts = "disable" is delivered (pkix): the refusal came from the policy', async () => {
        await assertDelivered(await send('unlisted', 'stsOff'), 'unlisted', 'pkix');
      });

      const certFailures: readonly [Name, string, string][] = [
        ['selfmx', 'self-signed', 'certificate-not-trusted'],
        ['wrongmx', 'wrong-name', 'certificate-host-mismatch'],
        ['expiredmx', 'expired', 'certificate-expired'],
      ];
      for (const [name, what, tlsrpt] of certFailures) {
        test(`RFC 8461 4.2: a listed MX with a ${what} certificate: deferred (${tlsrpt}), nothing received`, async () => {
          const last = assertRefused(await send(name), {
            severity: 'temporary',
            code: '4.7.5',
            tlsrpt,
          });
          assert.ok(
            last.tls !== null && last.ip === mxAddress(scenario(name).listener),
            `the handshake was made and judged:\n${JSON.stringify(last)}`,
          );
        });

        test(`RFC 8461 4.2: allow-invalid-certs (invalid-tls retry) does not relax enforce: ${what} still deferred`, async () => {
          const last = assertRefused(await send(name, 'base', RETRY_AFTER_TLS), {
            severity: 'temporary',
            code: '4.7.5',
            tlsrpt,
          });
          assert.equal(last.strategy, 'invalid-tls');
        });
      }

      test('RFC 8461 4.2: a listed MX without STARTTLS: deferred (4.7.4), nothing sent in plaintext', async () => {
        assertRefused(await send('plainmx'), {
          severity: 'temporary',
          code: '4.7.4',
          tlsrpt: 'starttls-not-supported',
        });
        assertRefused(await send('plainmx', 'base', RETRY_AFTER_TLS), {
          severity: 'temporary',
          code: '4.7.4',
          tlsrpt: 'starttls-not-supported',
        });
      });

      test('RFC 8461 5: starttls = "disable" does not override enforce: Postfix receives over TLS', async () => {
        const last = await assertDelivered(await send('exact', 'noStarttls'), 'exact', 'mta-sts');
        assert.ok(
          last.reasons.some((r) => r.startsWith('starttls = "disable" overridden')),
          JSON.stringify(last.reasons),
        );
      });
    });

    describe('RFC 8461 modes testing and none', () => {
      test('RFC 8461 5: testing, MX not listed: delivered over TLS, the refusal recorded as report-only', async () => {
        const last = await assertDelivered(await send('testing'), 'testing', 'pkix');
        assert.deepEqual(
          [last.report_only?.reason, last.report_only?.tlsrpt],
          ['mx-not-in-policy', 'validation-failure'],
          JSON.stringify(last),
        );
      });

      test('RFC 8461 5: testing, listed MX without STARTTLS: delivered in plaintext, starttls-not-supported reported', async () => {
        const last = await assertDelivered(await send('testingplain'), 'testingplain', 'none');
        assert.equal(last.report_only?.tlsrpt, 'starttls-not-supported', JSON.stringify(last));
      });

      test('RFC 8461 5: mode none: delivered as without a policy (pkix), nothing reported', async () => {
        const last = await assertDelivered(await send('none'), 'none', 'pkix');
        assert.equal(last.report_only, null);
        assert.ok(
          last.reasons.some((r) => /mode none/.test(r)),
          JSON.stringify(last.reasons),
        );
      });
    });

    describe('RFC 8461 3: no usable policy under mta-sts = "optional" (each would have refused the MX)', () => {
      // Scenario, what is wrong, policy host, what that nginx logged, and the reason mxsec must give.
      const noPolicy: readonly [Name, string, number, readonly string[], RegExp][] = [
        [
          'malformed',
          'RFC 8461 3.2: a malformed policy (max_age: forever)',
          2,
          [`${WELL_KNOWN} 200`],
          /invalid policy: .*max_age/,
        ],
        [
          'notfound',
          'RFC 8461 3.3: HTTP 404 (with a policy as its body)',
          3,
          [`${WELL_KNOWN} 404`],
          /HTTP 404/,
        ],
        [
          'redirect',
          'RFC 8461 3.3: a 301 redirect, which is not followed',
          4,
          [`${WELL_KNOWN} 301`],
          /HTTP 301 redirect .* not followed/,
        ],
        [
          'badself',
          'RFC 8461 3.3: a self-signed policy-host certificate',
          5,
          [],
          /self-signed certificate/,
        ],
        [
          'badname',
          'RFC 8461 3.3: a policy-host certificate for another name',
          5,
          [],
          /does not match certificate/,
        ],
        [
          'badexpired',
          'RFC 8461 3.3: an expired policy-host certificate',
          5,
          [],
          /certificate has expired/,
        ],
        [
          'notxt',
          'RFC 8461 3.1: no _mta-sts TXT record (the policy is never fetched)',
          6,
          [],
          /no TXT record starts with "v=STSv1;"/,
        ],
        [
          'twotxt',
          'RFC 8461 3.1: two v=STSv1 TXT records (the policy is never fetched)',
          7,
          [],
          /2 TXT records start with "v=STSv1;"/,
        ],
      ];
      for (const [name, what, host, fetched, reason] of noPolicy) {
        test(`${what}: delivered as without a policy (pkix)`, async () => {
          const last = await assertDelivered(await send(name), name, 'pkix');
          assert.ok(
            last.reasons.some((r) => r.startsWith('MTA-STS: ') && reason.test(r)),
            `${String(reason)}: ${JSON.stringify(last.reasons)}`,
          );
          assert.equal(last.report_only, null, JSON.stringify(last));
          // The TLS failures share one nginx: none of them may have got as far as an HTTP request.
          assert.deepEqual(fetches(host), fetched);
        });
      }
    });

    describe('mta-sts = "require" (README, src/mtasts/requirement.ts)', () => {
      test('no TXT record: a permanent failure (5.7.5), the MX is never contacted', async () => {
        const last = assertRefused(await send('notxt', 'stsRequired'), {
          severity: 'permanent',
          code: '5.7.5',
        });
        assert.equal(last.ip, null);
      });

      test('RFC 8461 3.3: a policy host with a bad certificate: temporary (4.7.5), nothing received', async () => {
        assertRefused(await send('badself', 'stsRequired'), {
          severity: 'temporary',
          code: '4.7.5',
          tlsrpt: 'sts-webpki-invalid',
        });
      });

      test('RFC 8461 3.3: a 404: temporary (4.7.5), nothing received', async () => {
        assertRefused(await send('notfound', 'stsRequired'), {
          severity: 'temporary',
          code: '4.7.5',
          tlsrpt: 'sts-policy-fetch-error',
        });
      });

      test('a testing policy does not satisfy require: permanent (5.7.5), nothing received', async () => {
        assertRefused(await send('testing', 'stsRequired'), {
          severity: 'permanent',
          code: '5.7.5',
        });
      });
    });
  },
);
