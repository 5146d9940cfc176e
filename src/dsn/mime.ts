/**
 * Small MIME and RFC 5322 helpers for building DSNs: the header section of an original message, dates
 * in RFC 5322 section 3.3 form, and RFC 3461 section 4 xtext decoding of ORCPT. Pure; malformed input
 * degrades (a message without a blank line is all headers) instead of failing.
 */

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

const pad = (n: number): string => String(n).padStart(2, '0');

/** RFC 5322 section 3.3 date-time in UTC, e.g. `Sun, 01 Jun 2025 00:00:00 +0000`. */
export function rfc5322Date(ms: number): string {
  const d = new Date(ms);
  return (
    `${DAYS[d.getUTCDay()] ?? 'Sun'}, ${pad(d.getUTCDate())} ${MONTHS[d.getUTCMonth()] ?? 'Jan'} ${d.getUTCFullYear()} ` +
    `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} +0000`
  );
}

/**
 * The header section of a message (RFC 5322 section 2.1) up to, not including, the empty line, with
 * CRLF line ends and a final CRLF. Bare LFs are normalised: text/rfc822-headers is line-oriented.
 */
export function headerSection(body: Uint8Array): string {
  const text = Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('latin1');
  const normalised = text.replace(/\r?\n/g, '\r\n');
  const end = normalised.indexOf('\r\n\r\n');
  const head = end < 0 ? normalised : normalised.slice(0, end);
  return head === '' ? '' : `${head.replace(/(\r\n)+$/, '')}\r\n`;
}

/** The message with bare LFs turned into CRLF, for a message/rfc822 part. */
export function crlf(body: Uint8Array): string {
  return Buffer.from(body.buffer, body.byteOffset, body.byteLength)
    .toString('latin1')
    .replace(/\r?\n/g, '\r\n');
}

/** Decodes RFC 3461 xtext (`+2B` for `+`); invalid escapes are kept as written. */
export function decodeXtext(text: string): string {
  return text.replace(/\+([0-9A-F]{2})/g, (_, hex: string) =>
    String.fromCharCode(parseInt(hex, 16)),
  );
}

/** One header field, unfolded values only (DSN fields are short; long diagnostics are folded at spaces). */
export function field(name: string, value: string): string {
  const clean = value.replace(/[\r\n]+/g, ' ');
  const line = `${name}: ${clean}`;
  if (line.length <= 998) return `${line}\r\n`;
  // RFC 5322 section 2.1.1: lines must not exceed 998 characters; fold at spaces where possible.
  const out: string[] = [];
  let rest = line;
  while (rest.length > 76) {
    let cut = rest.lastIndexOf(' ', 76);
    if (cut <= 0) cut = Math.min(rest.length, 998);
    out.push(rest.slice(0, cut));
    rest = rest.slice(cut);
  }
  out.push(rest);
  return `${out.join('\r\n')}\r\n`;
}
