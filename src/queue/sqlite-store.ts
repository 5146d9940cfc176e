/**
 * The durable `QueueStore` of a single mxsec node, on better-sqlite3 (schema and durability settings in
 * `sqlite-schema.ts`). better-sqlite3 is synchronous: each method runs one short transaction on the
 * event loop and returns a settled promise, which also makes every method atomic with respect to the
 * others in this process. Writes use `BEGIN IMMEDIATE`, so two processes on one file serialise on the
 * write lock (waiting up to the busy timeout) instead of failing mid-transaction.
 *
 * The body is a BLOB in the same row as the envelope: one commit makes message, body and recipients
 * durable together, so a crash can leave neither a body without its envelope nor an envelope whose
 * body file was never fsynced, and there is no directory to fsync. The cost is that SQLite writes the
 * body twice (WAL, then checkpoint), acceptable at mail sizes. Every failure is a `StoreResult` error.
 */
import { randomBytes } from 'node:crypto';
import type Database from 'better-sqlite3';
import type { LastError } from '../core/outcome.js';
import { LAST_ERRORS } from '../core/outcome.js';
import { makeQueueId } from './id.js';
import type {
  AttemptLogEntry,
  AttemptRecord,
  Claim,
  DsnNotify,
  ListFilter,
  MessageEnvelope,
  MessageFlag,
  NewMessage,
  QueuedMessage,
  QueuedRecipient,
  QueueStats,
  RecipientOutcome,
  RecipientState,
  StoreResult,
} from './model.js';
import { fail, ok, RECIPIENT_STATES } from './model.js';
import type { QueueDatabaseOptions } from './sqlite-schema.js';
import { guard, openQueueDatabase } from './sqlite-schema.js';
import type { QueueStore } from './store.js';
import { applyOutcome, checkOutcomes, initialRecipients, toClaim } from './transitions.js';

export interface SqliteStoreOptions extends QueueDatabaseOptions {
  /** Source of id randomness; default `crypto.randomBytes`. */
  readonly random?: (size: number) => Uint8Array;
}

interface MessageRow {
  id: string;
  return_path: string;
  body?: Uint8Array;
  size: number;
  created_at: number;
  expires_at: number | null;
  priority: number;
  queue_name: string;
  source: string;
  flags: string;
  held: number;
  env_id: string | null;
  ret: string | null;
}

interface RecipientRow {
  message_id: string;
  address: string;
  domain: string;
  state: string;
  retry_num: number;
  notify_num: number;
  last_error: string;
  last_status: string;
  next_attempt_at: number;
  lease_owner: string | null;
  lease_until: number | null;
  notify: string;
  orcpt: string | null;
}

const ENVELOPE_COLUMNS =
  'id, return_path, size, created_at, expires_at, priority, queue_name, source, flags, held, env_id, ret';
const DUE = `state IN ('pending', 'temporary') AND next_attempt_at <= :now AND (lease_until IS NULL OR lease_until <= :now)`;

function csv<T extends string>(text: string): T[] {
  return text === '' ? [] : (text.split(',') as T[]);
}

function toRecipient(row: RecipientRow): QueuedRecipient {
  const lastError = (LAST_ERRORS as readonly string[]).includes(row.last_error)
    ? (row.last_error as LastError)
    : 'io';
  return {
    address: row.address,
    domain: row.domain,
    state: row.state as RecipientState,
    retryNum: row.retry_num,
    notifyNum: row.notify_num,
    lastError,
    lastStatus: row.last_status,
    nextAttemptAt: row.next_attempt_at,
    lease:
      row.lease_owner === null || row.lease_until === null
        ? null
        : { owner: row.lease_owner, until: row.lease_until },
    notify: csv<DsnNotify>(row.notify),
    orcpt: row.orcpt,
  };
}

function toEnvelope(row: MessageRow, recipients: readonly QueuedRecipient[]): MessageEnvelope {
  return {
    id: row.id,
    returnPath: row.return_path,
    recipients,
    size: row.size,
    createdAt: row.created_at,
    expiresAt: row.expires_at,
    priority: row.priority,
    queueName: row.queue_name,
    source: row.source,
    flags: csv<MessageFlag>(row.flags),
    held: row.held !== 0,
    envId: row.env_id,
    ret: row.ret as 'full' | 'hdrs' | null,
  };
}

/** Opens the store at `dataDir/queue.sqlite`; errors (unwritable directory, newer schema) are values. */
export function openSqliteStore(options: SqliteStoreOptions = {}): StoreResult<SqliteStore> {
  const db = openQueueDatabase(options);
  return db.ok
    ? ok(new SqliteStore(db.value, options.random ?? ((size) => randomBytes(size))))
    : db;
}

export class SqliteStore implements QueueStore {
  private closed = false;

  constructor(
    private readonly db: Database.Database,
    private readonly random: (size: number) => Uint8Array,
  ) {}

  enqueue(message: NewMessage): Promise<StoreResult<string>> {
    return this.write(() => {
      const recipients = initialRecipients(message);
      if (!recipients.ok) return recipients;
      const exists = this.db.prepare('SELECT 1 FROM message WHERE id = ?').pluck();
      let id = makeQueueId(message.createdAt, this.random(5));
      while (exists.get(id) !== undefined) id = makeQueueId(message.createdAt, this.random(5));
      this.db
        .prepare(
          `INSERT INTO message (id, return_path, body, size, created_at, expires_at, priority, queue_name, source, flags, held, env_id, ret)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?)`,
        )
        .run(
          id,
          message.returnPath,
          Buffer.from(message.body.buffer, message.body.byteOffset, message.body.byteLength),
          message.body.byteLength,
          message.createdAt,
          message.expiresAt,
          message.priority ?? 0,
          message.queueName ?? 'default',
          message.source ?? '',
          (message.flags ?? []).join(','),
          message.envId ?? null,
          message.ret ?? null,
        );
      const insert = this.db
        .prepare(`INSERT INTO recipient (message_id, idx, address, domain, state, retry_num, notify_num,
        last_error, last_status, next_attempt_at, lease_owner, lease_until, notify, orcpt)
        VALUES (?, ?, ?, ?, ?, 0, 0, 'none', '', ?, NULL, NULL, ?, ?)`);
      recipients.value.forEach((r, idx) =>
        insert.run(
          id,
          idx,
          r.address,
          r.domain,
          r.state,
          r.nextAttemptAt,
          r.notify.join(','),
          r.orcpt,
        ),
      );
      return ok(id);
    });
  }

  get(id: string): Promise<StoreResult<QueuedMessage>> {
    return this.read(() => {
      const row = this.db
        .prepare(`SELECT ${ENVELOPE_COLUMNS}, body FROM message WHERE id = ?`)
        .get(id) as MessageRow | undefined;
      if (row?.body === undefined) return fail('not-found', `no message ${id}`);
      return ok({ ...toEnvelope(row, this.recipients(id)), body: new Uint8Array(row.body) });
    });
  }

  list(filter: ListFilter = {}): Promise<StoreResult<MessageEnvelope[]>> {
    return this.read(() => {
      const where: string[] = [];
      const params: Record<string, string | number> = { limit: filter.limit ?? 100 };
      if (filter.afterId !== undefined) {
        where.push('id > :afterId');
        params['afterId'] = filter.afterId;
      }
      if (filter.queueName !== undefined) {
        where.push('queue_name = :queueName');
        params['queueName'] = filter.queueName;
      }
      if (filter.held !== undefined) {
        where.push('held = :held');
        params['held'] = filter.held ? 1 : 0;
      }
      if (filter.returnPath !== undefined) {
        where.push('return_path = :returnPath');
        params['returnPath'] = filter.returnPath;
      }
      if (filter.state !== undefined) {
        where.push(
          'EXISTS (SELECT 1 FROM recipient r WHERE r.message_id = id AND r.state = :state)',
        );
        params['state'] = filter.state;
      }
      if (filter.domain !== undefined) {
        where.push(
          'EXISTS (SELECT 1 FROM recipient r WHERE r.message_id = id AND r.domain = :domain)',
        );
        params['domain'] = filter.domain;
      }
      const sql = `SELECT ${ENVELOPE_COLUMNS} FROM message ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id LIMIT :limit`;
      const rows = this.db.prepare(sql).all(params) as MessageRow[];
      return ok(rows.map((row) => toEnvelope(row, this.recipients(row.id))));
    });
  }

  claimDue(
    now: number,
    limit: number,
    leaseMs: number,
    owner: string,
  ): Promise<StoreResult<Claim[]>> {
    return this.write(() => {
      // The same order as `compareGroups` in transitions.ts; a PostgreSQL store adds FOR UPDATE SKIP LOCKED.
      const groups = this.db
        .prepare(
          `SELECT r.message_id AS id, r.domain AS domain, MIN(r.next_attempt_at) AS due_at
        FROM recipient r JOIN message m ON m.id = r.message_id
        WHERE m.held = 0 AND r.state IN ('pending', 'temporary') AND r.next_attempt_at <= :now
          AND (r.lease_until IS NULL OR r.lease_until <= :now)
        GROUP BY r.message_id, r.domain
        ORDER BY m.priority DESC, due_at ASC, r.message_id ASC, r.domain ASC
        LIMIT :limit`,
        )
        .all({ now, limit }) as Array<{ id: string; domain: string }>;
      const lease = { owner, until: now + leaseMs };
      const take = this.db.prepare(`UPDATE recipient SET lease_owner = :owner, lease_until = :until
        WHERE message_id = :id AND domain = :domain AND ${DUE}`);
      const claims: Claim[] = [];
      for (const g of groups) {
        take.run({ owner, until: lease.until, id: g.id, domain: g.domain, now });
        const row = this.db
          .prepare(`SELECT ${ENVELOPE_COLUMNS} FROM message WHERE id = ?`)
          .get(g.id) as MessageRow;
        const recipients = this.recipients(g.id);
        const leased = recipients.filter(
          (r) => r.domain === g.domain && r.lease?.owner === owner && r.lease.until === lease.until,
        );
        claims.push(toClaim(toEnvelope(row, recipients), g.domain, leased, lease));
      }
      return ok(claims);
    });
  }

  recordAttempt(record: AttemptRecord): Promise<StoreResult<void>> {
    return this.write(() => {
      const exists = this.db
        .prepare('SELECT 1 FROM message WHERE id = ?')
        .pluck()
        .get(record.messageId);
      if (exists === undefined) return fail('not-found', `no message ${record.messageId}`);
      const recipients = this.recipients(record.messageId);
      const checked = checkOutcomes(recipients, record.owner, record.outcomes);
      if (!checked.ok) return checked;
      const update = this.db
        .prepare(`UPDATE recipient SET state = :state, retry_num = :retryNum, notify_num = :notifyNum,
        last_error = :lastError, last_status = :lastStatus, next_attempt_at = :nextAttemptAt, lease_owner = NULL, lease_until = NULL
        WHERE message_id = :id AND address = :address`);
      const log = this.db
        .prepare(`INSERT INTO attempt (message_id, address, at, owner, host, kind, status, error)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?)`);
      for (const o of record.outcomes) {
        const before = recipients.find((r) => r.address === o.address);
        if (before === undefined) throw new Error('checkOutcomes let an unknown recipient through');
        const after = applyOutcome(before, o);
        update.run({
          state: after.state,
          retryNum: after.retryNum,
          notifyNum: after.notifyNum,
          lastError: after.lastError,
          lastStatus: after.lastStatus,
          nextAttemptAt: after.nextAttemptAt,
          id: record.messageId,
          address: o.address,
        });
        log.run(
          record.messageId,
          o.address,
          record.at,
          record.owner,
          record.host ?? null,
          o.kind,
          o.status,
          errorOf(o),
        );
      }
      return ok(undefined);
    });
  }

  attempts(id: string): Promise<StoreResult<AttemptLogEntry[]>> {
    return this.read(() => {
      const rows = this.db
        .prepare(
          `SELECT message_id AS messageId, address, at, owner, host, kind, status, error
        FROM attempt WHERE message_id = ? ORDER BY seq`,
        )
        .all(id) as AttemptLogEntry[];
      return ok(rows);
    });
  }

  hold(id: string): Promise<StoreResult<void>> {
    return this.change(id, 'UPDATE message SET held = 1 WHERE id = ?', [id]);
  }

  release(id: string): Promise<StoreResult<void>> {
    return this.change(id, 'UPDATE message SET held = 0 WHERE id = ?', [id]);
  }

  renewLease(
    messageId: string,
    domain: string,
    owner: string,
    until: number,
  ): Promise<StoreResult<number>> {
    return this.write(() =>
      ok(
        this.db
          .prepare(
            `UPDATE recipient SET lease_until = :until
          WHERE message_id = :messageId AND domain = :domain AND lease_owner = :owner`,
          )
          .run({ messageId, domain, owner, until }).changes,
      ),
    );
  }

  recoverLeases(now: number): Promise<StoreResult<number>> {
    return this.write(() => {
      const recovered = this.db
        .prepare(
          `UPDATE recipient SET next_attempt_at = MIN(next_attempt_at, :now)
        WHERE lease_owner IS NOT NULL AND state IN ('pending', 'temporary')`,
        )
        .run({ now }).changes;
      this.db
        .prepare(
          'UPDATE recipient SET lease_owner = NULL, lease_until = NULL WHERE lease_owner IS NOT NULL',
        )
        .run();
      return ok(recovered);
    });
  }

  retryNow(id: string, now: number): Promise<StoreResult<void>> {
    return this.write(() => {
      if (this.db.prepare('SELECT 1 FROM message WHERE id = ?').get(id) === undefined)
        return fail('not-found', `no message ${id}`);
      this.db
        .prepare(
          `UPDATE recipient SET next_attempt_at = MIN(next_attempt_at, ?)
        WHERE message_id = ? AND state IN ('pending', 'temporary')`,
        )
        .run(now, id);
      return ok(undefined);
    });
  }

  delete(id: string): Promise<StoreResult<void>> {
    return this.write(() => {
      // Recipients go by ON DELETE CASCADE; the attempt log has no foreign key so it can outlive a
      // message in a later schema (audit), and is removed explicitly here.
      if (this.db.prepare('DELETE FROM message WHERE id = ?').run(id).changes === 0)
        return fail('not-found', `no message ${id}`);
      this.db.prepare('DELETE FROM attempt WHERE message_id = ?').run(id);
      return ok(undefined);
    });
  }

  removeFinished(limit: number): Promise<StoreResult<string[]>> {
    return this.write(() => {
      const ids = this.db
        .prepare(
          `SELECT id FROM message m WHERE NOT EXISTS (SELECT 1 FROM recipient r
        WHERE r.message_id = m.id AND r.state IN ('pending', 'temporary')) ORDER BY id LIMIT ?`,
        )
        .pluck()
        .all(limit) as string[];
      const del = this.db.prepare('DELETE FROM message WHERE id = ?');
      const delLog = this.db.prepare('DELETE FROM attempt WHERE message_id = ?');
      for (const id of ids) {
        del.run(id);
        delLog.run(id);
      }
      return ok(ids);
    });
  }

  stats(now: number): Promise<StoreResult<QueueStats>> {
    return this.read(() => {
      const m = this.db
        .prepare(
          'SELECT COUNT(*) AS messages, COALESCE(SUM(held), 0) AS held, COALESCE(SUM(size), 0) AS bytes FROM message',
        )
        .get() as { messages: number; held: number; bytes: number };
      const recipients = Object.fromEntries(RECIPIENT_STATES.map((s) => [s, 0])) as Record<
        RecipientState,
        number
      >;
      for (const row of this.db
        .prepare('SELECT state, COUNT(*) AS n FROM recipient GROUP BY state')
        .all() as Array<{ state: RecipientState; n: number }>) {
        recipients[row.state] = row.n;
      }
      const leased = this.db
        .prepare(
          `SELECT COUNT(*) FROM recipient WHERE lease_until > ? AND state IN ('pending', 'temporary')`,
        )
        .pluck()
        .get(now) as number;
      return ok({ ...m, recipients, leased });
    });
  }

  close(): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      this.db.close();
    }
    return Promise.resolve();
  }

  private recipients(id: string): QueuedRecipient[] {
    const rows = this.db
      .prepare('SELECT * FROM recipient WHERE message_id = ? ORDER BY idx')
      .all(id) as RecipientRow[];
    return rows.map(toRecipient);
  }

  private change(id: string, sql: string, params: unknown[]): Promise<StoreResult<void>> {
    return this.write(() =>
      this.db.prepare(sql).run(...params).changes === 0
        ? fail('not-found', `no message ${id}`)
        : ok(undefined),
    );
  }

  private read<T>(body: () => StoreResult<T>): Promise<StoreResult<T>> {
    return Promise.resolve(this.closed ? fail('closed', 'the queue store is closed') : guard(body));
  }

  /** One IMMEDIATE transaction: a returned failure rolls back too, so a refused write leaves no trace. */
  private write<T>(body: () => StoreResult<T>): Promise<StoreResult<T>> {
    if (this.closed) return Promise.resolve(fail('closed', 'the queue store is closed'));
    return Promise.resolve(
      guard(() => {
        let result: StoreResult<T> = fail('io', 'transaction did not run');
        try {
          this.db
            .transaction(() => {
              result = body();
              if (!result.ok) throw new Rollback();
            })
            .immediate();
        } catch (error) {
          if (!(error instanceof Rollback)) throw error;
        }
        return result;
      }),
    );
  }
}

/** Thrown inside a transaction to roll it back when the body returned a failure value. */
class Rollback extends Error {}

function errorOf(o: RecipientOutcome): LastError {
  return o.kind === 'delivered' ? 'none' : o.error;
}
