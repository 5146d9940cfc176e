/**
 * Turns the reportable decisions of one attempt into one DSN message: to the original reverse-path,
 * from the null reverse-path (RFC 5321 section 4.5.5), flagged `dsn` with `source = 'dsn'` so the
 * schedule selector puts it on the `dsn` schedule. The caller hands it to `recordAttempt`, which
 * enqueues it in the transaction that records the attempt: a DSN is never lost nor sent twice for one
 * recorded attempt.
 */
import type { MxsecConfig } from '../config/types.js';
import { buildDsn } from '../dsn/build.js';
import type { DsnRecipient } from '../dsn/build.js';
import { reportFallback, selectStrategy } from '../policy/select.js';
import type { NewMessage, QueuedMessage } from '../queue/model.js';
import { expiresAtFor } from '../queue/schedule.js';
import type { RecipientDecision } from './decide.js';

export interface NoticeInput {
  readonly config: MxsecConfig;
  readonly message: QueuedMessage;
  readonly domain: string;
  readonly decisions: readonly RecipientDecision[];
  readonly now: number;
  readonly reportingMta: string;
  readonly unique: string;
}

function toDsnRecipient(
  d: RecipientDecision,
  domain: string,
  now: number,
): DsnRecipient | undefined {
  if (d.dsn === null) return undefined;
  return {
    address: d.recipient.address,
    orcpt: d.recipient.orcpt,
    action: d.dsn,
    lastError: d.result.lastError,
    code: d.result.code,
    message: d.result.message,
    domain,
    ...(d.mx === undefined ? {} : { mx: d.mx }),
    ...(d.result.reply === undefined ? {} : { reply: d.result.reply }),
    lastAttemptAt: now,
    ...(d.dsn === 'delayed' && d.giveUpAt !== null ? { willRetryUntil: d.giveUpAt } : {}),
    ...(d.outcome.kind === 'expired' ? { expired: true } : {}),
  };
}

/** The DSN of these decisions; null when none of them is reported. */
export function buildNotice(input: NoticeInput): NewMessage | null {
  const recipients = input.decisions
    .map((d) => toDsnRecipient(d, input.domain, input.now))
    .filter((r) => r !== undefined);
  if (recipients.length === 0) return null;
  const body = buildDsn({
    reportingMta: input.reportingMta,
    now: input.now,
    unique: input.unique,
    to: input.message.returnPath,
    original: {
      id: input.message.id,
      arrivalAt: input.message.createdAt,
      envId: input.message.envId,
      ret: input.message.ret,
      body: input.message.body,
    },
    recipients,
  });
  const selection = selectStrategy(
    input.config.schedule.selector,
    input.config.schedule.schedules,
    {
      rcpt: input.message.returnPath,
      source: 'dsn',
      queue_name: 'dsn',
      sender: '',
      retry_num: 0,
      last_error: 'none',
      size: body.length,
    },
  );
  reportFallback(selection, input.config.schedule.selector.key);
  return {
    returnPath: '',
    recipients: [{ address: input.message.returnPath }],
    body,
    createdAt: input.now,
    expiresAt: expiresAtFor(selection.strategy, input.now),
    queueName: selection.strategy.queueName,
    source: 'dsn',
    flags: ['dsn'],
  };
}
