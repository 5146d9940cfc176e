/**
 * What a reply means for delivery: the temporary/permanent split (RFC 5321 4.2.1, refined by the RFC 3463
 * enhanced code's class), the code to report, and the text without its code prefixes. Pure functions over
 * parsed replies; the code syntax itself is read by `reply.ts`, which builds the replies.
 */
import type { Severity } from '../../core/outcome.js';
import { parseEnhancedCode } from './reply.js';
import type { SmtpReply } from './reply.js';

/** The reply's text with the leading enhanced code removed from each line, as RFC 2034 prefixes every line. */
export function replyText(reply: SmtpReply): string {
  if (reply.enhanced === undefined) return reply.lines.join(' ');
  const prefix = `${reply.enhanced} `;
  return reply.lines
    .map((line) =>
      line.startsWith(prefix) ? line.slice(prefix.length) : line === reply.enhanced ? '' : line,
    )
    .join(' ')
    .trim();
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
