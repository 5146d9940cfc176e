/**
 * The SQLite queue across real process boundaries: a writer killed with SIGKILL loses no message whose
 * id it had reported (the id is returned only after commit, which is when the SMTP listener answers
 * 250); work leased by a killed worker comes back when its lease ends, not before; and two processes
 * claiming from one database never receive the same recipient. This file is also the child program:
 * with MXSEC_QUEUE_CHILD set it plays one role instead of registering tests.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { QueueStore } from '../../src/queue/store.js';
import { openSqliteStore } from '../../src/queue/sqlite-store.js';
import { REPO_ROOT } from '../support/paths.js';

const T0 = Date.UTC(2025, 5, 1);
const LEASE = 60_000;
const THIS_FILE = fileURLToPath(import.meta.url);

function open(dataDir: string): QueueStore {
  const r = openSqliteStore({ dataDir, busyTimeoutMs: 60_000 });
  if (!r.ok) throw new Error(`${r.error.kind}: ${r.error.message}`);
  return r.value;
}

function bodyFor(n: number): Uint8Array {
  return new TextEncoder().encode(`Subject: ${n}\r\n\r\n${'x'.repeat(n % 97)}\r\n`);
}

/** The child roles. Each prints one line per durable fact, so the parent never has to guess timing. */
async function child(role: string, dataDir: string): Promise<void> {
  const store = open(dataDir);
  if (role === 'enqueue') {
    for (let n = 0; ; n++) {
      const r = await store.enqueue({
        returnPath: 's@example.org',
        recipients: [{ address: `r${n}@example.com` }],
        body: bodyFor(n),
        createdAt: T0 + n,
        expiresAt: null,
      });
      if (!r.ok) throw new Error(r.error.message);
      process.stdout.write(`${n} ${r.value}\n`);
    }
  }
  if (role === 'claim-and-hang') {
    const r = await store.claimDue(T0, 100, LEASE, 'doomed');
    if (!r.ok) throw new Error(r.error.message);
    process.stdout.write(`${r.value.length}\n`);
    setInterval(() => undefined, 1_000_000); // stay alive holding the leases until killed
    return;
  }
  if (role === 'claim-all') {
    const owner = `p${process.pid}`;
    // Start together: report readiness, then wait for the parent's go, so the claim loops overlap.
    process.stdout.write('ready\n');
    await new Promise((resolve) => process.stdin.once('data', resolve));
    process.stdin.destroy();
    for (;;) {
      const r = await store.claimDue(T0 + 1_000_000, 2, LEASE, owner);
      if (!r.ok) throw new Error(r.error.message);
      if (r.value.length === 0) break;
      for (const c of r.value)
        for (const rc of c.recipients) process.stdout.write(`${c.message.id}/${rc.address}\n`);
    }
    await store.close();
  }
}

function start(role: string, dataDir: string): ChildProcess {
  const loader = THIS_FILE.endsWith('.ts') ? ['--import', 'tsx'] : [];
  // The child is a plain program, not a test file: it must not think it reports to a test runner.
  const { NODE_TEST_CONTEXT: _runner, ...env } = process.env;
  return spawn(process.execPath, [...loader, THIS_FILE], {
    cwd: REPO_ROOT,
    env: { ...env, MXSEC_QUEUE_CHILD: role, MXSEC_QUEUE_DIR: dataDir },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
}

/** Collects stdout lines until `enough` says so (then resolves) or the child exits. */
function lines(
  proc: ChildProcess,
  enough: (all: string[]) => boolean = () => false,
): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const all: string[] = [];
    let stderr = '';
    proc.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const rl = createInterface({ input: proc.stdout! });
    rl.on('line', (line) => {
      all.push(line);
      if (enough(all)) resolve(all);
    });
    proc.on('close', (code, signal) => {
      if (code === 0 || signal === 'SIGKILL') resolve(all);
      else reject(new Error(`child exited with ${code ?? signal}: ${stderr}`));
    });
  });
}

async function kill(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  const exited = new Promise((resolve) => proc.once('exit', resolve));
  proc.kill('SIGKILL');
  await exited;
}

async function withDir(body: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'mxsec-queue-crash-'));
  try {
    await body(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const role = process.env['MXSEC_QUEUE_CHILD'];
if (role !== undefined) {
  await child(role, process.env['MXSEC_QUEUE_DIR'] ?? '');
} else {
  describe('sqlite queue across processes', { timeout: 120_000 }, () => {
    test('RFC 5321 6.1: kill -9 during enqueues loses no message whose id was returned', () =>
      withDir(async (dir) => {
        const proc = start('enqueue', dir);
        try {
          const reported = await lines(proc, (all) => all.length >= 200);
          await kill(proc);
          const store = open(dir);
          try {
            for (const line of reported) {
              const [n, id] = line.split(' ');
              const m = await store.get(id!);
              assert.ok(m.ok, `message ${n} (${id}) was reported but is gone`);
              assert.deepEqual(m.value.body, bodyFor(Number(n)));
              assert.equal(m.value.recipients[0]?.address, `r${n}@example.com`);
            }
          } finally {
            await store.close();
          }
        } finally {
          await kill(proc);
        }
      }));

    test('work leased by a killed worker is claimable again when the lease ends, not before', () =>
      withDir(async (dir) => {
        const setup = open(dir);
        for (let i = 0; i < 5; i++) {
          const r = await setup.enqueue({
            returnPath: '',
            recipients: [{ address: `r${i}@d${i}.example` }],
            body: bodyFor(i),
            createdAt: T0,
            expiresAt: null,
          });
          assert.ok(r.ok);
        }
        await setup.close();
        const proc = start('claim-and-hang', dir);
        try {
          const [claimed] = await lines(proc, (all) => all.length >= 1);
          assert.equal(claimed, '5');
          await kill(proc);
          const store = open(dir);
          try {
            const early = await store.claimDue(T0 + LEASE - 1, 100, LEASE, 'survivor');
            assert.deepEqual(early.ok ? early.value : early.error, []);
            const late = await store.claimDue(T0 + LEASE, 100, LEASE, 'survivor');
            assert.equal(late.ok ? late.value.length : late.error.message, 5);
          } finally {
            await store.close();
          }
        } finally {
          await kill(proc);
        }
      }));

    test('two processes claiming from one database never get the same recipient', () =>
      withDir(async (dir) => {
        const setup = open(dir);
        for (let i = 0; i < 150; i++) {
          const r = await setup.enqueue({
            returnPath: 's@example.org',
            recipients: [{ address: `a${i}@x.example` }, { address: `b${i}@y.example` }],
            body: bodyFor(i),
            createdAt: T0 + i,
            expiresAt: null,
          });
          assert.ok(r.ok);
        }
        await setup.close();
        const procs = [start('claim-all', dir), start('claim-all', dir)];
        try {
          let ready = 0;
          const results = Promise.all(
            procs.map((p) =>
              lines(p, (all) => {
                if (all.length === 1 && ++ready === procs.length)
                  for (const q of procs) q.stdin?.write('go\n');
                return false;
              }),
            ),
          );
          const all = (await results).flat().filter((line) => line !== 'ready');
          assert.equal(all.length, 300);
          assert.equal(new Set(all).size, 300, 'a recipient was claimed twice');
        } finally {
          for (const p of procs) await kill(p);
        }
      }));
  });
}
