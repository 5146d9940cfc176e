/**
 * `mxsec mta-sts show|fetch|flush` run in-process (`runCli`) against a loopback DNS server and an HTTPS
 * policy server, with the persistent SQLite cache in a temporary data directory, configured as an
 * operator would. What is checked is what the RFC asks of a sender's cache (RFC 8461 sections 3.3, 5.1):
 * `fetch` is a real forced refresh through mxsec's resolver and fetcher and stores what it got; a failed
 * refresh keeps the unexpired cached policy; `show` reports the stored entry and whether a proactive
 * refresh is due; `flush` forgets it. Exit codes: 0, 75 temporary, 69 no policy, 64 usage, 78 config.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../support/capture.js';
import { startDeliveryEnv, writeCliConfig } from '../support/delivery-env.js';
import type { DeliveryEnv } from '../support/delivery-env.js';
import { policyText, startPolicyServer } from '../support/https-policy-server.js';
import type { TestPolicyServer } from '../support/https-policy-server.js';

const zone = {
  'good.sts.test': { MX: [{ preference: 10, exchange: 'mx.good.sts.test' }] },
  '_mta-sts.good.sts.test': { TXT: ['v=STSv1; id=1;', 'unrelated text'] },
  'mta-sts.good.sts.test': { A: ['127.0.0.3'] },
  'badcert.sts.test': { MX: [{ preference: 10, exchange: 'mx.badcert.sts.test' }] },
  '_mta-sts.badcert.sts.test': { TXT: ['v=STSv1; id=7;'] },
  'mta-sts.badcert.sts.test': { A: ['127.0.0.3'] },
  'zero.sts.test': { MX: [{ preference: 10, exchange: 'mx.zero.sts.test' }] },
  '_mta-sts.zero.sts.test': { TXT: ['v=STSv1; id=0;'] },
  'mta-sts.zero.sts.test': { A: ['127.0.0.3'] },
  'nopolicy.sts.test': { MX: [{ preference: 10, exchange: 'mx.nopolicy.sts.test' }] },
  'servfail.sts.test': { MX: [{ preference: 10, exchange: 'mx.servfail.sts.test' }] },
  '_mta-sts.servfail.sts.test': { servfail: true },
};

let env: DeliveryEnv;
let policies: TestPolicyServer;
let dir: string;
let config: string;
let goodSite: Parameters<TestPolicyServer['set']>[1];

const mtaSts = (...args: string[]) => runCli(['mta-sts', ...args, '--config', config]);
const parsed = (stdout: string) => JSON.parse(stdout) as Record<string, unknown>;

before(async () => {
  env = await startDeliveryEnv(zone);
  goodSite = {
    cert: await env.ca.issue({ dnsNames: ['mta-sts.good.sts.test'] }),
    response: policyText('enforce', ['mx.good.sts.test', '*.good.sts.test']),
  };
  policies = await startPolicyServer({
    address: '127.0.0.3',
    port: env.port,
    sites: {
      'good.sts.test': goodSite,
      // A certificate for another name: the fetch must fail as a WebPKI error (RFC 8461 3.3).
      'badcert.sts.test': {
        cert: await env.ca.issue({ dnsNames: ['wrong.sts.test'] }),
        response: policyText('enforce', ['mx.badcert.sts.test']),
      },
      'zero.sts.test': {
        cert: await env.ca.issue({ dnsNames: ['mta-sts.zero.sts.test'] }),
        response: policyText('testing', ['mx.zero.sts.test'], 0),
      },
    },
  });
  dir = await mkdtemp(join(tmpdir(), 'mxsec-cli-mtasts-'));
  config = await writeCliConfig(env, dir);
});

after(async () => {
  await policies?.close();
  await env?.close();
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

describe('mxsec mta-sts', () => {
  test('show before any fetch says "not cached" and does not create the cache file', async () => {
    const r = await mtaSts('show', 'good.sts.test');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'good.sts.test: not cached\n');
    assert.equal(existsSync(join(dir, 'data', 'mta-sts.sqlite')), false);
    assert.deepEqual(parsed((await mtaSts('show', 'good.sts.test', '--json')).stdout), {
      domain: 'good.sts.test',
      cached: false,
    });
  });

  test('RFC 8461 3.3: fetch prints the TXT record and the policy text, stores it, exit 0', async () => {
    const before = policies.fetches('good.sts.test');
    const r = await mtaSts('fetch', 'good.sts.test');
    assert.equal(r.code, 0, r.stderr + r.stdout);
    assert.match(r.stdout, /^_mta-sts\.good\.sts\.test TXT: "v=STSv1; id=1;"$/m);
    assert.doesNotMatch(r.stdout, /unrelated text/);
    assert.match(
      r.stdout,
      /^policy from https:\/\/mta-sts\.good\.sts\.test:\d+\/\.well-known\/mta-sts\.txt:$/m,
    );
    assert.match(r.stdout, /^ {2}\| mode: enforce$/m);
    assert.match(
      r.stdout,
      /^stored: id 1: mode enforce, max_age 86400 \(1d\), mx mx\.good\.sts\.test, \*\.good\.sts\.test; expires /m,
    );
    assert.equal(policies.fetches('good.sts.test'), before + 1);
    assert.ok(existsSync(join(dir, 'data', 'mta-sts.sqlite')));
  });

  test('show --json reports the stored entry: id, mode, max_age, mx, times, no refresh due yet', async () => {
    const r = await mtaSts('show', 'good.sts.test', '--json');
    assert.equal(r.code, 0, r.stderr);
    const out = parsed(r.stdout);
    assert.deepEqual(
      [
        out['cached'],
        out['id'],
        out['mode'],
        out['max_age'],
        out['mx'],
        out['expired'],
        out['refresh_due'],
      ],
      [true, '1', 'enforce', 86_400, ['mx.good.sts.test', '*.good.sts.test'], false, false],
    );
    assert.equal(
      Date.parse(String(out['expires_at'])) - Date.parse(String(out['fetched_at'])),
      86_400_000,
    );
    assert.match(String(out['policy_text']), /^version: STSv1\r\n/);
    const human = await mtaSts('show', 'good.sts.test');
    assert.match(human.stdout, /^good\.sts\.test: cached MTA-STS policy id 1: mode enforce/m);
    assert.match(human.stdout, /^ {2}proactive refresh not due$/m);
  });

  test('RFC 8461 3.3: fetch is a forced refresh: it fetches again although the TXT id is unchanged', async () => {
    const before = policies.fetches('good.sts.test');
    const r = await mtaSts('fetch', 'good.sts.test', '--json');
    assert.equal(r.code, 0, r.stderr);
    const out = parsed(r.stdout);
    assert.deepEqual([out['result'], out['stored'], out['error']], ['fetched', true, null]);
    assert.deepEqual((out['txt'] as { records: string[] }).records, ['v=STSv1; id=1;']);
    assert.equal(policies.fetches('good.sts.test'), before + 1);
  });

  test('RFC 8461 5.1: a failed refresh exits 75 and keeps the unexpired cached policy', async () => {
    policies.set('good.sts.test', {
      cert: goodSite.cert,
      response: { status: 500, contentType: 'text/plain', body: 'oops' },
    });
    try {
      const r = await mtaSts('fetch', 'good.sts.test');
      assert.equal(r.code, 75, r.stderr + r.stdout);
      assert.match(
        r.stdout,
        /^good\.sts\.test: fetch failed: https:\/\/mta-sts\.good\.sts\.test:\d+\/\.well-known\/mta-sts\.txt: HTTP 500 \[TLS-RPT sts-policy-fetch-error\]$/m,
      );
      assert.match(r.stdout, /the cached policy id 1: mode enforce.* stays in force until /);
      const shown = parsed((await mtaSts('show', 'good.sts.test', '--json')).stdout);
      assert.deepEqual([shown['cached'], shown['id']], [true, '1']);
    } finally {
      policies.set('good.sts.test', goodSite);
    }
  });

  test('RFC 8461 3.3: a policy host certificate for another name is a temporary fetch error (tls), nothing stored', async () => {
    const r = await mtaSts('fetch', 'badcert.sts.test', '--json');
    assert.equal(r.code, 75, r.stderr);
    const out = parsed(r.stdout);
    assert.deepEqual([out['result'], out['stored'], out['policy']], ['error', false, null]);
    const error = out['error'] as Record<string, unknown>;
    assert.deepEqual(
      [error['stage'], error['kind'], error['tlsrpt']],
      ['fetch', 'tls', 'sts-webpki-invalid'],
    );
    assert.equal(
      parsed((await mtaSts('show', 'badcert.sts.test', '--json')).stdout)['cached'],
      false,
    );
  });

  test('RFC 8461 3.1: a domain without a TXT record has no policy: exit 69', async () => {
    const r = await mtaSts('fetch', 'nopolicy.sts.test', '--json');
    assert.equal(r.code, 69, r.stderr);
    const out = parsed(r.stdout);
    assert.equal(out['result'], 'none');
    assert.deepEqual(
      [
        (out['error'] as Record<string, unknown>)['stage'],
        (out['error'] as Record<string, unknown>)['kind'],
      ],
      ['txt', 'no-record'],
    );
    const human = await mtaSts('fetch', 'nopolicy.sts.test');
    assert.match(human.stdout, /^_mta-sts\.nopolicy\.sts\.test TXT: no v=STSv1 record$/m);
    assert.match(human.stdout, /^nopolicy\.sts\.test: no MTA-STS policy: /m);
  });

  test('a SERVFAIL at _mta-sts is a temporary DNS failure: exit 75', async () => {
    const r = await mtaSts('fetch', 'servfail.sts.test', '--json');
    assert.equal(r.code, 75, r.stderr);
    const error = parsed(r.stdout)['error'] as Record<string, unknown>;
    assert.deepEqual([error['stage'], error['kind']], ['dns', 'servfail']);
  });

  test('RFC 8461 3.2: max_age 0 is stored, and show says it is expired and a refresh is due', async () => {
    assert.equal((await mtaSts('fetch', 'zero.sts.test')).code, 0);
    const out = parsed((await mtaSts('show', 'zero.sts.test', '--json')).stdout);
    assert.deepEqual(
      [out['mode'], out['max_age'], out['expired'], out['refresh_due']],
      ['testing', 0, true, true],
    );
    assert.match(
      (await mtaSts('show', 'zero.sts.test')).stdout,
      /expired .*: no longer applied\n {2}proactive refresh due/,
    );
  });

  test('flush removes the entry; a second flush finds nothing', async () => {
    assert.equal((await mtaSts('fetch', 'good.sts.test')).code, 0);
    const r = await mtaSts('flush', 'GOOD.sts.test.', '--json');
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(parsed(r.stdout), { domain: 'good.sts.test', removed: true });
    assert.equal((await mtaSts('show', 'good.sts.test')).stdout, 'good.sts.test: not cached\n');
    assert.equal((await mtaSts('flush', 'good.sts.test')).stdout, 'good.sts.test: not cached\n');
  });

  test('usage errors exit 64; a broken configuration exits 78', async () => {
    const none = await runCli(['mta-sts']);
    assert.equal(none.code, 64);
    assert.match(none.stderr, /mta-sts takes show\|fetch\|flush DOMAIN/);
    const typo = await mtaSts('shwo', 'good.sts.test');
    assert.equal(typo.code, 64);
    assert.match(typo.stderr, /did you mean 'show'/);
    assert.equal((await mtaSts('show')).code, 64);
    assert.equal((await mtaSts('fetch', 'a.test', 'b.test')).code, 64);
    assert.equal((await mtaSts('flush', 'not a domain')).code, 64);
    const broken = join(dir, 'broken.toml');
    await writeFile(broken, '[storage]\ndata-dri = "x"\n');
    const r = await runCli(['mta-sts', 'show', 'good.sts.test', '--config', broken]);
    assert.equal(r.code, 78);
    assert.match(r.stderr, /broken\.toml:2:1: error: storage\.data-dri/);
  });
});
