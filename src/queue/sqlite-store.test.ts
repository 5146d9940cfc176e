import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { QueueStore } from './store.js';
import { runStoreContract } from '../../test/support/store.contract.js';
import { CLAIM_QUERIES, LEASE_WRITES } from './sqlite-queue.js';
import { MIGRATIONS, SCHEMA_VERSION } from './sqlite-schema.js';
import type { SqliteStoreOptions } from './sqlite-store.js';
import { openSqliteStore } from './sqlite-store.js';

function open(options: SqliteStoreOptions): QueueStore {
  const r = openSqliteStore(options);
  if (!r.ok) assert.fail(`${r.error.kind}: ${r.error.message}`);
  return r.value;
}

const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'mxsec-queue-'));
  dirs.push(dir);
  return dir;
}
after(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

runStoreContract('sqlite', async () => {
  const dataDir = await tempDir();
  const handles: QueueStore[] = [open({ dataDir })];
  const track = (s: QueueStore): QueueStore => {
    handles.push(s);
    return s;
  };
  return {
    store: handles[0]!,
    reopen: async () => {
      await handles[0]!.close();
      return track(open({ dataDir }));
    },
    readOnly: () => Promise.resolve(track(open({ dataDir, readOnly: true }))),
    peer: () => Promise.resolve(track(open({ dataDir }))),
    dispose: async () => {
      for (const h of handles) await h.close();
    },
  };
});

const message = (body: Uint8Array) => ({
  returnPath: 's@example.org',
  recipients: [{ address: 'r@example.com' }],
  body,
  createdAt: 1_750_000_000_000,
  expiresAt: null,
});

describe('sqlite store specifics', () => {
  test('the data directory is created if missing and holds queue.sqlite at the current schema version', async () => {
    const dataDir = join(await tempDir(), 'nested', 'data');
    const store = open({ dataDir });
    await store.close();
    assert.ok(existsSync(join(dataDir, 'queue.sqlite')));
    const db = new Database(join(dataDir, 'queue.sqlite'), { readonly: true });
    try {
      assert.equal(db.pragma('user_version', { simple: true }), SCHEMA_VERSION);
      assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
    } finally {
      db.close();
    }
  });

  test('a database from a newer mxsec is refused, not misread', async () => {
    const dataDir = await tempDir();
    await open({ dataDir }).close();
    const db = new Database(join(dataDir, 'queue.sqlite'));
    db.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    db.close();
    const r = openSqliteStore({ dataDir });
    assert.equal(r.ok ? 'ok' : r.error.kind, 'invalid');
    assert.match(r.ok ? '' : r.error.message, /newer than this mxsec/);
  });

  test('a read-only open of a missing database is an error value', async () => {
    const r = openSqliteStore({ dataDir: join(await tempDir(), 'none'), readOnly: true });
    assert.equal(r.ok, false);
  });

  test('a full database (size quota reached) fails enqueue with full and keeps earlier mail', async () => {
    const dataDir = await tempDir();
    const store = open({ dataDir, maxSizeBytes: 256 * 1024 });
    try {
      const first = await store.enqueue(message(new Uint8Array(10_000)));
      assert.ok(first.ok);
      const big = await store.enqueue(message(new Uint8Array(1024 * 1024)));
      assert.equal(big.ok ? 'ok' : big.error.kind, 'full');
      const list = await store.list();
      assert.deepEqual(list.ok ? list.value.map((m) => m.id) : [], [first.value]);
    } finally {
      await store.close();
    }
  });

  test('a write while another connection holds the write lock waits, then fails with busy', async () => {
    const dataDir = await tempDir();
    const store = open({ dataDir, busyTimeoutMs: 50 });
    const blocker = new Database(join(dataDir, 'queue.sqlite'));
    try {
      blocker.exec('BEGIN IMMEDIATE');
      const r = await store.enqueue(message(new Uint8Array(10)));
      assert.equal(r.ok ? 'ok' : r.error.kind, 'busy');
      blocker.exec('ROLLBACK');
      assert.ok((await store.enqueue(message(new Uint8Array(10)))).ok);
    } finally {
      blocker.close();
      await store.close();
    }
  });
});

describe('sqlite claims by index', () => {
  test('every read of a claim is a seek on recipient_ready, with no sort and no full scan', async () => {
    const dataDir = await tempDir();
    await open({ dataDir }).close();
    const db = new Database(join(dataDir, 'queue.sqlite'), { readonly: true });
    try {
      const params = { top: [], below: [1], due: [{ priority: 0, now: 0 }] };
      for (const [name, sql] of Object.entries(CLAIM_QUERIES)) {
        const args = params[name as keyof typeof params];
        const plan = (
          db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...args) as Array<{ detail: string }>
        )
          .map((row) => row.detail)
          .join('; ');
        assert.match(plan, /USING (COVERING )?INDEX recipient_ready/, `${name}: ${plan}`);
        assert.doesNotMatch(plan, /TEMP B-TREE|SCAN recipient(?! USING)/, `${name}: ${plan}`);
      }
    } finally {
      db.close();
    }
  });

  test('the lease writes of a claim and a heartbeat go through the primary key, not a per-domain or due index', async () => {
    const dataDir = await tempDir();
    await open({ dataDir }).close();
    const db = new Database(join(dataDir, 'queue.sqlite'), { readonly: true });
    try {
      const params = { owner: 'w', until: 1, id: 'm', domain: 'd.example', now: 0 };
      for (const [name, sql] of Object.entries(LEASE_WRITES)) {
        const statement = db.prepare(`EXPLAIN QUERY PLAN ${sql}`);
        const used = Object.fromEntries(
          Object.entries(params).filter(([key]) => sql.includes(`:${key}`)),
        );
        const plan = (statement.all(used) as Array<{ detail: string }>)
          .map((row) => row.detail)
          .join('; ');
        assert.match(plan, /sqlite_autoindex_recipient_1 \(message_id=\?\)/, `${name}: ${plan}`);
      }
    } finally {
      db.close();
    }
  });

  test('a schema 1 database migrates: leased, held and waiting recipients keep their meaning', async () => {
    const dataDir = await tempDir();
    mkdirSync(dataDir, { recursive: true });
    const db = new Database(join(dataDir, 'queue.sqlite'));
    db.exec(MIGRATIONS[0] ?? '');
    db.pragma('user_version = 1');
    const insertMessage = db.prepare(`INSERT INTO message (id, return_path, body, size, created_at,
      expires_at, priority, queue_name, source, flags, held) VALUES (?, '', x'00', 1, 0, NULL, ?, 'default', '', '', ?)`);
    const insertRecipient =
      db.prepare(`INSERT INTO recipient (message_id, idx, address, domain, state,
      retry_num, notify_num, last_error, last_status, next_attempt_at, lease_owner, lease_until, notify)
      VALUES (?, 0, ?, 'd.example', 'pending', 0, 0, 'none', '', ?, ?, ?, '')`);
    const T = 1_750_000_000_000;
    insertMessage.run('m-due', 0, 0);
    insertRecipient.run('m-due', 'due@d.example', T, null, null);
    insertMessage.run('m-urgent', 5, 0);
    insertRecipient.run('m-urgent', 'urgent@d.example', T, null, null);
    insertMessage.run('m-leased', 0, 0);
    insertRecipient.run('m-leased', 'leased@d.example', T, 'old', T + 60_000);
    insertMessage.run('m-held', 0, 1);
    insertRecipient.run('m-held', 'held@d.example', T, null, null);
    insertMessage.run('m-later', 0, 0);
    insertRecipient.run('m-later', 'later@d.example', T + 3_600_000, null, null);
    db.close();
    const store = open({ dataDir });
    try {
      const now = await store.claimDue(T + 1, 10, 600_000, 'w');
      assert.deepEqual(now.ok ? now.value.map((c) => c.message.id) : now.error.message, [
        'm-urgent',
        'm-due',
      ]);
      const afterLease = await store.claimDue(T + 60_000, 10, 600_000, 'w');
      assert.deepEqual(afterLease.ok ? afterLease.value.map((c) => c.message.id) : [], [
        'm-leased',
      ]);
      assert.ok((await store.release('m-held')).ok);
      const released = await store.claimDue(T + 60_000, 10, 600_000, 'w');
      assert.deepEqual(released.ok ? released.value.map((c) => c.message.id) : [], ['m-held']);
    } finally {
      await store.close();
    }
  });
});
