/**
 * Asks a DNS server through Debian's `dig` and parses what interop tests check: the response code, the
 * header flags (notably AD, RFC 4035 section 3.2.3, and CD), the answer records and any Extended DNS
 * Error (RFC 8914). `dig` is an independent client, so a harness check never relies on mxsec's own DNS code.
 *
 * Contract: resolves with the parsed reply; rejects with dig's output when dig gets no reply at all
 * (dig exit status 9 and the like), which in a test means the server is not running.
 */
import { run } from './run.js';

export interface DigReply {
  /** NOERROR, NXDOMAIN, SERVFAIL, ... */
  readonly status: string;
  /** Header flags in lower case: qr, aa, rd, ra, ad, cd. */
  readonly flags: readonly string[];
  /** Answer section records, whitespace collapsed: `name ttl IN TYPE rdata`. */
  readonly answers: readonly string[];
  /** The EDE line, e.g. `7 (Signature Expired): (...)`, when the server sent one. */
  readonly ede?: string;
  /** dig's full output, for assertion messages. */
  readonly raw: string;
}

export interface DigOptions {
  /** Set the CD bit: ask the resolver not to validate (RFC 4035 section 3.2.2). */
  readonly checkingDisabled?: boolean;
  /** Clear the RD bit (for asking the authoritative server). */
  readonly noRecursion?: boolean;
}

/** `server` is `address` or `address:port`. Always sets DO (`+dnssec`). */
export async function dig(
  server: string,
  name: string,
  type: string,
  options: DigOptions = {},
): Promise<DigReply> {
  const [address, port] = server.split(':');
  const args = [
    `@${address ?? server}`,
    '-p',
    port ?? '53',
    '+dnssec',
    '+time=10',
    '+tries=2',
    '+nomultiline',
    '+nosplit',
    ...(options.checkingDisabled === true ? ['+cd'] : []),
    ...(options.noRecursion === true ? ['+norecurse'] : []),
    name,
    type,
  ];
  const result = await run('dig', args);
  const raw = result.stdout;
  const status = /status: ([A-Z]+)/.exec(raw)?.[1];
  if (result.code !== 0 || status === undefined)
    throw new Error(
      `dig ${args.join(' ')} got no reply (exit ${String(result.code)}):\n${raw}${result.stderr}`,
    );
  const flags = (/;; flags: ([a-z ]*);/.exec(raw)?.[1] ?? '')
    .trim()
    .split(/\s+/)
    .filter((f) => f !== '');
  const answers: string[] = [];
  const lines = raw.split('\n');
  const start = lines.indexOf(';; ANSWER SECTION:');
  if (start >= 0) {
    for (const line of lines.slice(start + 1)) {
      if (line.trim() === '') break;
      answers.push(line.trim().split(/\s+/).join(' '));
    }
  }
  const ede = /; EDE: (.*)/.exec(raw)?.[1];
  return { status, flags, answers, raw, ...(ede === undefined ? {} : { ede }) };
}
