/**
 * Turns the result of one delivery attempt into the queue's per-recipient outcomes under the selected
 * `queue.schedule.<id>`, and says which recipients are reported to the sender. Pure: `now` is an input.
 *
 * - delivered and permanent results are final;
 * - a temporary result is `expired` (final, RFC 3463 X.4.7 "delivery time expired" is described in the
 *   DSN, the last cause keeps its own status) when the schedule's lifetime or attempt limit is reached,
 *   otherwise it is due again after the schedule's next retry interval;
 * - the next attempt is brought forward to the expiry time, so a message is given up on time rather
 *   than at the first retry after it, and to the next delay-notice time, so that notice is sent on time
 *   (a notice is only sent with an attempt, carrying its fresh diagnosis);
 * - a delay notice is due when the schedule's `notify` time has passed (`notifyDue`); the slot is used
 *   up even when the recipient asked for no delay DSN, so it is not re-examined on every attempt.
 */
import type { DomainDelivery, RecipientOutcome as DeliveryOutcome } from '../delivery/types.js';
import type { DsnAction } from '../dsn/build.js';
import { dsnAction } from '../dsn/policy.js';
import type { MessageEnvelope, QueuedRecipient, RecipientOutcome } from '../queue/model.js';
import { expiresAtFor, isExpired, nextNotifyAt, nextRetryAt } from '../queue/schedule.js';
import type { ScheduleSettings } from '../queue/schedule.js';

export interface RecipientDecision {
  readonly recipient: QueuedRecipient;
  readonly result: DeliveryOutcome;
  /** The MX host of the attempt that decided this recipient, if any. */
  readonly mx?: string;
  readonly outcome: RecipientOutcome;
  /** The DSN action to report, or null for none. */
  readonly dsn: DsnAction | null;
  /** When the queue gives up on the recipient, for Will-Retry-Until; null when attempt-limited. */
  readonly giveUpAt: number | null;
}

/** The time-limited end of a message: the earlier of the schedule's lifetime and the stored expiry. */
export function giveUpAt(
  schedule: ScheduleSettings,
  message: Pick<MessageEnvelope, 'createdAt' | 'expiresAt'>,
): number | null {
  const bySchedule = expiresAtFor(schedule, message.createdAt);
  if (bySchedule === null) return message.expiresAt;
  return message.expiresAt === null ? bySchedule : Math.min(bySchedule, message.expiresAt);
}

function statusText(result: DeliveryOutcome): string {
  return result.reply ?? `${result.code} ${result.message}`;
}

function decideOne(
  message: MessageEnvelope,
  schedule: ScheduleSettings,
  r: QueuedRecipient,
  result: DeliveryOutcome,
  now: number,
  end: number | null,
): RecipientOutcome {
  const status = statusText(result);
  switch (result.status) {
    case 'delivered':
      return { address: r.address, kind: 'delivered', status };
    case 'permanent':
      return { address: r.address, kind: 'permanent', status, error: result.lastError };
    case 'temporary': {
      const attemptsMade = r.retryNum + 1;
      if (isExpired(schedule, message, attemptsMade, now) || (end !== null && now >= end)) {
        return { address: r.address, kind: 'expired', status, error: result.lastError };
      }
      const noticeAt = nextNotifyAt(schedule, r.notifyNum, message.createdAt);
      const notified = noticeAt !== null && now >= noticeAt;
      let next = nextRetryAt(schedule, r.retryNum, now);
      if (end !== null) next = Math.min(next, end);
      const following = nextNotifyAt(schedule, r.notifyNum + (notified ? 1 : 0), message.createdAt);
      if (following !== null && following > now) next = Math.min(next, following);
      return {
        address: r.address,
        kind: 'temporary',
        status,
        error: result.lastError,
        nextAttemptAt: Math.max(next, now + 1),
        ...(notified ? { notified } : {}),
      };
    }
  }
}

/** Decides every recipient of a batch; `delivery.recipients` must name each of them. */
export function decideBatch(
  message: MessageEnvelope,
  schedule: ScheduleSettings,
  recipients: readonly QueuedRecipient[],
  delivery: DomainDelivery,
  now: number,
): RecipientDecision[] {
  const end = giveUpAt(schedule, message);
  return recipients.map((r) => {
    const result = delivery.recipients.find((o) => o.address === r.address);
    if (result === undefined) throw new Error(`delivery returned no outcome for ${r.address}`);
    const outcome = decideOne(message, schedule, r, result, now, end);
    const mx = result.attempt === undefined ? undefined : delivery.attempts[result.attempt]?.mx;
    return {
      recipient: r,
      result,
      ...(mx === undefined ? {} : { mx }),
      outcome,
      dsn: dsnAction(message, r.notify, outcome),
      giveUpAt: end,
    };
  });
}
