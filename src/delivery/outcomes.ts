/**
 * Turns SMTP transaction outcomes and host failures into per-recipient outcomes: delivered when the
 * RCPT was accepted and the final DATA reply was 2yz, otherwise the failure table's row for a refusing
 * reply (RFC 5321 section 4.2.1: the code says temporary or permanent; RFC 3463: the status is the
 * server's). Pure.
 */
import { classify } from '../policy/failure.js';
import type { DeliveryFailure } from '../policy/failure.js';
import { effectiveEnhancedCode } from '../smtp/protocol/enhanced.js';
import { formatReply } from '../smtp/protocol/reply.js';
import { recipientVerdicts } from '../smtp/protocol/transaction.js';
import type { TransactionOutcome } from '../smtp/protocol/transaction.js';
import type { RecipientOutcome } from './types.js';

export function outcomesFromTransaction(
  outcome: TransactionOutcome,
  attempt: number,
): RecipientOutcome[] {
  return recipientVerdicts(outcome).map((v) =>
    v.delivered
      ? {
          address: v.address,
          status: 'delivered',
          lastError: 'none',
          code: effectiveEnhancedCode(v.reply),
          reply: formatReply(v.reply),
          message: 'delivered',
          attempt,
        }
      : pendingOutcome(
          v.address,
          classify({
            reason: 'reply',
            message: `the server answered ${formatReply(v.reply)}`,
            reply: v.reply,
          }),
          attempt,
        ),
  );
}

export function pendingOutcome(
  address: string,
  failure: DeliveryFailure,
  attempt: number | undefined,
): RecipientOutcome {
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
