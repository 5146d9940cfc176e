/**
 * The operators of the expression language with Stalwart's semantics, as plain total functions.
 *
 * - `+` adds numbers, concatenates arrays (or appends/prepends a scalar to an array), and otherwise
 *   concatenates text; an empty string operand yields the other operand unchanged (`'' + 5` is 5).
 * - `-` removes every item equal to the other operand from an array; `-`, `*` and `/` otherwise parse
 *   strings as numbers (unparsable text is 0).
 * - `/` always divides as floats and gives 0 when the divisor is 0 (Stalwart's rule), so evaluation
 *   never yields Infinity from a division by zero.
 * - Comparisons and `!` return booleans (Stalwart's 1 and 0).
 * `&&` and `||` are not here: they short-circuit, so the compiler builds them from closures.
 */

import type { Value } from './value.js';
import { compareValues, isTruthy, toNumber, valuesEqual, valueToString } from './value.js';

/** Binary operators as the AST stores them; `&`, `|`, `=`, `=>` and `=<` are normalised to these. */
export type BinaryOp =
  '*' | '/' | '+' | '-' | '>' | '>=' | '<' | '<=' | '==' | '!=' | '^' | '&&' | '||';

/** Unary operators. */
export type UnaryOp = '!' | '-';

/** Binding strength, tightest first, as in Stalwart's parser. All binary operators are left-associative. */
export const PRECEDENCE: Readonly<Record<BinaryOp, number>> = {
  '*': 7,
  '/': 7,
  '+': 6,
  '-': 6,
  '>': 5,
  '>=': 5,
  '<': 5,
  '<=': 5,
  '==': 4,
  '!=': 4,
  '^': 3,
  '&&': 2,
  '||': 1,
};

function asNumber(v: Value): number | undefined {
  if (typeof v === 'number') return v;
  if (typeof v === 'boolean') return v ? 1 : 0;
  return undefined;
}

export function add(a: Value, b: Value): Value {
  const x = asNumber(a);
  const y = asNumber(b);
  if (x !== undefined && y !== undefined) return x + y;
  if (typeof a === 'object') return typeof b === 'object' ? [...a, ...b] : [...a, b];
  if (typeof b === 'object') return [a, ...b];
  if (typeof a === 'string') return a.length > 0 ? a + valueToString(b) : b;
  // Here `b` is a string and `a` a number or boolean.
  return b !== '' ? valueToString(a) + valueToString(b) : a;
}

export function subtract(a: Value, b: Value): Value {
  const x = asNumber(a);
  const y = asNumber(b);
  if (x !== undefined && y !== undefined) return x - y;
  if (typeof a === 'object') return a.filter((item) => !valuesEqual(item, b));
  if (typeof b === 'object') return b.filter((item) => !valuesEqual(item, a));
  return toNumber(a) - toNumber(b);
}

export function multiply(a: Value, b: Value): Value {
  return toNumber(a) * toNumber(b);
}

export function divide(a: Value, b: Value): Value {
  const divisor = toNumber(b);
  return divisor === 0 ? 0 : toNumber(a) / divisor;
}

export function xor(a: Value, b: Value): Value {
  return isTruthy(a) !== isTruthy(b);
}

export function equal(a: Value, b: Value): Value {
  return valuesEqual(a, b);
}

export function notEqual(a: Value, b: Value): Value {
  return !valuesEqual(a, b);
}

// An unordered pair (NaN involved) makes every ordering comparison false, as Rust's PartialOrd does.
export function less(a: Value, b: Value): Value {
  return compareValues(a, b) < 0;
}

export function lessOrEqual(a: Value, b: Value): Value {
  return compareValues(a, b) <= 0;
}

export function greater(a: Value, b: Value): Value {
  return compareValues(a, b) > 0;
}

export function greaterOrEqual(a: Value, b: Value): Value {
  return compareValues(a, b) >= 0;
}

export function not(a: Value): Value {
  return !isTruthy(a);
}

export function negate(a: Value): Value {
  const n = toNumber(a);
  return n === 0 ? 0 : -n;
}

/** The strict (non short-circuit) binary operators. */
export const STRICT_BINARY: Readonly<
  Record<Exclude<BinaryOp, '&&' | '||'>, (a: Value, b: Value) => Value>
> = {
  '*': multiply,
  '/': divide,
  '+': add,
  '-': subtract,
  '>': greater,
  '>=': greaterOrEqual,
  '<': less,
  '<=': lessOrEqual,
  '==': equal,
  '!=': notEqual,
  '^': xor,
};
