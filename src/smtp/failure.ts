/**
 * The failure value of the SMTP driver. Every way a session can fail is one `kind`, so the failure
 * table in `policy/failure.ts` (which gives each kind its severity, `last_error` class and RFC 3463
 * status) can name it; adding a kind without a row there fails to compile.
 */
import type { SmtpReply } from './protocol/reply.js';

export type SmtpFailureKind =
  /** TCP connect failed (refused, unreachable, reset). */
  | 'connect'
  /** A phase's timeout expired; the connection was destroyed. */
  | 'timeout'
  /** The peer closed or reset the connection. */
  | 'closed'
  /** The peer broke the reply syntax or limits; the connection was destroyed. */
  | 'protocol'
  /** The server answered with a negative (or unexpected) reply; `reply` holds it. */
  | 'reply'
  /** Bytes followed the STARTTLS 220 in plaintext (CVE-2011-0411 class); the connection was destroyed. */
  | 'injection'
  /** The message exceeds the server's advertised SIZE (RFC 1870), nothing was sent. */
  | 'too-large'
  /** The TLS upgrade function reported failure; the connection was destroyed. */
  | 'tls'
  /** The envelope needs SMTPUTF8 (RFC 6531) and the server lacks it; nothing was sent. */
  | 'smtputf8-unsupported'
  /** The body has 8-bit octets and the server lacks 8BITMIME (RFC 6152); nothing was sent. */
  | '8bitmime-unsupported'
  /** An envelope address was unusable (control characters, brackets); nothing was sent. */
  | 'invalid-address';

export type SmtpPhase =
  'connect' | 'greeting' | 'ehlo' | 'starttls' | 'mail-from' | 'rcpt-to' | 'data' | 'rset' | 'quit';

export interface SmtpFailure {
  readonly kind: SmtpFailureKind;
  readonly phase: SmtpPhase;
  readonly message: string;
  readonly reply?: SmtpReply;
  /** Node's error code (`ECONNREFUSED`, `ECONNRESET`, ...) when the system reported one. */
  readonly errno?: string;
}

/** Builds a failure; `reply` and `errno` are omitted when undefined (exactOptionalPropertyTypes). */
export function smtpFailure(
  kind: SmtpFailureKind,
  phase: SmtpPhase,
  message: string,
  extra: { reply?: SmtpReply | undefined; errno?: string | undefined } = {},
): SmtpFailure {
  return {
    kind,
    phase,
    message,
    ...(extra.reply === undefined ? {} : { reply: extra.reply }),
    ...(extra.errno === undefined ? {} : { errno: extra.errno }),
  };
}
