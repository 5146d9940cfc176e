/**
 * IP address functions of the expression language. Parsing follows Rust's `IpAddr::from_str`, which
 * Stalwart uses: IPv4 is four decimal octets without leading zeros; IPv6 is up to eight groups of one
 * to four hex digits, at most one `::` standing for one or more zero groups, optionally ending in an
 * embedded IPv4 address; no brackets, no zone index. Text that does not parse is "not an address",
 * never an error.
 */

import type { Value } from './value.js';
import { valueToString } from './value.js';

/** An address as its bytes (4 or 16). */
export type IpBytes = readonly number[];

const OCTET = /^(?:0|[1-9]\d{0,2})$/;
const GROUP = /^[0-9a-fA-F]{1,4}$/;

export function parseIpv4(text: string): IpBytes | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  const bytes: number[] = [];
  for (const part of parts) {
    if (!OCTET.test(part)) return undefined;
    const n = Number(part);
    if (n > 255) return undefined;
    bytes.push(n);
  }
  return bytes;
}

export function parseIpv6(text: string): IpBytes | undefined {
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const head = parseGroups(halves[0] ?? '', halves.length === 1);
  const tail = halves.length === 2 ? parseGroups(halves[1] ?? '', true) : [];
  if (head === undefined || tail === undefined) return undefined;
  const groups = head.length + tail.length;
  if (halves.length === 1 ? groups !== 8 : groups > 7) return undefined;
  const all = [...head, ...new Array<number>(8 - groups).fill(0), ...tail];
  return all.flatMap((g) => [g >> 8, g & 0xff]);
}

/** Colon-separated groups; the last one may be an IPv4 address worth two groups when `ipv4Last`. */
function parseGroups(text: string, ipv4Last: boolean): number[] | undefined {
  if (text === '') return [];
  const parts = text.split(':');
  const groups: number[] = [];
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i] ?? '';
    if (ipv4Last && i === parts.length - 1 && part.includes('.')) {
      const v4 = parseIpv4(part);
      if (v4 === undefined) return undefined;
      groups.push(((v4[0] ?? 0) << 8) | (v4[1] ?? 0), ((v4[2] ?? 0) << 8) | (v4[3] ?? 0));
    } else {
      if (!GROUP.test(part)) return undefined;
      groups.push(parseInt(part, 16));
    }
  }
  return groups;
}

export function parseIp(text: string): IpBytes | undefined {
  return text.includes(':') ? parseIpv6(text) : parseIpv4(text);
}

export const isIpAddr = (v: Value): Value => parseIp(valueToString(v)) !== undefined;
export const isIpv4Addr = (v: Value): Value => parseIpv4(valueToString(v)) !== undefined;
export const isIpv6Addr = (v: Value): Value => parseIpv6(valueToString(v)) !== undefined;

/**
 * Whether the address lies in the network `addr/prefix` (or equals `addr` when no prefix is given).
 * Families must match; a malformed address or network gives false.
 */
export function isIpInCidr(v: Value, network: Value): Value {
  const ip = parseIp(valueToString(v));
  const [base = '', prefixText, ...extra] = valueToString(network).split('/');
  const net = parseIp(base);
  if (ip === undefined || net === undefined || extra.length > 0 || ip.length !== net.length)
    return false;
  const bits = ip.length * 8;
  const prefix =
    prefixText === undefined ? bits : /^\d{1,3}$/.test(prefixText) ? Number(prefixText) : -1;
  if (prefix < 0 || prefix > bits) return false;
  for (let bit = 0; bit < prefix; bit++) {
    const mask = 0x80 >> (bit % 8);
    const index = Math.floor(bit / 8);
    if (((ip[index] ?? 0) & mask) !== ((net[index] ?? 0) & mask)) return false;
  }
  return true;
}

/**
 * Labels of the reverse DNS name without the `in-addr.arpa` (RFC 1035 section 3.5) or `ip6.arpa`
 * (RFC 3596 section 2.5) suffix: `4.3.2.1` for `1.2.3.4`, 32 nibbles for IPv6; `''` for non-addresses.
 */
export function ipReverseName(v: Value): Value {
  const ip = parseIp(valueToString(v));
  if (ip === undefined) return '';
  if (ip.length === 4) return [...ip].reverse().join('.');
  return ip
    .flatMap((byte) => [byte >> 4, byte & 0x0f])
    .reverse()
    .map((nibble) => nibble.toString(16))
    .join('.');
}
