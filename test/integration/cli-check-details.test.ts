/**
 * The DANE and MTA-STS detail of `mxsec check`, in-process (`runCli`) against the loopback delivery
 * environment: a DNS server playing a trusted validating resolver (AD set, except on the names a test
 * marks unsigned), SMTP servers with self-signed or CA-issued certificates, and an HTTPS policy server.
 * Per MX host: the DNSSEC status of the MX RRset and the addresses, the TLSA records with their RFC 7218
 * names and usability (RFC 7672 3.1.3), and which record the presented chain matched or why none did.
 * Per domain: the MTA-STS TXT record, the policy, where it came from (fetched now / cache / cache after a
 * failed refresh, RFC 8461 5.1) and which MX hosts it authorizes (RFC 8461 4.1). Human and `--json`.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../support/capture.js';
import { startDeliveryEnv, writeCliConfig } from '../support/delivery-env.js';
import type { DeliveryEnv } from '../support/delivery-env.js';
import type { TestTlsa, TestZone } from '../support/dns-server.js';
import { policyText, startPolicyServer } from '../support/https-policy-server.js';
import type { PolicySite, TestPolicyServer } from '../support/https-policy-server.js';
import { createSelfSigned } from '../support/pki.js';
import type { TestCert } from '../support/pki.js';

const sha256 = (data: Uint8Array): Uint8Array =>
  new Uint8Array(createHash('sha256').update(data).digest());
const hex = (data: Uint8Array): string => Buffer.from(data).toString('hex').toUpperCase();
const ee = (cert: TestCert): TestTlsa => ({
  usage: 3,
  selector: 1,
  matchingType: 1,
  data: sha256(cert.spkiDer),
});

type Json = Record<string, unknown>;
interface Host extends Json {
  tlsa: { name: string; result: string; records: Json[] };
  sessions: (Json & { dane: Json | null })[];
  verdict: Json;
}

const zone: TestZone = {
  'ee.details.test': { MX: [{ preference: 10, exchange: 'mx.ee.details.test' }] },
  'mx.ee.details.test': { A: ['127.0.0.61'] },
  'mismatch.details.test': { MX: [{ preference: 10, exchange: 'mx.mismatch.details.test' }] },
  'mx.mismatch.details.test': { A: ['127.0.0.62'] },
  'unsigned.details.test': {
    MX: [{ preference: 10, exchange: 'mx.unsigned.details.test' }],
    ad: false,
  },
  'mx.unsigned.details.test': { A: ['127.0.0.63'], ad: false },
  'sts.details.test': {
    MX: [
      { preference: 10, exchange: 'mx.sts.details.test' },
      { preference: 20, exchange: 'other.sts.details.test' },
    ],
  },
  'mx.sts.details.test': { A: ['127.0.0.64'] },
  'other.sts.details.test': { A: ['127.0.0.65'] },
  '_mta-sts.sts.details.test': { TXT: ['v=STSv1; id=1;'] },
  'mta-sts.sts.details.test': { A: ['127.0.0.3'] },
};

let env: DeliveryEnv;
let policies: TestPolicyServer;
let stsSite: PolicySite;
let dir: string;
let config: string;
let self: TestCert;
let other: TestCert;

async function check(
  domain: string,
  ...args: string[]
): Promise<{ code: number; json: Json & { hosts: Host[]; mta_sts: Json } }> {
  const r = await runCli(['check', domain, '--json', '--config', config, ...args]);
  return { code: r.code, json: JSON.parse(r.stdout) as Json & { hosts: Host[]; mta_sts: Json } };
}

before(async () => {
  self = await createSelfSigned({ dnsNames: ['mx.ee.details.test', 'mx.mismatch.details.test'] });
  other = await createSelfSigned({ dnsNames: ['elsewhere.details.test'] });
  // One usable DANE-EE record and one PKIX-TA record, which SMTP clients must ignore (RFC 7672 3.1.3).
  zone['_25._tcp.mx.ee.details.test'] = {
    TLSA: [ee(self), { usage: 0, selector: 0, matchingType: 1, data: sha256(other.der) }],
  };
  // The published key is not the one the server presents: a man in the middle, or a rollover half-way.
  zone['_25._tcp.mx.mismatch.details.test'] = { TLSA: [ee(other)] };
  env = await startDeliveryEnv(zone, { ad: true });
  await env.server('127.0.0.61', { tls: { key: self.keyPem, cert: self.certPem } });
  await env.server('127.0.0.62', { tls: { key: self.keyPem, cert: self.certPem } });
  await env.server('127.0.0.63', {});
  const sts = await env.ca.issue({ dnsNames: ['mx.sts.details.test'] });
  await env.server('127.0.0.64', { tls: { key: sts.keyPem, cert: sts.chainPem } });
  stsSite = {
    cert: await env.ca.issue({ dnsNames: ['mta-sts.sts.details.test'] }),
    response: policyText('enforce', ['mx.sts.details.test']),
  };
  policies = await startPolicyServer({
    address: '127.0.0.3',
    port: env.port,
    sites: { 'sts.details.test': stsSite },
  });
  dir = await mkdtemp(join(tmpdir(), 'mxsec-cli-check-details-'));
  config = await writeCliConfig(env, dir, [
    '[queue.tls.nodane]',
    'dane = "disable"',
    '[queue.strategy]',
    'tls = [ { if = "retry_num > 5", then = "\'nodane\'" }, { else = "\'default\'" } ]',
  ]);
});

after(async () => {
  await policies?.close();
  await env?.close();
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

describe('mxsec check: DANE detail per MX host', () => {
  test('RFC 7672 3.1: DNSSEC status, the TLSA records with RFC 7218 names and usability, and the DANE-EE record that matched', async () => {
    const { code, json } = await check('ee.details.test');
    assert.equal(code, 0);
    const host = json.hosts[0]!;
    assert.deepEqual([host['dnssec_mx'], host['dnssec']], ['secure', 'secure']);
    assert.deepEqual([host.tlsa.name, host.tlsa.result], ['_25._tcp.mx.ee.details.test', 'secure']);
    assert.deepEqual(host.tlsa.records, [
      {
        record: `3 1 1 ${hex(sha256(self.spkiDer))}`,
        usage: 3,
        usage_name: 'DANE-EE',
        selector: 1,
        selector_name: 'SPKI',
        matching_type: 1,
        matching_name: 'SHA2-256',
        usable: true,
        unusable_reason: null,
      },
      {
        record: `0 0 1 ${hex(sha256(other.der))}`,
        usage: 0,
        usage_name: 'PKIX-TA',
        selector: 0,
        selector_name: 'Cert',
        matching_type: 1,
        matching_name: 'SHA2-256',
        usable: false,
        unusable_reason: 'pkix-usage',
      },
    ]);
    assert.deepEqual(host.sessions[0]!.dane, {
      matched: true,
      usage: 'DANE-EE',
      record: `3 1 1 ${hex(sha256(self.spkiDer))}`,
      enforced: true,
    });
    assert.deepEqual(host.verdict, { deliver: true, security: 'dane' });
  });

  test('human output shows the same: DNSSEC line, each TLSA record usable or why not, the matched record', async () => {
    const r = await runCli(['check', 'ee.details.test', '--config', config]);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    assert.match(r.stdout, /^ {2}DNSSEC: MX RRset secure, addresses secure$/m);
    assert.match(
      r.stdout,
      /^ {2}TLSA _25\._tcp\.mx\.ee\.details\.test: 2 record\(s\), DNSSEC secure, 1 usable$/m,
    );
    assert.match(r.stdout, /^ {4}3 1 1 [0-9A-F]{64} \(DANE-EE SPKI SHA2-256\): usable$/m);
    assert.match(
      r.stdout,
      /^ {4}0 0 1 [0-9A-F]{64} \(PKIX-TA Cert SHA2-256\): unusable, PKIX-TA\/PKIX-EE are not used for SMTP/m,
    );
    assert.match(r.stdout, /^ {4}DANE: DANE-EE matched 3 1 1 \(DANE-EE SPKI SHA2-256\)$/m);
  });

  test('RFC 7672 2.2: no record matches the presented key: why, and the verdict defers (dane, 4.7.5)', async () => {
    const { code, json } = await check('mismatch.details.test');
    assert.equal(code, 75);
    const host = json.hosts[0]!;
    const dane = host.sessions[0]!.dane!;
    assert.deepEqual(
      [dane['matched'], dane['reason'], dane['enforced']],
      [false, 'no-match', true],
    );
    assert.match(String(dane['message']), /no TLSA record matches the certificate chain/);
    assert.deepEqual(
      [host.verdict['deliver'], host.verdict['class'], host.verdict['code']],
      [false, 'dane', '4.7.5'],
    );
    const human = await runCli(['check', 'mismatch.details.test', '--config', config]);
    assert.match(human.stdout, /^ {4}DANE: no TLSA record matched \(no-match\): /m);
  });

  test('RFC 7672 2.2.1: an unsigned MX RRset: TLSA not looked up, and why', async () => {
    const { code, json } = await check('unsigned.details.test');
    assert.equal(code, 0);
    const host = json.hosts[0]!;
    assert.deepEqual(
      [host['dnssec_mx'], host['dnssec'], host.tlsa.result, host.tlsa.records],
      ['insecure', 'insecure', 'not-applicable', []],
    );
    assert.equal(host['dane'], 'none');
    assert.equal(host.sessions[0]!.dane, null);
    const human = await runCli(['check', 'unsigned.details.test', '--config', config]);
    assert.match(
      human.stdout,
      /TLSA _25\._tcp\.mx\.unsigned\.details\.test: not looked up: the MX RRset is not DNSSEC-signed/,
    );
  });

  test('a strategy that disables DANE still shows the records and the match, marked not enforced', async () => {
    const { json } = await check('ee.details.test', '--var', 'retry_num=6');
    const host = json.hosts[0]!;
    assert.deepEqual(
      [host['strategy'], host['dane'], host.tlsa.result],
      ['nodane', 'none', 'secure'],
    );
    assert.deepEqual(
      [host.sessions[0]!.dane?.['matched'], host.sessions[0]!.dane?.['enforced']],
      [true, false],
    );
    // Without DANE the self-signed certificate is judged by PKIX, and fails.
    assert.equal(host.verdict['class'], 'tls');
  });
});

describe('mxsec check: MTA-STS detail for the domain', () => {
  test('RFC 8461 4.1: TXT record, policy, fetched now, and which MX hosts the policy authorizes', async () => {
    const { code, json } = await check('sts.details.test');
    assert.equal(
      code,
      75,
      'other.sts.details.test is not in the enforce policy, so that host would refuse',
    );
    const sts = json.mta_sts;
    assert.deepEqual((sts['txt'] as Json)['records'], ['v=STSv1; id=1;']);
    assert.deepEqual(
      [sts['result'], sts['cache'], sts['refresh_error'], sts['error']],
      ['policy', 'fetched', null, null],
    );
    const policy = sts['policy'] as Json;
    assert.deepEqual(
      [policy['id'], policy['mode'], policy['max_age'], policy['mx']],
      ['1', 'enforce', 86_400, ['mx.sts.details.test']],
    );
    assert.deepEqual(sts['authorized'], [
      { mx: 'mx.sts.details.test', pattern: 'mx.sts.details.test' },
      { mx: 'other.sts.details.test', pattern: null },
    ]);
    assert.deepEqual(
      json.hosts.map((h) => h.verdict['deliver']),
      [true, false],
    );
  });

  test('RFC 8461 5.1: the second run uses the persistent cache; a failed refresh keeps it and says why', async () => {
    const cached = await check('sts.details.test');
    assert.equal(cached.json.mta_sts['cache'], 'cache');
    const human = await runCli(['check', 'sts.details.test', '--config', config]);
    assert.match(human.stdout, /^MTA-STS: _mta-sts\.sts\.details\.test TXT: "v=STSv1; id=1;"$/m);
    assert.match(
      human.stdout,
      /^ {2}policy id 1: mode enforce, max_age 86400 \(1d\), mx mx\.sts\.details\.test \(from cache\)$/m,
    );
    assert.match(
      human.stdout,
      /^ {2}mx\.sts\.details\.test: authorized by 'mx\.sts\.details\.test'$/m,
    );
    assert.match(human.stdout, /^ {2}other\.sts\.details\.test: not authorized by the policy$/m);

    // A new id makes the policy stale; the refresh then fails, and the cached policy stays in force.
    const before = policies.fetches('sts.details.test');
    zone['_mta-sts.sts.details.test'] = { TXT: ['v=STSv1; id=2;'] };
    policies.set('sts.details.test', {
      cert: stsSite.cert,
      response: { status: 503, contentType: 'text/plain', body: 'down' },
    });
    try {
      const { json } = await check('sts.details.test');
      assert.equal(policies.fetches('sts.details.test'), before + 1);
      const sts = json.mta_sts;
      assert.deepEqual(
        [sts['result'], sts['cache'], (sts['policy'] as Json)['id']],
        ['policy', 'cache', '1'],
      );
      const refresh = sts['refresh_error'] as Json;
      assert.deepEqual(
        [refresh['stage'], refresh['kind'], refresh['tlsrpt']],
        ['fetch', 'status', 'sts-policy-fetch-error'],
      );
      assert.equal(json.hosts[0]!.verdict['deliver'], true);
    } finally {
      zone['_mta-sts.sts.details.test'] = { TXT: ['v=STSv1; id=1;'] };
      policies.set('sts.details.test', stsSite);
    }
  });

  test('RFC 8461 3.1: a domain without a TXT record shows no policy', async () => {
    const { json } = await check('ee.details.test');
    assert.deepEqual(
      [json.mta_sts['result'], json.mta_sts['policy'], json.mta_sts['authorized']],
      ['none', null, []],
    );
    assert.equal((json.mta_sts['error'] as Json)['kind'], 'no-record');
  });
});
