/**
 * The failure value of the SMTP driver, and its one classification table. Every way a session can fail
 * is one `kind`; adding a kind without classifying it below fails to compile (exhaustive switches).
 */
import type { LastError, Severity } from '../core/outcome.js';
import { replySeverity, effectiveEnhancedCode } from './protocol/enhanced.js';
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
  /** The message needs SMTPUTF8 or 8BITMIME and the server lacks it; nothing was sent. */
  | 'unsupported'
  /** An envelope address was unusable (control characters, brackets); nothing was sent. */
  | 'invalid-address';

export type SmtpPhase = 'connect' | 'greeting' | 'ehlo' | 'starttls' | 'mail-from' | 'rcpt-to' | 'data' | 'rset' | 'quit';

export interface SmtpFailure {
  readonly kind: SmtpFailureKind;
  readonly phase: SmtpPhase;
  readonly message: string;
  readonly reply?: SmtpReply;
  /** Node's error code (`ECONNREFUSED`, `ECONNRESET`, ...) when the system reported one. */
  readonly errno?: string;
  /** RFC 3463 code of a failure mxsec generated itself (e.g. 5.3.4 for SIZE), not the server. */
  readonly enhanced?: string;
}

/** Builds a failure; `reply` and `errno` are omitted when undefined (exactOptionalPropertyTypes). */
export function smtpFailure(kind: SmtpFailureKind, phase: SmtpPhase, message: string, extra: { reply?: SmtpReply | undefined; errno?: string | undefined; enhanced?: string } = {}): SmtpFailure {
  return {
    kind,
    phase,
    message,
    ...(extra.reply === undefined ? {} : { reply: extra.reply }),
    ...(extra.errno === undefined ? {} : { errno: extra.errno }),
    ...(extra.enhanced === undefined ? {} : { enhanced: extra.enhanced }),
  };
}

/** Whether the failure may go away on a later attempt. */
export function failureSeverity(failure: SmtpFailure): Severity {
  switch (failure.kind) {
    case 'reply':
      return failure.reply === undefined ? 'temporary' : replySeverity(failure.reply) ?? 'temporary';
    case 'too-large':
    case 'unsupported':
    case 'invalid-address':
      return 'permanent';
    case 'connect':
    case 'timeout':
    case 'closed':
    case 'protocol':
    case 'injection':
    case 'tls':
      return 'temporary';
  }
}

/** The RFC 3463 code to report: the server's when it gave one, otherwise the closest standard code. */
export function failureEnhancedCode(failure: SmtpFailure): string {
  if (failure.enhanced !== undefined) return failure.enhanced;
  switch (failure.kind) {
    case 'reply': return failure.reply === undefined ? '4.0.0' : effectiveEnhancedCode(failure.reply);
    case 'too-large': return '5.3.4';
    case 'unsupported': return '5.6.3';
    case 'invalid-address': return '5.1.3';
    case 'connect': return '4.4.1';
    case 'timeout': return '4.4.2';
    case 'closed': return '4.4.2';
    case 'protocol': return '4.5.0';
    case 'injection': return '4.7.0';
    case 'tls': return '4.7.0';
  }
}

/** The `last_error` value the TLS strategy expressions see after this failure. */
export function failureLastError(failure: SmtpFailure): LastError {
  switch (failure.kind) {
    case 'connect': return 'connection';
    case 'timeout':
    case 'closed': return 'io';
    case 'protocol':
    case 'reply':
    case 'too-large':
    case 'unsupported':
    case 'invalid-address': return 'unexpected-reply';
    case 'injection':
    case 'tls': return 'tls';
  }
}
