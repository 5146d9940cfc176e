/**
 * `mxsec config check` lints: problems that are not errors (the configuration loads and runs) but that
 * almost certainly do not do what the operator meant. Pure: a validated configuration in, warnings out.
 *   - a rule whose condition can never be true, or that an earlier rule always wins over (shadowed);
 *   - a strategy that is defined but that no reachable rule can select;
 *   - a strategy that weakens protection (accepts invalid certificates or disables STARTTLS) selected
 *     by a rule that does not require a retry, i.e. on first attempts;
 *   - a retry strategy whose `starttls` is weaker than `require` while a first-attempt strategy requires
 *     STARTTLS: a server that stops offering STARTTLS (or an attacker who strips it) gets the mail in
 *     plaintext on the retry. The built-in `invalid-tls` (starttls optional) does exactly this when
 *     `default` is redefined with `starttls = "require"`.
 */
import type { Position } from '../diagnostics.js';
import type { MxsecConfig, Rule, RuleSet, TlsStrategy } from '../types.js';
import type { Ast } from '../../expr/index.js';
import { implies, requiresRetry, toDnf } from './conditions.js';
import type { Dnf } from './conditions.js';

export type LintCode =
  | 'never-true'
  | 'shadowed-rule'
  | 'unreachable-strategy'
  | 'weakening-without-retry'
  | 'starttls-downgrade-on-retry';

export interface LintWarning {
  readonly code: LintCode;
  /** Key path, e.g. `queue.strategy.tls[1]`. */
  readonly path: string;
  readonly position: Position | undefined;
  readonly message: string;
}

const TRUE: Dnf = [{ constraints: new Map(), unknown: false }];

function describeRule(rule: Rule): string {
  return rule.condition === undefined
    ? `the final else (${rule.then.source})`
    : `rule ${rule.index + 1} (\`${rule.condition.source}\`)`;
}

/** String literals of an expression: the names a computed `then` might produce. */
function stringLiterals(node: Ast, out: Set<string>): Set<string> {
  switch (node.kind) {
    case 'literal':
      if (typeof node.value === 'string') out.add(node.value);
      break;
    case 'unary':
      stringLiterals(node.operand, out);
      break;
    case 'binary':
      stringLiterals(node.left, out);
      stringLiterals(node.right, out);
      break;
    case 'call':
      node.args.forEach((a) => stringLiterals(a, out));
      break;
    case 'array':
      node.items.forEach((a) => stringLiterals(a, out));
      break;
    case 'variable':
      break;
  }
  return out;
}

interface RuleFacts {
  readonly rule: Rule;
  readonly dnf: Dnf;
  readonly reachable: boolean;
}

/** Decides reachability of each rule and reports never-true and shadowed rules. */
function analyseRules(set: RuleSet, warnings: LintWarning[]): RuleFacts[] {
  const facts: RuleFacts[] = [];
  for (const rule of set.rules) {
    const path = `${set.key}[${rule.index}]`;
    const dnf = rule.condition === undefined ? TRUE : toDnf(rule.condition.ast);
    if (dnf.length === 0) {
      warnings.push({
        code: 'never-true',
        path,
        position: rule.position,
        message: `${describeRule(rule)} can never be true, so it never selects ${rule.then.source}`,
      });
      facts.push({ rule, dnf, reachable: false });
      continue;
    }
    const shadow = facts.find((earlier) => earlier.reachable && implies(dnf, earlier.dnf));
    if (shadow !== undefined) {
      warnings.push({
        code: 'shadowed-rule',
        path,
        position: rule.position,
        message: `${describeRule(rule)} can never match: ${describeRule(shadow.rule)} comes first and matches every context it would, so ${rule.then.source} is never selected by it; put the more specific rule first`,
      });
      facts.push({ rule, dnf, reachable: false });
      continue;
    }
    facts.push({ rule, dnf, reachable: true });
  }
  return facts;
}

function weakens(strategy: TlsStrategy): string | undefined {
  const reasons: string[] = [];
  if (strategy.allowInvalidCerts) reasons.push('accepts invalid certificates');
  if (strategy.starttls === 'disable') reasons.push('disables STARTTLS (plaintext)');
  return reasons.length === 0 ? undefined : reasons.join(' and ');
}

/** Lints the TLS strategy selector and the strategies it can select. */
export function lintConfig(config: MxsecConfig): LintWarning[] {
  const warnings: LintWarning[] = [];
  const { strategies, selector } = config.tls;
  const facts = analyseRules(selector, warnings);
  const selectable = new Set<string>();
  const firstAttempt: string[] = [];
  const onRetry: { name: string; rule: Rule }[] = [];
  for (const { rule, dnf, reachable } of facts) {
    if (!reachable) continue;
    const names =
      rule.then.constant !== undefined
        ? new Set([String(rule.then.constant)])
        : stringLiterals(rule.then.ast, new Set());
    for (const name of names) {
      selectable.add(name);
      if (requiresRetry(dnf)) onRetry.push({ name, rule });
      else firstAttempt.push(name);
      const strategy = strategies.get(name);
      const weakness = strategy === undefined ? undefined : weakens(strategy);
      if (weakness !== undefined && !requiresRetry(dnf)) {
        warnings.push({
          code: 'weakening-without-retry',
          path: `${selector.key}[${rule.index}]`,
          position: rule.position,
          message: `${describeRule(rule)} selects '${name}', which ${weakness}, without a retry condition (such as retry_num > 0) in front of it: first attempts are weakened too`,
        });
      }
    }
  }
  const strict = firstAttempt.filter((name) => strategies.get(name)?.starttls === 'require');
  if (strict.length > 0) {
    for (const { name, rule } of onRetry) {
      const retry = strategies.get(name);
      if (retry === undefined || retry.starttls === 'require') continue;
      warnings.push({
        code: 'starttls-downgrade-on-retry',
        path: `${selector.key}[${rule.index}]`,
        position: rule.position,
        message:
          `first attempts use '${strict[0] ?? ''}' (starttls = "require") but retries selected by ` +
          `${describeRule(rule)} use '${name}' with starttls = "${retry.starttls}"${retry.builtIn ? ' (built-in)' : ''}: ` +
          'a server that stops offering STARTTLS, or an attacker who strips it, gets the mail in plaintext on the retry; ' +
          `set starttls = "require" in [queue.tls.${name}] if that is not intended`,
      });
    }
  }
  for (const strategy of strategies.values()) {
    // Built-in strategies exist whether or not they are used, and `default` is always the fallback.
    if (strategy.builtIn || strategy.id === 'default' || selectable.has(strategy.id)) continue;
    warnings.push({
      code: 'unreachable-strategy',
      path: `queue.tls.${strategy.id}`,
      position: strategy.position,
      message: `strategy '${strategy.id}' is defined but no reachable rule of ${selector.key} can select it`,
    });
  }
  return warnings;
}
