/**
 * One relay per data directory. `lockDataDir` takes an exclusive OS lock on `<dataDir>/serve.lock`
 * and holds it until `release()` or the end of the process: it is SQLite's own POSIX record lock (an
 * EXCLUSIVE-mode database whose first write keeps the lock for the connection's life), so the kernel
 * drops it when the process dies, kill -9 included, and no stale lock file can block a restart. The
 * holder's pid is written beside it (`serve.pid`) so a refused second relay can name it. Queue
 * commands never take this lock: they open the queue database itself, which allows several readers
 * and writers.
 *
 * Contract: never throws. `ok: false` with `holder` (the pid, when `serve.pid` is readable) when another
 * process holds the lock; `ok: false` without it when the directory or the lock file cannot be used.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';

export interface DataDirLock {
  /** Gives the lock up (the relay's clean stop); the process's end gives it up too. */
  release(): void;
}

export type LockResult =
  | { readonly ok: true; readonly lock: DataDirLock }
  | { readonly ok: false; readonly holder?: number; readonly message: string };

/** Takes the data directory for this process (`pid`), or says who has it. */
export function lockDataDir(dataDir: string, pid: number): LockResult {
  const file = join(dataDir, 'serve.lock');
  const pidFile = join(dataDir, 'serve.pid');
  let db: Database.Database;
  try {
    mkdirSync(dataDir, { recursive: true });
    db = new Database(file, { timeout: 0 });
  } catch (error) {
    return { ok: false, message: `cannot open ${file}: ${(error as Error).message}` };
  }
  try {
    db.pragma('locking_mode = EXCLUSIVE');
    // A write is what makes SQLite take the exclusive lock; in EXCLUSIVE mode it is never released.
    db.exec('BEGIN EXCLUSIVE; CREATE TABLE IF NOT EXISTS holder (pid INTEGER); COMMIT');
  } catch (error) {
    db.close();
    const code = (error as { code?: unknown }).code;
    if (code !== 'SQLITE_BUSY' && code !== 'SQLITE_LOCKED') {
      return { ok: false, message: `cannot lock ${file}: ${(error as Error).message}` };
    }
    const holder = readPid(pidFile);
    return {
      ok: false,
      ...(holder === undefined ? {} : { holder }),
      message: `${dataDir} is in use by another mxsec serve${holder === undefined ? '' : ` (pid ${holder})`}; one relay per data directory`,
    };
  }
  try {
    writeFileSync(pidFile, `${pid}\n`);
  } catch {
    // The pid only improves the message a second relay prints; the lock itself is what matters.
  }
  return { ok: true, lock: { release: () => db.close() } };
}

function readPid(file: string): number | undefined {
  try {
    const pid = Number.parseInt(readFileSync(file, 'utf8').trim(), 10);
    return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}
