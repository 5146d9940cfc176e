/**
 * One contract suite for every `PolicyCache` implementation (in-memory and SQLite), plus what only the
 * persistent one promises: entries survive reopening, and a stored policy that no longer parses is
 * treated as absent instead of being applied.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { MemoryPolicyCache, type PolicyCache, type PolicyCacheEntry } from './cache.js';
import {
  openSqlitePolicyCache,
  POLICY_CACHE_FILE,
  type SqlitePolicyCache,
} from './cache-sqlite.js';
import { parsePolicy } from './parse-policy.js';

const dirs: string[] = [];
const opened: SqlitePolicyCache[] = [];
after(() => {
  for (const cache of opened) cache.close();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'mxsec-mtasts-'));
  dirs.push(dir);
  return dir;
}

function openSqlite(dir: string): SqlitePolicyCache {
  const result = openSqlitePolicyCache(dir);
  assert.ok(result.ok, result.ok ? '' : result.message);
  opened.push(result.cache);
  return result.cache;
}

function entry(
  domain: string,
  id: string,
  mode = 'enforce',
  fetchedAt = 1_700_000_000_000,
): PolicyCacheEntry {
  const policyText = `version: STSv1\nmode: ${mode}\nmx: mail.${domain}\nmax_age: 86400\n`;
  const parsed = parsePolicy(policyText);
  assert.ok(parsed.ok);
  return {
    domain,
    id,
    policy: parsed.policy,
    policyText,
    fetchedAt,
    expiresAt: fetchedAt + 86_400_000,
  };
}

const implementations: readonly [string, () => PolicyCache][] = [
  ['memory', () => new MemoryPolicyCache()],
  ['sqlite', () => openSqlite(tempDir())],
];

for (const [name, create] of implementations) {
  describe(`PolicyCache contract (${name})`, () => {
    test('RFC 8461 3.3: an unknown domain has no cached policy', async () => {
      assert.equal(await create().get('example.com'), undefined);
    });

    test('RFC 8461 3.3: a stored policy is returned with its id, text and times', async () => {
      const cache = create();
      const stored = entry('example.com', 'id1');
      await cache.put('example.com', stored);
      assert.deepEqual(await cache.get('example.com'), stored);
    });

    test('RFC 8461 3.3: a new fetch replaces the cached policy of the domain', async () => {
      const cache = create();
      await cache.put('example.com', entry('example.com', 'id1'));
      const newer = entry('example.com', 'id2', 'testing', 1_700_000_500_000);
      await cache.put('example.com', newer);
      assert.deepEqual(await cache.get('example.com'), newer);
      assert.equal((await cache.list()).length, 1);
    });

    test('RFC 4343: domain keys ignore case and a trailing dot', async () => {
      const cache = create();
      await cache.put('Example.COM.', entry('example.com', 'id1'));
      assert.equal((await cache.get('EXAMPLE.com'))?.id, 'id1');
      assert.equal((await cache.get('example.com.'))?.domain, 'example.com');
    });

    test('RFC 8461 3.3: delete forgets a domain and leaves the others', async () => {
      const cache = create();
      await cache.put('a.example', entry('a.example', 'x'));
      await cache.put('b.example', entry('b.example', 'y'));
      await cache.delete('A.example');
      assert.equal(await cache.get('a.example'), undefined);
      assert.equal((await cache.get('b.example'))?.id, 'y');
      await cache.delete('never.example');
    });

    test('RFC 8461 3.3: list returns every entry, expired or not, by domain', async () => {
      const cache = create();
      await cache.put('b.example', entry('b.example', 'y', 'none', 0));
      await cache.put('a.example', entry('a.example', 'x'));
      const list = await cache.list();
      assert.deepEqual(
        list.map((item) => [item.domain, item.id, item.policy.mode]),
        [
          ['a.example', 'x', 'enforce'],
          ['b.example', 'y', 'none'],
        ],
      );
    });
  });
}

describe('SQLite policy cache persistence', () => {
  test('RFC 8461 10.2: cached policies survive a restart', async () => {
    const dir = tempDir();
    const first = openSqlite(dir);
    const stored = entry('example.com', 'persist1');
    await first.put('example.com', stored);
    first.close();
    opened.splice(opened.indexOf(first), 1);
    const second = openSqlite(dir);
    assert.deepEqual(await second.get('example.com'), stored);
  });

  test('RFC 8461 3.2: a stored policy text that no longer parses is treated as absent', async () => {
    const dir = tempDir();
    const cache = openSqlite(dir);
    await cache.put('example.com', entry('example.com', 'ok'));
    const raw = new Database(join(dir, POLICY_CACHE_FILE));
    try {
      raw
        .prepare("UPDATE mta_sts_policy SET policy_text = 'garbage' WHERE domain = 'example.com'")
        .run();
    } finally {
      raw.close();
    }
    assert.equal(await cache.get('example.com'), undefined);
    assert.deepEqual(await cache.list(), []);
  });

  test('the database uses WAL journaling', () => {
    const dir = tempDir();
    openSqlite(dir);
    const raw = new Database(join(dir, POLICY_CACHE_FILE));
    try {
      assert.equal(raw.pragma('journal_mode', { simple: true }), 'wal');
    } finally {
      raw.close();
    }
  });

  test('an unusable data directory is reported as a value, not thrown', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'blocker'), 'a file where a directory should be');
    const result = openSqlitePolicyCache(join(dir, 'blocker', 'data'));
    assert.equal(result.ok, false);
    assert.match(result.ok ? '' : result.message, /cannot open MTA-STS cache/);
  });
});
