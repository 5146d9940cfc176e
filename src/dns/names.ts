/**
 * Domain name spelling and nameserver address parsing shared by the DNS client, the test server and
 * callers. Pure functions; malformed nameserver strings yield `undefined`, never an exception.
 */

/** Lower-case, no trailing dot; the root is `''`. RFC 4343: DNS names compare case-insensitively. */
export function normalizeName(name: string): string {
  const lower = name.toLowerCase();
  return lower.endsWith('.') ? lower.slice(0, -1) : lower;
}

export interface NameserverAddress {
  readonly host: string;
  readonly port: number;
  readonly family: 4 | 6;
}

const BRACKETED = /^\[([0-9a-fA-F:.]+)\](?::(\d{1,5}))?$/;
const IPV4 = /^(\d{1,3}(?:\.\d{1,3}){3})(?::(\d{1,5}))?$/;

/**
 * Parses `host:port` as written in `ResolverSettings.nameservers`: `127.0.0.1:53`, `[::1]:53`, or without
 * a port (53). A bare IPv6 address without brackets is accepted too (it cannot carry a port).
 */
export function parseNameserver(text: string): NameserverAddress | undefined {
  const trimmed = text.trim();
  const v6 = BRACKETED.exec(trimmed);
  if (v6 !== null) return withPort(v6[1] ?? '', v6[2], 6);
  const v4 = IPV4.exec(trimmed);
  if (v4 !== null) {
    const host = v4[1] ?? '';
    if (host.split('.').some((octet) => Number(octet) > 255)) return undefined;
    return withPort(host, v4[2], 4);
  }
  if (/^[0-9a-fA-F:.]+$/.test(trimmed) && trimmed.includes(':'))
    return withPort(trimmed, undefined, 6);
  return undefined;
}

function withPort(
  host: string,
  port: string | undefined,
  family: 4 | 6,
): NameserverAddress | undefined {
  const number = port === undefined ? 53 : Number(port);
  if (!Number.isInteger(number) || number < 1 || number > 65535) return undefined;
  return { host, port: number, family };
}

/** The `host:port` spelling used in settings and failure messages (`[::1]:53` for IPv6). */
export function formatNameserver(address: { host: string; port: number }): string {
  return address.host.includes(':')
    ? `[${address.host}]:${address.port}`
    : `${address.host}:${address.port}`;
}
