/**
 * What the receiving Postfix saw, read from Postfix's own files rather than from mxsec, so that a DANE
 * test cannot pass while a message slipped through in plaintext: the stored message carrying a test's
 * unique envelope sender, the TLS its `Received:` header records, and which listener (MX address)
 * accepted it, from the queue id in that header and smtpd's log line for the same queue id.
 *
 * Contract: `everAccepted` is exact once mxsec has returned, because Postfix writes a message to its
 * queue before it answers 250 to the end of DATA: it scans the queue directories and then the Maildir,
 * in the order a message moves, so one in transit is seen in one place or the next. `acceptedBy` polls
 * the maillog (it is written by a separate logging process) and rejects after a generous deadline.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import type { PostfixInstance } from './harness/postfix.js';
import { waitUntil } from './harness/run.js';

/** The order a message moves through Postfix's queues (cleanup writes incoming, qmgr moves it on). */
const QUEUES = ['maildrop', 'incoming', 'active', 'deferred', 'hold', 'corrupt'];

function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const file = path.join(dir, name);
    try {
      if (statSync(file).isDirectory()) out.push(...filesUnder(file));
      else out.push(file);
    } catch {
      // moved to the next queue meanwhile: the later scans find it there
    }
  }
  return out;
}

function fileMentions(file: string, needle: string): boolean {
  try {
    return readFileSync(file).includes(needle);
  } catch {
    return false;
  }
}

/** True when Postfix queued or stored any message whose envelope sender is `sender`. */
export function everAccepted(postfix: PostfixInstance, sender: string): boolean {
  const spool = path.join(postfix.configDir, '..', 'spool');
  for (const queue of QUEUES) {
    if (filesUnder(path.join(spool, queue)).some((f) => fileMentions(f, sender))) return true;
  }
  return postfix.messages().some((m) => m.includes(`Return-Path: <${sender}>`));
}

/** The stored message whose envelope sender is `sender`; waits until it has been delivered to the Maildir. */
export async function storedMessage(postfix: PostfixInstance, sender: string): Promise<string> {
  let found: string | undefined;
  await waitUntil(
    `message from ${sender} stored`,
    () => {
      found = postfix.messages().find((m) => m.includes(`Return-Path: <${sender}>`));
      return Promise.resolve(found !== undefined);
    },
    () => undefined,
    60_000,
  ).catch((error: unknown) => {
    throw new Error(
      `${error instanceof Error ? error.message : String(error)}\n--- maillog ---\n${postfix.log()}`,
    );
  });
  return found!;
}

/** The index of the smtpd listener that accepted `message` (master.cf order, as in `syslog_name`). */
export async function acceptedBy(postfix: PostfixInstance, message: string): Promise<number> {
  const queueId = /^Received:[^\n]*(?:\n[ \t][^\n]*)*?\bid ([0-9A-Za-z]+)/m.exec(message)?.[1];
  if (queueId === undefined) throw new Error(`no queue id in the Received header:\n${message}`);
  const pattern = new RegExp(`postfix/listener-(\\d+)/smtpd\\[\\d+\\]: ${queueId}: client=`);
  let index: number | undefined;
  await waitUntil(
    `smtpd log line for ${queueId}`,
    () => {
      const match = pattern.exec(postfix.log());
      if (match !== null) index = Number(match[1]);
      return Promise.resolve(index !== undefined);
    },
    () => undefined,
    60_000,
  );
  return index!;
}
