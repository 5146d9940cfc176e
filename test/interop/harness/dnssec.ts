/**
 * A private DNSSEC-signed DNS for interop tests: nsd is authoritative for the top zone `test.` (always
 * signed) and every given child zone, on its own loopback address and port 53; unbound is a validating
 * resolver on another address whose only trust anchor is the DS of `test.`, so the chain of trust is
 * `test.` -> DS -> child, exactly as from the root on the internet (RFC 4035 section 5). Child zones can
 * be signed (secure), unsigned (insecure delegation: no DS, RFC 4035 section 5.2), or bogus (expired or
 * altered signatures). DANE and MX lookups of mxsec then see real AD bits, NSEC proofs and SERVFAILs.
 *
 * Contract: `startDnssec` signs every zone at start (signature times from `now`), starts nsd and then
 * unbound as child processes from a private temp directory, and resolves once both answer queries; it
 * rejects with an Error carrying their logs (and stops what it started) otherwise. `stop()` ends both
 * and deletes the directory; a process-exit hook kills them if a test never calls `stop()`.
 * Runs as root to bind port 53. Neither server is ever pointed at by the system's resolv.conf.
 */
import { promises as dnsPromises } from 'node:dns';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { DNS_AUTHORITATIVE, DNS_RESOLVER } from './addresses.js';
import { makeTempDir, onProcessExit, spawnDaemon, waitUntil } from './run.js';
import type { Daemon } from './run.js';
import { writeZone } from './zones.js';
import type { ZoneRecord, ZoneSpec } from './zones.js';

export type { ZoneRecord, ZoneSecurity, ZoneSpec } from './zones.js';
export { txtData } from './zones.js';

/** The private top-level zone (RFC 6761 reserves `test.`); every zone given must be below it. */
export const TOP_ZONE = 'test';

export interface DnssecOptions {
  /** Zones below `test.`; a zone named `test` adds its records to the top zone itself. */
  readonly zones: readonly ZoneSpec[];
  /** nsd's address; default DNS_AUTHORITATIVE. */
  readonly authoritativeAddress?: string;
  /** unbound's address; default DNS_RESOLVER. */
  readonly resolverAddress?: string;
  /** Signature inception/expiration are relative to this; default the current time. */
  readonly now?: Date;
}

export interface DnssecInstance {
  /** The validating resolver as `address:53`. */
  readonly resolver: string;
  /** The authoritative server as `address:53` (answers without validation, never sets AD). */
  readonly authoritative: string;
  /** The trust anchor unbound uses: DS records of `test.`. */
  readonly trustAnchor: readonly string[];
  /** DS records the parent publishes for `zone` (empty for unsigned zones); throws for an unknown zone. */
  dsFor(zone: string): readonly string[];
  /** nsd's and unbound's logs so far (unbound logs each validation failure, val-log-level 2). */
  log(): string;
  stop(): Promise<void>;
}

/** The zone that delegates `name`: the longest other zone that is a proper suffix of it. */
function parentOf(name: string, zoneNames: readonly string[]): string {
  let best = TOP_ZONE;
  for (const candidate of zoneNames) {
    if (candidate !== name && name.endsWith(`.${candidate}`) && candidate.length > best.length)
      best = candidate;
  }
  return best;
}

function normalise(name: string): string {
  return name.toLowerCase().replace(/\.$/, '');
}

function nsdConf(dir: string, address: string, zoneFiles: ReadonlyMap<string, string>): string {
  const zones = [...zoneFiles]
    .map(([name, file]) => `zone:\n  name: "${name}."\n  zonefile: "${file}"\n`)
    .join('');
  return `server:
  ip-address: ${address}
  port: 53
  do-ip6: no
  username: ""
  chroot: ""
  zonesdir: "${dir}"
  database: ""
  zonelistfile: "${path.join(dir, 'zone.list')}"
  xfrdfile: "${path.join(dir, 'xfrd.state')}"
  xfrdir: "${dir}"
  pidfile: "${path.join(dir, 'nsd.pid')}"
  logfile: "${path.join(dir, 'nsd.log')}"
  server-count: 1
  verbosity: 2
  hide-version: yes
remote-control:
  control-enable: no
${zones}`;
}

function unboundConf(
  dir: string,
  address: string,
  authoritative: string,
  anchor: readonly string[],
): string {
  const anchors = anchor.map((ds) => `  trust-anchor: "${ds.replace(/\s+/g, ' ')}"\n`).join('');
  return `server:
  interface: ${address}
  port: 53
  do-ip6: no
  username: ""
  chroot: ""
  directory: "${dir}"
  pidfile: "${path.join(dir, 'unbound.pid')}"
  use-syslog: no
  logfile: "${path.join(dir, 'unbound.log')}"
  verbosity: 1
  val-log-level: 2
  log-servfail: yes
  ede: yes
  num-threads: 1
  access-control: 127.0.0.0/8 allow
  # nsd listens on loopback, which unbound refuses to query by default.
  do-not-query-localhost: no
  # RFC 6761 makes unbound answer test. itself as an empty zone unless told not to.
  local-zone: "test." nodefault
  module-config: "validator iterator"
${anchors}stub-zone:
  name: "test."
  stub-addr: ${authoritative}@53
remote-control:
  control-enable: no
`;
}

/** True once the server at `address` answers a query at all (an error answer counts as alive). */
async function answers(address: string): Promise<boolean> {
  const resolver = new dnsPromises.Resolver({ timeout: 2_000, tries: 1 });
  resolver.setServers([address]);
  try {
    await resolver.resolveSoa(`${TOP_ZONE}.`);
    return true;
  } catch (error) {
    const code = (error as { code?: string }).code;
    return (
      code === 'ESERVFAIL' || code === 'ENOTFOUND' || code === 'ENODATA' || code === 'EREFUSED'
    );
  }
}

function readIfThere(file: string): string {
  return existsSync(file) ? readFileSync(file, 'utf8') : '';
}

/** Signs the zones and starts nsd and unbound; see the module header for the contract. */
export async function startDnssec(options: DnssecOptions): Promise<DnssecInstance> {
  const authAddress = options.authoritativeAddress ?? DNS_AUTHORITATIVE;
  const resolverAddress = options.resolverAddress ?? DNS_RESOLVER;
  const now = options.now ?? new Date();
  const children = options.zones
    .map((z) => ({ ...z, name: normalise(z.name) }))
    .filter((z) => z.name !== TOP_ZONE);
  for (const zone of children) {
    if (!zone.name.endsWith(`.${TOP_ZONE}`))
      throw new Error(`startDnssec: zone ${zone.name} is not below ${TOP_ZONE}.`);
  }
  const topRecords = options.zones
    .filter((z) => normalise(z.name) === TOP_ZONE)
    .flatMap((z) => z.records);
  const names = children.map((z) => z.name);

  const dir = makeTempDir('dnssec');
  const zonesDir = path.join(dir, 'zones');
  mkdirSync(zonesDir, { mode: 0o755 });
  const forgetDir = onProcessExit(() => rmSync(dir, { recursive: true, force: true }));
  const daemons: Daemon[] = [];
  const log = (): string =>
    ['nsd.log', 'unbound.log']
      .map((f) => `--- ${f} ---\n${readIfThere(path.join(dir, f))}`)
      .join('\n') + daemons.map((d) => d.output()).join('');
  const stop = async (): Promise<void> => {
    for (const daemon of daemons.reverse()) await daemon.stop();
    forgetDir();
    rmSync(dir, { recursive: true, force: true });
  };

  const ds = new Map<string, readonly string[]>();
  const files = new Map<string, string>();
  let trustAnchor: readonly string[] = [];
  try {
    // Deepest zones first: a parent can only be signed once its children's DS records are known.
    const byDepth = [...children].sort(
      (a, b) => b.name.split('.').length - a.name.split('.').length,
    );
    const delegations = (parent: string): ZoneRecord[] =>
      children
        .filter((c) => parentOf(c.name, names) === parent)
        .flatMap((c) => [
          { name: `${c.name}.`, type: 'NS' as const, data: `ns.${TOP_ZONE}.` },
          ...(ds.get(c.name) ?? []).map((record) => ({
            name: `${c.name}.`,
            type: 'DS' as const,
            data: record.split(/\s+/).slice(4).join(' '),
          })),
        ]);
    for (const zone of byDepth) {
      const written = await writeZone(
        zonesDir,
        zone,
        [{ name: '@', type: 'NS', data: `ns.${TOP_ZONE}.` }, ...delegations(zone.name)],
        now,
      );
      ds.set(zone.name, written.ds);
      files.set(zone.name, written.file);
    }
    const top = await writeZone(
      zonesDir,
      { name: TOP_ZONE, security: 'signed', records: topRecords },
      [
        { name: '@', type: 'NS', data: `ns.${TOP_ZONE}.` },
        { name: 'ns', type: 'A', data: authAddress },
        ...delegations(TOP_ZONE),
      ],
      now,
    );
    ds.set(TOP_ZONE, top.ds);
    trustAnchor = top.ds;
    files.set(TOP_ZONE, top.file);

    const nsdFile = path.join(dir, 'nsd.conf');
    writeFileSync(nsdFile, nsdConf(zonesDir, authAddress, files));
    const nsd = spawnDaemon('nsd', ['-d', '-c', nsdFile]);
    daemons.push(nsd);
    await waitUntil(
      `nsd ${authAddress}:53`,
      () => answers(authAddress),
      () => (nsd.exited() ? `nsd exited:\n${log()}` : undefined),
    );

    const unboundFile = path.join(dir, 'unbound.conf');
    writeFileSync(unboundFile, unboundConf(dir, resolverAddress, authAddress, trustAnchor));
    const unbound = spawnDaemon('unbound', ['-d', '-c', unboundFile]);
    daemons.push(unbound);
    await waitUntil(
      `unbound ${resolverAddress}:53`,
      () => answers(resolverAddress),
      () => (unbound.exited() ? `unbound exited:\n${log()}` : undefined),
    );
  } catch (error) {
    const message = `${error instanceof Error ? error.message : String(error)}\n${log()}`;
    await stop();
    throw new Error(message);
  }

  return {
    resolver: `${resolverAddress}:53`,
    authoritative: `${authAddress}:53`,
    trustAnchor,
    dsFor: (zone) => {
      const found = ds.get(normalise(zone));
      if (found === undefined) throw new Error(`dsFor: ${zone} is not one of the zones served`);
      return found;
    },
    log,
    stop,
  };
}
