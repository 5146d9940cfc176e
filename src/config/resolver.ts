/**
 * `[resolver]`: the nameservers mxsec's own DNS client asks (default: those of /etc/resolv.conf), the
 * per-try timeout, the number of rounds, and whether to trust the AD bit from non-loopback nameservers.
 * AD from a remote resolver travels unauthenticated, so trusting it is an explicit, documented risk.
 */
import { isIP } from 'node:net';
import { child, join } from './reader.js';
import type { ConfigReader } from './reader.js';
import type { TomlTable } from './toml.js';
import type { ResolverConfig } from './types.js';

export const RESOLVER_DEFAULTS: ResolverConfig = { timeoutMs: 5_000, attempts: 2, trustAd: false };

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
  if (isIP(host) === 0 || !/^\d+$/.test(port) || portNumber < 1 || portNumber > 65535) return undefined;
  return isIP(host) === 6 ? `[${host}]:${portNumber}` : `${host}:${portNumber}`;
}

export function readResolver(reader: ConfigReader, root: TomlTable): ResolverConfig {
  const section = child(root, 'resolver');
  if (section === undefined) return RESOLVER_DEFAULTS;
  const table = reader.table(section.node, 'resolver');
  if (table === undefined) return RESOLVER_DEFAULTS;
  reader.checkKeys(table, 'resolver', ['nameservers', 'timeout', 'attempts', 'trust-ad']);
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
      if (raw.length === 0) reader.error('resolver.nameservers', list.position, 'empty list', { expected: 'at least one nameserver', found: '[]' });
    }
  }
  const timeout = get('timeout');
  const attempts = get('attempts');
  const trustAd = get('trust-ad');
  return {
    ...(nameservers === undefined ? {} : { nameservers }),
    timeoutMs: timeout === undefined ? RESOLVER_DEFAULTS.timeoutMs : reader.duration(timeout, join('resolver', 'timeout')) ?? RESOLVER_DEFAULTS.timeoutMs,
    attempts: attempts === undefined ? RESOLVER_DEFAULTS.attempts : reader.integer(attempts, 'resolver.attempts', 1, 10) ?? RESOLVER_DEFAULTS.attempts,
    trustAd: trustAd === undefined ? false : reader.boolean(trustAd, 'resolver.trust-ad') ?? false,
  };
}
