/**
 * Text functions of the expression language, with the semantics of Stalwart's `functions/text.rs`.
 * A non-string argument is first turned into text with {@link valueToString} (arrays join with CRLF).
 * The "transforming" functions (trim, case, is_uppercase, strip_prefix, ...) apply to each item when
 * given an array and return an array. Lengths follow Rust: `len` counts UTF-8 bytes, `count_chars` and
 * `substring` count code points. Every function is total.
 */

import type { Value } from './value.js';
import { toCount, toInteger, utf8Length, valuesEqual, valueToString } from './value.js';

/** Applies `f` to a string, or to each item of an array (items turned into text first). */
function transform(v: Value, f: (text: string) => Value): Value {
  if (typeof v === 'object') return v.map((item) => f(valueToString(item)));
  return f(valueToString(v));
}

// Rust's `char::is_whitespace` and `str::trim` use the Unicode White_Space property.
const LEADING_SPACE = /^\p{White_Space}+/u;
const TRAILING_SPACE = /\p{White_Space}+$/u;
const ALPHABETIC = /\p{Alphabetic}/u;
const UPPERCASE = /\p{Uppercase}/u;
const LOWERCASE = /\p{Lowercase}/u;
const ALPHANUMERIC_WORD = /^[\p{Alphabetic}\p{N}]+$/u;

export const trim = (v: Value): Value =>
  transform(v, (s) => s.replace(LEADING_SPACE, '').replace(TRAILING_SPACE, ''));
export const trimStart = (v: Value): Value => transform(v, (s) => s.replace(LEADING_SPACE, ''));
export const trimEnd = (v: Value): Value => transform(v, (s) => s.replace(TRAILING_SPACE, ''));
export const toLowercase = (v: Value): Value => transform(v, (s) => s.toLowerCase());
export const toUppercase = (v: Value): Value => transform(v, (s) => s.toUpperCase());

/** True when every alphabetic character is uppercase (vacuously true without letters). */
export const isUppercase = (v: Value): Value =>
  transform(v, (s) => [...s].every((c) => !ALPHABETIC.test(c) || UPPERCASE.test(c)));
export const isLowercase = (v: Value): Value =>
  transform(v, (s) => [...s].every((c) => !ALPHABETIC.test(c) || LOWERCASE.test(c)));
export const hasDigits = (v: Value): Value => transform(v, (s) => /[0-9]/.test(s));

/** Bytes of a string's UTF-8 encoding, items of an array, bytes of the text of a number. */
export function len(v: Value): Value {
  if (typeof v === 'object') return v.length;
  return utf8Length(valueToString(v));
}

const countChars = (s: string, test: (c: string) => boolean): number => {
  let n = 0;
  for (const c of s) if (test(c)) n++;
  return n;
};
export const countSpaces = (v: Value): Value =>
  countChars(valueToString(v), (c) => /\p{White_Space}/u.test(c));
export const countUppercase = (v: Value): Value =>
  countChars(valueToString(v), (c) => ALPHABETIC.test(c) && UPPERCASE.test(c));
export const countLowercase = (v: Value): Value =>
  countChars(valueToString(v), (c) => ALPHABETIC.test(c) && LOWERCASE.test(c));
export const countCodePoints = (v: Value): Value => countChars(valueToString(v), () => true);

/** Substring of a string; for an array, whether one item equals the needle (Stalwart equality). */
export function contains(haystack: Value, needle: Value): Value {
  if (typeof haystack === 'object') return haystack.some((item) => valuesEqual(item, needle));
  return valueToString(haystack).includes(valueToString(needle));
}

/** Like {@link contains} ignoring case; array items must equal the needle ignoring ASCII case. */
export function containsIgnoreCase(haystack: Value, needle: Value): Value {
  const text = valueToString(needle);
  if (typeof haystack === 'object') {
    return haystack.some(
      (item) => typeof item === 'string' && asciiLower(item) === asciiLower(text),
    );
  }
  if (typeof haystack === 'string') return haystack.toLowerCase().includes(text.toLowerCase());
  return valueToString(haystack).includes(text);
}

/** Equality of the two texts ignoring ASCII case only, as Rust's `eq_ignore_ascii_case`. */
export const eqIgnoreCase = (a: Value, b: Value): Value =>
  asciiLower(valueToString(a)) === asciiLower(valueToString(b));
export const startsWith = (a: Value, b: Value): Value =>
  valueToString(a).startsWith(valueToString(b));
export const endsWith = (a: Value, b: Value): Value => valueToString(a).endsWith(valueToString(b));

function asciiLower(s: string): string {
  return s.replace(/[A-Z]+/g, (m) => m.toLowerCase());
}

/** Rust's `str::lines`: split on LF, drop a CR before it, no final empty line. Non-strings pass through. */
export function lines(v: Value): Value {
  if (typeof v !== 'string') return v;
  if (v === '') return [];
  const parts = v.split('\n').map((line) => (line.endsWith('\r') ? line.slice(0, -1) : line));
  if (v.endsWith('\n')) parts.pop();
  return parts;
}

/** `count` code points starting at code point `start` (negative integers wrap to huge, as in Rust). */
export function substring(v: Value, start: Value, count: Value): Value {
  const chars = [...valueToString(v)];
  const from = Math.min(toCount(start), chars.length);
  return chars.slice(from, from + Math.min(toCount(count), chars.length)).join('');
}

/** The text without the prefix, or the empty string when it does not start with it. */
export function stripPrefix(v: Value, prefix: Value): Value {
  const p = valueToString(prefix);
  return transform(v, (s) => (s.startsWith(p) ? s.slice(p.length) : ''));
}

/** The text without the suffix, or the empty string when it does not end with it. */
export function stripSuffix(v: Value, suffix: Value): Value {
  const p = valueToString(suffix);
  return transform(v, (s) => (s.endsWith(p) ? s.slice(0, s.length - p.length) : ''));
}

/** Rust's `str::split`: an empty separator yields `''`, each code point, then `''`. */
function splitText(text: string, separator: string): string[] {
  if (separator === '') return ['', ...text, ''];
  return text.split(separator);
}

export const split = (v: Value, separator: Value): Value =>
  splitText(valueToString(v), valueToString(separator));

/** Rust's `str::rsplit`: pieces found from the end, last piece first. */
export function rsplit(v: Value, separator: Value): Value {
  const text = valueToString(v);
  const sep = valueToString(separator);
  if (sep === '') return splitText(text, sep).reverse();
  const pieces: string[] = [];
  let rest = text;
  for (let at = rest.lastIndexOf(sep); at >= 0; at = rest.lastIndexOf(sep)) {
    pieces.push(rest.slice(at + sep.length));
    rest = rest.slice(0, at);
  }
  pieces.push(rest);
  return pieces;
}

/** `[before, after]` around the first separator, or `''` when it does not occur. */
export function splitOnce(v: Value, separator: Value): Value {
  const text = valueToString(v);
  const sep = valueToString(separator);
  const at = text.indexOf(sep);
  return at < 0 ? '' : [text.slice(0, at), text.slice(at + sep.length)];
}

/** `[before, after]` around the last separator, or `''` when it does not occur. */
export function rsplitOnce(v: Value, separator: Value): Value {
  const text = valueToString(v);
  const sep = valueToString(separator);
  const at = text.lastIndexOf(sep);
  return at < 0 ? '' : [text.slice(0, at), text.slice(at + sep.length)];
}

/** At most `count` splits from the left; the rest of the text is the last piece. */
export function splitN(v: Value, separator: Value, count: Value): Value {
  const text = valueToString(v);
  const sep = valueToString(separator);
  const n = toInteger(count) ?? 0;
  const limit = n < 0 ? Number.MAX_SAFE_INTEGER : n;
  if (sep === '') {
    // Rust's `splitn(limit + 1, "")`: the first `limit` pieces of the empty-separator split, then the rest.
    if (limit === 0) return [text];
    const chars = [...text];
    const all = ['', ...chars, ''];
    if (limit + 1 >= all.length) return all;
    return [...all.slice(0, limit), chars.slice(limit - 1).join('')];
  }
  const out: string[] = [];
  let rest = text;
  for (let i = 0; i < limit; i++) {
    const at = rest.indexOf(sep);
    if (at < 0) break;
    out.push(rest.slice(0, at));
    rest = rest.slice(at + sep.length);
  }
  out.push(rest);
  return out;
}

/** Whitespace-separated words made only of letters and digits; other words are dropped. */
export const splitWords = (v: Value): Value =>
  valueToString(v)
    .split(/\p{White_Space}+/u)
    .filter((w) => w !== '' && ALPHANUMERIC_WORD.test(w));
