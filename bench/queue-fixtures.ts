/**
 * Queue fixtures shared by the benchmark modules: the body of a bench message, the `NewMessage` of
 * message `n` (one recipient, `user<n>@sink.test`, null reverse-path, no expiry) and the stores opened
 * on a data directory, throwing when they do not open (a broken setup, not a result).
 */
import type { NewMessage } from '../src/queue/model.js';
import { openSqliteStore } from '../src/queue/sqlite-store.js';
import type { SqliteStore } from '../src/queue/sqlite-store.js';
import { openThreadedStore } from '../src/queue/threaded-store.js';
import type { ThreadedStore } from '../src/queue/threaded-store.js';

/** A short header, then `payload` bytes of text and a CRLF. */
export function messageBody(payload: number): Uint8Array {
  return new TextEncoder().encode(
    `From: app@sender.test\r\nTo: user@sink.test\r\nSubject: bench\r\n\r\n${'x'.repeat(payload)}\r\n`,
  );
}

/** Message `n`, created now; due at `firstAttemptAt` when given, else at once. */
export function benchMessage(n: number, body: Uint8Array, firstAttemptAt?: number): NewMessage {
  return {
    returnPath: '',
    recipients: [{ address: `user${n}@sink.test` }],
    body,
    createdAt: Date.now(),
    expiresAt: null,
    ...(firstAttemptAt === undefined ? {} : { firstAttemptAt }),
  };
}

/** The in-process SQLite store at `dir/queue.sqlite`. */
export function openSqlite(dir: string): SqliteStore {
  const opened = openSqliteStore({ dataDir: dir });
  if (!opened.ok) throw new Error(opened.error.message);
  return opened.value;
}

/** The SQLite store on its own thread (`mxsec serve`'s) at `dir/queue.sqlite`. */
export async function openThreaded(dir: string): Promise<ThreadedStore> {
  const opened = await openThreadedStore({ dataDir: dir });
  if (!opened.ok) throw new Error(opened.error.message);
  return opened.value;
}
