/**
 * Values of the expression language and the conversions between them, with Stalwart's semantics.
 *
 * Stalwart has four value types (string, integer, float, array) and no boolean: `true`, `false` and
 * every comparison are the integers 1 and 0. mxsec keeps `boolean` in {@link Value} so that a host
 * reading a result sees `true`, but every operation treats a boolean exactly as the integer 1 or 0
 * (`true == 1`, `true + 1 == 2`, `'x' + true == 'x1'`). Integers and floats are both JS numbers;
 * Stalwart prints `2.0` as `2`, so nothing observable depends on the distinction.
 *
 * Every function here is total: no input makes one throw.
 */

/** A value as produced and consumed by expressions. */
export type Value = string | number | boolean | readonly Value[];

/** Variables visible to one evaluation. A missing variable evaluates to the empty string, as in Stalwart. */
export type EvalContext = { readonly [name: string]: Value | undefined };

/** The value of a variable that the context does not define (Stalwart's `Variable::default()`). */
export const MISSING: Value = '';

/** Stalwart's truthiness: non-zero numbers (NaN included), non-empty strings and non-empty arrays. */
export function isTruthy(v: Value): boolean {
  if (typeof v === 'boolean') return v;
  if (typeof v === 'number') return v !== 0;
  return v.length > 0;
}

/**
 * Text of a value. Numbers print without exponent as Rust does (`1e21` is `1000000000000000000000`,
 * infinities are `inf`/`-inf`); booleans are `1`/`0`; an array joins its scalar items with CRLF, nested
 * arrays contribute nothing and no separator precedes the first non-empty text.
 */
export function valueToString(v: Value): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return numberToString(v);
  if (typeof v === 'boolean') return v ? '1' : '0';
  let out = '';
  for (const item of v) {
    if (out.length > 0) out += '\r\n';
    if (typeof item !== 'object') out += valueToString(item);
  }
  return out;
}

function numberToString(n: number): string {
  if (Number.isNaN(n)) return 'NaN';
  if (n === Infinity) return 'inf';
  if (n === -Infinity) return '-inf';
  if (Object.is(n, -0)) return '-0';
  const text = String(n);
  if (!text.includes('e')) return text;
  if (Number.isInteger(n)) return BigInt(n).toString();
  // A tiny fraction such as 1e-7: Rust writes every leading zero.
  const [mantissa = '', exponent = '0'] = text.split('e');
  const negative = mantissa.startsWith('-');
  const digits = mantissa.replace('-', '').replace('.', '');
  const zeros = -Number(exponent) - 1;
  return `${negative ? '-' : ''}0.${'0'.repeat(zeros)}${digits}`;
}

const INTEGER_TEXT = /^[+-]?\d+$/;
const FLOAT_TEXT = /^[+-]?(?:\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?|inf|infinity|nan)$/i;

/**
 * Stalwart's `parse_number`: a string that reads as a Rust integer or float becomes that number, any
 * other string becomes 0; an array becomes 1 when empty and 0 otherwise (Stalwart's rule, kept as is).
 */
export function toNumber(v: Value): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v === 'string') return parseNumberText(v) ?? 0;
  return v.length === 0 ? 1 : 0;
}

function parseNumberText(text: string): number | undefined {
  if (text.length === 0) return undefined;
  if (INTEGER_TEXT.test(text)) return Number(text);
  if (!FLOAT_TEXT.test(text)) return undefined;
  const lower = text.toLowerCase().replace(/^\+/, '');
  if (lower.endsWith('nan')) return NaN;
  if (lower.endsWith('inf') || lower.endsWith('infinity'))
    return lower.startsWith('-') ? -Infinity : Infinity;
  return Number(text);
}

/** Stalwart's `to_integer`: numbers truncate, strings must read as an integer, anything else has none. */
export function toInteger(v: Value): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) ? Math.trunc(v) : undefined;
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v === 'string') return INTEGER_TEXT.test(v) ? Number(v) : undefined;
  return undefined;
}

/**
 * Stalwart's `to_usize` with its `unwrap_or_default`: a negative integer wraps to a huge count (Rust
 * `as usize`), a negative fraction saturates to 0, text must be unsigned digits, anything else is 0.
 */
export function toCount(v: Value): number {
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v === 'number') {
    if (Number.isNaN(v)) return 0;
    if (Number.isInteger(v)) return v < 0 ? Number.MAX_SAFE_INTEGER : v;
    return v < 0 ? 0 : Math.trunc(v);
  }
  if (typeof v === 'string') return /^\+?\d+$/.test(v) ? Number(v) : 0;
  return 0;
}

/** Stalwart's `into_array`: an array is itself, the empty string is `[]`, any other value is `[value]`. */
export function toArray(v: Value): readonly Value[] {
  if (typeof v === 'object') return v;
  return v === '' ? [] : [v];
}

/** Stalwart's equality: numbers across kinds, a string against a number compares the parsed string. */
export function valuesEqual(a: Value, b: Value): boolean {
  if (typeof a === 'string' && typeof b === 'string') return a === b;
  if (typeof a === 'object' || typeof b === 'object') {
    if (typeof a !== 'object' || typeof b !== 'object' || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!valuesEqual(a[i] ?? '', b[i] ?? '')) return false;
    return true;
  }
  return toNumber(a) === toNumber(b);
}

/**
 * Stalwart's ordering: negative, zero or positive, or NaN when the values are unordered (a NaN
 * somewhere). Strings compare by code unit; a string or an array sorts above anything of another type
 * (so a string and an array are each "greater" than the other, as in Stalwart), a number sorts below an
 * array, arrays compare item by item and then by length.
 */
export function compareValues(a: Value, b: Value): number {
  const aArray = typeof a === 'object';
  const bArray = typeof b === 'object';
  if (aArray && bArray) return compareArrays(a, b);
  if (typeof a === 'string' && typeof b === 'string') return a < b ? -1 : a > b ? 1 : 0;
  if (aArray) return 1;
  if (bArray) return typeof a === 'string' ? 1 : -1;
  const x = toNumber(a);
  const y = toNumber(b);
  return x < y ? -1 : x > y ? 1 : x === y ? 0 : NaN;
}

function compareArrays(a: readonly Value[], b: readonly Value[]): number {
  const shared = Math.min(a.length, b.length);
  for (let i = 0; i < shared; i++) {
    const order = compareValues(a[i] ?? '', b[i] ?? '');
    if (order !== 0) return order;
  }
  return a.length - b.length;
}

/** Number of bytes of the UTF-8 encoding, which is what Rust's `str::len` counts. */
export function utf8Length(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit < 0x80) bytes += 1;
    else if (unit < 0x800) bytes += 2;
    else if (unit >= 0xd800 && unit <= 0xdbff && i + 1 < text.length) {
      bytes += 4;
      i++;
    } else bytes += 3;
  }
  return bytes;
}
