/**
 * Opening the SQLite queue database: the data directory, connection settings, the versioned schema and
 * its migrations, and the translation of SQLite failures into `StoreError` values. `openQueueDatabase`
 * never throws for an operational problem (unwritable directory, corrupt file, a schema newer than this
 * program); it returns the error so `mxsec serve` can refuse to start with a clear message.
 *
 * Durability: WAL journal, opened with `synchronous = FULL`, so a commit is fsynced to the WAL before it
 * returns; with NORMAL a power loss may drop the last commits, which after the 250 reply to DATA would be
 * a lost message (RFC 5321 section 6.1: the 250 accepts responsibility for delivery). `sqlite-queue.ts`
 * lowers it to NORMAL only for commits whose loss can cause a redelivery, never a loss.
 * Measured on the 2-core build VM (ext4 on a virtio disk), 1,000 sequential enqueues of a 10 kB message
 * with two recipients: FULL 0.36 ms each (~2,800/s), NORMAL 0.17 ms each (~6,000/s). That VM's fsync
 * is cheap; on storage that honours flushes, FULL costs one device flush (often 1-10 ms) per enqueue.
 * The fsync is the price of the guarantee; batching several SMTP transactions into one commit (the
 * store thread's group commit) is the way to buy throughput back, not weaker synchronisation.
 */
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import type { StoreError, StoreErrorKind, StoreResult } from './model.js';
import { fail, ok } from './model.js';

/** The schema this program writes; `PRAGMA user_version` holds the database's. */
export const SCHEMA_VERSION = 2;

/** Migration `i` brings a database from version `i` to `i + 1`, inside one transaction. */
export const MIGRATIONS: readonly string[] = [
  `CREATE TABLE message (
     id TEXT PRIMARY KEY,
     return_path TEXT NOT NULL,
     body BLOB NOT NULL,
     size INTEGER NOT NULL,
     created_at INTEGER NOT NULL,
     expires_at INTEGER,
     priority INTEGER NOT NULL,
     queue_name TEXT NOT NULL,
     source TEXT NOT NULL,
     flags TEXT NOT NULL,
     held INTEGER NOT NULL DEFAULT 0,
     env_id TEXT,
     ret TEXT
   ) STRICT;
   CREATE TABLE recipient (
     message_id TEXT NOT NULL REFERENCES message(id) ON DELETE CASCADE,
     idx INTEGER NOT NULL,
     address TEXT NOT NULL,
     domain TEXT NOT NULL,
     state TEXT NOT NULL,
     retry_num INTEGER NOT NULL,
     notify_num INTEGER NOT NULL,
     last_error TEXT NOT NULL,
     last_status TEXT NOT NULL,
     next_attempt_at INTEGER NOT NULL,
     lease_owner TEXT,
     lease_until INTEGER,
     notify TEXT NOT NULL,
     orcpt TEXT,
     PRIMARY KEY (message_id, address)
   ) STRICT;
   CREATE INDEX recipient_due ON recipient (next_attempt_at) WHERE state IN ('pending', 'temporary');
   CREATE INDEX recipient_domain ON recipient (domain);
   CREATE TABLE attempt (
     seq INTEGER PRIMARY KEY,
     message_id TEXT NOT NULL,
     address TEXT NOT NULL,
     at INTEGER NOT NULL,
     owner TEXT NOT NULL,
     host TEXT,
     kind TEXT NOT NULL,
     status TEXT NOT NULL,
     error TEXT NOT NULL
   ) STRICT;
   CREATE INDEX attempt_message ON attempt (message_id, seq);`,
  // 2: claims by index (see sqlite-queue.ts). Each recipient carries its message's priority and held
  // flag, and ready_at, the later of next_attempt_at and lease_until: when it may next be claimed.
  `ALTER TABLE recipient ADD COLUMN priority INTEGER NOT NULL DEFAULT 0;
   ALTER TABLE recipient ADD COLUMN held INTEGER NOT NULL DEFAULT 0;
   ALTER TABLE recipient ADD COLUMN ready_at INTEGER NOT NULL DEFAULT 0;
   UPDATE recipient SET
     priority = (SELECT m.priority FROM message m WHERE m.id = message_id),
     held = (SELECT m.held FROM message m WHERE m.id = message_id),
     ready_at = MAX(next_attempt_at, COALESCE(lease_until, 0));
   DROP INDEX recipient_due;
   CREATE INDEX recipient_ready ON recipient (priority DESC, ready_at, message_id, domain)
     WHERE state IN ('pending', 'temporary') AND held = 0;`,
];

export interface QueueDatabaseOptions {
  /** Directory of the database, created if missing; default `./data`. */
  readonly dataDir?: string;
  /** Default `queue.sqlite`. */
  readonly fileName?: string;
  /** Open for inspection only (e.g. `mxsec queue list` beside a running server): every write fails. */
  readonly readOnly?: boolean;
  /** Cap on the database size; enqueues beyond it fail with `full` (a queue quota). */
  readonly maxSizeBytes?: number;
  /** How long to wait for another connection's write lock before `busy`; default 5000 ms. */
  readonly busyTimeoutMs?: number;
}

const SQLITE_KIND: ReadonlyArray<readonly [string, StoreErrorKind]> = [
  ['SQLITE_READONLY', 'read-only'],
  ['SQLITE_FULL', 'full'],
  ['SQLITE_BUSY', 'busy'],
  ['SQLITE_LOCKED', 'busy'],
  ['SQLITE_PERM', 'read-only'],
  ['SQLITE_CONSTRAINT', 'invalid'],
];

/** Maps an exception from better-sqlite3 to a store error; anything unrecognised is `io`. */
export function toStoreError(error: unknown): StoreError {
  if (error instanceof Database.SqliteError) {
    const match = SQLITE_KIND.find(([prefix]) => error.code.startsWith(prefix));
    return { kind: match?.[1] ?? 'io', message: `${error.code}: ${error.message}` };
  }
  return { kind: 'io', message: error instanceof Error ? error.message : String(error) };
}

/** Runs `body`, turning a thrown SQLite or file-system failure into an error value. */
export function guard<T>(body: () => StoreResult<T>): StoreResult<T> {
  try {
    return body();
  } catch (error) {
    return { ok: false, error: toStoreError(error) };
  }
}

/** Brings the schema to `SCHEMA_VERSION`; refuses a newer database rather than misreading it. */
export function migrate(db: Database.Database): StoreResult<number> {
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > SCHEMA_VERSION) {
    return fail(
      'invalid',
      `queue database schema ${current} is newer than this mxsec (${SCHEMA_VERSION})`,
    );
  }
  if (current === SCHEMA_VERSION) return ok(current);
  if (db.readonly)
    return fail(
      'read-only',
      `queue database schema ${current} needs migration to ${SCHEMA_VERSION}; open it writable`,
    );
  for (let v = current; v < SCHEMA_VERSION; v++) {
    const step = MIGRATIONS[v];
    if (step === undefined) throw new Error(`missing migration ${v}`);
    // DDL is transactional in SQLite: a crash mid-migration leaves the old version intact.
    db.transaction(() => {
      db.exec(step);
      db.pragma(`user_version = ${v + 1}`);
    }).immediate();
  }
  return ok(SCHEMA_VERSION);
}

/** Opens (creating if needed) and migrates the queue database. */
export function openQueueDatabase(
  options: QueueDatabaseOptions = {},
): StoreResult<Database.Database> {
  const dir = resolve(options.dataDir ?? './data');
  const path = join(dir, options.fileName ?? 'queue.sqlite');
  let db: Database.Database | undefined;
  const opened = guard(() => {
    if (options.readOnly !== true) mkdirSync(dir, { recursive: true });
    db = new Database(path, {
      readonly: options.readOnly === true,
      fileMustExist: options.readOnly === true,
      timeout: options.busyTimeoutMs ?? 5000,
    });
    if (!db.readonly) {
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = FULL');
    }
    db.pragma('foreign_keys = ON');
    if (options.maxSizeBytes !== undefined) {
      const pageSize = db.pragma('page_size', { simple: true }) as number;
      db.pragma(`max_page_count = ${Math.max(1, Math.floor(options.maxSizeBytes / pageSize))}`);
    }
    return migrate(db);
  });
  if (!opened.ok || db === undefined) {
    db?.close();
    return opened.ok
      ? fail('io', `cannot open ${path}`)
      : { ok: false, error: { ...opened.error, message: `${path}: ${opened.error.message}` } };
  }
  return ok(db);
}
