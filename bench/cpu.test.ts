/**
 * The benchmarks' CPU meter (bench/cpu.ts): /proc/<pid>/stat reads as seconds, a process that is gone
 * as undefined, and a meter over a child process counts the CPU of a grandchild forked after the meter
 * was made (an inherited cgroup, or the reaped grandchild's time in the child's), and closes twice
 * without harm. Linux only: skipped where there is no /proc.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { meterCpu, processCpuSeconds } from './cpu.js';

describe('CPU meter', { skip: existsSync('/proc/self/stat') ? false : 'no /proc' }, () => {
  test('this process has used some CPU; a process that does not exist reads as undefined', () => {
    const own = processCpuSeconds(process.pid);
    assert.ok(own !== undefined && own > 0, String(own));
    assert.equal(processCpuSeconds(2 ** 22 + 1), undefined);
  });

  test('a meter counts what its process forks after it was made', async () => {
    // The child waits for a line, runs a CPU-bound grandchild, says so, and waits for another line.
    const script =
      'read go; sh -c "i=0; while [ \\$i -lt 100000 ]; do i=\\$((i+1)); done"; echo done; read bye';
    const child = spawn('sh', ['-c', script], { stdio: ['pipe', 'pipe', 'inherit'] });
    const done = new Promise((resolve) => child.stdout.once('data', resolve));
    const meter = meterCpu(() => (child.pid === undefined ? [] : [child.pid]));
    try {
      assert.ok(['cgroup', 'proc'].includes(meter.method));
      const atStart = meter.seconds();
      child.stdin.write('go\n');
      await done;
      // The grandchild has exited and been reaped; the child is still alive, so `proc` mode lists it.
      assert.ok(meter.seconds() > atStart, `${meter.method}: ${meter.seconds()} after ${atStart}`);
    } finally {
      child.kill('SIGKILL');
      meter.close();
      meter.close();
    }
  });
});
