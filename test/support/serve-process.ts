/**
 * `mxsec serve` as a real child process for end-to-end tests, and an SMTP submitter to feed it.
 *
 * Which program runs: when this module itself runs from `src/` (under tsx, `npx tsx --test`), the child
 * is `node --import <tsx loader> src/cli/bin.ts`, so the fast loop needs no build; when it runs from
 * `dist/` (`npm test`, which always builds first), the child is `node dist/src/cli/bin.js`, the test
 * build's compilation of the same entry point the package's `bin` (`lib/cli/bin.js`) is built from. Either
 * way the child is node itself (no wrapper process), so SIGTERM, SIGHUP and SIGKILL reach the relay directly.
 *
 * Contract: `spawnServe` never throws for an operational problem; `started()` resolves with the bound
 * listeners once the relay logs `started`, or with the exit status and output when the child exits
 * first. Every child is remembered until it exits: `stopAllServes()` (call it in `after`) kills the
 * rest, and a process-exit hook does the same if a test never calls it. `submitMessage` returns the
 * reply or failure as a value; a 250 means the relay committed the message. `submitMany` runs several
 * submitters at once (benchmarks) and rejects at the first failure.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { connectSmtp } from '../../src/smtp/connect.js';
import type { SmtpReply } from '../../src/smtp/protocol/reply.js';
import { REPO_ROOT } from './paths.js';

/** One JSON log line of the relay (pino), parsed. */
export type LogLine = Readonly<Record<string, unknown>>;

export interface ServeExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export type ServeStart =
  | {
      readonly ok: true;
      readonly port: number;
      readonly listeners: readonly { name: string; host: string; port: number }[];
    }
  | {
      readonly ok: false;
      readonly exit: ServeExit;
      readonly stdout: string;
      readonly stderr: string;
    };

export interface ServeProcess {
  readonly pid: number;
  /** Every JSON line logged so far, oldest first. */
  readonly logs: readonly LogLine[];
  /** Standard output lines that were not JSON, and standard error, so far. */
  output(): { stdout: string; stderr: string };
  started(): Promise<ServeStart>;
  /** Resolves with the first line (already logged or still to come) matching `match`; rejects after `timeoutMs`. */
  waitForLog(what: string, match: (line: LogLine) => boolean, timeoutMs?: number): Promise<LogLine>;
  readonly exited: Promise<ServeExit>;
  signal(signal: NodeJS.Signals): void;
  /** SIGKILL, then waits for the exit. */
  kill(): Promise<ServeExit>;
}

/** Long enough for a loaded 2-core machine starting tsx; only a guard against hanging. */
export const SERVE_WAIT_MS = 60_000;

/** The command that runs the mxsec CLI from this checkout (see the module header). */
export function mxsecCommand(): { command: string; args: string[] } {
  if (import.meta.url.endsWith('.ts')) {
    return {
      command: process.execPath,
      args: ['--import', import.meta.resolve('tsx'), join(REPO_ROOT, 'src', 'cli', 'bin.ts')],
    };
  }
  return { command: process.execPath, args: [join(REPO_ROOT, 'dist', 'src', 'cli', 'bin.js')] };
}

const children = new Set<ChildProcess>();
let exitHookInstalled = false;

function remember(child: ChildProcess): void {
  children.add(child);
  child.once('exit', () => children.delete(child));
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const c of children) c.kill('SIGKILL');
  });
}

/** Kills every child this module started that is still running, and waits for them. */
export async function stopAllServes(): Promise<void> {
  await Promise.all(
    [...children].map(
      (child) =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve();
          child.once('exit', () => resolve());
          child.kill('SIGKILL');
        }),
    ),
  );
}

function exitOf(child: ChildProcess): Promise<ServeExit> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null)
      resolve({ code: child.exitCode, signal: child.signalCode });
    else child.once('exit', (code, signal) => resolve({ code, signal }));
  });
}

/** Runs `mxsec serve --config <configFile>` (absolute paths in the file: `cwd` defaults to the repository root). */
export function spawnServe(
  configFile: string,
  options: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
): ServeProcess {
  const { command, args } = mxsecCommand();
  const child = spawn(command, [...args, 'serve', '--config', configFile], {
    cwd: options.cwd ?? REPO_ROOT,
    env: options.env ?? process.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  remember(child);
  const logs: LogLine[] = [];
  const plain: string[] = [];
  let stderr = '';
  const listeners = new Set<() => void>();
  const notify = (): void => {
    for (const l of [...listeners]) l();
  };
  createInterface({ input: child.stdout }).on('line', (line) => {
    try {
      logs.push(JSON.parse(line) as LogLine);
    } catch {
      plain.push(line);
    }
    notify();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8');
  });
  const exited = exitOf(child);
  void exited.then(notify);
  const output = (): { stdout: string; stderr: string } => ({
    stdout: [...logs.map((l) => JSON.stringify(l)), ...plain].join('\n'),
    stderr,
  });

  const waitForLog = (
    what: string,
    match: (line: LogLine) => boolean,
    timeoutMs = SERVE_WAIT_MS,
  ): Promise<LogLine> =>
    new Promise((resolve, reject) => {
      let seen = 0;
      let done = false;
      const check = (): void => {
        for (; seen < logs.length; seen++) {
          const line = logs[seen]!;
          if (match(line)) return finish(() => resolve(line));
        }
        if (child.exitCode !== null || child.signalCode !== null) {
          finish(() =>
            reject(
              new Error(
                `mxsec serve exited (${child.exitCode ?? child.signalCode}) before logging ${what}\n${output().stdout}\n${stderr}`,
              ),
            ),
          );
        }
      };
      const timer = setTimeout(
        () =>
          finish(() =>
            reject(
              new Error(
                `mxsec serve did not log ${what} within ${timeoutMs} ms\n${output().stdout}\n${stderr}`,
              ),
            ),
          ),
        timeoutMs,
      );
      function finish(settle: () => void): void {
        if (done) return;
        done = true;
        clearTimeout(timer);
        listeners.delete(check);
        settle();
      }
      listeners.add(check);
      check();
    });

  const started = async (): Promise<ServeStart> => {
    try {
      const line = await waitForLog('started', (l) => l['event'] === 'started');
      const bound = line['listeners'] as { name: string; host: string; port: number }[];
      return { ok: true, port: bound[0]?.port ?? 0, listeners: bound };
    } catch {
      const exit = await Promise.race([
        exited,
        new Promise<ServeExit>((resolve) =>
          setTimeout(() => resolve({ code: null, signal: null }), 1_000),
        ),
      ]);
      return { ok: false, exit, ...output() };
    }
  };

  return {
    pid: child.pid ?? -1,
    logs,
    output,
    started,
    waitForLog,
    exited,
    signal: (signal) => {
      child.kill(signal);
    },
    kill: () => {
      child.kill('SIGKILL');
      return exited;
    },
  };
}

/** Runs one mxsec command to completion in a child process (for commands that must not share our process). */
export function runMxsecProcess(
  argv: readonly string[],
  cwd = REPO_ROOT,
): Promise<{ exit: ServeExit; stdout: string; stderr: string }> {
  const { command, args } = mxsecCommand();
  const child = spawn(command, [...args, ...argv], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  remember(child);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  // 'close' (not 'exit') so both pipes are drained before the output is read.
  return new Promise((resolve) =>
    child.once('close', (code, signal) => resolve({ exit: { code, signal }, stdout, stderr })),
  );
}

export interface Submission {
  readonly from: string;
  readonly to: readonly string[];
  readonly body: string | Uint8Array;
}

export type SubmitResult =
  | { readonly ok: true; readonly queueId: string; readonly reply: SmtpReply }
  | { readonly ok: false; readonly reason: string };

const TIMEOUTS = {
  connect: 30_000,
  greeting: 30_000,
  ehlo: 30_000,
  'mail-from': 30_000,
  'rcpt-to': 30_000,
  data: 30_000,
} as const;

/**
 * Submits one message over SMTP (one session: greeting, EHLO, one transaction, QUIT). `ok` only for a
 * 2yz reply to the end of DATA, with the queue id from its `queued as <id>` text.
 */
export async function submitMessage(
  host: string,
  port: number,
  message: Submission,
): Promise<SubmitResult> {
  const connected = await connectSmtp({ host, port, timeouts: TIMEOUTS });
  if (!connected.ok) return { ok: false, reason: connected.failure.message };
  const session = connected.session;
  try {
    const greeting = await session.greeting();
    if (!greeting.ok) return { ok: false, reason: `greeting: ${greeting.failure.message}` };
    const ehlo = await session.ehlo('submitter.mxsec.test');
    if (!ehlo.ok) return { ok: false, reason: `ehlo: ${ehlo.failure.message}` };
    const body =
      typeof message.body === 'string' ? new TextEncoder().encode(message.body) : message.body;
    const sent = await session.send({ from: message.from, recipients: message.to, body });
    if (!sent.ok) return { ok: false, reason: `send: ${sent.failure.message}` };
    const data = sent.outcome.data;
    if (data.status !== 'accepted')
      return { ok: false, reason: `not accepted: ${JSON.stringify(data)}` };
    const id = /queued as (\S+)/.exec(data.reply.lines.join(' '))?.[1];
    if (id === undefined)
      return { ok: false, reason: `no queue id in ${data.reply.lines.join(' ')}` };
    await session.quit();
    return { ok: true, queueId: id, reply: data.reply };
  } finally {
    session.close();
  }
}

/**
 * Submits messages 0 to `count - 1` (`message(n)` builds each) from `clients` concurrent submitters, one
 * `submitMessage` session per message. Rejects with the first refusal or failure.
 */
export async function submitMany(
  host: string,
  port: number,
  count: number,
  clients: number,
  message: (n: number) => Submission,
): Promise<void> {
  let next = 0;
  const client = async (): Promise<void> => {
    for (let n = next++; n < count; n = next++) {
      const sent = await submitMessage(host, port, message(n));
      if (!sent.ok) throw new Error(`submission ${n} failed: ${sent.reason}`);
    }
  };
  await Promise.all(Array.from({ length: clients }, client));
}
