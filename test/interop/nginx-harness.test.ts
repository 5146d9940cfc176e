/**
 * Smoke test of the nginx harness with Debian's curl only: a policy host serves
 * `/.well-known/mta-sts.txt` over HTTPS with the test CA's certificate and the content type asked for
 * (RFC 8461 section 3.2 wants text/plain), a site configured to redirect answers 301 with its Location
 * (which RFC 8461 section 3.3 forbids clients to follow), other statuses carry their body, and a client
 * that does not trust the test CA is refused. nginx is stopped in `after`.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createTestCa } from '../support/pki.js';
import { SMOKE } from './harness/addresses.js';
import { startNginx } from './harness/nginx.js';
import type { NginxInstance } from './harness/nginx.js';
import { interopAvailable } from './harness/require.js';
import { run } from './harness/run.js';

const POLICY_HOST = 'mta-sts.example.test';
const REDIRECT_HOST = 'mta-sts.moved.test';
const POLICY = 'version: STSv1\r\nmode: enforce\r\nmx: mx.example.test\r\nmax_age: 86400\r\n';
const POLICY_PATH = '/.well-known/mta-sts.txt';

interface Fetched {
  readonly code: number | null;
  readonly status: string;
  readonly contentType: string;
  readonly location: string;
  readonly body: string;
  readonly stderr: string;
}

describe('nginx harness: HTTPS policy hosts', interopAvailable(['nginx', 'curl']), () => {
  let dir: string;
  let caFile: string;
  let nginx: NginxInstance | undefined;

  /** curl, with the host name pinned to its loopback address as DNS would do; never follows redirects. */
  async function fetch(
    host: string,
    address: string,
    urlPath: string,
    trustTestCa = true,
  ): Promise<Fetched> {
    const bodyFile = path.join(dir, 'body');
    rmSync(bodyFile, { force: true });
    const result = await run('curl', [
      '-sS',
      '--max-time',
      '60',
      '--resolve',
      `${host}:443:${address}`,
      ...(trustTestCa ? ['--cacert', caFile] : []),
      '-o',
      bodyFile,
      '-w',
      '%{http_code}\\n%{content_type}\\n%{redirect_url}\\n',
      `https://${host}${urlPath}`,
    ]);
    const [status = '', contentType = '', location = ''] = result.stdout.split('\n');
    let body = '';
    try {
      body = readFileSync(bodyFile, 'utf8');
    } catch {
      // no body written (e.g. the TLS handshake failed)
    }
    return { code: result.code, status, contentType, location, body, stderr: result.stderr };
  }

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'mxsec-nginx-smoke-'));
    const ca = await createTestCa();
    caFile = path.join(dir, 'ca.pem');
    writeFileSync(caFile, ca.certPem);
    const policyCert = await ca.issue({ dnsNames: [POLICY_HOST] });
    const redirectCert = await ca.issue({ dnsNames: [REDIRECT_HOST] });
    nginx = await startNginx({
      sites: [
        {
          address: SMOKE.policyHost,
          serverName: POLICY_HOST,
          certPem: policyCert.chainPem,
          keyPem: policyCert.keyPem,
          files: {
            [POLICY_PATH]: { body: POLICY },
            '/html-policy': { body: POLICY, contentType: 'text/html' },
            '/unavailable': { status: 503, body: 'try later $uri\n' },
          },
        },
        {
          address: SMOKE.policyRedirect,
          serverName: REDIRECT_HOST,
          certPem: redirectCert.chainPem,
          keyPem: redirectCert.keyPem,
          files: { [POLICY_PATH]: { redirectTo: `https://${POLICY_HOST}${POLICY_PATH}` } },
        },
      ],
    });
  });

  after(async () => {
    await nginx?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('RFC 8461 3.3: the policy is served over HTTPS, byte for byte, as text/plain', async () => {
    const got = await fetch(POLICY_HOST, SMOKE.policyHost, POLICY_PATH);
    assert.equal(got.code, 0, got.stderr);
    assert.equal(got.status, '200');
    assert.equal(got.contentType, 'text/plain');
    assert.equal(got.body, POLICY);
    assert.match(nginx!.accessLog(), /"GET \/\.well-known\/mta-sts\.txt HTTP\/1\.1" 200 /);
  });

  test('RFC 8461 3.2: a site can serve the policy with another content type', async () => {
    const got = await fetch(POLICY_HOST, SMOKE.policyHost, '/html-policy');
    assert.equal(got.status, '200', got.stderr);
    assert.equal(got.contentType, 'text/html');
    assert.equal(got.body, POLICY);
  });

  test('RFC 8461 3.3: the redirect site answers 301 with its Location', async () => {
    const got = await fetch(REDIRECT_HOST, SMOKE.policyRedirect, POLICY_PATH);
    assert.equal(got.code, 0, got.stderr);
    assert.equal(got.status, '301');
    assert.equal(got.location, `https://${POLICY_HOST}${POLICY_PATH}`);
  });

  test('another status carries its body verbatim, and unlisted paths are 404', async () => {
    const unavailable = await fetch(POLICY_HOST, SMOKE.policyHost, '/unavailable');
    assert.equal(unavailable.status, '503', unavailable.stderr);
    assert.equal(unavailable.body, 'try later $uri\n');
    const missing = await fetch(POLICY_HOST, SMOKE.policyHost, '/nothing-here');
    assert.equal(missing.status, '404', missing.stderr);
  });

  test('RFC 8461 3.3: a client that does not trust the test CA refuses the certificate', async () => {
    const got = await fetch(POLICY_HOST, SMOKE.policyHost, POLICY_PATH, false);
    assert.equal(
      got.code,
      60,
      `curl exit 60 (peer certificate not trusted) expected: ${got.stderr}`,
    );
  });
});
