/**
 * Finds and ends the processes of one Postfix instance. Postfix's master passes the config directory
 * to its children in the environment (`MAIL_CONFIG`), so `/proc/<pid>/environ` tells exactly which
 * processes belong to an instance this harness started; nothing is ever matched by name.
 *
 * Contract: Linux only (reads /proc); unreadable or vanished processes are skipped, never an error.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

/** PIDs of every live process whose environment has `MAIL_CONFIG=<configDir>`. */
export function instanceProcesses(configDir: string): number[] {
  const wanted = `MAIL_CONFIG=${configDir}`;
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const environ = readFileSync(`/proc/${entry}/environ`, 'latin1');
      if (environ.split('\0').includes(wanted)) pids.push(Number(entry));
    } catch {
      // exited meanwhile, or not ours to read
    }
  }
  return pids.filter((pid) => pid !== process.pid);
}

/** SIGKILLs each PID (each one this harness started); already-gone PIDs are ignored. */
export function killAll(pids: readonly number[]): void {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone already
    }
  }
}

/** The master's PID from `<queue>/pid/master.pid`, or undefined when it is not there. */
export function masterPid(queueDirectory: string): number | undefined {
  try {
    const pid = Number.parseInt(
      readFileSync(path.join(queueDirectory, 'pid', 'master.pid'), 'utf8').trim(),
      10,
    );
    return Number.isFinite(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}
