/**
 * Runs one claim (the message comes with it, body included): splits its recipients into batches that
 * share a strategy context, selects each batch's schedule, delivers it through the deliverer and, as soon as the final reply is in
 * (before QUIT, before the connection carries the next message), records the attempt together with
 * the DSN it calls for in one store transaction, and writes one JSON log line per attempt. Never
 * throws for an operational problem: a record that fails (a lost lease, a message deleted meanwhile,
 * a store error) is logged and leaves the recipients to be tried again, with their DSN.
 * With `[queue.worker] connection-reuse` on, the deliverer lets consecutive messages for one MX host
 * share a connection (see `delivery/pool.ts` for when a session may be reused).
 */
import type { MxsecConfig, Schedule } from '../config/types.js';
import type { Deliverer } from '../delivery/deliverer.js';
import type { DomainDelivery } from '../delivery/types.js';
import { reportFallback, selectStrategy } from '../policy/select.js';
import type { Selection } from '../policy/select.js';
import type { Claim, QueuedMessage, QueuedRecipient } from '../queue/model.js';
import type { QueueStore } from '../queue/store.js';
import { batchRecipients, recipientContext } from './context.js';
import { decideBatch } from './decide.js';
import type { RecipientDecision } from './decide.js';
import { buildNotice } from './notices.js';
import type { Clock, Logger } from '../core/ports.js';

export interface AttemptDeps {
  readonly store: QueueStore;
  /** The configuration in effect now (SIGHUP may replace it between claims). */
  readonly config: () => MxsecConfig;
  /** Delivers each batch (connection strategy, context completion and connection reuse are its business). */
  readonly deliverer: Deliverer;
  readonly now: Clock;
  readonly logger: Logger;
  readonly owner: string;
  readonly reportingMta: string;
  /** Random text for DSN boundaries and Message-IDs. */
  readonly unique: () => string;
  /** Told after a DSN was enqueued, so the loop can pick it up without waiting for a poll. */
  readonly onEnqueued?: () => void;
}

function logAttempt(
  deps: AttemptDeps,
  claim: Claim,
  schedule: string,
  delivery: DomainDelivery,
  decisions: readonly RecipientDecision[],
  dsnId: string | null,
): void {
  const last = delivery.attempts[delivery.attempts.length - 1];
  const first = decisions[0];
  const kinds = new Set(decisions.map((d) => d.outcome.kind));
  deps.logger.info(
    {
      event: 'delivery-attempt',
      id: claim.message.id,
      domain: claim.domain,
      mx: last?.mx ?? null,
      ip: last?.ip ?? null,
      strategy: last?.strategy ?? null,
      security: last?.security ?? null,
      schedule,
      result: kinds.size === 1 ? (first?.outcome.kind ?? 'none') : 'mixed',
      last_error: first?.result.lastError ?? 'none',
      code: first?.result.code ?? '',
      recipients: decisions.map((d) => ({
        rcpt: d.recipient.address,
        result: d.outcome.kind,
        code: d.result.code,
        last_error: d.result.lastError,
        ...(d.outcome.kind === 'temporary'
          ? { next_attempt_at: new Date(d.outcome.nextAttemptAt).toISOString() }
          : {}),
        ...(d.dsn === null ? {} : { dsn: d.dsn }),
      })),
      hosts: delivery.attempts.length,
      ...(dsnId === null ? {} : { dsn_id: dsnId }),
    },
    'delivery attempt',
  );
}

async function runBatch(
  deps: AttemptDeps,
  claim: Claim,
  message: QueuedMessage,
  batch: readonly QueuedRecipient[],
): Promise<void> {
  const config = deps.config();
  const first = batch[0];
  if (first === undefined) return;
  const context = recipientContext(message, first, deps.now());
  const schedule = selectStrategy(config.schedule.selector, config.schedule.schedules, context);
  reportFallback(schedule, config.schedule.selector.key);
  // Recorded as soon as the final reply is in, before QUIT or the next message on the connection.
  await deps.deliverer.deliver({
    from: message.returnPath,
    domain: claim.domain,
    recipients: batch.map((r) => r.address),
    body: message.body,
    context,
    settle: (delivery) => record(deps, claim, message, batch, schedule, delivery),
  });
}

async function record(
  deps: AttemptDeps,
  claim: Claim,
  message: QueuedMessage,
  batch: readonly QueuedRecipient[],
  schedule: Selection<Schedule>,
  delivery: DomainDelivery,
): Promise<void> {
  const at = deps.now();
  const decisions = decideBatch(message, schedule.strategy, batch, delivery, at);
  const notice = buildNotice({
    config: deps.config(),
    message,
    domain: claim.domain,
    decisions,
    now: at,
    reportingMta: deps.reportingMta,
    unique: deps.unique(),
  });
  const host = delivery.attempts[delivery.attempts.length - 1]?.mx;
  const recorded = await deps.store.recordAttempt({
    messageId: message.id,
    owner: deps.owner,
    at,
    ...(host === undefined ? {} : { host }),
    outcomes: decisions.map((d) => d.outcome),
    ...(notice === null ? {} : { notice }),
  });
  logAttempt(deps, claim, schedule.name, delivery, decisions, recorded.ok ? recorded.value : null);
  if (!recorded.ok) {
    deps.logger.warn(
      { event: 'record-failed', id: message.id, domain: claim.domain, error: recorded.error },
      'attempt not recorded (nor its DSN); the recipients are tried again after the lease',
    );
    return;
  }
  if (recorded.value !== null) deps.onEnqueued?.();
}

/** Delivers every recipient of a claim; resolves when all its batches are recorded (or abandoned). */
export async function runClaim(deps: AttemptDeps, claim: Claim): Promise<void> {
  for (const batch of batchRecipients(claim.recipients))
    await runBatch(deps, claim, claim.message, batch);
}
