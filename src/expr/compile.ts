/**
 * Compiles an expression once, at configuration load, into a tree of JavaScript closures: evaluation
 * runs no AST walk and no operator switch. Subtrees without variables are folded to constants at
 * compile time (and a whole constant expression exposes its value as `constant`), constant `matches`
 * patterns are compiled once, and the common shapes `x == 'text'` and `x > number` get direct paths.
 *
 * Compilation reports every lexical, syntax, name, arity and pattern error it can find, as values.
 * Evaluation never throws for any context: a missing (or malformed) variable reads as `''`, Stalwart's
 * missing-variable value, and every operator and function is total (division by zero gives 0).
 */

import type { Ast, CallNode } from './ast.js';
import { isCapture, walkAst } from './ast.js';
import { checkNames } from './check.js';
import type { ExprError } from './errors.js';
import { FUNCTIONS } from './functions.js';
import { not, negate, STRICT_BINARY } from './ops.js';
import { parseTokens } from './parse.js';
import type { CaptureState } from './regex.js';
import { compileRegex, dynamicMatcher, matchInto } from './regex.js';
import { tokenize } from './tokenize.js';
import type { EvalContext, Value } from './value.js';
import { isTruthy, valuesEqual } from './value.js';
import { readVariable } from './variables.js';

export interface CompileOptions {
  /** Host variables the expression may read; any other name is a compile error. */
  readonly variables: ReadonlySet<string>;
}

export interface CompiledExpression {
  readonly source: string;
  readonly ast: Ast;
  /**
   * Set when the expression has no variables (constant-folded at compile time), and also when the
   * variables it names cannot change its value (`true || retry_num`).
   */
  readonly constant?: Value;
  /**
   * Evaluates against `ctx`. `captures` lets a host share regex captures between expressions (a
   * condition's `matches` and its result's `$1`, as Stalwart's if-blocks do); by default each
   * evaluation has its own.
   */
  evaluate(ctx: EvalContext, captures?: CaptureState): Value;
}

export type CompileResult =
  | { readonly ok: true; readonly expr: CompiledExpression }
  | { readonly ok: false; readonly errors: readonly ExprError[] };

/** Compiles `source`; on failure returns every error found, sorted by position. */
export function compileExpression(source: string, options: CompileOptions): CompileResult {
  const errors: ExprError[] = [];
  const tokens = tokenize(source, errors);
  const ast = parseTokens(source, tokens, errors);
  checkNames(ast, options.variables, errors);
  if (errors.length > 0) {
    return { ok: false, errors: [...errors].sort((a, b) => a.offset - b.offset) };
  }

  let readsContext = false;
  let usesCaptures = false;
  walkAst(ast, (node) => {
    if (node.kind === 'variable') {
      if (isCapture(node)) usesCaptures = true;
      else readsContext = true;
    } else if (node.kind === 'call' && node.name === 'matches') {
      usesCaptures = true;
    }
  });

  const root = build(ast);
  const run = root.run;
  if (root.constant) {
    // No variables, or none that can change the result (`true || retry_num`).
    const value = root.value;
    return { ok: true, expr: { source, ast, constant: value, evaluate: () => value } };
  }
  if (!readsContext) {
    // Only `matches` on constants and captures: still the same value on every evaluation.
    const value = run({}, { groups: [] });
    return {
      ok: true,
      expr: {
        source,
        ast,
        constant: value,
        evaluate: (_ctx, captures) => (captures === undefined ? value : run({}, captures)),
      },
    };
  }
  const evaluate = usesCaptures
    ? (ctx: EvalContext, captures?: CaptureState): Value => run(ctx, captures ?? { groups: [] })
    : (ctx: EvalContext): Value => run(ctx, NO_CAPTURES);
  return { ok: true, expr: { source, ast, evaluate } };
}

type Run = (ctx: EvalContext, captures: CaptureState) => Value;

/** A compiled node: its closure, and its value when known at compile time. */
type Built =
  | { readonly run: Run; readonly constant: true; readonly value: Value }
  | { readonly run: Run; readonly constant: false };

// Expressions without `matches` or `$N` never touch the capture state.
const NO_CAPTURES: CaptureState = Object.freeze({
  groups: Object.freeze([]) as readonly string[],
}) as CaptureState;

const constant = (value: Value): Built => ({ run: () => value, constant: true, value });
const dynamic = (run: Run): Built => ({ run, constant: false });

function build(node: Ast): Built {
  switch (node.kind) {
    case 'literal':
      return constant(node.value);
    case 'variable': {
      if (isCapture(node)) {
        const index = Number(node.name.slice(1));
        return dynamic((_ctx, captures) => captures.groups[index] ?? '');
      }
      const name = node.name;
      return dynamic((ctx) => readVariable(ctx, name));
    }
    case 'unary': {
      const operand = build(node.operand);
      const op = node.op === '!' ? not : negate;
      if (operand.constant) return constant(op(operand.value));
      const run = operand.run;
      return dynamic((ctx, captures) => op(run(ctx, captures)));
    }
    case 'binary': {
      const left = build(node.left);
      const right = build(node.right);
      return node.op === '&&' || node.op === '||'
        ? buildLogical(node.op, left, right)
        : buildStrict(node.op, left, right);
    }
    case 'call':
      return buildCall(node);
    case 'array': {
      const items = node.items.map(build);
      if (items.every((item) => item.constant)) {
        return constant(Object.freeze(items.map((item) => (item.constant ? item.value : ''))));
      }
      const runs = items.map((item) => item.run);
      return dynamic((ctx, captures) => runs.map((run) => run(ctx, captures)));
    }
  }
}

/**
 * `&&` and `||` as Stalwart evaluates them: when the left side decides, the result is the left value
 * itself (`'' && x` is `''`, `'a' || x` is `'a'`) and the right side is not evaluated; otherwise the
 * result is the truthiness of the right side.
 */
function buildLogical(op: '&&' | '||', left: Built, right: Built): Built {
  const decidesOnTruthy = op === '||';
  if (left.constant) {
    if (isTruthy(left.value) === decidesOnTruthy) return constant(left.value);
    if (right.constant) return constant(isTruthy(right.value));
    const r = right.run;
    return dynamic((ctx, captures) => isTruthy(r(ctx, captures)));
  }
  const l = left.run;
  const r = right.run;
  return decidesOnTruthy
    ? dynamic((ctx, captures) => {
        const value = l(ctx, captures);
        return isTruthy(value) ? value : isTruthy(r(ctx, captures));
      })
    : dynamic((ctx, captures) => {
        const value = l(ctx, captures);
        return isTruthy(value) ? isTruthy(r(ctx, captures)) : value;
      });
}

function buildStrict(op: keyof typeof STRICT_BINARY, left: Built, right: Built): Built {
  const fn = STRICT_BINARY[op];
  if (left.constant && right.constant) return constant(fn(left.value, right.value));
  const l = left.run;
  // Fast paths for the shapes strategy selection uses: `last_error == 'tls'`, `retry_num > 1`.
  if (right.constant && typeof right.value === 'string' && (op === '==' || op === '!=')) {
    const text = right.value;
    const negated = op === '!=';
    return dynamic((ctx, captures) => {
      const v = l(ctx, captures);
      return (typeof v === 'string' ? v === text : valuesEqual(v, text)) !== negated;
    });
  }
  if (right.constant && typeof right.value === 'number' && Number.isFinite(right.value)) {
    const n = right.value;
    switch (op) {
      case '>':
        return dynamic((ctx, captures) => {
          const v = l(ctx, captures);
          return typeof v === 'number' ? v > n : fn(v, n);
        });
      case '>=':
        return dynamic((ctx, captures) => {
          const v = l(ctx, captures);
          return typeof v === 'number' ? v >= n : fn(v, n);
        });
      case '<':
        return dynamic((ctx, captures) => {
          const v = l(ctx, captures);
          return typeof v === 'number' ? v < n : fn(v, n);
        });
      case '<=':
        return dynamic((ctx, captures) => {
          const v = l(ctx, captures);
          return typeof v === 'number' ? v <= n : fn(v, n);
        });
      default:
        break;
    }
  }
  const r = right.run;
  return dynamic((ctx, captures) => fn(l(ctx, captures), r(ctx, captures)));
}

function buildCall(node: CallNode): Built {
  const args = node.args.map(build);
  if (node.name === 'matches') return buildMatches(args);
  const spec = FUNCTIONS.get(node.name);
  // checkNames guarantees a known name with the right arity before any build.
  if (spec === undefined) throw new Error(`bug: unchecked function '${node.name}'`);
  const fn = spec.fn;
  if (args.every((arg) => arg.constant))
    return constant(fn(...args.map((arg) => (arg.constant ? arg.value : ''))));
  const [a, b, c] = args.map((arg) => arg.run);
  if (a !== undefined && b === undefined) return dynamic((ctx, k) => fn(a(ctx, k)));
  if (a !== undefined && b !== undefined && c === undefined)
    return dynamic((ctx, k) => fn(a(ctx, k), b(ctx, k)));
  const runs = args.map((arg) => arg.run);
  return dynamic((ctx, k) => fn(...runs.map((run) => run(ctx, k))));
}

/** `matches` writes the capture state, so it is never folded; a constant pattern compiles here, once. */
function buildMatches(args: readonly Built[]): Built {
  const [pattern, value] = args;
  if (pattern === undefined || value === undefined)
    throw new Error('bug: unchecked arity of matches');
  const v = value.run;
  if (pattern.constant) {
    const compiled = compileRegex(
      typeof pattern.value === 'string' ? pattern.value : String(pattern.value),
    );
    if (compiled.ok) {
      const regex = compiled.regex;
      return dynamic((ctx, captures) => matchInto(regex, v(ctx, captures), captures));
    }
  }
  const p = pattern.run;
  const match = dynamicMatcher();
  return dynamic((ctx, captures) => match(p(ctx, captures), v(ctx, captures), captures));
}
