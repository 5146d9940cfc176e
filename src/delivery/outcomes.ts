/**
 * Turns SMTP transaction outcomes and host failures into per-recipient outcomes: delivered when the
 * RCPT was accepted and the final DATA reply was 2yz, otherwise temporary or permanent from the reply
 * code (RFC 5321 section 4.2.1) with its RFC 3463 status.
 */
import type { DeliveryFailure } from '../policy/failure.js';
import { effectiveEnhancedCode, replySeverity } from '../smtp/protocol/enhanced.js';
import type { SmtpReply } from '../smtp/protocol/reply.js';
import { formatReply } from '../smtp/protocol/reply.js';
import { recipientVerdicts } from '../smtp/protocol/transaction.js';
import type { TransactionOutcome } from '../smtp/protocol/transaction.js';
import type { RecipientOutcome } from './types.js';

function fromReply(address: string, reply: SmtpReply, attempt: number): RecipientOutcome {
  const severity = replySeverity(reply) ?? 'temporary';
  return {
    address,
    status: severity,
    lastError: 'unexpected-reply',
    code: effectiveEnhancedCode(reply),
    reply: formatReply(reply),
    message: `the server answered ${formatReply(reply)}`,
    attempt,
  };
}

export function outcomesFromTransaction(outcome: TransactionOutcome, attempt: number): RecipientOutcome[] {
  return recipientVerdicts(outcome).map((v) => v.delivered
    ? { address: v.address, status: 'delivered', lastError: 'none', code: effectiveEnhancedCode(v.reply), reply: formatReply(v.reply), message: 'delivered', attempt }
    : fromReply(v.address, v.reply, attempt));
}

export function pendingOutcome(address: string, failure: DeliveryFailure, attempt: number | undefined): RecipientOutcome {
  return {
    address,
    status: failure.severity,
    lastError: failure.lastError,
    code: failure.status,
    ...(failure.reply === undefined ? {} : { reply: formatReply(failure.reply) }),
    message: failure.message,
    ...(attempt === undefined ? {} : { attempt }),
  };
}
