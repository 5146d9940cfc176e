/**
 * The contract of a queue store: durable messages, per-recipient delivery state, and leases through
 * which delivery work is handed out. Implementations: `memory-store.ts` (tests, benchmarks) and
 * `sqlite-store.ts` (one node); the contract is shaped so a PostgreSQL store shared by several nodes
 * (`SELECT ... FOR UPDATE SKIP LOCKED` in `claimDue`) fits without changing the scheduler.
 *
 * Guarantees every implementation gives, checked by `test/support/store.contract.ts`:
 * - `enqueue` resolves with an id only after the message, body and recipients are committed together;
 *   on failure nothing is stored and the error is a value (the SMTP listener answers 4xx).
 * - A recipient is leased to at most one owner at a time. A lease that expires makes the recipient
 *   claimable again, which is how work held by a crashed process (kill -9) is retried, never lost;
 *   `recoverLeases` frees them at once when the caller knows every owner is dead.
 * - `recordAttempt` applies all of its outcomes, appends the attempt log and enqueues its DSN, or
 *   changes nothing.
 * - No method rejects for an operational failure; rejections are bugs.
 */
import type {
  AttemptLogEntry,
  AttemptRecord,
  Claim,
  ListFilter,
  MessageEnvelope,
  NewMessage,
  QueuedMessage,
  QueueStats,
  StoreResult,
} from './model.js';

export interface QueueStore {
  /**
   * Stores a message atomically and returns its new id once durable. Errors: `invalid` (no recipients,
   * an address without a domain, a duplicate recipient), `read-only`, `full`, `busy`, `io`, `closed`.
   */
  enqueue(message: NewMessage): Promise<StoreResult<string>>;

  /** The whole message with its body, or `not-found`. */
  get(id: string): Promise<StoreResult<QueuedMessage>>;

  /** Envelopes (no bodies) matching `filter`, in id order (oldest first). */
  list(filter?: ListFilter): Promise<StoreResult<MessageEnvelope[]>>;

  /**
   * Leases the recipients due at `now` to `owner` until `now + leaseMs` and returns them grouped per
   * message and domain, at most `limit` groups, higher priority first, then longest overdue. Held
   * messages and recipients under a live lease are skipped. Every due recipient of a returned group is
   * included, so one SMTP transaction can carry them all.
   */
  claimDue(
    now: number,
    limit: number,
    leaseMs: number,
    owner: string,
  ): Promise<StoreResult<Claim[]>>;

  /**
   * Records one attempt: each named recipient becomes delivered, temporary (with its next attempt time),
   * permanent or expired; `retry_num` goes up, `last_error` and `last_status` are set, the lease is
   * released and a log row is appended per outcome, and `record.notice` (a DSN) is enqueued, all in one
   * transaction; resolves with the notice's id (null without one). `lease-lost` (and no change at all)
   * when any named recipient is not leased to `record.owner`; an invalid notice also changes nothing.
   */
  recordAttempt(record: AttemptRecord): Promise<StoreResult<string | null>>;

  /** The attempt log of a message, oldest first (empty for an unknown id). */
  attempts(id: string): Promise<StoreResult<AttemptLogEntry[]>>;

  /** Stops claims of a message until `release`. Leases already given run to their end. */
  hold(id: string): Promise<StoreResult<void>>;
  release(id: string): Promise<StoreResult<void>>;

  /**
   * The heartbeat of a delivery in progress: moves the lease end of the recipients of `messageId` for
   * `domain` that are still leased to `owner` to `until`, and returns how many. 0 means the lease was
   * lost (it expired and another owner claimed the work): the caller must not expect to record it.
   */
  renewLease(
    messageId: string,
    domain: string,
    owner: string,
    until: number,
  ): Promise<StoreResult<number>>;

  /**
   * Releases every lease in the store, live or not, in one transaction, and makes each recipient that
   * was leased and is not final due at `now`, its `retry_num` unchanged (the cut-off attempt never
   * ended). Only for the sole owner of the store at start-up, whose predecessors are all dead (the data
   * directory lock proves it); returns how many recipients were recovered.
   */
  recoverLeases(now: number): Promise<StoreResult<number>>;

  /** Makes every non-final recipient due at `now` (an operator's "flush"). Does not break live leases. */
  retryNow(id: string, now: number): Promise<StoreResult<void>>;

  /** Removes a message and its log, whatever the state of its recipients. */
  delete(id: string): Promise<StoreResult<void>>;

  /**
   * Removes up to `limit` messages whose recipients are all final (after their DSNs were queued),
   * returning their ids.
   */
  removeFinished(limit: number): Promise<StoreResult<string[]>>;

  stats(now: number): Promise<StoreResult<QueueStats>>;

  /** Releases resources; afterwards every method returns `closed`. Idempotent. */
  close(): Promise<void>;
}
