/**
 * A loopback delivery environment for tests: an in-process DNS server with a zone, SMTP test servers
 * on distinct 127.0.0.x addresses sharing one port (so one `port` setting reaches them all, as port 25
 * does on the internet), a test CA trusted by the client, and delivery dependencies built from TOML.
 * MTA-STS policies are fetched from that same shared port (playing 443), so a policy server started
 * with `startPolicyServer({ address: '127.0.0.x', port: env.port })` is reached by name through the zone.
 * Each `deps()` call has its own empty policy cache, so tests do not see each other's policies.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseConfig } from '../../src/config/load.js';
import type { MxsecConfig } from '../../src/config/types.js';
import type { DeliveryDeps } from '../../src/delivery/deps.js';
import { createResolver } from '../../src/dns/client.js';
import { MemoryPolicyCache } from '../../src/mtasts/cache.js';
import { createPolicyFetcher } from '../../src/mtasts/fetch.js';
import { resolveMtaSts } from '../../src/mtasts/resolve.js';
import { DEFAULT_SMTP_TIMEOUTS } from '../../src/smtp/timeouts.js';
import { buildTrustStore } from '../../src/tls/trust-store.js';
import { startDnsServer } from './dns-server.js';
import type { TestDnsServer, TestZone } from './dns-server.js';
import { createTestCa } from './pki.js';
import type { TestCa } from './pki.js';
import { startSmtpServer } from './smtp-server.js';
import type { SmtpServerOptions, TestSmtpServer } from './smtp-server.js';

export interface DeliveryEnv {
  readonly ca: TestCa;
  readonly dns: TestDnsServer;
  readonly servers: Map<string, TestSmtpServer>;
  readonly port: number;
  /** Starts (or replaces) the SMTP server on `address` at the shared port. */
  server(address: string, options?: SmtpServerOptions): Promise<TestSmtpServer>;
  /** Delivery dependencies for a configuration (TOML text). */
  deps(toml?: string, overrides?: Partial<DeliveryDeps>): DeliveryDeps;
  close(): Promise<void>;
}

export function mustParse(toml: string): MxsecConfig {
  const result = parseConfig(toml, 'test.toml');
  if (result.config === undefined)
    throw new Error(result.diagnostics.map((d) => d.message).join('\n'));
  return result.config;
}

const QUICK = {
  connect: 5_000,
  greeting: 5_000,
  ehlo: 5_000,
  'mail-from': 5_000,
  'rcpt-to': 5_000,
  data: 10_000,
} as const;

export async function startDeliveryEnv(
  zone: TestZone,
  options: { ad?: boolean } = {},
): Promise<DeliveryEnv> {
  const ca = await createTestCa();
  const dns = await startDnsServer({
    zone,
    ...(options.ad === undefined ? {} : { ad: options.ad }),
  });
  const servers = new Map<string, TestSmtpServer>();
  // Reserve a port on 127.0.0.1 that every other loopback address will share.
  const anchor = await startSmtpServer({});
  const port = anchor.port;
  servers.set('127.0.0.1', anchor);
  const trust = buildTrustStore([
    { source: { kind: 'ca-file', file: 'test-ca', count: 1 }, certificates: [ca.certPem] },
  ]);
  const resolver = createResolver({
    nameservers: [dns.nameserver],
    timeoutMs: 2_000,
    attempts: 2,
    trustAd: false,
  });
  return {
    ca,
    dns,
    servers,
    port,
    async server(address, serverOptions = {}) {
      await servers.get(address)?.close();
      const started = await startSmtpServer({ ...serverOptions, address, port });
      servers.set(address, started);
      return started;
    },
    deps(toml = '', overrides = {}) {
      const cache = new MemoryPolicyCache();
      // The shared port, not `overrides.port`: overriding the SMTP port must not move the policy host,
      // and 443 on loopback is nobody's test server.
      const fetch = createPolicyFetcher({ resolver, ca: [ca.certPem], port });
      return {
        config: mustParse(toml),
        resolver,
        trust,
        mtaSts: (domain, timeoutMs) =>
          resolveMtaSts({ resolver, fetch, cache, now: () => Date.now() }, domain, { timeoutMs }),
        now: () => new Date(),
        random: () => 0,
        ehloName: 'client.mxsec.test',
        timeouts: { ...DEFAULT_SMTP_TIMEOUTS, ...QUICK },
        port,
        ...overrides,
      };
    },
    async close() {
      for (const server of servers.values()) await server.close();
      await dns.close();
    },
  };
}

/**
 * Writes a configuration file for running CLI commands against the environment: its DNS server, its
 * shared SMTP/HTTPS port, its test CA (as `tls.ca-file`) and a data directory, all inside `dir`, plus
 * `extra` TOML lines. Returns the path of the file.
 */
export async function writeCliConfig(
  env: DeliveryEnv,
  dir: string,
  extra: readonly string[] = [],
): Promise<string> {
  const caFile = join(dir, 'ca.pem');
  await writeFile(caFile, env.ca.certPem);
  const config = join(dir, 'mxsec.toml');
  await writeFile(
    config,
    [
      '[resolver]',
      `nameservers = ["${env.dns.nameserver}"]`,
      'timeout = "5s"',
      '[delivery]',
      `port = ${env.port}`,
      `mta-sts-port = ${env.port}`,
      '[tls]',
      `ca-file = ${JSON.stringify(caFile)}`,
      '[storage]',
      `data-dir = ${JSON.stringify(join(dir, 'data'))}`,
      ...extra,
      '',
    ].join('\n'),
  );
  return config;
}
