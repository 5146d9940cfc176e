/**
 * Process plumbing shared by the interop harness modules: run a command to completion, keep a daemon
 * as a child process, wait until a server is ready (polled, never slept on), make private temp directories, and
 * clean up everything at process exit even when a test failed before its `after` hook ran.
 *
 * Contract: `run` never rejects for a non-zero exit (the result says so); `runOrThrow` and the waits
 * reject with an Error whose message carries the command's stderr or the server's log, because a server
 * that cannot start is a broken test environment, not an outcome a test inspects.
 */
import { spawn, execFile } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { accessSync, constants, mkdtempSync, chmodSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

export interface RunResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Daemons live in /usr/sbin and /sbin, which a non-root PATH often lacks. */
const SEARCH_PATH = [
  ...(process.env.PATH ?? '').split(path.delimiter),
  '/usr/sbin',
  '/sbin',
  '/usr/bin',
  '/bin',
];

/** Absolute path of an executable, or undefined when it is not installed. */
export function findBinary(name: string): string | undefined {
  for (const dir of SEARCH_PATH) {
    if (dir === '') continue;
    const candidate = path.join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here; keep looking
    }
  }
  return undefined;
}

function resolveBinary(name: string): string {
  const found = findBinary(name);
  if (found === undefined) throw new Error(`${name} is not installed: run .ci/install-deps.sh`);
  return found;
}

export interface RunOptions {
  readonly env?: NodeJS.ProcessEnv;
  /** Working directory; default the test process's. */
  readonly cwd?: string;
  /** Written to the command's stdin, which is then closed; default nothing. */
  readonly input?: string;
}

/** Runs a command to completion; a non-zero exit is reported in the result, not thrown. */
export function run(
  command: string,
  args: readonly string[],
  options: RunOptions = {},
): Promise<RunResult> {
  const settings = {
    env: options.env ?? process.env,
    maxBuffer: 16 * 1024 * 1024,
    timeout: 120_000,
    ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
  };
  return new Promise((resolve) => {
    const child = execFile(resolveBinary(command), args, settings, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : null;
      resolve({
        code,
        stdout,
        stderr: stderr + (error !== null && code === null ? String(error.message) : ''),
      });
    });
    // Closed stdin: tools such as `openssl s_client` otherwise wait for input until the timeout.
    // A command that exits without reading it makes the write fail with EPIPE: that is not an error.
    child.stdin?.on('error', () => {});
    child.stdin?.end(options.input ?? '');
  });
}

/** Runs a command and rejects with its output when it exits non-zero. */
export async function runOrThrow(
  command: string,
  args: readonly string[],
  options: RunOptions = {},
): Promise<string> {
  const result = await run(command, args, options);
  if (result.code !== 0) {
    throw new Error(
      `${command} ${args.join(' ')} exited ${String(result.code)}:\n${result.stderr}${result.stdout}`,
    );
  }
  return result.stdout;
}

/** A private directory under the system temp dir, traversable by the daemons' unprivileged users. */
export function makeTempDir(prefix: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), `mxsec-${prefix}-`));
  chmodSync(dir, 0o755);
  return dir;
}

const exitHooks = new Set<() => void>();
let hooked = false;

/**
 * Registers a synchronous last-resort cleanup run when the test process exits, so a daemon never
 * outlives a test process that crashed or forgot `stop()`. Returns a function that unregisters it.
 */
export function onProcessExit(hook: () => void): () => void {
  if (!hooked) {
    hooked = true;
    const runHooks = (): void => {
      for (const h of [...exitHooks]) {
        exitHooks.delete(h);
        try {
          h();
        } catch {
          // best effort: other hooks must still run
        }
      }
    };
    process.on('exit', runHooks);
    // A signal ends the process without 'exit'; Postfix's master has left our process group, so only
    // these hooks can stop it. Clean up, then die of the same signal as if no handler were installed.
    for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
      process.once(signal, () => {
        runHooks();
        process.kill(process.pid, signal);
      });
    }
  }
  exitHooks.add(hook);
  return () => exitHooks.delete(hook);
}

export interface Daemon {
  readonly child: ChildProcess;
  /** Everything the daemon wrote to stdout and stderr so far. */
  output(): string;
  /** Whether the process has exited. */
  exited(): boolean;
  /** Sends SIGTERM (then SIGKILL to its process group after `graceMs`) and resolves once it is gone. */
  stop(graceMs?: number): Promise<void>;
}

/** Starts a daemon that stays in the foreground (nginx `daemon off`, nsd -d, unbound -d). */
export function spawnDaemon(command: string, args: readonly string[]): Daemon {
  // Its own process group, so that one kill reaches the workers it forks (nginx workers, nsd servers),
  // which would otherwise outlive a killed master and keep the port bound.
  const child = spawn(resolveBinary(command), args, {
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  const killGroup = (signal: NodeJS.Signals): void => {
    try {
      if (child.pid !== undefined) process.kill(-child.pid, signal);
    } catch {
      // the group is gone already
    }
  };
  let output = '';
  let done = false;
  const exit = new Promise<void>((resolve) => {
    child.once('exit', () => {
      done = true;
      resolve();
    });
    child.once('error', (error) => {
      output += `spawn error: ${error.message}\n`;
      done = true;
      resolve();
    });
  });
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const unhook = onProcessExit(() => killGroup('SIGKILL'));
  return {
    child,
    output: () => output,
    exited: () => done,
    stop: async (graceMs = 10_000) => {
      unhook();
      if (!done) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => killGroup('SIGKILL'), graceMs);
        await exit;
        clearTimeout(timer);
      }
      // Anything of the group that survived its leader (it should not) must not keep a port.
      killGroup('SIGKILL');
    },
  };
}

/** Polling interval for readiness checks; readiness is observed, never assumed after a sleep. */
const POLL_MS = 50;

/**
 * Resolves once `probe` returns true; rejects when `failed` reports a reason (the daemon died) or the
 * deadline passes. The deadline is generous because the machine is small and shared.
 */
export async function waitUntil(
  what: string,
  probe: () => Promise<boolean>,
  failed: () => string | undefined,
  timeoutMs = 60_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const reason = failed();
    if (reason !== undefined) throw new Error(`${what}: ${reason}`);
    if (await probe()) return;
    if (Date.now() > deadline) throw new Error(`${what}: not ready after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

/** True when a TCP connection to host:port is accepted (the connection is closed at once). */
export function tcpAccepts(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    socket.setTimeout(5_000);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(false));
  });
}
