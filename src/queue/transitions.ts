/**
 * The rules every store applies, written once so that the in-memory, SQLite and a future PostgreSQL
 * store cannot disagree: what a valid enqueue is, the initial state of a recipient, when a recipient is
 * due, how one attempt outcome changes a recipient, and the order in which due work is handed out.
 * Pure functions; invalid input is a `StoreResult` failure, never an exception.
 */
import type {
  Claim,
  Lease,
  MessageEnvelope,
  QueuedMessage,
  NewMessage,
  QueuedRecipient,
  RecipientOutcome,
  StoreResult,
} from './model.js';
import { domainOf, fail, isFinal, ok } from './model.js';

/** Checks an enqueue request and builds its recipients in their initial `pending` state. */
export function initialRecipients(message: NewMessage): StoreResult<QueuedRecipient[]> {
  if (message.recipients.length === 0)
    return fail('invalid', 'a message needs at least one recipient');
  if (!Number.isSafeInteger(message.createdAt))
    return fail('invalid', 'createdAt must be an integer (epoch ms)');
  if (message.priority !== undefined && !Number.isSafeInteger(message.priority))
    return fail('invalid', 'priority must be an integer');
  const due = message.firstAttemptAt ?? message.createdAt;
  const seen = new Set<string>();
  const out: QueuedRecipient[] = [];
  for (const r of message.recipients) {
    const domain = domainOf(r.address);
    if (domain === undefined) return fail('invalid', `recipient '${r.address}' has no domain`);
    // The attempt log and recordAttempt address recipients by address, so it must be unique; the SMTP
    // listener collapses repeated RCPT TO commands before enqueueing (RFC 5321 section 3.3 allows either).
    if (seen.has(r.address)) return fail('invalid', `recipient '${r.address}' appears twice`);
    if (r.notify !== undefined && r.notify.includes('never') && r.notify.length > 1) {
      return fail(
        'invalid',
        `recipient '${r.address}': NOTIFY=NEVER excludes other values (RFC 3461 section 4.1)`,
      );
    }
    seen.add(r.address);
    out.push({
      address: r.address,
      domain,
      state: 'pending',
      retryNum: 0,
      notifyNum: 0,
      lastError: 'none',
      lastStatus: '',
      nextAttemptAt: due,
      lease: null,
      notify: r.notify ?? [],
      orcpt: r.orcpt ?? null,
    });
  }
  return ok(out);
}

/** True when `r` may be claimed at `now`: not final, due, and not under a live lease. */
export function isDue(r: QueuedRecipient, now: number): boolean {
  return !isFinal(r.state) && r.nextAttemptAt <= now && (r.lease === null || r.lease.until <= now);
}

/**
 * True when `owner` may record a result for `r`. The owner, not the lease time, decides: a worker whose
 * lease ran out may still record as long as nobody re-claimed the recipient, and once someone has, the
 * late worker is fenced off so one attempt is never recorded twice.
 */
export function holdsLease(r: QueuedRecipient, owner: string): boolean {
  return !isFinal(r.state) && r.lease !== null && r.lease.owner === owner;
}

/** The recipient after one attempt. Every attempt counts towards `retry_num`, and the lease is released. */
export function applyOutcome(r: QueuedRecipient, outcome: RecipientOutcome): QueuedRecipient {
  const base = { ...r, retryNum: r.retryNum + 1, lastStatus: outcome.status, lease: null };
  switch (outcome.kind) {
    case 'delivered':
      return { ...base, state: 'delivered', lastError: 'none' };
    case 'temporary':
      return {
        ...base,
        state: 'temporary',
        lastError: outcome.error,
        nextAttemptAt: outcome.nextAttemptAt,
        notifyNum: r.notifyNum + (outcome.notified === true ? 1 : 0),
      };
    case 'permanent':
    case 'expired':
      return { ...base, state: outcome.kind, lastError: outcome.error };
  }
}

/** Checks that `outcomes` name distinct recipients of the message, all leased to `owner`. */
export function checkOutcomes(
  recipients: readonly QueuedRecipient[],
  owner: string,
  outcomes: readonly RecipientOutcome[],
): StoreResult<void> {
  const seen = new Set<string>();
  for (const o of outcomes) {
    if (seen.has(o.address)) return fail('invalid', `two outcomes for '${o.address}'`);
    seen.add(o.address);
    const r = recipients.find((x) => x.address === o.address);
    if (r === undefined) return fail('not-found', `no recipient '${o.address}'`);
    if (!holdsLease(r, owner))
      return fail('lease-lost', `'${o.address}' is not leased to ${owner}`);
  }
  return ok(undefined);
}

/** A message's due recipients grouped by domain, each group not yet leased. */
export interface DueGroup {
  readonly message: MessageEnvelope;
  readonly domain: string;
  readonly due: readonly QueuedRecipient[];
  /** The earliest time one of `due` became claimable (its next attempt, or the end of an old lease). */
  readonly dueAt: number;
}

/** The due groups of one message at `now` (none when the message is held). */
export function dueGroups(message: MessageEnvelope, now: number): DueGroup[] {
  if (message.held) return [];
  const byDomain = new Map<string, QueuedRecipient[]>();
  for (const r of message.recipients) {
    if (!isDue(r, now)) continue;
    const list = byDomain.get(r.domain) ?? [];
    list.push(r);
    byDomain.set(r.domain, list);
  }
  return [...byDomain].map(([domain, due]) => ({
    message,
    domain,
    due,
    dueAt: Math.min(
      ...due.map((r) => Math.max(r.nextAttemptAt, r.lease?.until ?? r.nextAttemptAt)),
    ),
  }));
}

/** Claim order: higher priority first, then longest overdue, then oldest message, then domain. */
export function compareGroups(a: DueGroup, b: DueGroup): number {
  if (a.message.priority !== b.message.priority) return b.message.priority - a.message.priority;
  if (a.dueAt !== b.dueAt) return a.dueAt - b.dueAt;
  if (a.message.id !== b.message.id) return a.message.id < b.message.id ? -1 : 1;
  return a.domain < b.domain ? -1 : a.domain > b.domain ? 1 : 0;
}

/** The claim handed out for a group once its recipients carry `lease`. */
export function toClaim(
  message: QueuedMessage,
  domain: string,
  leased: readonly QueuedRecipient[],
  lease: Lease,
): Claim {
  return { message, domain, recipients: leased, owner: lease.owner, leaseUntil: lease.until };
}
