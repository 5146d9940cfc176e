/**
 * The `Received:` trace header the listener prepends to every accepted message (RFC 5321 4.4, with the
 * protocol keywords of RFC 3848 and RFC 6531 3.7.3). Pure: the time is an input.
 *
 * Contract: returns header text ending in CRLF, folded so no line exceeds the RFC 5322 2.1.1 limit for
 * typical names. A recipient appears in `for` only when there is exactly one (RFC 5321 7.6: listing
 * several would disclose Bcc recipients to each other).
 */

export interface ReceivedInput {
  /** The client's EHLO/HELO argument. */
  readonly helo: string;
  readonly esmtp: boolean;
  readonly smtputf8: boolean;
  readonly authenticated: boolean;
  /** The client's IP address as the socket reports it. */
  readonly peerAddress: string;
  /** Our host name. */
  readonly hostname: string;
  /** The listener's name from `[server.listener.<name>]`. */
  readonly listener: string;
  readonly tls?: { readonly protocol: string; readonly cipher: string };
  readonly recipients: readonly string[];
  /** Epoch milliseconds. */
  readonly now: number;
}

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

function two(n: number): string {
  return String(n).padStart(2, '0');
}

/** RFC 5322 3.3 date-time in UTC, e.g. `Sat, 29 Nov 2025 05:28:00 +0000`. */
export function rfc5322Date(ms: number): string {
  const d = new Date(ms);
  return (
    `${DAYS[d.getUTCDay()]}, ${d.getUTCDate()} ${MONTHS[d.getUTCMonth()]} ${d.getUTCFullYear()} ` +
    `${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())} +0000`
  );
}

/** RFC 3848 / RFC 6531 3.7.3 `with` keyword: ESMTP plus S for TLS and A for AUTH; UTF8SMTP for SMTPUTF8. */
export function protocolKeyword(
  input: Pick<ReceivedInput, 'esmtp' | 'smtputf8' | 'authenticated' | 'tls'>,
): string {
  if (!input.esmtp) return 'SMTP';
  const base = input.smtputf8 ? 'UTF8SMTP' : 'ESMTP';
  return `${base}${input.tls === undefined ? '' : 'S'}${input.authenticated ? 'A' : ''}`;
}

/** RFC 5321 4.1.3 address literal of the peer: `[192.0.2.1]` or `[IPv6:2001:db8::1]`. */
function addressLiteral(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped !== null) return `[${mapped[1]}]`;
  return address.includes(':') ? `[IPv6:${address}]` : `[${address}]`;
}

/** Keeps a client-chosen name from breaking the header: no controls, no comment delimiters. */
function clean(text: string, utf8: boolean): string {
  // eslint-disable-next-line no-control-regex
  const safe = text.replace(/[\u0000-\u0020\u007f()\\;]/g, '?');
  // eslint-disable-next-line no-control-regex
  return utf8 ? safe : safe.replace(/[^\u0000-\u007f]/g, '?');
}

export function receivedHeader(input: ReceivedInput): string {
  const lines = [
    `Received: from ${clean(input.helo, input.smtputf8) || 'unknown'} (${addressLiteral(input.peerAddress)})`,
    `\tby ${input.hostname} (mxsec listener ${clean(input.listener, false)})`,
    `\twith ${protocolKeyword(input)}${input.tls === undefined ? '' : ` (${clean(input.tls.protocol, false)} cipher ${clean(input.tls.cipher, false)})`}`,
  ];
  const only = input.recipients.length === 1 ? input.recipients[0] : undefined;
  if (only !== undefined) lines.push(`\tfor <${only}>;`);
  else lines[lines.length - 1] += ';';
  lines.push(`\t${rfc5322Date(input.now)}`);
  return lines.join('\r\n') + '\r\n';
}
