/**
 * The strict MTA-STS policy fetch (RFC 8461 section 3.3) against a real HTTPS server on 127.0.0.1 with a
 * throw-away CA, resolving `mta-sts.<domain>` through mxsec's own DNS client and the in-process test DNS
 * server (never the OS resolver: none of these names exist outside the test zone).
 *
 * Each scenario is its own policy domain `<scenario>.example.test`; the server picks the certificate by
 * SNI and the response by Host header. Hostile cases: a server that redirects (an attacker on the
 * policy host must not be able to send us elsewhere), one that trickles its body (must not hold a
 * worker), one that sends an endless body (must be cut off), and certificates that must be refused.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import https from 'node:https';
import tls from 'node:tls';
import type { AddressInfo } from 'node:net';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createResolver } from '../../src/dns/client.js';
import type { Resolver } from '../../src/dns/types.js';
import { startDnsServer, type TestDnsServer, type TestZone } from '../support/dns-server.js';
import { createSelfSigned, createTestCa, type TestCert } from '../support/pki.js';
import { MemoryPolicyCache } from '../../src/mtasts/cache.js';
import {
  createPolicyFetcher,
  DEFAULT_MAX_POLICY_BYTES,
  fetchPolicy,
  type PolicyFetchOptions,
} from '../../src/mtasts/fetch.js';
import type { PolicyFetchResult } from '../../src/mtasts/fetch-result.js';
import { resolveMtaSts } from '../../src/mtasts/resolve.js';

const GENEROUS_MS = 30_000;
const POLICY = 'version: STSv1\r\nmode: enforce\r\nmx: mail.example.test\r\nmax_age: 86400\r\n';
const DAY = 86_400_000;

/** A valid policy padded with an extension line to exactly `size` bytes. */
function policyOfSize(size: number): string {
  const head = 'version: STSv1\nmode: enforce\nmx: mail.example.test\nmax_age: 86400\npad: ';
  return `${head}${'x'.repeat(size - head.length - 1)}\n`;
}

type Handler = (request: IncomingMessage, response: ServerResponse) => void;
const text =
  (body: string, type = 'text/plain'): Handler =>
  (_request, response) => {
    response.writeHead(200, { 'content-type': type });
    response.end(body);
  };

const handlers: Readonly<Record<string, Handler>> = {
  ok: text(POLICY),
  charset: text(POLICY, 'Text/Plain; charset=utf-8'),
  redirect: (_request, response) => {
    response.writeHead(301, {
      location: 'https://mta-sts.ok.example.test/.well-known/mta-sts.txt',
    });
    response.end();
  },
  missing: (_request, response) => {
    response.writeHead(404, { 'content-type': 'text/plain' });
    response.end('not found');
  },
  html: text(POLICY, 'text/html'),
  notype: (_request, response) => {
    response.removeHeader('content-type');
    response.writeHead(200);
    response.end(POLICY);
  },
  invalid: text('version: STSv1\nmode: enforce\nmax_age: 86400\n'),
  exact: text(policyOfSize(DEFAULT_MAX_POLICY_BYTES)),
  oversize: text(policyOfSize(DEFAULT_MAX_POLICY_BYTES + 1)),
  endless: (_request, response) => {
    // Chunked, no Content-Length: only counting the bytes can stop this.
    response.writeHead(200, { 'content-type': 'text/plain' });
    const chunk = 'x'.repeat(16 * 1024);
    const pump = (): void => {
      while (!response.destroyed && response.write(chunk));
      if (!response.destroyed) response.once('drain', pump);
    };
    pump();
  },
  slow: (_request, response) => {
    // Headers and a first line, then nothing: the fetch's single deadline must cover the body too.
    response.writeHead(200, { 'content-type': 'text/plain' });
    response.write('version: STSv1\n');
  },
};

let ca: Awaited<ReturnType<typeof createTestCa>>;
let server: https.Server;
let dns: TestDnsServer;
let resolver: Resolver;
let port: number;

before(async () => {
  ca = await createTestCa();
  const otherCa = await createTestCa({ commonName: 'Some Other CA' });
  const scenarios = [...Object.keys(handlers), 'selfsigned', 'wrongname', 'expired', 'foreignca'];
  const certs = new Map<string, TestCert>();
  for (const scenario of Object.keys(handlers)) {
    certs.set(scenario, await ca.issue({ dnsNames: [`mta-sts.${scenario}.example.test`] }));
  }
  certs.set(
    'selfsigned',
    await createSelfSigned({ dnsNames: ['mta-sts.selfsigned.example.test'] }),
  );
  certs.set(
    'wrongname',
    await ca.issue({ dnsNames: ['www.wrongname.example.test', 'wrongname.example.test'] }),
  );
  certs.set(
    'expired',
    await ca.issue({
      dnsNames: ['mta-sts.expired.example.test'],
      notBefore: new Date(Date.now() - 10 * DAY),
      notAfter: new Date(Date.now() - DAY),
    }),
  );
  certs.set('foreignca', await otherCa.issue({ dnsNames: ['mta-sts.foreignca.example.test'] }));
  const contexts = new Map(
    [...certs].map(([scenario, cert]) => [
      `mta-sts.${scenario}.example.test`,
      tls.createSecureContext({ cert: cert.chainPem, key: cert.keyPem }),
    ]),
  );
  const fallback = certs.get('ok')!;

  server = https.createServer(
    {
      cert: fallback.chainPem,
      key: fallback.keyPem,
      SNICallback: (name, callback) => callback(null, contexts.get(name.toLowerCase())),
    },
    (request, response) => {
      const scenario =
        /^mta-sts\.([a-z]+)\.example\.test(?::\d+)?$/.exec(request.headers.host ?? '')?.[1] ?? '';
      const handler =
        request.url === '/.well-known/mta-sts.txt'
          ? (handlers[scenario] ?? handlers.ok)
          : handlers.missing;
      handler!(request, response);
    },
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;

  const zone: TestZone = Object.fromEntries(
    scenarios.map((scenario) => [`mta-sts.${scenario}.example.test`, { A: ['127.0.0.1'] }]),
  );
  // Resolves, but nothing listens there: 127.0.0.0/8 is all loopback, the server is bound to .1 only.
  zone['mta-sts.refused.example.test'] = { A: ['127.0.0.2'] };
  zone['mta-sts.servfail.example.test'] = { servfail: true };
  zone['_mta-sts.ok.example.test'] = { TXT: ['v=STSv1; id=20240101T000000;'] };
  dns = await startDnsServer({ zone });
  resolver = createResolver({
    nameservers: [dns.nameserver],
    timeoutMs: 5_000,
    attempts: 2,
    trustAd: false,
  });
});

after(async () => {
  server?.closeAllConnections();
  await new Promise<void>((resolve) =>
    server === undefined ? resolve() : server.close(() => resolve()),
  );
  await dns?.close();
});

function fetchScenario(
  scenario: string,
  overrides: Partial<PolicyFetchOptions> = {},
): Promise<PolicyFetchResult> {
  return fetchPolicy(`${scenario}.example.test`, {
    resolver,
    ca: [ca.certPem],
    timeoutMs: GENEROUS_MS,
    port,
    ...overrides,
  });
}

function errorOf(result: PolicyFetchResult) {
  assert.equal(result.ok, false, 'expected the fetch to fail');
  assert.ok(!result.ok);
  return result.error;
}

describe('RFC 8461 3.3: HTTPS policy fetch', () => {
  test('RFC 8461 3.3: a 200 text/plain valid policy from a trusted host is returned with its text', async () => {
    const result = await fetchScenario('ok');
    assert.ok(result.ok, result.ok ? '' : result.error.message);
    assert.equal(result.text, POLICY);
    assert.deepEqual(result.policy.mx, ['mail.example.test']);
  });

  test('RFC 8461 3.3: the policy host is resolved through our resolver, A and AAAA', async () => {
    const result = await fetchScenario('charset');
    assert.ok(result.ok);
    // The name exists only in the test zone, so reaching the server at all proves our resolver was used.
    assert.ok(dns.queries.count('mta-sts.charset.example.test', 'A') >= 1);
    assert.ok(dns.queries.count('mta-sts.charset.example.test', 'AAAA') >= 1);
  });

  test('RFC 8461 3.3: media type parameters and case do not matter', async () => {
    assert.equal((await fetchScenario('charset')).ok, true);
  });

  test('RFC 8461 3.3: a 3xx redirect is not followed', async () => {
    const error = errorOf(await fetchScenario('redirect'));
    assert.ok(error.kind === 'redirect');
    assert.equal(error.status, 301);
    assert.equal(error.location, 'https://mta-sts.ok.example.test/.well-known/mta-sts.txt');
  });

  test('RFC 8461 3.3: HTTP 404 is not a policy', async () => {
    const error = errorOf(await fetchScenario('missing'));
    assert.equal(error.kind === 'status' && error.status, 404);
  });

  test('RFC 8461 3.3: text/html is not a policy', async () => {
    const error = errorOf(await fetchScenario('html'));
    assert.equal(error.kind === 'media-type' && error.contentType, 'text/html');
  });

  test('RFC 8461 3.3: a response without a media type is not a policy', async () => {
    assert.equal(errorOf(await fetchScenario('notype')).kind, 'media-type');
  });

  test('RFC 8461 3.2: an invalid policy body is a parse error naming what is wrong', async () => {
    const error = errorOf(await fetchScenario('invalid'));
    assert.ok(error.kind === 'parse');
    assert.match(error.error.message, /requires at least one "mx"/);
  });

  test('RFC 8461 3.3: a body of exactly 64 KiB is accepted', async () => {
    const result = await fetchScenario('exact');
    assert.ok(result.ok, result.ok ? '' : result.error.message);
    assert.equal(Buffer.byteLength(result.text), DEFAULT_MAX_POLICY_BYTES);
  });

  test('RFC 8461 3.3: a body one byte over 64 KiB is refused', async () => {
    const error = errorOf(await fetchScenario('oversize'));
    assert.equal(error.kind === 'too-large' && error.limit, DEFAULT_MAX_POLICY_BYTES);
  });

  test('RFC 8461 3.3: an endless chunked body is cut off at the cap', async () => {
    assert.equal(errorOf(await fetchScenario('endless')).kind, 'too-large');
  });

  test('RFC 8461 3.3: a body that never completes ends in a timeout', async () => {
    const error = errorOf(await fetchScenario('slow', { timeoutMs: 1_000 }));
    assert.equal(error.kind === 'timeout' && error.timeoutMs, 1_000);
  });

  const certificateCases = [
    ['selfsigned', 'a self-signed certificate', 'untrusted'],
    ['foreignca', 'a certificate from a CA outside the trust store', 'untrusted'],
    ['wrongname', 'a certificate not valid for mta-sts.<domain>', 'hostname'],
    ['expired', 'an expired certificate', 'expired'],
  ] as const;
  for (const [scenario, what, reason] of certificateCases) {
    test(`RFC 8461 3.3: ${what} is refused (tls/${reason})`, async () => {
      const error = errorOf(await fetchScenario(scenario));
      assert.equal(error.kind, 'tls', error.message);
      assert.equal(error.kind === 'tls' && error.reason, reason);
    });
  }

  test('RFC 8461 3.3: only the given trust store is used', async () => {
    const other = await createTestCa({ commonName: 'Unrelated CA' });
    const error = errorOf(await fetchScenario('ok', { ca: [other.certPem] }));
    assert.equal(error.kind === 'tls' && error.reason, 'untrusted');
  });

  test('RFC 8461 3.3: a policy host without address records is a DNS error', async () => {
    const error = errorOf(await fetchScenario('unlisted'));
    assert.ok(error.kind === 'dns');
    assert.equal(error.failure, undefined);
  });

  test('RFC 8461 3.3: a failing lookup of the policy host is a DNS error carrying the failure', async () => {
    const error = errorOf(await fetchScenario('servfail'));
    assert.equal(error.kind === 'dns' && error.failure?.kind, 'servfail');
  });

  test('RFC 8461 3.3: a refused connection is a connect error', async () => {
    const error = errorOf(await fetchScenario('refused'));
    assert.equal(error.kind === 'connect' && error.code, 'ECONNREFUSED');
  });

  test('RFC 8461 5.1: discovery end to end: TXT, fetch, cache, then a cache hit without a second fetch', async () => {
    const fetcher = createPolicyFetcher({ resolver, ca: [ca.certPem], port });
    let fetches = 0;
    const counting: typeof fetcher = (domain, options) => {
      fetches += 1;
      return fetcher(domain, options);
    };
    const deps = {
      resolver,
      fetch: counting,
      cache: new MemoryPolicyCache(),
      now: () => 1_700_000_000_000,
    };
    const first = await resolveMtaSts(deps, 'ok.example.test', { timeoutMs: GENEROUS_MS });
    assert.ok(first.kind === 'policy', JSON.stringify(first));
    assert.deepEqual(
      [first.source, first.id, first.policy.mode],
      ['fetched', '20240101T000000', 'enforce'],
    );
    const second = await resolveMtaSts(deps, 'ok.example.test', { timeoutMs: GENEROUS_MS });
    assert.equal(second.kind === 'policy' && second.source, 'cache');
    assert.equal(fetches, 1);
  });
});
