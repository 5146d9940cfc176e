/**
 * Per-phase SMTP client timeouts, keyed and defaulted as Stalwart's `queue.connection.<id>.timeout.*`
 * settings are (connect, greeting, ehlo, mail-from, rcpt-to: 5 minutes; data: 10 minutes). Those match
 * RFC 5321 4.5.3.2, which asks for at least 5 minutes per command and 10 for the final DATA reply.
 * Phases Stalwart has no key for borrow one: STARTTLS waits as long as EHLO, RSET as long as MAIL FROM,
 * and QUIT at most 10 seconds of the EHLO time because nothing depends on its answer.
 */
import type { SmtpPhase } from './failure.js';

/** Milliseconds, with Stalwart's key names. */
export interface SmtpTimeouts {
  readonly connect: number;
  readonly greeting: number;
  readonly ehlo: number;
  readonly 'mail-from': number;
  readonly 'rcpt-to': number;
  /** Covers both the DATA command's 354 and the reply after the final dot. */
  readonly data: number;
}

const MINUTE = 60_000;

export const DEFAULT_SMTP_TIMEOUTS: SmtpTimeouts = {
  connect: 5 * MINUTE,
  greeting: 5 * MINUTE,
  ehlo: 5 * MINUTE,
  'mail-from': 5 * MINUTE,
  'rcpt-to': 5 * MINUTE,
  data: 10 * MINUTE,
};

export const QUIT_TIMEOUT_CAP_MS = 10_000;

/** How long to wait for the reply that ends `phase`. */
export function timeoutFor(timeouts: SmtpTimeouts, phase: SmtpPhase): number {
  switch (phase) {
    case 'connect':
      return timeouts.connect;
    case 'greeting':
      return timeouts.greeting;
    case 'ehlo':
    case 'starttls':
      return timeouts.ehlo;
    case 'mail-from':
    case 'rset':
      return timeouts['mail-from'];
    case 'rcpt-to':
      return timeouts['rcpt-to'];
    case 'data':
      return timeouts.data;
    case 'quit':
      return Math.min(timeouts.ehlo, QUIT_TIMEOUT_CAP_MS);
  }
}
