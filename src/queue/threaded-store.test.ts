import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runStoreContract } from '../../test/support/store.contract.js';
import { openSqliteStore } from './sqlite-store.js';
import type { QueueStore } from './store.js';
import type { ThreadedStoreOptions } from './threaded-store.js';
import { openThreadedStore } from './threaded-store.js';

async function open(options: ThreadedStoreOptions): Promise<QueueStore> {
  const r = await openThreadedStore(options);
  if (!r.ok) assert.fail(`${r.error.kind}: ${r.error.message}`);
  return r.value;
}

const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'mxsec-threaded-'));
  dirs.push(dir);
  return dir;
}
after(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

runStoreContract('sqlite on its own thread', async () => {
  const dataDir = await tempDir();
  const handles: QueueStore[] = [await open({ dataDir })];
  const track = (s: QueueStore): QueueStore => {
    handles.push(s);
    return s;
  };
  return {
    store: handles[0]!,
    reopen: async () => {
      await handles[0]!.close();
      return track(await open({ dataDir }));
    },
    readOnly: async () => track(await open({ dataDir, readOnly: true })),
    peer: async () => track(await open({ dataDir })),
    dispose: async () => {
      for (const h of handles) await h.close();
    },
  };
});

const message = (n: number) => ({
  returnPath: 's@example.org',
  recipients: [{ address: `r${n}@example.com` }],
  body: new TextEncoder().encode(`Subject: ${n}\r\n\r\nhi\r\n`),
  createdAt: 1_750_000_000_000,
  expiresAt: null,
});

describe('the store thread', () => {
  test('enqueues made in one tick are all durable once they resolve (group commit)', async () => {
    const dataDir = await tempDir();
    const store = await open({ dataDir });
    const ids = await Promise.all(Array.from({ length: 50 }, (_, n) => store.enqueue(message(n))));
    assert.ok(ids.every((r) => r.ok));
    await store.close();
    // Another connection, as after a restart, sees every one of them.
    const reread = openSqliteStore({ dataDir });
    assert.ok(reread.ok);
    const listed = await reread.value.list({ limit: 100 });
    assert.equal(listed.ok ? listed.value.length : -1, 50);
    await reread.value.close();
  });

  test('one failing request in a batch fails alone; the others commit', async () => {
    const store = await open({ dataDir: await tempDir() });
    const [good, bad, good2] = await Promise.all([
      store.enqueue(message(1)),
      store.enqueue({ ...message(2), recipients: [] }),
      store.enqueue(message(3)),
    ]);
    assert.equal(good?.ok, true);
    assert.equal(bad?.ok ? 'ok' : bad?.error.kind, 'invalid');
    assert.equal(good2?.ok, true);
    const listed = await store.list();
    assert.equal(listed.ok ? listed.value.length : -1, 2);
    await store.close();
  });

  test('an unopenable data directory is an error value, not a thrown exception', async () => {
    const r = await openThreadedStore({ dataDir: join(await tempDir(), 'none'), readOnly: true });
    assert.equal(r.ok, false);
  });

  test('after close every call is a closed error', async () => {
    const store = await open({ dataDir: await tempDir() });
    await store.close();
    const r = await store.enqueue(message(1));
    assert.equal(r.ok ? 'ok' : r.error.kind, 'closed');
  });
});
