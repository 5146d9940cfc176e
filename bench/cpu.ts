/**
 * CPU accounting for benchmarks that run servers as other processes: `meterCpu` measures the CPU time
 * (user + system) of a set of processes and of everything they fork from then on, for comparing one
 * multi-process server with another per unit of work.
 *
 * How, best first:
 * - `cgroup`: a cgroup v2 made as a child of this process's own (so every limit above still applies),
 *   into which the processes are moved; its `cpu.stat` `usage_usec` is exact and counts every process
 *   in it, including short-lived ones that exited meanwhile. Needs a cgroup2 mount (also the `unified`
 *   one of a hybrid v1/v2 host) and the right to write it: root.
 * - `proc`: otherwise, the sum of `utime + stime + cutime + cstime` of /proc/<pid>/stat over the live
 *   processes at each reading (a child's time appears in its parent's once the parent has waited for
 *   it). Each process is read at 10 ms resolution, so a run with many fresh processes reads a few
 *   percent low.
 *
 * Contract: Linux only. `meterCpu` never throws for a missing cgroup (it falls back); `close()` removes
 * the cgroup (processes still in it go back to this process's cgroup) and is idempotent; a process-exit
 * hook does the same if a benchmark never calls it. Only PIDs the caller started may be passed.
 */
import { mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { onProcessExit } from '../test/interop/harness/run.js';

export interface CpuMeter {
  /** `cgroup` (exact) or `proc` (sampled); see the module header. */
  readonly method: 'cgroup' | 'proc';
  /** CPU seconds the metered processes have used since the meter was made. */
  seconds(): number;
  /** Removes the cgroup; idempotent. */
  close(): void;
}

/** Linux's USER_HZ, the unit of the times in /proc/<pid>/stat: 100 on every architecture Node runs on. */
const CLOCK_TICKS_PER_SECOND = 100;

/** CPU seconds of `pid` and of the children it has waited for; undefined when it is gone. */
export function processCpuSeconds(pid: number): number | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
  } catch {
    return undefined;
  }
  // The command name (field 2) is in parentheses and may itself hold spaces and parentheses.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state); utime, stime, cutime and cstime are fields 14 to 17.
  const ticks = [11, 12, 13, 14].reduce((sum, i) => sum + Number(fields[i] ?? Number.NaN), 0);
  return Number.isFinite(ticks) ? ticks / CLOCK_TICKS_PER_SECOND : undefined;
}

/** The directory of this process's own cgroup v2, or undefined without a cgroup2 mount. */
function ownCgroupDir(): string | undefined {
  try {
    const mount = readFileSync('/proc/self/mounts', 'utf8')
      .split('\n')
      .map((line) => line.split(' '))
      .find((fields) => fields[2] === 'cgroup2')?.[1];
    const own = readFileSync('/proc/self/cgroup', 'utf8')
      .split('\n')
      .find((line) => line.startsWith('0::'))
      ?.slice(3);
    return mount === undefined || own === undefined ? undefined : path.join(mount, own);
  } catch {
    return undefined;
  }
}

/** Moves `pid` into the cgroup `dir`; false when it has exited meanwhile or cannot be moved. */
function moveTo(dir: string, pid: number): boolean {
  try {
    writeFileSync(path.join(dir, 'cgroup.procs'), String(pid));
    return true;
  } catch {
    return false;
  }
}

let meters = 0;

function cgroupMeter(members: () => readonly number[]): CpuMeter | undefined {
  const parent = ownCgroupDir();
  if (parent === undefined) return undefined;
  meters += 1;
  const dir = path.join(parent, `mxsec-bench-${process.pid}-${meters}`);
  try {
    mkdirSync(dir);
  } catch {
    return undefined;
  }
  let closed = false;
  const close = (): void => {
    if (closed) return;
    closed = true;
    unhook();
    try {
      for (const pid of readFileSync(path.join(dir, 'cgroup.procs'), 'utf8').split('\n'))
        if (pid !== '') moveTo(parent, Number(pid));
      rmdirSync(dir);
    } catch {
      // already gone, or still busy: nothing else to do
    }
  };
  const unhook = onProcessExit(close);
  // Until a listing finds no process left outside: one forked while the others moved stayed behind
  // only if its parent moved after the fork.
  const tried = new Set<number>();
  let moved = 0;
  for (let round = 0; round < 10; round += 1) {
    const fresh = members().filter((pid) => !tried.has(pid));
    if (fresh.length === 0) break;
    for (const pid of fresh) {
      tried.add(pid);
      if (moveTo(dir, pid)) moved += 1;
    }
  }
  if (moved === 0) {
    close();
    return undefined;
  }
  const usage = (): number => {
    const line = readFileSync(path.join(dir, 'cpu.stat'), 'utf8')
      .split('\n')
      .find((l) => l.startsWith('usage_usec '));
    return Number(line?.split(' ')[1]) / 1e6;
  };
  const start = usage();
  return { method: 'cgroup', seconds: () => usage() - start, close };
}

/**
 * Meters the processes `members()` lists now, and what they fork from now on; `members` is called
 * again at each reading when the meter falls back to /proc.
 */
export function meterCpu(members: () => readonly number[]): CpuMeter {
  const cgroup = cgroupMeter(members);
  if (cgroup !== undefined) return cgroup;
  const total = (): number =>
    members().reduce((sum, pid) => sum + (processCpuSeconds(pid) ?? 0), 0);
  const start = total();
  return { method: 'proc', seconds: () => total() - start, close: () => undefined };
}
