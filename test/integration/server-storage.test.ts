/**
 * The listener's promise to clients: 250 only after the queue committed the message. A read-only SQLite
 * queue, a full store and a store that rejects must each answer 4xx (RFC 3463 4.3.x) and never 250, and
 * a message acknowledged with 250 is durable: it is there after the database is closed and reopened.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryStore } from '../../src/queue/memory-store.js';
import type { NewMessage, StoreResult } from '../../src/queue/model.js';
import { fail } from '../../src/queue/model.js';
import { openSqliteStore } from '../../src/queue/sqlite-store.js';
import type { QueueStore } from '../../src/queue/store.js';
import { closeAll, RawClient, startServer } from './server-harness.js';
import type { Reply } from './server-harness.js';

let dir = '';
const stores: QueueStore[] = [];

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mxsec-server-storage-'));
});

after(async () => {
  await closeAll();
  await Promise.all(stores.map((s) => s.close()));
  await rm(dir, { recursive: true, force: true });
});

/** A real store whose disk is full: enqueue answers the `full` error value. */
class FullStore extends MemoryStore {
  override enqueue(_message: NewMessage): Promise<StoreResult<string>> {
    return Promise.resolve(fail('full', 'quota reached'));
  }
}

/** A store with a bug: enqueue rejects. The client must still not hear 250. */
class BrokenStore extends MemoryStore {
  override enqueue(_message: NewMessage): Promise<StoreResult<string>> {
    return Promise.reject(new Error('bug'));
  }
}

/** Submits one message on a fresh connection and returns the reply to the end of data. */
async function submit(port: number): Promise<Reply> {
  const client = await RawClient.connect(port);
  assert.equal((await client.reply()).code, 220);
  client.send('EHLO client.test\r\nMAIL FROM:<a@s.test>\r\nRCPT TO:<b@r.test>\r\nDATA\r\n');
  assert.deepEqual(
    [
      (await client.reply()).code,
      (await client.reply()).code,
      (await client.reply()).code,
      (await client.reply()).code,
    ],
    [250, 250, 250, 354],
  );
  const reply = await client.command('Subject: x\r\n\r\ndurable?\r\n.');
  assert.equal((await client.command('NOOP')).code, 250, 'the session survives a storage failure');
  client.close();
  return reply;
}

describe('storage', () => {
  test('RFC 5321 4.2.5 / store contract: 250 comes after the SQLite commit, and the message survives a reopen', async () => {
    const dataDir = join(dir, 'ok');
    const opened = openSqliteStore({ dataDir });
    assert.ok(opened.ok);
    const { port } = await startServer(opened.value);
    const reply = await submit(port);
    assert.equal(reply.code, 250);
    const id = /queued as (\S+)/.exec(reply.text)?.[1];
    assert.ok(id !== undefined);
    await closeAll();
    await opened.value.close();
    const again = openSqliteStore({ dataDir });
    assert.ok(again.ok);
    stores.push(again.value);
    const message = await again.value.get(id);
    assert.ok(message.ok);
    assert.match(
      new TextDecoder().decode(message.value.body),
      /^Received: [\s\S]*\r\nSubject: x\r\n\r\ndurable\?\r\n$/,
    );
  });

  test('RFC 3463 4.3.0: a read-only SQLite queue answers 451, never 250, and stores nothing', async () => {
    const dataDir = join(dir, 'ro');
    const created = openSqliteStore({ dataDir });
    assert.ok(created.ok);
    await created.value.close();
    const readOnly = openSqliteStore({ dataDir, readOnly: true });
    assert.ok(readOnly.ok);
    stores.push(readOnly.value);
    const { port, logger } = await startServer(readOnly.value);
    const reply = await submit(port);
    assert.equal(reply.code, 451);
    assert.match(reply.text, /^451 4\.3\.0 /);
    const list = await readOnly.value.list();
    assert.ok(list.ok);
    assert.equal(list.value.length, 0);
    assert.equal(logger.events('enqueue-failed').length, 1);
    assert.equal(logger.events('message-accepted').length, 0);
  });

  test('RFC 3463 4.3.1: a full store answers 452', async () => {
    const { port } = await startServer(new FullStore());
    const reply = await submit(port);
    assert.match(reply.text, /^452 4\.3\.1 /);
  });

  test('a store that rejects answers 451, never 250', async () => {
    const { port } = await startServer(new BrokenStore());
    const reply = await submit(port);
    assert.match(reply.text, /^451 4\.3\.0 /);
  });
});
