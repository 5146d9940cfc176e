/**
 * Benchmark of configuration and strategy selection.
 *
 * 1. Load + compile time (µs) of each reference example in `test/fixtures/reference/` through
 *    `parseConfig` (TOML parse, validation, expression compilation), against loading the built-in
 *    defaults (an empty file) as the baseline: the ratio is what a file costs over having none.
 * 2. The whole strategy selection (`selectStrategy`: rule walk, expression evaluation, map lookup,
 *    the described rule) in ns per call, per context and with the contexts interleaved, against a
 *    hand-written if/else of the same rules returning the same facts (name, strategy, rule index).
 *
 * Before timing, every hand-written selector is checked to agree with `selectStrategy` on every
 * context; a disagreement throws, because a baseline that computes something else measures nothing.
 * Run alone with `npx tsx bench/strategy.bench.ts`.
 */

import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseConfig } from '../src/config/load.js';
import type { MxsecConfig, TlsStrategy } from '../src/config/types.js';
import type { EvalContext, Value } from '../src/expr/index.js';
import { INITIAL_CONTEXT } from '../src/cli/context.js';
import { selectStrategy } from '../src/policy/select.js';
import { fixture } from '../test/support/paths.js';
import { formatTable, round } from './report.js';
import { consume, nanosecondsPerCall, sinkCount } from './timing.js';
import type { BenchResult } from './types.js';

const REFERENCE_FILES = [
  'dane-require.toml',
  'handling-tls-errors.toml',
  'invalid-certs.toml',
  'mta-sts-optional.toml',
  'starttls-disable.toml',
  'strict-transport-security.toml',
  'timeouts.toml',
] as const;

/** Rounds over every file (or every selector and context) before any timing, see `warmUp`. */
const WARMUP_ROUNDS = 300;
const LOAD_WARMUP = 100;
const LOAD_ITERATIONS = 1_500;
const SELECT_WARMUP = 50_000;
const SELECT_ITERATIONS = 1_000_000;

/** What a hand-written selector reports: enough for a caller to act on and to log why. */
interface HandPick {
  readonly name: string;
  readonly strategy: TlsStrategy;
  readonly rule: number;
}

type HandSelector = (ctx: EvalContext) => HandPick;

interface SelectorCase {
  /** Label of the configuration, e.g. the fixture file name. */
  readonly label: string;
  readonly toml: string;
  /** The same rules as the file, written by hand; `pick` resolves a name as the selector would. */
  readonly handWritten: (pick: (rule: number, name: string) => HandPick) => HandSelector;
}

// Like the expression baselines, these tolerate a missing or mistyped variable, as careful code would.
const retriedAfterTls = (ctx: EvalContext, min: number): boolean =>
  typeof ctx.retry_num === 'number' && ctx.retry_num > min && ctx.last_error === 'tls';

const SELECTORS: readonly SelectorCase[] = [
  {
    label: '(built-in defaults)',
    toml: '',
    handWritten: (pick) => (ctx) =>
      retriedAfterTls(ctx, 0) ? pick(0, 'invalid-tls') : pick(1, 'default'),
  },
  {
    label: 'handling-tls-errors.toml',
    toml: readReference('handling-tls-errors.toml'),
    // First match wins (Stalwart), so the second rule is shadowed by the first; kept for equal work.
    handWritten: (pick) => (ctx) => {
      if (retriedAfterTls(ctx, 0)) return pick(0, 'invalid-tls');
      if (retriedAfterTls(ctx, 1)) return pick(1, 'disable-tls');
      return pick(2, 'default');
    },
  },
  {
    label: 'strict-transport-security.toml',
    toml: readReference('strict-transport-security.toml'),
    handWritten: (pick) => (ctx) =>
      ctx.mx === 'highly-secure.host.org' ? pick(0, 'high-security') : pick(1, 'default'),
  },
];

/** Contexts as `decideHost` builds them: the full host context plus `mx` and `remote_ip`. */
const CONTEXTS: readonly { readonly label: string; readonly ctx: EvalContext }[] = [
  { label: 'first attempt', ctx: host({ mx: 'mx.example.org' }) },
  {
    label: 'retry 1 after tls',
    ctx: host({ retry_num: 1, last_error: 'tls', mx: 'mx.example.org' }),
  },
  { label: 'retry 2 after tls', ctx: host({ retry_num: 2, last_error: 'tls', mx: 'mx.b.org' }) },
  {
    label: 'retry 3 after dns, secure mx',
    ctx: host({ retry_num: 3, last_error: 'dns', mx: 'highly-secure.host.org' }),
  },
];

function host(values: Readonly<Record<string, Value>>): EvalContext {
  return {
    ...INITIAL_CONTEXT,
    rcpt: 'user@example.org',
    rcpt_domain: 'example.org',
    remote_ip: '192.0.2.25',
    ...values,
  };
}

function readReference(file: string): string {
  return readFileSync(fixture('reference', file), 'utf8');
}

function mustLoad(toml: string, label: string): MxsecConfig {
  const loaded = parseConfig(toml, label);
  if (loaded.config === undefined)
    throw new Error(
      `${label} does not load: ${loaded.diagnostics.map((d) => d.message).join('; ')}`,
    );
  return loaded.config;
}

function loadResults(): BenchResult[] {
  const baselineName = 'config.load (built-in defaults)';
  const sources = REFERENCE_FILES.map(readReference);
  // Without this the first file measured pays for the JIT alone and looks slower than the rest.
  for (let round = 0; round < WARMUP_ROUNDS; round++) {
    for (const [i, toml] of sources.entries())
      consume(parseConfig(toml, REFERENCE_FILES[i] ?? '').config);
  }
  const timeLoad = (toml: string, label: string): number => {
    mustLoad(toml, label);
    return nanosecondsPerCall(LOAD_WARMUP, LOAD_ITERATIONS, () =>
      consume(parseConfig(toml, label).config),
    );
  };
  const results: BenchResult[] = [
    { name: baselineName, unit: 'µs', value: round(timeLoad('', 'defaults.toml') / 1_000) },
  ];
  for (const [i, file] of REFERENCE_FILES.entries()) {
    const toml = sources[i] ?? '';
    results.push({
      name: `config.load ${basename(file)}`,
      unit: 'µs',
      value: round(timeLoad(toml, file) / 1_000),
      baseline: baselineName,
    });
  }
  return results;
}

function handSelector(selector: SelectorCase, config: MxsecConfig): HandSelector {
  const strategies = config.tls.strategies;
  const fallback = strategies.get('default');
  if (fallback === undefined) throw new Error(`${selector.label}: no default strategy`);
  return selector.handWritten((rule, name) => ({
    name,
    strategy: strategies.get(name) ?? fallback,
    rule,
  }));
}

interface Prepared {
  readonly selector: SelectorCase;
  readonly byHand: HandSelector;
  readonly byRules: (ctx: EvalContext) => {
    readonly name: string;
    readonly strategy: TlsStrategy;
    readonly rule: { readonly index: number };
  };
}

function prepare(selector: SelectorCase): Prepared {
  const config = mustLoad(selector.toml, selector.label);
  return {
    selector,
    byHand: handSelector(selector, config),
    byRules: (ctx) => selectStrategy(config.tls.selector, config.tls.strategies, ctx),
  };
}

/**
 * Runs every selector on every context before any timing. A server sees all of them, so the code
 * measured should be the code the JIT makes for the mix, not for whichever context happens to run
 * first (which otherwise looks several times faster than the same call measured later).
 */
function warmUpSelection(prepared: readonly Prepared[]): void {
  for (let round = 0; round < WARMUP_ROUNDS * 100; round++) {
    for (const { byHand, byRules } of prepared) {
      for (const { ctx } of CONTEXTS) {
        consume(byHand(ctx).strategy);
        consume(byRules(ctx).strategy);
      }
    }
  }
}

function selectionResults({ selector, byHand, byRules }: Prepared): BenchResult[] {
  for (const { label, ctx } of CONTEXTS) {
    const want = byRules(ctx);
    const got = byHand(ctx);
    if (want.name !== got.name || want.rule.index !== got.rule) {
      throw new Error(
        `${selector.label} [${label}]: hand-written picks ${got.name}#${got.rule}, selectStrategy ${want.name}#${want.rule.index}`,
      );
    }
  }
  const results: BenchResult[] = [];
  const measure = (label: string, contexts: readonly EvalContext[]): void => {
    // A power-of-two count lets the index be a mask, keeping the loop overhead equal for both paths.
    const ring = Array.from({ length: 4 }, (_, i) => contexts[i % contexts.length] ?? {});
    const baselineName = `strategy.baseline ${selector.label} [${label}]`;
    const hand = nanosecondsPerCall(SELECT_WARMUP, SELECT_ITERATIONS, (i) =>
      consume(byHand(ring[i & 3] ?? {}).strategy),
    );
    const rules = nanosecondsPerCall(SELECT_WARMUP, SELECT_ITERATIONS, (i) =>
      consume(byRules(ring[i & 3] ?? {}).strategy),
    );
    results.push({ name: baselineName, unit: 'ns/op', value: round(hand) });
    results.push({
      name: `strategy.select ${selector.label} [${label}]`,
      unit: 'ns/op',
      value: round(rules),
      baseline: baselineName,
    });
  };
  for (const { label, ctx } of CONTEXTS) measure(label, [ctx]);
  // Interleaved, so that neither path can be specialised by the JIT to one outcome.
  measure(
    'contexts interleaved',
    CONTEXTS.map((c) => c.ctx),
  );
  return results;
}

export async function run(): Promise<BenchResult[]> {
  const results = loadResults();
  const prepared = SELECTORS.map(prepare);
  warmUpSelection(prepared);
  for (const one of prepared) results.push(...selectionResults(one));
  if (sinkCount() < 0) console.log(sinkCount());
  return Promise.resolve(results);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  console.log(formatTable(await run()));
}
