/**
 * Benchmark of the expression language: compile time per expression (µs) and evaluation time (ns per
 * evaluation) for the strategy-selection expressions mxsec configurations use, each against the same
 * logic hand-written in JavaScript as a baseline. Warm-up first, then fixed iteration counts sized to
 * finish in well under 3 s on a loaded 2-core machine. Run alone with `npx tsx bench/expr.bench.ts`.
 */

import { pathToFileURL } from 'node:url';
import type { EvalContext, Value } from '../src/expr/index.js';
import { compileExpression, QUEUE_VARIABLES } from '../src/expr/index.js';
import type { BenchResult } from './types.js';

interface Case {
  readonly source: string;
  readonly handWritten: (ctx: EvalContext) => Value;
}

// The baselines do what a careful hand-written check would: tolerate a missing or mistyped variable.
const CASES: readonly Case[] = [
  {
    source: "retry_num > 0 && last_error == 'tls'",
    handWritten: (ctx) =>
      typeof ctx.retry_num === 'number' && ctx.retry_num > 0 && ctx.last_error === 'tls',
  },
  {
    source: "retry_num > 1 && last_error == 'tls'",
    handWritten: (ctx) =>
      typeof ctx.retry_num === 'number' && ctx.retry_num > 1 && ctx.last_error === 'tls',
  },
  {
    source: "mx == 'highly-secure.host.org'",
    handWritten: (ctx) => ctx.mx === 'highly-secure.host.org',
  },
];

// Several contexts so that neither path can be specialised to one input by the JIT.
const CONTEXTS: readonly EvalContext[] = [
  { retry_num: 0, last_error: 'none', mx: 'mx.example.org' },
  { retry_num: 1, last_error: 'tls', mx: 'highly-secure.host.org' },
  { retry_num: 2, last_error: 'tls', mx: 'mx.b.org' },
  { retry_num: 3, last_error: 'dns', mx: 'mx.a.org' },
];

const COMPILE_WARMUP = 3_000;
const COMPILE_ITERATIONS = 10_000;
const EVAL_WARMUP = 500_000;
const EVAL_ITERATIONS = 4_000_000;

/** Keeps results observable so that the JIT cannot drop the work. */
let sink = 0;

function nanosecondsPerCall(iterations: number, body: (i: number) => void): number {
  const start = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) body(i);
  return Number(process.hrtime.bigint() - start) / iterations;
}

function timeEvaluation(fn: (ctx: EvalContext) => Value): number {
  const contexts = CONTEXTS;
  const step = (i: number): void => {
    if (fn(contexts[i & 3] ?? {}) === true) sink++;
  };
  nanosecondsPerCall(EVAL_WARMUP, step);
  return nanosecondsPerCall(EVAL_ITERATIONS, step);
}

export async function run(): Promise<BenchResult[]> {
  const results: BenchResult[] = [];
  // Warm the compiler on every case first, so the first case does not pay for the JIT alone.
  for (let i = 0; i < COMPILE_WARMUP; i++) {
    for (const { source } of CASES)
      if (compileExpression(source, { variables: QUEUE_VARIABLES }).ok) sink++;
  }
  for (const { source, handWritten } of CASES) {
    const compileOnce = (): void => {
      const compiled = compileExpression(source, { variables: QUEUE_VARIABLES });
      if (compiled.ok) sink++;
    };
    const compileNs = nanosecondsPerCall(COMPILE_ITERATIONS, compileOnce);
    results.push({ name: `expr.compile ${source}`, unit: 'µs', value: round(compileNs / 1_000) });

    const compiled = compileExpression(source, { variables: QUEUE_VARIABLES });
    if (!compiled.ok) throw new Error(`benchmark expression does not compile: ${source}`);
    const expr = compiled.expr;
    for (const ctx of CONTEXTS) {
      if (expr.evaluate(ctx) !== handWritten(ctx))
        throw new Error(`baseline disagrees with ${source}`);
    }
    const baselineName = `expr.baseline ${source}`;
    results.push({ name: baselineName, unit: 'ns/op', value: round(timeEvaluation(handWritten)) });
    results.push({
      name: `expr.eval ${source}`,
      unit: 'ns/op',
      value: round(timeEvaluation((ctx) => expr.evaluate(ctx))),
      baseline: baselineName,
    });
  }
  if (sink < 0) console.log(sink);
  return Promise.resolve(results);
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const started = process.hrtime.bigint();
  const results = await run();
  const byName = new Map(results.map((r) => [r.name, r]));
  for (const r of results) {
    const base = r.baseline === undefined ? undefined : byName.get(r.baseline);
    const ratio =
      base === undefined || base.value === 0
        ? ''
        : `  (${(r.value / base.value).toFixed(1)}x hand-written)`;
    console.log(`${r.name.padEnd(56)} ${String(r.value).padStart(9)} ${r.unit}${ratio}`);
  }
  console.log(`total ${(Number(process.hrtime.bigint() - started) / 1e9).toFixed(2)} s`);
}
