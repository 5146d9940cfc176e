/**
 * A small abstract interpretation of rule conditions for the linter: each condition becomes a
 * disjunction of conjunctions of per-variable constraints (integer intervals for the counters and
 * durations, equality / inequality for strings). Anything else is "unknown". The representation is
 * conservative in the direction the linter needs: `implies(a, b)` returning true is a proof that every
 * context satisfying `a` satisfies `b`; false means "not proven".
 */
import type { Ast, Value } from '../../expr/index.js';

/** Host variables that always hold integers (counters, sizes, durations in milliseconds). */
export const INTEGER_VARIABLES: ReadonlySet<string> = new Set([
  'retry_num',
  'notify_num',
  'priority',
  'size',
  'queue_age',
  'expires_in',
]);

export interface IntConstraint {
  readonly type: 'int';
  readonly lo: number;
  readonly hi: number;
  readonly excluded: ReadonlySet<number>;
}
export interface StringConstraint {
  readonly type: 'string';
  readonly eq?: string;
  readonly ne: ReadonlySet<string>;
}
export type Constraint = IntConstraint | StringConstraint;

/** A conjunction; `unknown` marks atoms that could not be analysed (they only narrow the set further). */
export interface Conjunction {
  readonly constraints: ReadonlyMap<string, Constraint>;
  readonly unknown: boolean;
}

/** A disjunction of conjunctions; an empty array is a condition that can never be true. */
export type Dnf = readonly Conjunction[];

const TRUE: Dnf = [{ constraints: new Map(), unknown: false }];
const UNKNOWN: Dnf = [{ constraints: new Map(), unknown: true }];
const MAX_TERMS = 64;

type Comparison = '==' | '!=' | '>' | '>=' | '<' | '<=';
const FLIP: Readonly<Record<Comparison, Comparison>> = {
  '==': '==',
  '!=': '!=',
  '>': '<',
  '>=': '<=',
  '<': '>',
  '<=': '>=',
};
const NEGATE: Readonly<Record<Comparison, Comparison>> = {
  '==': '!=',
  '!=': '==',
  '>': '<=',
  '>=': '<',
  '<': '>=',
  '<=': '>',
};

function isComparison(op: string): op is Comparison {
  return op in FLIP;
}

function atom(variable: string, op: Comparison, value: Value): Dnf {
  if (INTEGER_VARIABLES.has(variable)) {
    if (typeof value !== 'number') return UNKNOWN;
    const excluded = new Set<number>();
    let lo = -Infinity;
    let hi = Infinity;
    switch (op) {
      case '==':
        if (!Number.isInteger(value)) return [];
        lo = hi = value;
        break;
      case '!=':
        if (Number.isInteger(value)) excluded.add(value);
        break;
      case '>':
        lo = Math.floor(value) + 1;
        break;
      case '>=':
        lo = Math.ceil(value);
        break;
      case '<':
        hi = Math.ceil(value) - 1;
        break;
      case '<=':
        hi = Math.floor(value);
        break;
    }
    return [
      { constraints: new Map([[variable, { type: 'int', lo, hi, excluded }]]), unknown: false },
    ];
  }
  if (typeof value !== 'string' || (op !== '==' && op !== '!=')) return UNKNOWN;
  const constraint: StringConstraint =
    op === '=='
      ? { type: 'string', eq: value, ne: new Set() }
      : { type: 'string', ne: new Set([value]) };
  return [{ constraints: new Map([[variable, constraint]]), unknown: false }];
}

function intersect(a: Constraint, b: Constraint): Constraint | 'empty' | 'unknown' {
  if (a.type === 'int' && b.type === 'int') {
    const excluded = new Set([...a.excluded, ...b.excluded]);
    let lo = Math.max(a.lo, b.lo);
    let hi = Math.min(a.hi, b.hi);
    while (excluded.has(lo) && lo <= hi) lo++;
    while (excluded.has(hi) && hi >= lo) hi--;
    return lo > hi ? 'empty' : { type: 'int', lo, hi, excluded };
  }
  if (a.type === 'string' && b.type === 'string') {
    const ne = new Set([...a.ne, ...b.ne]);
    const eq = a.eq ?? b.eq;
    if (a.eq !== undefined && b.eq !== undefined && a.eq !== b.eq) return 'empty';
    if (eq !== undefined && ne.has(eq)) return 'empty';
    return eq === undefined ? { type: 'string', ne } : { type: 'string', eq, ne };
  }
  return 'unknown';
}

function and(left: Dnf, right: Dnf): Dnf {
  const out: Conjunction[] = [];
  for (const a of left) {
    for (const b of right) {
      const constraints = new Map(a.constraints);
      let unknown = a.unknown || b.unknown;
      let empty = false;
      for (const [name, c] of b.constraints) {
        const existing = constraints.get(name);
        const merged = existing === undefined ? c : intersect(existing, c);
        if (merged === 'empty') empty = true;
        else if (merged === 'unknown') unknown = true;
        else constraints.set(name, merged);
      }
      if (!empty) out.push({ constraints, unknown });
      if (out.length > MAX_TERMS) return UNKNOWN;
    }
  }
  return out;
}

function literalValue(node: Ast): Value | undefined {
  return node.kind === 'literal' ? node.value : undefined;
}

/** Converts a condition's syntax tree into disjunctive normal form over analysable atoms. */
export function toDnf(node: Ast, negated = false): Dnf {
  switch (node.kind) {
    case 'literal': {
      const truthy =
        node.value === true ||
        (typeof node.value === 'number' && node.value !== 0) ||
        (typeof node.value === 'string' && node.value !== '');
      return truthy !== negated ? TRUE : [];
    }
    case 'unary':
      return node.op === '!' ? toDnf(node.operand, !negated) : UNKNOWN;
    case 'binary': {
      if (node.op === '&&' || node.op === '||') {
        const left = toDnf(node.left, negated);
        const right = toDnf(node.right, negated);
        // De Morgan: under negation && becomes || and vice versa.
        const isAnd = (node.op === '&&') !== negated;
        if (isAnd) return and(left, right);
        const joined = [...left, ...right];
        return joined.length > MAX_TERMS ? UNKNOWN : joined;
      }
      if (!isComparison(node.op)) return UNKNOWN;
      const op = negated ? NEGATE[node.op] : node.op;
      if (node.left.kind === 'variable') {
        const value = literalValue(node.right);
        return value === undefined ? UNKNOWN : atom(node.left.name, op, value);
      }
      if (node.right.kind === 'variable') {
        const value = literalValue(node.left);
        return value === undefined ? UNKNOWN : atom(node.right.name, FLIP[op], value);
      }
      return UNKNOWN;
    }
    default:
      return UNKNOWN;
  }
}

function constraintImplies(a: Constraint | undefined, b: Constraint): boolean {
  if (a === undefined) return false;
  if (a.type === 'int' && b.type === 'int') {
    if (a.lo < b.lo || a.hi > b.hi) return false;
    for (const x of b.excluded) if (x >= a.lo && x <= a.hi && !a.excluded.has(x)) return false;
    return true;
  }
  if (a.type === 'string' && b.type === 'string') {
    if (b.eq !== undefined && a.eq !== b.eq) return false;
    for (const x of b.ne) if (!(a.ne.has(x) || (a.eq !== undefined && a.eq !== x))) return false;
    return true;
  }
  return false;
}

/** True when every context satisfying conjunction `a` provably satisfies conjunction `b`. */
export function conjunctionImplies(a: Conjunction, b: Conjunction): boolean {
  if (b.unknown) return false;
  for (const [name, constraint] of b.constraints)
    if (!constraintImplies(a.constraints.get(name), constraint)) return false;
  return true;
}

/** True when every context satisfying `a` provably satisfies `b`. */
export function implies(a: Dnf, b: Dnf): boolean {
  return a.every((ca) => b.some((cb) => conjunctionImplies(ca, cb)));
}

/** True when every disjunct requires `retry_num` to be at least 1 (a retry condition). */
export function requiresRetry(dnf: Dnf): boolean {
  return (
    dnf.length > 0 &&
    dnf.every((c) => {
      const retry = c.constraints.get('retry_num');
      return retry?.type === 'int' && retry.lo >= 1;
    })
  );
}
