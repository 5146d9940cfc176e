/** One relay per data directory: the lock, its holder's pid, and that it dies with its holder. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { lockDataDir } from './data-dir-lock.js';

async function withDir(body: (dir: string) => Promise<void> | void): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'mxsec-lock-'));
  try {
    await body(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test('a second lock on one data directory is refused and names the pid of the holder', () =>
  withDir((dir) => {
    const first = lockDataDir(dir, 4242);
    assert.ok(first.ok);
    const second = lockDataDir(dir, 4343);
    assert.equal(second.ok, false);
    if (second.ok) return;
    assert.equal(second.holder, 4242);
    assert.match(second.message, /in use by another mxsec serve \(pid 4242\)/);
    first.lock.release();
    const third = lockDataDir(dir, 4343);
    assert.ok(third.ok, 'a released lock can be taken again');
    third.lock.release();
  }));

test('the lock dies with its process (kill -9 leaves no stale lock)', () =>
  withDir((dir) => {
    // A child takes the lock and is killed by SIGKILL while holding it.
    const script = `import { lockDataDir } from ${JSON.stringify(new URL('./data-dir-lock.js', import.meta.url).href)};
      if (!lockDataDir(${JSON.stringify(dir)}, process.pid).ok) process.exit(3);
      process.kill(process.pid, 'SIGKILL');`;
    const child = spawnSync(process.execPath, ['--input-type=module', '-e', script]);
    assert.equal(child.signal, 'SIGKILL', child.stderr.toString());
    const after = lockDataDir(dir, 1);
    assert.ok(after.ok, after.ok ? '' : after.message);
    after.lock.release();
  }));

test('a data directory that cannot be used is an error value that names the file', () =>
  withDir(async (dir) => {
    const file = join(dir, 'not-a-dir');
    await writeFile(file, 'x');
    const result = lockDataDir(file, 1);
    assert.equal(result.ok, false);
    if (result.ok) return;
    assert.equal(result.holder, undefined);
    assert.match(result.message, /not-a-dir/);
  }));
