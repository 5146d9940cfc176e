/**
 * Benchmark of whole deliveries: messages per second through `deliverToDomain` to in-process SMTP
 * sinks on loopback, one message per connection (route lookup, strategy selection, DANE and MTA-STS
 * discovery, SMTP session, STARTTLS, certificate facts, QUIT), sequentially and with 8 in flight.
 * Client and sinks share one process and one event loop, so concurrency overlaps waiting, not CPU.
 *
 * References measured in the same run, against the same machine:
 * - bare TLS handshakes per second (`tls.connect` to a `tls.createServer` holding a certificate of the
 *   same kind from the same test CA, client options from `src/tls/profile.ts` and the delivery's own
 *   trust store): the ceiling of anything that does one handshake per message (the test SMTP sink, like
 *   the handshake sink, builds its server context once);
 * - plaintext deliveries per second (a sink that offers no STARTTLS, same configuration and pipeline).
 *
 * The resolver caches answers for their TTL, so after the first delivery every DNS lookup (MX, A,
 * AAAA, the MTA-STS TXT record) is answered from memory: the "DNS cached" figures exclude DNS. There
 * is no TLSA lookup: the test zone is unsigned, and DANE looks for TLSA only under a DNSSEC-secure MX
 * (RFC 7672 section 2.2.1), so DANE verification is not part of these figures.
 * One cold-cache variant (a new resolver and MTA-STS cache per delivery) shows what DNS adds, and the
 * queries per delivery are reported for both. Every delivery is checked (delivered, over TLS or not as
 * intended); anything else throws, because a benchmark of failures measures nothing. Every server is
 * closed at the end, whatever happens. Run alone with `npx tsx bench/delivery.bench.ts`.
 */

import type net from 'node:net';
import type { AddressInfo } from 'node:net';
import tls from 'node:tls';
import { pathToFileURL } from 'node:url';
import { deliverToDomain } from '../src/delivery/domain.js';
import type { DeliveryDeps } from '../src/delivery/deps.js';
import type { DomainDelivery } from '../src/delivery/types.js';
import { createResolver } from '../src/dns/client.js';
import { MemoryPolicyCache } from '../src/mtasts/cache.js';
import { createPolicyFetcher } from '../src/mtasts/fetch.js';
import { resolveMtaSts } from '../src/mtasts/resolve.js';
import { INITIAL_CONTEXT } from '../src/cli/context.js';
import { startDeliveryEnv } from '../test/support/delivery-env.js';
import type { DeliveryEnv } from '../test/support/delivery-env.js';
import type { TestCert } from '../test/support/pki.js';
import { clientConnectionOptions } from '../src/tls/profile.js';
import type { TrustStore } from '../src/tls/trust-store.js';
import { formatTable, round } from './report.js';
import { secondsSince } from './timing.js';
import type { BenchResult } from './types.js';

const SEQUENTIAL = 200;
const CONCURRENT = 200;
const CONCURRENCY = 8;
const COLD = 100;
const WARMUP = 20;

const TLS_DOMAIN = 'tls.bench.test';
const PLAIN_DOMAIN = 'plain.bench.test';
const TLS_MX = `mx.${TLS_DOMAIN}`;
const TLS_SINK = '127.0.0.41';
const PLAIN_SINK = '127.0.0.42';
const HANDSHAKE_SINK = '127.0.0.43';

const ZONE = {
  [TLS_DOMAIN]: { MX: [{ preference: 10, exchange: TLS_MX }] },
  [TLS_MX]: { A: [TLS_SINK] },
  [PLAIN_DOMAIN]: { MX: [{ preference: 10, exchange: `mx.${PLAIN_DOMAIN}` }] },
  [`mx.${PLAIN_DOMAIN}`]: { A: [PLAIN_SINK] },
};

const BODY = new TextEncoder().encode(
  'From: bench@sender.test\r\nTo: user@tls.bench.test\r\nSubject: bench\r\n\r\n' +
    'x'.repeat(70).concat('\r\n').repeat(30),
);

type Expect = 'tls' | 'plaintext';

function check(result: DomainDelivery, expect: Expect): void {
  const outcome = result.recipients[0];
  const attempt = result.attempts.at(-1);
  if (outcome?.status !== 'delivered')
    throw new Error(`${result.domain}: not delivered: ${outcome?.message ?? 'no outcome'}`);
  const overTls = attempt?.tls !== null && attempt?.tls !== undefined;
  if (overTls !== (expect === 'tls'))
    throw new Error(
      `${result.domain}: delivered ${overTls ? 'over TLS' : 'in plaintext'}, expected ${expect}`,
    );
}

async function deliver(deps: DeliveryDeps, domain: string, expect: Expect): Promise<void> {
  const result = await deliverToDomain(deps, {
    from: 'bench@sender.test',
    domain,
    recipients: [`user@${domain}`],
    body: BODY,
    context: INITIAL_CONTEXT,
  });
  check(result, expect);
}

/** Runs `count` tasks with at most `concurrency` in flight; returns tasks per second. */
async function rate(
  count: number,
  concurrency: number,
  task: () => Promise<void>,
): Promise<number> {
  let started = 0;
  const worker = async (): Promise<void> => {
    while (started < count) {
      started++;
      await task();
    }
  };
  const start = process.hrtime.bigint();
  await Promise.all(Array.from({ length: concurrency }, worker));
  return count / secondsSince(start);
}

/** A TLS server that completes the handshake and closes: nothing but the handshake is measured. */
async function startHandshakeSink(cert: TestCert): Promise<{ server: net.Server; port: number }> {
  const server = tls.createServer({ key: cert.keyPem, cert: cert.chainPem }, (socket) => {
    socket.on('error', () => socket.destroy());
    socket.end();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, HANDSHAKE_SINK, () => resolve());
  });
  return { server, port: (server.address() as AddressInfo).port };
}

function closeServer(server: net.Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

/** One TCP connection, one handshake with the delivery's client profile and trust, then close. */
function handshake(port: number, trust: TrustStore): Promise<void> {
  return new Promise((resolve, reject) => {
    const options = clientConnectionOptions({
      servername: TLS_MX,
      secureContext: trust.secureContext,
      judgement: 'deferred',
    });
    const socket = tls.connect({ ...options, host: HANDSHAKE_SINK, port }, () => {
      // Deferred judgement completes any handshake; the chain must still have been valid to count.
      if (!socket.authorized)
        reject(new Error(`handshake not authorized: ${String(socket.authorizationError)}`));
      socket.end();
    });
    socket.once('error', reject);
    socket.once('close', () => resolve());
  });
}

/** Delivery dependencies whose resolver and MTA-STS cache are new: every lookup goes to the DNS server. */
function coldDeps(env: DeliveryEnv): DeliveryDeps {
  const resolver = createResolver({
    nameservers: [env.dns.nameserver],
    timeoutMs: 2_000,
    attempts: 2,
    trustAd: false,
  });
  const fetch = createPolicyFetcher({ resolver, ca: [env.ca.certPem], port: 443 });
  const cache = new MemoryPolicyCache();
  return env.deps('', {
    resolver,
    mtaSts: (domain, timeoutMs) =>
      resolveMtaSts({ resolver, fetch, cache, now: () => Date.now() }, domain, { timeoutMs }),
  });
}

async function measure(env: DeliveryEnv, handshakeSink: number): Promise<BenchResult[]> {
  const deps = env.deps('');
  const results: BenchResult[] = [];
  const push = (name: string, unit: string, value: number, baseline?: string): void => {
    results.push({
      name,
      unit,
      value: round(value, unit.endsWith('/s') ? 1 : 2),
      ...(baseline === undefined ? {} : { baseline }),
    });
  };
  // Warm-up fills the DNS cache and lets the JIT compile the delivery path before any timing.
  for (let i = 0; i < WARMUP; i++) {
    await deliver(deps, TLS_DOMAIN, 'tls');
    await deliver(deps, PLAIN_DOMAIN, 'plaintext');
    await handshake(handshakeSink, deps.trust);
  }

  for (const [label, count, concurrency] of [
    ['sequential', SEQUENTIAL, 1],
    [`concurrency ${CONCURRENCY}`, CONCURRENT, CONCURRENCY],
  ] as const) {
    const handshakeName = `tls.handshake ${label}`;
    const plainName = `delivery plaintext ${label} (DNS cached)`;
    push(
      handshakeName,
      'handshakes/s',
      await rate(count, concurrency, () => handshake(handshakeSink, deps.trust)),
    );
    push(
      plainName,
      'deliveries/s',
      await rate(count, concurrency, () => deliver(deps, PLAIN_DOMAIN, 'plaintext')),
    );
    const before = env.dns.queries.all.length;
    const starttls = await rate(count, concurrency, () => deliver(deps, TLS_DOMAIN, 'tls'));
    const queries = (env.dns.queries.all.length - before) / count;
    push(`delivery starttls ${label} (DNS cached)`, 'deliveries/s', starttls, handshakeName);
    push(
      `delivery starttls ${label} (DNS cached) vs plaintext`,
      'deliveries/s',
      starttls,
      plainName,
    );
    push(`delivery starttls ${label} (DNS cached): DNS queries`, 'queries/delivery', queries);
  }

  const before = env.dns.queries.all.length;
  const cold = await rate(COLD, 1, () => deliver(coldDeps(env), TLS_DOMAIN, 'tls'));
  push(
    'delivery starttls sequential (cold DNS cache)',
    'deliveries/s',
    cold,
    'delivery starttls sequential (DNS cached)',
  );
  push(
    'delivery starttls sequential (cold DNS cache): DNS queries',
    'queries/delivery',
    (env.dns.queries.all.length - before) / COLD,
  );
  return results;
}

export async function run(): Promise<BenchResult[]> {
  // Closed in reverse order of start, whether the run completes or throws.
  const closers: (() => Promise<void>)[] = [];
  try {
    const env = await startDeliveryEnv(ZONE);
    closers.push(() => env.close());
    const cert = await env.ca.issue({ dnsNames: [TLS_MX] });
    await env.server(TLS_SINK, { tls: { key: cert.keyPem, cert: cert.chainPem } });
    await env.server(PLAIN_SINK, {});
    const sink = await startHandshakeSink(cert);
    closers.push(() => closeServer(sink.server));
    return await measure(env, sink.port);
  } finally {
    for (const close of closers.reverse()) await close();
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  console.log(formatTable(await run()));
}
