/**
 * Whether a recipient's result is reported to the sender, and with which RFC 3464 action (RFC 3461
 * section 5.2 and RFC 5321 section 4.5.5). Pure; `null` means no DSN for this recipient.
 *
 * - Never for the null reverse-path: DSNs, reports and other mail sent with `MAIL FROM:<>` must not
 *   cause notifications, or two servers could bounce at each other forever.
 * - NOTIFY=NEVER suppresses everything; NOTIFY given without FAILURE / DELAY / SUCCESS suppresses that kind.
 * - Without NOTIFY, failures and delays are reported (RFC 3461 section 4.1 leaves delays to the MTA)
 *   and successes are not.
 */
import type { DsnNotify, MessageEnvelope, RecipientOutcome } from '../queue/model.js';
import type { DsnAction } from './build.js';

export function dsnAction(
  message: Pick<MessageEnvelope, 'returnPath' | 'flags'>,
  notify: readonly DsnNotify[],
  outcome: RecipientOutcome,
): DsnAction | null {
  if (message.returnPath === '') return null;
  // A DSN carries the null reverse-path already; the flag guards a store that lost it.
  if (message.flags.includes('dsn')) return null;
  if (notify.includes('never')) return null;
  const asked = (kind: DsnNotify, byDefault: boolean): boolean =>
    notify.length === 0 ? byDefault : notify.includes(kind);
  switch (outcome.kind) {
    case 'delivered':
      return asked('success', false) ? 'relayed' : null;
    case 'permanent':
    case 'expired':
      return asked('failure', true) ? 'failed' : null;
    case 'temporary':
      return outcome.notified === true && asked('delay', true) ? 'delayed' : null;
  }
}
