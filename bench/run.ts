/**
 * Runs the benchmark modules one after another (never in parallel: they would measure each other)
 * and prints one table of every result with its baseline and ratio, or JSON with `--json`. Module
 * names given as arguments (`expr`, `strategy`, `delivery`, `queue`, `relay`, `e2e`) select a subset;
 * an unknown name is a usage error (exit 2). A module that throws is reported on stderr, the others
 * still run, and the exit code is 1. Each module is sized to finish well under a minute on a loaded
 * 2-core machine (`e2e`, mxsec against a real Postfix, and `queue`, which fills stores of up to
 * 100,000 messages, about half a minute each by themselves).
 *
 * Usage: `npm run bench [-- [--json] [expr|strategy|delivery|queue|relay|e2e ...]]`, or
 * `node dist/bench/run.js ...`.
 */

import { run as runDelivery } from './delivery.bench.js';
import { run as runExpr } from './expr.bench.js';
import { run as runQueue } from './queue.bench.js';
import { run as runRelay } from './relay.bench.js';
import { run as runE2e } from './postfix-relay.bench.js';
import { formatJson, formatTable } from './report.js';
import { run as runStrategy } from './strategy.bench.js';
import { secondsSince } from './timing.js';
import type { BenchResult } from './types.js';

interface BenchModule {
  readonly name: string;
  readonly run: () => Promise<BenchResult[]>;
}

// Cheapest first, so that a broken environment shows up before the slow socket benchmarks; `queue`
// before `relay`, whose 100,000-message memory store would inflate the RSS that `queue` reads.
const MODULES: readonly BenchModule[] = [
  { name: 'expr', run: runExpr },
  { name: 'strategy', run: runStrategy },
  { name: 'delivery', run: runDelivery },
  { name: 'queue', run: runQueue },
  { name: 'relay', run: runRelay },
  { name: 'e2e', run: runE2e },
];

interface Options {
  readonly json: boolean;
  readonly modules: readonly BenchModule[];
}

type ParsedArgs =
  | { readonly ok: true; readonly options: Options }
  | { readonly ok: false; readonly message: string };

function parseArgs(args: readonly string[]): ParsedArgs {
  const json = args.includes('--json');
  const names = args.filter((a) => a !== '--json');
  const unknown = names.filter((n) => !MODULES.some((m) => m.name === n));
  if (unknown.length > 0) {
    return {
      ok: false,
      message: `unknown benchmark ${unknown.join(', ')}; known: ${MODULES.map((m) => m.name).join(', ')}, option --json`,
    };
  }
  const modules = names.length === 0 ? MODULES : MODULES.filter((m) => names.includes(m.name));
  return { ok: true, options: { json, modules } };
}

async function main(args: readonly string[]): Promise<number> {
  const parsed = parseArgs(args);
  if (!parsed.ok) {
    console.error(parsed.message);
    return 2;
  }
  const { json, modules } = parsed.options;
  const started = process.hrtime.bigint();
  const results: BenchResult[] = [];
  const failures: string[] = [];
  for (const module of modules) {
    const moduleStart = process.hrtime.bigint();
    try {
      results.push(...(await module.run()));
      if (!json) console.error(`bench ${module.name}: ${secondsSince(moduleStart).toFixed(1)} s`);
    } catch (error: unknown) {
      const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
      failures.push(`${module.name}: ${message}`);
      console.error(`bench ${module.name} failed: ${message}`);
    }
  }
  const total = secondsSince(started);
  if (json) {
    console.log(formatJson(results, total, failures));
  } else {
    console.log(formatTable(results));
    console.log(
      `total ${total.toFixed(1)} s, node ${process.version}, ${process.platform}/${process.arch}`,
    );
  }
  return failures.length === 0 ? 0 : 1;
}

process.exitCode = await main(process.argv.slice(2));
