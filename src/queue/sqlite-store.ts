/**
 * The durable `QueueStore` of a single mxsec node on better-sqlite3, run on the calling thread: each
 * method is one transaction of `SqliteQueue` (schema and durability settings in `sqlite-schema.ts`,
 * the operations and which commits are fsynced in `sqlite-queue.ts`) and returns a settled promise,
 * which also makes every method atomic with respect to the others in this process. Writes use
 * `BEGIN IMMEDIATE`, so two processes on one file serialise on the write lock (waiting up to the busy
 * timeout) instead of failing mid-transaction. The queue commands use this store; `mxsec serve` uses
 * the same operations on a thread of their own (`threaded-store.ts`), where commits are shared.
 *
 * The body is a BLOB in the same row as the envelope: one commit makes message, body and recipients
 * durable together, so a crash can leave neither a body without its envelope nor an envelope whose
 * body file was never fsynced, and there is no directory to fsync. The cost is that SQLite writes the
 * body twice (WAL, then checkpoint), acceptable at mail sizes. Every failure is a `StoreResult` error.
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
import { fail } from './model.js';
import type { SqliteRequest } from './sqlite-queue.js';
import { SqliteQueue } from './sqlite-queue.js';
import type { QueueDatabaseOptions } from './sqlite-schema.js';
import { openQueueDatabase } from './sqlite-schema.js';
import type { QueueStore } from './store.js';

export interface SqliteStoreOptions extends QueueDatabaseOptions {
  /** Source of id randomness; default `crypto.randomBytes`. */
  readonly random?: (size: number) => Uint8Array;
}

/** Opens the store at `dataDir/queue.sqlite`; errors (unwritable directory, newer schema) are values. */
export function openSqliteStore(options: SqliteStoreOptions = {}): StoreResult<SqliteStore> {
  const db = openQueueDatabase(options);
  return db.ok
    ? { ok: true, value: new SqliteStore(new SqliteQueue(db.value, options.random)) }
    : db;
}

export class SqliteStore implements QueueStore {
  private closed = false;

  constructor(private readonly queue: SqliteQueue) {}

  enqueue(message: NewMessage): Promise<StoreResult<string>> {
    return this.run({ op: 'enqueue', args: [message] });
  }

  get(id: string): Promise<StoreResult<QueuedMessage>> {
    return this.run({ op: 'get', args: [id] });
  }

  list(filter: ListFilter = {}): Promise<StoreResult<MessageEnvelope[]>> {
    return this.run({ op: 'list', args: [filter] });
  }

  claimDue(
    now: number,
    limit: number,
    leaseMs: number,
    owner: string,
  ): Promise<StoreResult<Claim[]>> {
    return this.run({ op: 'claimDue', args: [now, limit, leaseMs, owner] });
  }

  recordAttempt(record: AttemptRecord): Promise<StoreResult<string | null>> {
    return this.run({ op: 'recordAttempt', args: [record] });
  }

  attempts(id: string): Promise<StoreResult<AttemptLogEntry[]>> {
    return this.run({ op: 'attempts', args: [id] });
  }

  hold(id: string): Promise<StoreResult<void>> {
    return this.run({ op: 'hold', args: [id] });
  }

  release(id: string): Promise<StoreResult<void>> {
    return this.run({ op: 'release', args: [id] });
  }

  renewLease(
    messageId: string,
    domain: string,
    owner: string,
    until: number,
  ): Promise<StoreResult<number>> {
    return this.run({ op: 'renewLease', args: [messageId, domain, owner, until] });
  }

  recoverLeases(now: number): Promise<StoreResult<number>> {
    return this.run({ op: 'recoverLeases', args: [now] });
  }

  retryNow(id: string, now: number): Promise<StoreResult<void>> {
    return this.run({ op: 'retryNow', args: [id, now] });
  }

  delete(id: string): Promise<StoreResult<void>> {
    return this.run({ op: 'delete', args: [id] });
  }

  removeFinished(limit: number): Promise<StoreResult<string[]>> {
    return this.run({ op: 'removeFinished', args: [limit] });
  }

  stats(now: number): Promise<StoreResult<QueueStats>> {
    return this.run({ op: 'stats', args: [now] });
  }

  close(): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      this.queue.db.close();
    }
    return Promise.resolve();
  }

  /** One request as a batch of one; the caller's `T` is the result type of `request.op`. */
  private run<T>(request: SqliteRequest): Promise<StoreResult<T>> {
    if (this.closed) return Promise.resolve(fail('closed', 'the queue store is closed'));
    const [result] = this.queue.runBatch([request]);
    return Promise.resolve((result ?? fail('io', 'no result')) as StoreResult<T>);
  }
}
