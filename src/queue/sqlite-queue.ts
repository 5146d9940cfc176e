/**
 * The queue operations on one better-sqlite3 connection, synchronous and without transactions of their
 * own: `runSqliteBatch` runs a batch of them in one transaction, each inside its own savepoint, so a
 * request that fails (a returned error or a thrown SQLite error) rolls back alone while the others
 * commit together. Both the in-process store (`sqlite-store.ts`, a batch of one) and the store thread
 * (`sqlite-worker.ts`, every request that arrived while the previous commit ran: group commit) use it.
 *
 * Durability per operation (`DURABILITY`): a batch is committed with `synchronous = FULL` (the WAL is
 * fsynced before the commit returns) when it holds an enqueue or an operator's change, because the 250
 * reply to DATA promises the message is safe (RFC 5321 section 6.1). A batch of only claims, lease
 * renewals, attempt records and clean-ups commits with `synchronous = NORMAL`: a power loss may drop
 * such commits (never an earlier FULL one: the WAL is appended in order and a later FULL commit fsyncs
 * everything before it). What that can cost is a redelivery, never a loss: a lost claim or renewal only
 * frees a lease; a lost attempt record leaves the recipients due again (and its DSN, enqueued in the
 * same transaction, is rebuilt by the next attempt); a lost removal leaves a finished message to be
 * removed again.
 *
 * Claims do not grow with the queue: each recipient carries its message's priority and held flag and a
 * `ready_at` (the later of its next attempt and its lease end), and the partial index `recipient_ready`
 * on (priority DESC, ready_at) over active, unheld recipients yields the due ones in claim order. A
 * claim seeks each priority present (a handful) and reads only the rows it hands out; leased, held,
 * final and future recipients are never visited. Statements are prepared once per connection.
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
import { guard, toStoreError } from './sqlite-schema.js';
import { applyOutcome, checkOutcomes, initialRecipients, toClaim } from './transitions.js';

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
const RECIPIENT_COLUMNS =
  'message_id, address, domain, state, retry_num, notify_num, last_error, last_status, next_attempt_at, lease_owner, lease_until, notify, orcpt';
/** The terms of the partial index `recipient_ready`; a query must repeat them to use it. */
const CLAIMABLE = `state IN ('pending', 'temporary') AND held = 0`;

/**
 * The reads of a claim, each an index seek on `recipient_ready` (the schema test checks their plans):
 * the highest priority present, the next lower one, and the due recipients of one priority in order.
 */
export const CLAIM_QUERIES = {
  top: `SELECT priority FROM recipient WHERE ${CLAIMABLE} ORDER BY priority DESC LIMIT 1`,
  below: `SELECT priority FROM recipient WHERE ${CLAIMABLE} AND priority < ? ORDER BY priority DESC LIMIT 1`,
  due: `SELECT message_id AS id, domain FROM recipient WHERE ${CLAIMABLE} AND priority = :priority
    AND ready_at <= :now ORDER BY priority DESC, ready_at, message_id, domain`,
} as const;

/**
 * The writes of a claim and of a heartbeat to one message's recipients, by its primary key. The other
 * terms carry a unary `+`, which keeps SQLite from choosing `recipient_domain` (every recipient of a
 * busy domain) or `recipient_ready` (every due recipient) instead: either would make each claim cost
 * more the longer the queue (the schema test checks the plans).
 */
export const LEASE_WRITES = {
  take: `UPDATE recipient SET lease_owner = :owner, lease_until = :until, ready_at = :until
    WHERE message_id = :id AND +domain = :domain AND +state IN ('pending', 'temporary') AND +held = 0
    AND +ready_at <= :now`,
  renew: `UPDATE recipient SET lease_until = :until, ready_at = MAX(next_attempt_at, :until)
    WHERE message_id = :id AND +domain = :domain AND lease_owner = :owner`,
} as const;

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

function errorOf(o: RecipientOutcome): LastError {
  return o.kind === 'delivered' ? 'none' : o.error;
}

/** Every store operation with its arguments, as the in-process store and the store thread pass them. */
export interface SqliteOps {
  enqueue(message: NewMessage): StoreResult<string>;
  get(id: string): StoreResult<QueuedMessage>;
  list(filter?: ListFilter): StoreResult<MessageEnvelope[]>;
  claimDue(now: number, limit: number, leaseMs: number, owner: string): StoreResult<Claim[]>;
  recordAttempt(record: AttemptRecord): StoreResult<string | null>;
  attempts(id: string): StoreResult<AttemptLogEntry[]>;
  hold(id: string): StoreResult<void>;
  release(id: string): StoreResult<void>;
  renewLease(messageId: string, domain: string, owner: string, until: number): StoreResult<number>;
  recoverLeases(now: number): StoreResult<number>;
  retryNow(id: string, now: number): StoreResult<void>;
  delete(id: string): StoreResult<void>;
  removeFinished(limit: number): StoreResult<string[]>;
  stats(now: number): StoreResult<QueueStats>;
}

export type SqliteOp = keyof SqliteOps;

/** One call: an operation and its arguments. */
export type SqliteRequest = {
  [K in SqliteOp]: { readonly op: K; readonly args: Parameters<SqliteOps[K]> };
}[SqliteOp];

/** What a commit holding the operation must guarantee; `read` operations change nothing. */
export const DURABILITY: Readonly<Record<SqliteOp, 'full' | 'normal' | 'read'>> = {
  enqueue: 'full',
  hold: 'full',
  release: 'full',
  retryNow: 'full',
  delete: 'full',
  claimDue: 'normal',
  recordAttempt: 'normal',
  renewLease: 'normal',
  recoverLeases: 'normal',
  removeFinished: 'normal',
  get: 'read',
  list: 'read',
  attempts: 'read',
  stats: 'read',
};

/** The operations on one connection; statements are prepared on first use and kept. */
export class SqliteQueue implements SqliteOps {
  private readonly statements = new Map<string, Database.Statement>();
  private syncMode: 'FULL' | 'NORMAL' = 'FULL';

  constructor(
    readonly db: Database.Database,
    private readonly random: (size: number) => Uint8Array = (size) => randomBytes(size),
  ) {}

  enqueue(message: NewMessage): StoreResult<string> {
    const recipients = initialRecipients(message);
    if (!recipients.ok) return recipients;
    const exists = this.sql('SELECT 1 FROM message WHERE id = ?').pluck();
    let id = makeQueueId(message.createdAt, this.random(5));
    while (exists.get(id) !== undefined) id = makeQueueId(message.createdAt, this.random(5));
    const priority = message.priority ?? 0;
    this.sql(
      `INSERT INTO message (id, return_path, body, size, created_at, expires_at, priority, queue_name, source, flags, held, env_id, ret)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?)`,
    ).run(
      id,
      message.returnPath,
      Buffer.from(message.body.buffer, message.body.byteOffset, message.body.byteLength),
      message.body.byteLength,
      message.createdAt,
      message.expiresAt,
      priority,
      message.queueName ?? 'default',
      message.source ?? '',
      (message.flags ?? []).join(','),
      message.envId ?? null,
      message.ret ?? null,
    );
    const insert = this
      .sql(`INSERT INTO recipient (message_id, idx, address, domain, state, retry_num,
      notify_num, last_error, last_status, next_attempt_at, lease_owner, lease_until, notify, orcpt,
      priority, held, ready_at)
      VALUES (?, ?, ?, ?, ?, 0, 0, 'none', '', ?, NULL, NULL, ?, ?, ?, 0, ?)`);
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
        priority,
        r.nextAttemptAt,
      ),
    );
    return ok(id);
  }

  get(id: string): StoreResult<QueuedMessage> {
    const row = this.sql(`SELECT ${ENVELOPE_COLUMNS}, body FROM message WHERE id = ?`).get(id) as
      MessageRow | undefined;
    if (row?.body === undefined) return fail('not-found', `no message ${id}`);
    return ok({ ...toEnvelope(row, this.recipients(id)), body: new Uint8Array(row.body) });
  }

  list(filter: ListFilter = {}): StoreResult<MessageEnvelope[]> {
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
      where.push('EXISTS (SELECT 1 FROM recipient r WHERE r.message_id = id AND r.state = :state)');
      params['state'] = filter.state;
    }
    if (filter.domain !== undefined) {
      where.push(
        'EXISTS (SELECT 1 FROM recipient r WHERE r.message_id = id AND r.domain = :domain)',
      );
      params['domain'] = filter.domain;
    }
    const sql = `SELECT ${ENVELOPE_COLUMNS} FROM message ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id LIMIT :limit`;
    const rows = this.sql(sql).all(params) as MessageRow[];
    return ok(rows.map((row) => toEnvelope(row, this.recipients(row.id))));
  }

  claimDue(now: number, limit: number, leaseMs: number, owner: string): StoreResult<Claim[]> {
    const groups = this.dueGroups(now, limit);
    const lease = { owner, until: now + leaseMs };
    const take = this.sql(LEASE_WRITES.take);
    const message = this.sql(`SELECT ${ENVELOPE_COLUMNS}, body FROM message WHERE id = ?`);
    const claims: Claim[] = [];
    for (const g of groups) {
      take.run({ owner, until: lease.until, id: g.id, domain: g.domain, now });
      const row = message.get(g.id) as MessageRow & { body: Uint8Array };
      const recipients = this.recipients(g.id);
      const leased = recipients.filter(
        (r) => r.domain === g.domain && r.lease?.owner === owner && r.lease.until === lease.until,
      );
      const full = { ...toEnvelope(row, recipients), body: new Uint8Array(row.body) };
      claims.push(toClaim(full, g.domain, leased, lease));
    }
    return ok(claims);
  }

  recordAttempt(record: AttemptRecord): StoreResult<string | null> {
    const exists = this.sql('SELECT 1 FROM message WHERE id = ?').pluck().get(record.messageId);
    if (exists === undefined) return fail('not-found', `no message ${record.messageId}`);
    const recipients = this.recipients(record.messageId);
    const checked = checkOutcomes(recipients, record.owner, record.outcomes);
    if (!checked.ok) return checked;
    const update = this.sql(`UPDATE recipient SET state = :state, retry_num = :retryNum,
      notify_num = :notifyNum, last_error = :lastError, last_status = :lastStatus,
      next_attempt_at = :nextAttemptAt, lease_owner = NULL, lease_until = NULL, ready_at = :nextAttemptAt
      WHERE message_id = :id AND address = :address`);
    const log = this
      .sql(`INSERT INTO attempt (message_id, address, at, owner, host, kind, status, error)
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
    return record.notice === undefined ? ok(null) : this.enqueue(record.notice);
  }

  attempts(id: string): StoreResult<AttemptLogEntry[]> {
    return ok(
      this.sql(
        `SELECT message_id AS messageId, address, at, owner, host, kind, status, error
        FROM attempt WHERE message_id = ? ORDER BY seq`,
      ).all(id) as AttemptLogEntry[],
    );
  }

  hold(id: string): StoreResult<void> {
    return this.setHeld(id, 1);
  }

  release(id: string): StoreResult<void> {
    return this.setHeld(id, 0);
  }

  renewLease(messageId: string, domain: string, owner: string, until: number): StoreResult<number> {
    return ok(this.sql(LEASE_WRITES.renew).run({ id: messageId, domain, owner, until }).changes);
  }

  recoverLeases(now: number): StoreResult<number> {
    const recovered = this.sql(
      `UPDATE recipient SET next_attempt_at = MIN(next_attempt_at, :now)
      WHERE lease_owner IS NOT NULL AND state IN ('pending', 'temporary')`,
    ).run({ now }).changes;
    this.sql(
      `UPDATE recipient SET lease_owner = NULL, lease_until = NULL, ready_at = next_attempt_at
      WHERE lease_owner IS NOT NULL`,
    ).run();
    return ok(recovered);
  }

  retryNow(id: string, now: number): StoreResult<void> {
    if (this.sql('SELECT 1 FROM message WHERE id = ?').get(id) === undefined)
      return fail('not-found', `no message ${id}`);
    this.sql(
      `UPDATE recipient SET next_attempt_at = MIN(next_attempt_at, :now),
      ready_at = MAX(MIN(next_attempt_at, :now), COALESCE(lease_until, 0))
      WHERE message_id = :id AND state IN ('pending', 'temporary')`,
    ).run({ now, id });
    return ok(undefined);
  }

  delete(id: string): StoreResult<void> {
    // Recipients go by ON DELETE CASCADE; the attempt log has no foreign key so it can outlive a
    // message in a later schema (audit), and is removed explicitly here.
    if (this.sql('DELETE FROM message WHERE id = ?').run(id).changes === 0)
      return fail('not-found', `no message ${id}`);
    this.sql('DELETE FROM attempt WHERE message_id = ?').run(id);
    return ok(undefined);
  }

  removeFinished(limit: number): StoreResult<string[]> {
    const ids = this.sql(
      `SELECT id FROM message m WHERE NOT EXISTS (SELECT 1 FROM recipient r
      WHERE r.message_id = m.id AND r.state IN ('pending', 'temporary')) ORDER BY id LIMIT ?`,
    )
      .pluck()
      .all(limit) as string[];
    const del = this.sql('DELETE FROM message WHERE id = ?');
    const delLog = this.sql('DELETE FROM attempt WHERE message_id = ?');
    for (const id of ids) {
      del.run(id);
      delLog.run(id);
    }
    return ok(ids);
  }

  stats(now: number): StoreResult<QueueStats> {
    const m = this.sql(
      'SELECT COUNT(*) AS messages, COALESCE(SUM(held), 0) AS held, COALESCE(SUM(size), 0) AS bytes FROM message',
    ).get() as { messages: number; held: number; bytes: number };
    const recipients = Object.fromEntries(RECIPIENT_STATES.map((s) => [s, 0])) as Record<
      RecipientState,
      number
    >;
    for (const row of this.sql(
      'SELECT state, COUNT(*) AS n FROM recipient GROUP BY state',
    ).all() as Array<{ state: RecipientState; n: number }>) {
      recipients[row.state] = row.n;
    }
    const leased = this.sql(
      `SELECT COUNT(*) FROM recipient WHERE lease_until > ? AND state IN ('pending', 'temporary')`,
    )
      .pluck()
      .get(now) as number;
    return ok({ ...m, recipients, leased });
  }

  /** Runs `requests` in one transaction, each in a savepoint; see the module header. */
  runBatch(requests: readonly SqliteRequest[]): Array<StoreResult<unknown>> {
    const kinds = requests.map((r) => DURABILITY[r.op]);
    if (kinds.every((k) => k === 'read')) return requests.map((r) => this.call(r));
    const wanted = kinds.includes('full') ? 'FULL' : 'NORMAL';
    try {
      if (this.syncMode !== wanted) {
        this.db.pragma(`synchronous = ${wanted}`);
        this.syncMode = wanted;
      }
      this.sql('BEGIN IMMEDIATE').run();
    } catch (error) {
      const failure = { ok: false as const, error: toStoreError(error) };
      return requests.map(() => failure);
    }
    const results: Array<StoreResult<unknown>> = [];
    // A batch of one needs no savepoint: its failure rolls back the whole transaction.
    if (requests.length === 1 && requests[0] !== undefined) {
      const result = this.call(requests[0]);
      try {
        if (result.ok) this.sql('COMMIT').run();
        else if (this.db.inTransaction) this.sql('ROLLBACK').run();
        return [result];
      } catch (error) {
        if (this.db.inTransaction) this.db.exec('ROLLBACK');
        return [{ ok: false, error: toStoreError(error) }];
      }
    }
    for (const request of requests) {
      this.sql('SAVEPOINT request').run();
      const result = this.call(request);
      // Some failures (a full disk, an I/O error) make SQLite roll back the whole transaction: then
      // nothing of the batch was kept, and every request says so.
      if (!this.db.inTransaction) {
        const error = result.ok
          ? { kind: 'io' as const, message: 'transaction aborted' }
          : result.error;
        return requests.map(() => ({ ok: false as const, error }));
      }
      if (!result.ok) this.sql('ROLLBACK TO request').run();
      this.sql('RELEASE request').run();
      results.push(result);
    }
    try {
      this.sql('COMMIT').run();
      return results;
    } catch (error) {
      if (this.db.inTransaction) this.db.exec('ROLLBACK');
      const failure = { ok: false as const, error: toStoreError(error) };
      return requests.map(() => failure);
    }
  }

  /** One operation; a thrown SQLite error becomes its error value. */
  private call(request: SqliteRequest): StoreResult<unknown> {
    const method = this[request.op] as (...args: unknown[]) => StoreResult<unknown>;
    return guard(() => method.apply(this, request.args));
  }

  /**
   * The first `limit` due (message, domain) groups in claim order (`compareGroups` in transitions.ts):
   * per priority, highest first, the recipients with `ready_at <= now` in `ready_at` order, each an
   * index range that ends at the first group past `limit`.
   */
  private dueGroups(now: number, limit: number): Array<{ id: string; domain: string }> {
    const groups = new Map<string, { id: string; domain: string }>();
    const top = this.sql(CLAIM_QUERIES.top).pluck();
    const below = this.sql(CLAIM_QUERIES.below).pluck();
    const due = this.sql(CLAIM_QUERIES.due);
    let priority = top.get() as number | undefined;
    while (priority !== undefined && groups.size < limit) {
      for (const row of due.iterate({ priority, now }) as IterableIterator<{
        id: string;
        domain: string;
      }>) {
        groups.set(`${row.id}\u0000${row.domain}`, row);
        if (groups.size >= limit) break;
      }
      priority = below.get(priority) as number | undefined;
    }
    return [...groups.values()];
  }

  private setHeld(id: string, held: 0 | 1): StoreResult<void> {
    if (this.sql('UPDATE message SET held = ? WHERE id = ?').run(held, id).changes === 0)
      return fail('not-found', `no message ${id}`);
    this.sql('UPDATE recipient SET held = ? WHERE message_id = ?').run(held, id);
    return ok(undefined);
  }

  private recipients(id: string): QueuedRecipient[] {
    const rows = this.sql(
      `SELECT ${RECIPIENT_COLUMNS} FROM recipient WHERE message_id = ? ORDER BY idx`,
    ).all(id) as RecipientRow[];
    return rows.map(toRecipient);
  }

  private sql(text: string): Database.Statement {
    let statement = this.statements.get(text);
    if (statement === undefined) {
      statement = this.db.prepare(text);
      this.statements.set(text, statement);
    }
    return statement;
  }
}
