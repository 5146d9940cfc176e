/**
 * The store thread of `threaded-store.ts`: owns the one SQLite connection of `mxsec serve` and runs
 * requests in batches. Every request that arrived while the previous batch was committing (and its
 * fsync was running) goes into the next batch, one transaction with a savepoint per request
 * (`SqliteQueue.runBatch`): that is group commit, and it happens without any waiting timer, so a lone
 * request is committed at once. Results go back in one message per batch, in request order.
 *
 * Protocol: the parent sends `{ kind: 'calls', calls }` and `{ kind: 'close' }`; this thread answers
 * `{ kind: 'opened', result }` once, then `{ kind: 'results', ids, results }` per batch, and
 * `{ kind: 'closed' }` after the last batch, when the database is closed.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { SqliteRequest } from './sqlite-queue.js';
import { SqliteQueue } from './sqlite-queue.js';
import type { QueueDatabaseOptions } from './sqlite-schema.js';
import { openQueueDatabase } from './sqlite-schema.js';

export interface WorkerCall {
  readonly id: number;
  readonly request: SqliteRequest;
}

export type ToWorker =
  { readonly kind: 'calls'; readonly calls: readonly WorkerCall[] } | { readonly kind: 'close' };

/** Bounds one transaction, so a burst cannot make the first request of a batch wait for thousands. */
const MAX_BATCH = 256;

const port = parentPort;
if (port === null) throw new Error('sqlite-worker.js runs only as a worker thread');
const opened = openQueueDatabase(workerData as QueueDatabaseOptions);
port.postMessage({ kind: 'opened', result: opened.ok ? { ok: true, value: null } : opened });
if (opened.ok) {
  const queue = new SqliteQueue(opened.value);
  let pending: WorkerCall[] = [];
  let scheduled = false;
  const flush = (): void => {
    scheduled = false;
    while (pending.length > 0) {
      const batch = pending.slice(0, MAX_BATCH);
      pending = pending.slice(MAX_BATCH);
      const results = queue.runBatch(batch.map((c) => c.request));
      port.postMessage({ kind: 'results', ids: batch.map((c) => c.id), results });
      // Let the requests that arrived during this commit join the next batch.
      if (pending.length > 0) {
        scheduled = true;
        setImmediate(flush);
        return;
      }
    }
  };
  port.on('message', (message: ToWorker) => {
    if (message.kind === 'close') {
      flush();
      queue.db.close();
      port.postMessage({ kind: 'closed' });
      port.close();
      return;
    }
    pending.push(...message.calls);
    if (!scheduled) {
      scheduled = true;
      setImmediate(flush);
    }
  });
}
