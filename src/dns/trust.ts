/**
 * When the AD bit may be believed. A stub resolver cannot validate DNSSEC itself; RFC 4035 section 4.9.3
 * and RFC 6698 section 4.1 / RFC 7672 section 2.1.1 let it rely on the AD bit only when the path to the
 * validating resolver is secure. We take loopback (127.0.0.0/8, ::1) as that path, and any other server
 * only when the operator explicitly opted in with `trustAd`. Pure functions; unparsable addresses are
 * simply not loopback.
 */
import type { DnssecStatus } from './types.js';

/** True for 127.0.0.0/8 and ::1, in any IPv6 spelling, including IPv4-mapped `::ffff:127.x.y.z`. */
export function isLoopbackAddress(host: string): boolean {
  const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  if (/^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(bare)) return true;
  const groups = expandIpv6(bare);
  if (groups === undefined) return false;
  if (groups.slice(0, 7).every((g) => g === 0) && groups[7] === 1) return true;
  // IPv4-mapped: ::ffff:127.0.0.1 arrives as groups ... 0xffff, 0x7f00, 0x0001.
  return (
    groups.slice(0, 5).every((g) => g === 0) &&
    groups[5] === 0xffff &&
    (groups[6] ?? 0) >> 8 === 127
  );
}

/** Whether the AD bit from `host` is evidence of validation. */
export function adTrusted(host: string, trustAd: boolean): boolean {
  return trustAd || isLoopbackAddress(host);
}

/**
 * RFC 4035 section 4.3 as seen from a stub: `secure` needs AD from a trusted validator; anything else is
 * `insecure` (bogus data never reaches us as an answer: the validator turns it into SERVFAIL).
 */
export function dnssecStatus(ad: boolean, trusted: boolean): DnssecStatus {
  return ad && trusted ? 'secure' : 'insecure';
}

/** Eight 16-bit groups, or undefined when `text` is not an IPv6 address. */
function expandIpv6(text: string): number[] | undefined {
  if (!text.includes(':') || !/^[0-9a-fA-F:.]+$/.test(text)) return undefined;
  let body = text;
  // An embedded dotted IPv4 tail stands for the last two groups: rewrite it as hex and parse uniformly.
  const v4 = /(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(body);
  if (v4 !== null) {
    const [a = 0, b = 0, c = 0, d = 0] = v4.slice(1, 5).map(Number);
    if ([a, b, c, d].some((o) => o > 255)) return undefined;
    body = `${body.slice(0, v4.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const halves = body.split('::');
  if (halves.length > 2) return undefined;
  const parse = (part: string | undefined): number[] | undefined => {
    if (part === undefined || part === '') return [];
    const values = part
      .split(':')
      .map((g) => (/^[0-9a-fA-F]{1,4}$/.test(g) ? parseInt(g, 16) : NaN));
    return values.some(Number.isNaN) ? undefined : values;
  };
  const head = parse(halves[0]);
  const rest = parse(halves[1]);
  if (head === undefined || rest === undefined) return undefined;
  if (halves.length === 1) return head.length === 8 ? head : undefined;
  const zeros = 8 - head.length - rest.length;
  return zeros < 1 ? undefined : [...head, ...new Array<number>(zeros).fill(0), ...rest];
}
