/**
 * Parses one command line of the submission server (RFC 5321 4.1.1, RFC 3207, RFC 4954, RFC 1870,
 * RFC 6152, RFC 6531) into a typed command. Purely syntactic: whether a command is allowed now is the
 * session's business (`session.ts`).
 *
 * Contract: returns the command, or the reply for a line that cannot be a command: 500 5.5.2 for an
 * unknown verb, 501 5.5.4 for bad arguments, 555 5.5.4 for an unsupported MAIL/RCPT parameter.
 */
import { parsePath } from './address.js';
import { R } from './reply.js';
import type { ServerReply } from './reply.js';

export interface MailParams {
  /** RFC 1870 SIZE declared by the client. */
  readonly size?: number;
  readonly body?: '7BIT' | '8BITMIME';
  /** RFC 6531: the envelope or headers may hold UTF-8. */
  readonly smtputf8: boolean;
}

export type Command =
  | { readonly verb: 'EHLO' | 'HELO'; readonly domain: string }
  | {
      readonly verb: 'MAIL';
      readonly address: string;
      readonly nonAscii: boolean;
      readonly params: MailParams;
    }
  | {
      readonly verb: 'RCPT';
      readonly address: string;
      readonly literal: boolean;
      readonly nonAscii: boolean;
    }
  | { readonly verb: 'AUTH'; readonly mechanism: string; readonly initial?: string }
  | { readonly verb: 'DATA' | 'RSET' | 'QUIT' | 'STARTTLS' | 'NOOP' | 'VRFY' };

export type ParsedCommand =
  | { readonly ok: true; readonly command: Command }
  | { readonly ok: false; readonly reply: ServerReply };

/** EHLO/HELO argument: a domain or address literal. Lenient on label syntax (underscores occur in the wild). */
const HELLO_ARG = /^(?:[A-Za-z0-9_\-.\u0080-\uFFFF]+|\[[\x21-\x5a\x5e-\x7e]+\])$/u;

function fail(reply: ServerReply): ParsedCommand {
  return { ok: false, reply };
}

function noArgs(verb: 'DATA' | 'RSET' | 'QUIT' | 'STARTTLS', args: string): ParsedCommand {
  return args === ''
    ? { ok: true, command: { verb } }
    : fail(R.syntax(`Syntax: ${verb} takes no arguments`));
}

/** RFC 5321 4.1.2 esmtp-param: `keyword[=value]`; keywords are case-insensitive. */
function parseMailParams(text: string): MailParams | ServerReply {
  let size: number | undefined;
  let body: MailParams['body'];
  let smtputf8 = false;
  const seen = new Set<string>();
  for (const param of text.split(' ').filter((p) => p !== '')) {
    const eq = param.indexOf('=');
    const key = (eq < 0 ? param : param.slice(0, eq)).toUpperCase();
    const value = eq < 0 ? undefined : param.slice(eq + 1);
    if (seen.has(key)) return R.syntax(`Syntax: ${key} given twice`);
    seen.add(key);
    if (key === 'SIZE') {
      if (value === undefined || !/^\d{1,20}$/.test(value))
        return R.syntax('Syntax: SIZE needs a number');
      size = Number(value);
    } else if (key === 'BODY') {
      const upper = value?.toUpperCase();
      if (upper !== '7BIT' && upper !== '8BITMIME')
        return R.badParam(`BODY=${value ?? ''} is not supported`);
      body = upper;
    } else if (key === 'SMTPUTF8') {
      if (value !== undefined) return R.syntax('Syntax: SMTPUTF8 takes no value');
      smtputf8 = true;
    } else {
      return R.badParam(`Parameter ${key} is not supported`);
    }
  }
  return {
    smtputf8,
    ...(size === undefined ? {} : { size }),
    ...(body === undefined ? {} : { body }),
  };
}

function parseMail(args: string): ParsedCommand {
  const prefix = /^FROM:/i.exec(args);
  if (prefix === null) return fail(R.syntax('Syntax: MAIL FROM:<address>'));
  const path = parsePath(args.slice(prefix[0].length), true);
  if (!path.ok) return fail(R.badSender(path.message));
  const params = parseMailParams(path.rest);
  if ('code' in params) return fail(params);
  return {
    ok: true,
    command: { verb: 'MAIL', address: path.address, nonAscii: path.nonAscii, params },
  };
}

function parseRcpt(args: string): ParsedCommand {
  const prefix = /^TO:/i.exec(args);
  if (prefix === null) return fail(R.syntax('Syntax: RCPT TO:<address>'));
  const path = parsePath(args.slice(prefix[0].length), false);
  if (!path.ok) return fail(R.badRecipient(path.message));
  // No RCPT parameter is advertised (no DSN extension), so any is refused (RFC 5321 4.1.1.11).
  if (path.rest.trim() !== '') return fail(R.badParam('RCPT parameters are not supported'));
  return {
    ok: true,
    command: {
      verb: 'RCPT',
      address: path.address,
      literal: path.literal,
      nonAscii: path.nonAscii,
    },
  };
}

function parseAuth(args: string): ParsedCommand {
  const parts = args.split(' ');
  const mechanism = (parts[0] ?? '').toUpperCase();
  if (mechanism === '' || parts.length > 2)
    return fail(R.syntax('Syntax: AUTH mechanism [initial-response]'));
  const initial = parts[1];
  return {
    ok: true,
    command: { verb: 'AUTH', mechanism, ...(initial === undefined ? {} : { initial }) },
  };
}

/** Parses a command line (CRLF already removed). */
export function parseCommand(line: string): ParsedCommand {
  // A command is printable text: NUL, a stray CR or other controls are never part of a valid command.
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u0008\u000a-\u001f\u007f]/.test(line))
    return fail(R.syntax('Syntax: control characters in command'));
  const space = line.indexOf(' ');
  const verb = (space < 0 ? line : line.slice(0, space)).toUpperCase();
  const args = space < 0 ? '' : line.slice(space + 1).trim();
  switch (verb) {
    case 'EHLO':
    case 'HELO':
      if (!HELLO_ARG.test(args))
        return fail(R.syntax(`Syntax: ${verb} needs a domain or address literal`));
      return { ok: true, command: { verb, domain: args } };
    case 'MAIL':
      return parseMail(args);
    case 'RCPT':
      return parseRcpt(args);
    case 'AUTH':
      return parseAuth(args);
    case 'DATA':
    case 'RSET':
    case 'QUIT':
    case 'STARTTLS':
      return noArgs(verb, args);
    case 'NOOP':
    case 'VRFY':
      return { ok: true, command: { verb } };
    default:
      return fail(R.unknown);
  }
}
