/**
 * Timing primitives shared by the benchmark modules: a fixed-count loop timed with the monotonic
 * high-resolution clock, after a warm-up run of the same body so that the JIT has compiled it, a sink
 * that keeps results observable so the JIT cannot drop the work being measured, and the mean and
 * percentiles of a set of timed samples.
 *
 * These are measurements, not assertions: nothing here fails on a slow machine. A body that throws
 * aborts the measurement (that is a bug in the benchmark, not a result).
 */

let sinkValue = 0;

/** Records that a result was used; call with anything derived from the measured work. */
export function consume(value: unknown): void {
  if (value !== undefined && value !== null) sinkValue++;
}

/** Reads the sink, so the counter itself is observable too. */
export function sinkCount(): number {
  return sinkValue;
}

/** Nanoseconds per call of `body(i)` over `iterations` calls, after `warmup` untimed calls. */
export function nanosecondsPerCall(
  warmup: number,
  iterations: number,
  body: (i: number) => void,
): number {
  for (let i = 0; i < warmup; i++) body(i);
  const start = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) body(i);
  return Number(process.hrtime.bigint() - start) / iterations;
}

/** Seconds elapsed since `start` (a `process.hrtime.bigint()` reading). */
export function secondsSince(start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1e9;
}

/** Microseconds since `start` (a `process.hrtime.bigint()` reading). */
export function microsecondsSince(start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1e3;
}

/** The arithmetic mean of `samples`; NaN when there are none. */
export function mean(samples: readonly number[]): number {
  return samples.reduce((sum, s) => sum + s, 0) / samples.length;
}

/** The nearest-rank `p`-th percentile (0 < p <= 100) of `samples`; NaN when there are none. */
export function percentile(samples: readonly number[], p: number): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
}
