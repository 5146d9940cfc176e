/**
 * Client command lines (RFC 5321 4.1.1). Every line that carries caller-supplied text goes through a
 * validator first: a CR, LF or NUL in an address would end the command early and let the rest be read
 * as a second command (command injection into the SMTP stream), so such input is refused as a value,
 * never sent. Returned lines end with CRLF.
 */
import type { Capabilities } from './capabilities.js';

export type CommandError =
  | { readonly kind: 'invalid-address'; readonly address: string; readonly message: string }
  | { readonly kind: 'invalid-name'; readonly name: string; readonly message: string }
  /** RFC 6531 3.4: a message that needs SMTPUTF8 may not go to a server that lacks it (5.6.7). */
  | { readonly kind: 'smtputf8-unsupported'; readonly message: string }
  /** RFC 6152 section 3: 8-bit data may not go to a server without 8BITMIME unless converted (5.6.3). */
  | { readonly kind: '8bitmime-unsupported'; readonly message: string };

export type CommandResult =
  | { readonly ok: true; readonly line: string }
  | { readonly ok: false; readonly error: CommandError };

export interface MailFromOptions {
  /** RFC 1870 SIZE=, sent only when the server advertised SIZE. */
  readonly size?: number;
  readonly eightBit?: boolean;
  readonly smtputf8?: boolean;
}

/** Control characters break framing (CR, LF, NUL above all); angle brackets would close the path early. */
function forbiddenCharacter(text: string): string | undefined {
  for (const ch of text) {
    const code = ch.codePointAt(0) ?? 0;
    if (code < 0x20 || code === 0x7f || ch === '<' || ch === '>') return ch;
  }
  return undefined;
}

/** RFC 5321 4.1.2 without SMTPUTF8: the path is ASCII. */
const isAscii = (text: string): boolean => [...text].every((ch) => (ch.codePointAt(0) ?? 0) < 0x80);

/** Validates one mailbox (or the empty reverse-path `''`) for use inside `<...>`. */
export function checkAddress(address: string, smtputf8: boolean): CommandError | undefined {
  const forbidden = forbiddenCharacter(address);
  if (forbidden !== undefined) {
    return {
      kind: 'invalid-address',
      address,
      message: `address contains forbidden character U+${forbidden.charCodeAt(0).toString(16).padStart(4, '0')}`,
    };
  }
  if (address.includes(' ') && !/^".*"@[^ ]+$/.test(address)) {
    return {
      kind: 'invalid-address',
      address,
      message: 'address contains a space outside a quoted local part',
    };
  }
  if (!smtputf8 && !isAscii(address)) {
    return { kind: 'invalid-address', address, message: 'non-ASCII address requires SMTPUTF8' };
  }
  return undefined;
}

/** `MAIL FROM:<a> [SIZE=n] [BODY=8BITMIME] [SMTPUTF8]`: parameters only when needed and advertised. */
export function mailFrom(
  from: string,
  caps: Capabilities,
  options: MailFromOptions = {},
): CommandResult {
  const smtputf8 = options.smtputf8 === true;
  if (smtputf8 && !caps.smtpUtf8) {
    return {
      ok: false,
      error: {
        kind: 'smtputf8-unsupported',
        message: 'message requires SMTPUTF8, which the server does not offer',
      },
    };
  }
  if (options.eightBit === true && !caps.eightBitMime) {
    return {
      ok: false,
      error: {
        kind: '8bitmime-unsupported',
        message: 'message has 8-bit content and the server does not offer 8BITMIME',
      },
    };
  }
  const error = checkAddress(from, smtputf8);
  if (error !== undefined) return { ok: false, error };
  let line = `MAIL FROM:<${from}>`;
  if (caps.size !== undefined && options.size !== undefined)
    line += ` SIZE=${Math.max(0, Math.trunc(options.size))}`;
  if (options.eightBit === true) line += ' BODY=8BITMIME';
  if (smtputf8) line += ' SMTPUTF8';
  return { ok: true, line: `${line}\r\n` };
}

/** `RCPT TO:<b>`. The null path is not a valid recipient. */
export function rcptTo(to: string, smtputf8: boolean): CommandResult {
  if (to === '')
    return {
      ok: false,
      error: { kind: 'invalid-address', address: to, message: 'empty recipient address' },
    };
  const error = checkAddress(to, smtputf8);
  return error === undefined ? { ok: true, line: `RCPT TO:<${to}>\r\n` } : { ok: false, error };
}

/** `EHLO name` or `HELO name`; the name is a domain or address literal, no spaces or controls. */
export function hello(verb: 'EHLO' | 'HELO', name: string): CommandResult {
  if (name === '' || name.includes(' ') || forbiddenCharacter(name) !== undefined) {
    return {
      ok: false,
      error: {
        kind: 'invalid-name',
        name,
        message: 'EHLO name must be a non-empty domain or address literal',
      },
    };
  }
  return { ok: true, line: `${verb} ${name}\r\n` };
}

export const DATA = 'DATA\r\n';
export const RSET = 'RSET\r\n';
export const QUIT = 'QUIT\r\n';
export const STARTTLS = 'STARTTLS\r\n';
