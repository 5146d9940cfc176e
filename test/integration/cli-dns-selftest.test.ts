/**
 * `mxsec dns selftest` in-process (`runCli`) against in-process DNS servers on loopback playing three
 * resolvers: a validating one (AD on the signed name; SERVFAIL on the broken name unless CD is set), a
 * non-validating one (no AD, the broken name answered), and one that SERVFAILs the broken name even
 * with CD. The self-test names come from `[resolver] selftest-secure-name` / `selftest-bogus-name`, so
 * nothing leaves loopback. A non-loopback resolver cannot be tested on loopback: the static start-up
 * check is tested through `createRuntime` (which asks nothing), the verdict in `src/dns/selftest.test.ts`.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRuntime } from '../../src/delivery/runtime.js';
import { runCli } from '../support/capture.js';
import { mustParse } from '../support/delivery-env.js';
import { startDnsServer } from '../support/dns-server.js';
import type { TestDnsServer } from '../support/dns-server.js';

const SIGNED = { MX: [{ preference: 10, exchange: 'mx.signed.selftest.test' }] };

let validating: TestDnsServer;
let plain: TestDnsServer;
let strict: TestDnsServer;
let dir: string;

async function configFor(server: TestDnsServer, extra: readonly string[] = []): Promise<string> {
  const file = join(dir, `${server.port}-${extra.length}.toml`);
  await writeFile(
    file,
    [
      '[resolver]',
      `nameservers = ["${server.nameserver}"]`,
      'timeout = "2s"',
      'selftest-secure-name = "signed.selftest.test"',
      'selftest-bogus-name = "broken.selftest.test"',
      ...extra,
      '[storage]',
      `data-dir = ${JSON.stringify(join(dir, 'data'))}`,
      '',
    ].join('\n'),
  );
  return file;
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mxsec-cli-selftest-'));
  validating = await startDnsServer({
    ad: true,
    zone: {
      'signed.selftest.test': SIGNED,
      'broken.selftest.test': { A: ['192.0.2.1'], bogus: true },
    },
  });
  plain = await startDnsServer({
    ad: false,
    zone: { 'signed.selftest.test': SIGNED, 'broken.selftest.test': { A: ['192.0.2.1'] } },
  });
  strict = await startDnsServer({
    ad: true,
    zone: { 'signed.selftest.test': SIGNED, 'broken.selftest.test': { servfail: true } },
  });
});

after(async () => {
  await validating?.close();
  await plain?.close();
  await strict?.close();
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

describe('mxsec dns selftest', () => {
  test('RFC 7672 2.1.1: a trusted validating resolver: "DANE can work", exit 0; the bogus name was re-asked with CD', async () => {
    const r = await runCli(['dns', 'selftest', '--config', await configFor(validating)]);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    assert.match(
      r.stdout,
      new RegExp(
        `^nameserver ${validating.nameserver.replace(/\./g, '\\.')}: loopback, AD trusted$`,
        'm',
      ),
    );
    assert.match(
      r.stdout,
      /^secure name signed\.selftest\.test MX: secure \(AD set by a trusted resolver\)$/m,
    );
    assert.match(
      r.stdout,
      /^bogus name broken\.selftest\.test A: bogus \(SERVFAIL; answered with CD set/m,
    );
    assert.match(r.stdout, /^DANE can work$/m);
    assert.ok(
      validating.queries.all.some((q) => q.name === 'broken.selftest.test' && q.cd),
      'the CD re-query tells bogus from SERVFAIL',
    );
    assert.ok(
      validating.queries.all.every((q) => q.dnssecOk),
      'every probe asks with DO',
    );
  });

  test('--json gives nameservers, both probes, the verdict, reasons and warnings', async () => {
    const r = await runCli(['dns', 'selftest', '--json', '--config', await configFor(validating)]);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as Record<string, unknown>;
    assert.deepEqual(out['nameservers'], [
      { server: validating.nameserver, loopback: true, ad_trusted: true },
    ]);
    assert.deepEqual(out['secure'], {
      name: 'signed.selftest.test',
      type: 'MX',
      result: 'secure',
      error: null,
    });
    assert.deepEqual(out['bogus'], {
      name: 'broken.selftest.test',
      type: 'A',
      result: 'bogus',
      error: null,
    });
    assert.deepEqual(
      [out['dane'], out['reasons'], out['warnings'], out['trust_ad']],
      [true, [], [], false],
    );
  });

  test('RFC 4035: a resolver that does not validate: "DANE cannot work because", both reasons, exit 75', async () => {
    const r = await runCli(['dns', 'selftest', '--config', await configFor(plain)]);
    assert.equal(r.code, 75, r.stderr + r.stdout);
    assert.match(
      r.stdout,
      /^secure name signed\.selftest\.test MX: insecure \(NOERROR without the AD bit\)$/m,
    );
    assert.match(
      r.stdout,
      /^bogus name broken\.selftest\.test A: answered \(NOERROR\): bogus data was passed on$/m,
    );
    assert.match(
      r.stdout,
      /^DANE cannot work because:\n {2}- signed\.selftest\.test MX came back without the AD bit.*\n {2}- broken\.selftest\.test A was answered/m,
    );
    const json = JSON.parse(
      (await runCli(['dns', 'selftest', '--json', '--config', await configFor(plain)])).stdout,
    ) as { dane: boolean; bogus: { result: string; rcode: string; ad: boolean } };
    assert.equal(json.dane, false);
    assert.deepEqual(
      [json.bogus.result, json.bogus.rcode, json.bogus.ad],
      ['answered', 'NOERROR', false],
    );
  });

  test('RFC 4035 3.2.2: SERVFAIL for the broken name even with CD is a warning; DANE can still work', async () => {
    const r = await runCli(['dns', 'selftest', '--config', await configFor(strict)]);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    assert.match(
      r.stdout,
      /^bogus name broken\.selftest\.test A: servfail \(SERVFAIL with and without CD\)$/m,
    );
    assert.match(r.stdout, /^warning: broken\.selftest\.test A: SERVFAIL also with CD set/m);
    assert.match(r.stdout, /^DANE can work$/m);
  });

  test('the self-test names are checked like every key: bad names and typos exit 78 with position and did-you-mean', async () => {
    const bad = join(dir, 'bad.toml');
    await writeFile(
      bad,
      '[resolver]\nselftest-secure-name = "not a name"\nselftest-bogus-nam = "x.test"\n',
    );
    const r = await runCli(['dns', 'selftest', '--config', bad]);
    assert.equal(r.code, 78);
    assert.match(
      r.stderr,
      /bad\.toml:2:\d+: error: resolver\.selftest-secure-name: not a domain name/,
    );
    assert.match(
      r.stderr,
      /bad\.toml:3:1: error: resolver\.selftest-bogus-nam: unknown key 'selftest-bogus-nam'; did you mean 'selftest-bogus-name'\?/,
    );
    assert.equal(
      (await runCli(['dns', 'selftest', 'extra', '--config', await configFor(validating)])).code,
      64,
    );
  });

  test('RFC 7672 2.1.1: the runtime that send and check build warns when a nameserver is not trusted for AD (static, no query)', async () => {
    const config = mustParse(
      `[resolver]\nnameservers = ["127.0.0.1:53", "192.0.2.53:53"]\n[storage]\ndata-dir = ${JSON.stringify(join(dir, 'data'))}\n`,
    );
    const made = await createRuntime(config, { ephemeralCache: true });
    assert.ok(made.ok);
    made.runtime.close();
    assert.deepEqual(
      made.runtime.warnings.filter((w) => w.startsWith('DNSSEC answers')),
      [
        'DNSSEC answers from 192.0.2.53:53 are not trusted; DANE will not be used (use a validating resolver on loopback, or set resolver.trust-ad = true if the path to it is secure)',
      ],
    );
    const trusted = await createRuntime(
      mustParse('[resolver]\nnameservers = ["192.0.2.53:53"]\ntrust-ad = true\n'),
      { ephemeralCache: true },
    );
    assert.ok(trusted.ok);
    trusted.runtime.close();
    assert.deepEqual(trusted.runtime.warnings, []);
  });
});
