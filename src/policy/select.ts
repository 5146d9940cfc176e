/**
 * Strategy selection: evaluates an ordered rule list against a context and returns the named strategy
 * with the rule that chose it. Pure; the first rule whose condition is truthy wins (Stalwart semantics).
 * A computed name that matches no defined strategy falls back to the built-in `default` and says so in
 * `fallback`, so the caller can publish the warning; selection itself never fails.
 */
import type { Rule, RuleSet } from '../config/types.js';
import { isTruthy, valueToString } from '../expr/index.js';
import type { EvalContext } from '../expr/index.js';
import { publishStrategyFallback } from '../core/events.js';

export interface Selection<T> {
  readonly name: string;
  readonly strategy: T;
  /** The rule that matched: its index and source text. */
  readonly rule: { readonly index: number; readonly condition?: string; readonly then: string };
  /** Present when the computed name was not a defined strategy. */
  readonly fallback?: { readonly computed: string; readonly used: string };
}

export const FALLBACK_STRATEGY = 'default';

// Rule descriptions are built once per rule: selection runs for every host of every attempt.
const descriptions = new WeakMap<Rule, Selection<unknown>['rule']>();
function describe(rule: Rule): Selection<unknown>['rule'] {
  let described = descriptions.get(rule);
  if (described === undefined) {
    described = Object.freeze({
      index: rule.index,
      ...(rule.condition === undefined ? {} : { condition: rule.condition.source }),
      then: rule.then.source,
    });
    descriptions.set(rule, described);
  }
  return described;
}

export function selectStrategy<T>(
  ruleSet: RuleSet,
  strategies: ReadonlyMap<string, T>,
  context: EvalContext,
): Selection<T> {
  for (const rule of ruleSet.rules) {
    if (rule.condition !== undefined && !isTruthy(rule.condition.evaluate(context))) continue;
    const computed = valueToString(rule.then.evaluate(context));
    const described = describe(rule);
    const strategy = strategies.get(computed);
    if (strategy !== undefined) return { name: computed, strategy, rule: described };
    return withFallback(strategies, described, computed);
  }
  // The loader guarantees a final unconditional rule; this is reached only for hand-built rule sets.
  return withFallback(strategies, { index: ruleSet.rules.length, then: '(no rule matched)' }, '');
}

function withFallback<T>(
  strategies: ReadonlyMap<string, T>,
  rule: Selection<T>['rule'],
  computed: string,
): Selection<T> {
  const strategy = strategies.get(FALLBACK_STRATEGY);
  if (strategy === undefined)
    throw new Error(`the '${FALLBACK_STRATEGY}' strategy must always exist`);
  return {
    name: FALLBACK_STRATEGY,
    strategy,
    rule,
    fallback: { computed, used: FALLBACK_STRATEGY },
  };
}

/** Publishes the fallback warning of a selection on the diagnostics channel; does nothing otherwise. */
export function reportFallback<T>(selection: Selection<T>, selectorKey: string): void {
  if (selection.fallback === undefined) return;
  publishStrategyFallback({
    selector: selectorKey,
    computed: selection.fallback.computed,
    fallback: selection.fallback.used,
    ruleIndex: selection.rule.index,
  });
}
