/**
 * The SQLite `QueueStore` of `mxsec serve`: the same operations as `sqlite-store.ts`, run on a thread
 * of their own (`sqlite-worker.ts`) so the event loop that runs both SMTP sides never blocks on a
 * query or an fsync, and the second core does the store's work. Requests made in one turn of the event
 * loop travel in one message; the thread commits everything that queued up during its previous commit in one
 * transaction (group commit), so an enqueue still resolves only after the commit that holds it was
 * fsynced, while several SMTP sessions share that fsync.
 *
 * Order: requests are run in the order they were made, so a caller sees its own writes. A thread
 * that dies (it should not) fails every pending and later request with `io` and calls `onCrash`; the
 * transactions it did not commit changed nothing. Ids are drawn from `crypto.randomBytes`.
 */
import { Worker } from 'node:worker_threads';
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
import type { QueueDatabaseOptions } from './sqlite-schema.js';
import type { ToWorker, WorkerCall } from './sqlite-worker.js';
import type { QueueStore } from './store.js';

export interface ThreadedStoreOptions extends QueueDatabaseOptions {
  /** Told once if the store thread dies; every request fails with `io` from then on. */
  readonly onCrash?: (message: string) => void;
}

type FromWorker =
  | { readonly kind: 'opened'; readonly result: StoreResult<null> }
  | {
      readonly kind: 'results';
      readonly ids: readonly number[];
      readonly results: ReadonlyArray<StoreResult<unknown>>;
    }
  | { readonly kind: 'closed' };

/** Starts the store thread and opens (creating, migrating) the database there; errors are values. */
export function openThreadedStore(
  options: ThreadedStoreOptions = {},
): Promise<StoreResult<ThreadedStore>> {
  const { onCrash, ...database } = options;
  const worker = new Worker(new URL('./sqlite-worker.js', import.meta.url), {
    workerData: database,
  });
  return new Promise((resolve) => {
    const early = (error: unknown): void =>
      resolve(fail('io', `queue store thread failed to start: ${String(error)}`));
    worker.once('error', early);
    worker.once('message', (message: FromWorker) => {
      worker.off('error', early);
      if (message.kind !== 'opened' || !message.result.ok) {
        void worker.terminate();
        resolve(
          message.kind === 'opened' && !message.result.ok
            ? message.result
            : fail('io', 'queue store thread did not open'),
        );
        return;
      }
      resolve({ ok: true, value: new ThreadedStore(worker, onCrash) });
    });
  });
}

export class ThreadedStore implements QueueStore {
  private readonly waiting = new Map<number, (result: StoreResult<unknown>) => void>();
  private outbox: WorkerCall[] = [];
  private nextId = 0;
  private state: 'open' | 'closing' | 'closed' | 'dead' = 'open';
  private deadReason = '';
  private closing: Promise<void> | undefined;

  constructor(
    private readonly worker: Worker,
    private readonly onCrash: ((message: string) => void) | undefined,
  ) {
    worker.on('message', (message: FromWorker) => {
      if (message.kind !== 'results') return;
      message.ids.forEach((id, i) => {
        const settle = this.waiting.get(id);
        this.waiting.delete(id);
        settle?.(message.results[i] ?? fail('io', 'no result from the queue store thread'));
      });
    });
    worker.on('error', (error) => this.die(`queue store thread failed: ${String(error)}`));
    worker.on('exit', (code) => {
      if (this.state === 'open') this.die(`queue store thread exited (code ${code})`);
    });
  }

  enqueue(message: NewMessage): Promise<StoreResult<string>> {
    return this.call({ op: 'enqueue', args: [message] });
  }

  get(id: string): Promise<StoreResult<QueuedMessage>> {
    return this.call({ op: 'get', args: [id] });
  }

  list(filter: ListFilter = {}): Promise<StoreResult<MessageEnvelope[]>> {
    return this.call({ op: 'list', args: [filter] });
  }

  claimDue(
    now: number,
    limit: number,
    leaseMs: number,
    owner: string,
  ): Promise<StoreResult<Claim[]>> {
    return this.call({ op: 'claimDue', args: [now, limit, leaseMs, owner] });
  }

  recordAttempt(record: AttemptRecord): Promise<StoreResult<string | null>> {
    return this.call({ op: 'recordAttempt', args: [record] });
  }

  attempts(id: string): Promise<StoreResult<AttemptLogEntry[]>> {
    return this.call({ op: 'attempts', args: [id] });
  }

  hold(id: string): Promise<StoreResult<void>> {
    return this.call({ op: 'hold', args: [id] });
  }

  release(id: string): Promise<StoreResult<void>> {
    return this.call({ op: 'release', args: [id] });
  }

  renewLease(
    messageId: string,
    domain: string,
    owner: string,
    until: number,
  ): Promise<StoreResult<number>> {
    return this.call({ op: 'renewLease', args: [messageId, domain, owner, until] });
  }

  recoverLeases(now: number): Promise<StoreResult<number>> {
    return this.call({ op: 'recoverLeases', args: [now] });
  }

  retryNow(id: string, now: number): Promise<StoreResult<void>> {
    return this.call({ op: 'retryNow', args: [id, now] });
  }

  delete(id: string): Promise<StoreResult<void>> {
    return this.call({ op: 'delete', args: [id] });
  }

  removeFinished(limit: number): Promise<StoreResult<string[]>> {
    return this.call({ op: 'removeFinished', args: [limit] });
  }

  stats(now: number): Promise<StoreResult<QueueStats>> {
    return this.call({ op: 'stats', args: [now] });
  }

  /** Waits for the requests already made, closes the database and ends the thread. */
  close(): Promise<void> {
    if (this.closing !== undefined) return this.closing;
    if (this.state === 'dead') return (this.closing = Promise.resolve());
    this.state = 'closing';
    this.send();
    this.closing = new Promise<void>((resolve) => {
      this.worker.once('exit', () => resolve());
      this.post({ kind: 'close' });
    }).then(() => {
      this.state = 'closed';
    });
    return this.closing;
  }

  private call<T>(request: SqliteRequest): Promise<StoreResult<T>> {
    if (this.state === 'dead') return Promise.resolve(fail('io', this.deadReason));
    if (this.state !== 'open') return Promise.resolve(fail('closed', 'the queue store is closed'));
    const id = this.nextId++;
    // Everything asked for in this turn of the event loop travels in one message.
    if (this.outbox.length === 0) setImmediate(() => this.send());
    this.outbox.push({ id, request });
    return new Promise((resolve) => {
      this.waiting.set(id, resolve as (result: StoreResult<unknown>) => void);
    });
  }

  private send(): void {
    if (this.outbox.length === 0) return;
    const calls = this.outbox;
    this.outbox = [];
    this.post({ kind: 'calls', calls });
  }

  private post(message: ToWorker): void {
    this.worker.postMessage(message);
  }

  private die(reason: string): void {
    if (this.state === 'dead' || this.state === 'closed') return;
    this.state = 'dead';
    this.deadReason = reason;
    this.outbox = [];
    for (const settle of this.waiting.values()) settle(fail('io', reason));
    this.waiting.clear();
    this.onCrash?.(reason);
  }
}
