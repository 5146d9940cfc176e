/**
 * RFC 3463 enhanced mail system status codes (`class.subject.detail`) and the temporary/permanent split
 * of replies (RFC 5321 4.2.1). Pure functions; parsing returns undefined for anything that is not a code.
 */
import type { Severity } from '../../core/outcome.js';
import type { SmtpReply } from './reply.js';

export interface EnhancedCode {
  /** 2 success, 4 persistent transient failure, 5 permanent failure (RFC 3463 section 3.1). */
  readonly class: 2 | 4 | 5;
  readonly subject: number;
  readonly detail: number;
  /** Canonical text, e.g. `5.1.1`. */
  readonly text: string;
}

// RFC 3463 section 2: subject and detail are 1 to 3 digits without superfluous leading zeros.
const CODE = /^([245])\.(0|[1-9]\d{0,2})\.(0|[1-9]\d{0,2})$/;

/** Parses `5.1.1`. Returns undefined for anything else, including `5.01.1` and `3.0.0`. */
export function parseEnhancedCode(text: string): EnhancedCode | undefined {
  const match = CODE.exec(text);
  if (match === null) return undefined;
  const cls = Number(match[1]) as 2 | 4 | 5;
  const subject = Number(match[2]);
  const detail = Number(match[3]);
  return { class: cls, subject, detail, text: `${cls}.${subject}.${detail}` };
}

/** Composes a code; throws on out-of-range parts because that is a programming error, not input. */
export function composeEnhancedCode(cls: 2 | 4 | 5, subject: number, detail: number): string {
  if (!Number.isInteger(subject) || !Number.isInteger(detail) || subject < 0 || detail < 0 || subject > 999 || detail > 999) {
    throw new RangeError(`invalid enhanced status code ${cls}.${subject}.${detail}`);
  }
  return `${cls}.${subject}.${detail}`;
}

/** The reply's text with the leading enhanced code removed from each line, as RFC 2034 prefixes every line. */
export function replyText(reply: SmtpReply): string {
  if (reply.enhanced === undefined) return reply.lines.join(' ');
  const prefix = `${reply.enhanced} `;
  return reply.lines.map((line) => (line.startsWith(prefix) ? line.slice(prefix.length) : line === reply.enhanced ? '' : line)).join(' ').trim();
}

/**
 * Whether a failed reply is worth retrying. RFC 5321 4.2.1: 4yz is transient, 5yz permanent. The enhanced
 * code's class wins when it disagrees with the basic code (RFC 3463 section 3.1 makes it authoritative
 * for the class), except that a 2.x.x code never turns a failure into a success.
 * Positive replies (2yz, 3yz) are reported as undefined: they are not failures.
 */
export function replySeverity(reply: SmtpReply): Severity | undefined {
  if (reply.code < 400) return undefined;
  const enhanced = reply.enhanced === undefined ? undefined : parseEnhancedCode(reply.enhanced);
  if (enhanced?.class === 4) return 'temporary';
  if (enhanced?.class === 5) return 'permanent';
  return reply.code >= 500 ? 'permanent' : 'temporary';
}

/** The enhanced code to report for a reply: its own, or the generic one of its class (RFC 3463 `x.0.0`). */
export function effectiveEnhancedCode(reply: SmtpReply): string {
  if (reply.enhanced !== undefined) return reply.enhanced;
  if (reply.code >= 500) return '5.0.0';
  if (reply.code >= 400) return '4.0.0';
  return '2.0.0';
}
