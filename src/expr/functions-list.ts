/**
 * Array functions of the expression language, with the semantics of Stalwart's `functions/array.rs`,
 * plus `join`, an mxsec addition. A scalar argument where an array is expected is the one-item array
 * holding it, and the empty string is the empty array (Stalwart's `into_array`). Every function is
 * total and returns a new array; inputs are never modified.
 */

import type { Value } from './value.js';
import { compareValues, isTruthy, toArray, valuesEqual, valueToString } from './value.js';

/** Items of an array; 1 for a non-empty scalar, 0 for the empty string. */
export function count(v: Value): Value {
  if (typeof v === 'object') return v.length;
  return v === '' ? 0 : 1;
}

/**
 * Sorted copy, ascending when the second argument is truthy. Values that do not compare (NaN) sort
 * as "greater", as Rust's `Ord` fallback in Stalwart does.
 */
export function sort(v: Value, ascending: Value): Value {
  const items = [...toArray(v)];
  const order = (a: Value, b: Value): number => {
    const c = compareValues(a, b);
    return Number.isNaN(c) ? 1 : c;
  };
  return isTruthy(ascending) ? items.sort(order) : items.sort((a, b) => order(b, a));
}

/** Copy without repeated items (Stalwart equality, so `1` and `'1'` are the same); first one wins. */
export function dedup(v: Value): Value {
  const out: Value[] = [];
  for (const item of toArray(v)) {
    if (!out.some((kept) => valuesEqual(kept, item))) out.push(item);
  }
  return out;
}

/** An array without its empty-string items; any other value unchanged. */
export function winnow(v: Value): Value {
  return typeof v === 'object' ? v.filter((item) => item !== '') : v;
}

/** Whether two arrays share an item, or an array holds the scalar; false for two scalars. */
export function isIntersect(a: Value, b: Value): Value {
  if (typeof a === 'object' && typeof b === 'object')
    return a.some((x) => b.some((y) => valuesEqual(x, y)));
  if (typeof a === 'object') return a.some((x) => valuesEqual(x, b));
  if (typeof b === 'object') return b.some((y) => valuesEqual(a, y));
  return false;
}

/** mxsec addition: the items' texts joined with the separator's text. */
export function join(v: Value, separator: Value): Value {
  return toArray(v).map(valueToString).join(valueToString(separator));
}
