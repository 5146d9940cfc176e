/**
 * `[resolver]`: the nameservers mxsec's own DNS client asks (default: those of /etc/resolv.conf), the
 * per-try timeout, the number of rounds, and whether to trust the AD bit from non-loopback nameservers.
 * AD from a remote resolver travels unauthenticated, so trusting it is an explicit, documented risk.
 * `selftest-secure-name` and `selftest-bogus-name` name the probes of `mxsec dns selftest`.
 */
import { isIP } from 'node:net';
import { child, join } from './reader.js';
import type { ConfigReader } from './reader.js';
import type { TomlTable } from './toml.js';
import type { ResolverConfig, ResolverSelftestNames } from './types.js';

/**
 * isc.org has been signed since 2009 by the makers of BIND, and Comcast has kept dnssec-failed.org
 * deliberately broken for resolver tests for as long; both are the usual choices of such checks.
 */
export const SELFTEST_DEFAULTS: ResolverSelftestNames = {
  secureName: 'isc.org',
  bogusName: 'dnssec-failed.org',
};

export const RESOLVER_DEFAULTS: ResolverConfig = {
  timeoutMs: 5_000,
  attempts: 2,
  trustAd: false,
  selftest: SELFTEST_DEFAULTS,
};

const LABEL = /^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9])?$/;

/** A DNS name as the client can ask it: LDH (and `_`) labels, at most 253 characters, two labels or more. */
function isQueryName(name: string): boolean {
  const labels = name.split('.');
  return name.length <= 253 && labels.length >= 2 && labels.every((l) => LABEL.test(l));
}

/** Normalises `127.0.0.1`, `127.0.0.1:5353`, `::1`, `[::1]:53` to `host:port` (IPv6 in brackets). */
export function normaliseNameserver(text: string): string | undefined {
  const trimmed = text.trim();
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(trimmed);
  let host: string;
  let port = '53';
  if (bracketed !== null) {
    host = bracketed[1] ?? '';
    port = bracketed[2] ?? '53';
  } else if (isIP(trimmed) !== 0) {
    host = trimmed;
  } else {
    const colon = trimmed.lastIndexOf(':');
    if (colon < 0) return undefined;
    host = trimmed.slice(0, colon);
    port = trimmed.slice(colon + 1);
  }
  const portNumber = Number(port);
  if (isIP(host) === 0 || !/^\d+$/.test(port) || portNumber < 1 || portNumber > 65535)
    return undefined;
  return isIP(host) === 6 ? `[${host}]:${portNumber}` : `${host}:${portNumber}`;
}

export function readResolver(reader: ConfigReader, root: TomlTable): ResolverConfig {
  const section = child(root, 'resolver');
  if (section === undefined) return RESOLVER_DEFAULTS;
  const table = reader.table(section.node, 'resolver');
  if (table === undefined) return RESOLVER_DEFAULTS;
  reader.checkKeys(table, 'resolver', [
    'nameservers',
    'timeout',
    'attempts',
    'trust-ad',
    'selftest-secure-name',
    'selftest-bogus-name',
  ]);
  const get = (key: string) => table.entries.get(key)?.node;
  let nameservers: string[] | undefined;
  const list = get('nameservers');
  if (list !== undefined) {
    const raw = reader.stringList(list, 'resolver.nameservers');
    if (raw !== undefined) {
      nameservers = [];
      raw.forEach((text, i) => {
        const normalised = normaliseNameserver(text);
        const item = list.kind === 'array' ? list.items[i] : undefined;
        if (normalised === undefined) {
          reader.error(`resolver.nameservers[${i}]`, item?.position, 'not a nameserver address', {
            expected: "an IP address with an optional port, e.g. '127.0.0.1:53' or '[::1]:53'",
            found: `"${text}"`,
          });
        } else nameservers?.push(normalised);
      });
      if (raw.length === 0)
        reader.error('resolver.nameservers', list.position, 'empty list', {
          expected: 'at least one nameserver',
          found: '[]',
        });
    }
  }
  const timeout = get('timeout');
  const attempts = get('attempts');
  const trustAd = get('trust-ad');
  const selftestName = (
    key: 'selftest-secure-name' | 'selftest-bogus-name',
  ): string | undefined => {
    const node = get(key);
    if (node === undefined) return undefined;
    const text = reader.string(node, join('resolver', key));
    if (text === undefined) return undefined;
    const name = text.value.trim().toLowerCase().replace(/\.$/, '');
    if (isQueryName(name)) return name;
    reader.error(join('resolver', key), node.position, 'not a domain name', {
      expected: "a DNS name such as 'isc.org'",
      found: `"${text.value}"`,
    });
    return undefined;
  };
  const secureName = selftestName('selftest-secure-name');
  const bogusName = selftestName('selftest-bogus-name');
  const selftest = {
    secureName: secureName ?? SELFTEST_DEFAULTS.secureName,
    bogusName: bogusName ?? SELFTEST_DEFAULTS.bogusName,
  };
  return {
    ...(nameservers === undefined ? {} : { nameservers }),
    selftest,
    timeoutMs:
      timeout === undefined
        ? RESOLVER_DEFAULTS.timeoutMs
        : (reader.duration(timeout, join('resolver', 'timeout')) ?? RESOLVER_DEFAULTS.timeoutMs),
    attempts:
      attempts === undefined
        ? RESOLVER_DEFAULTS.attempts
        : (reader.integer(attempts, 'resolver.attempts', 1, 10) ?? RESOLVER_DEFAULTS.attempts),
    trustAd:
      trustAd === undefined ? false : (reader.boolean(trustAd, 'resolver.trust-ad') ?? false),
  };
}
