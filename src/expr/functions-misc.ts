/**
 * Type tests, e-mail address helpers and small utilities of the expression language, with the
 * semantics of Stalwart's `functions/misc.rs` and `functions/email.rs`. Every function is total.
 */

import type { Value } from './value.js';
import { isTruthy, toInteger, valueToString } from './value.js';

/** Empty string or empty array; a number is never empty. */
export function isEmpty(v: Value): Value {
  if (typeof v === 'string' || typeof v === 'object') return v.length === 0;
  return false;
}

/** A number (booleans are Stalwart's integers 1 and 0, so they count); text that looks numeric does not. */
export const isNumber = (v: Value): Value => typeof v === 'number' || typeof v === 'boolean';

/** Bitwise AND of two 64-bit integers; 0 when either is not an integer. */
export function bitAnd(a: Value, b: Value): Value {
  const x = toInteger(a);
  const y = toInteger(b);
  if (x === undefined || y === undefined) return 0;
  return Number(BigInt.asIntN(64, BigInt(x) & BigInt(y)));
}

/** `then` when the condition is truthy, else `otherwise`; both are evaluated (it is a function). */
export const ifThen = (condition: Value, then: Value, otherwise: Value): Value =>
  isTruthy(condition) ? then : otherwise;

// Characters allowed unquoted in an address (RFC 5322 atext, plus any non-ASCII character).
const ATEXT = /[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~\u007f-\uffff]/;
const QUOTED_SPECIALS = '>:, ';

/**
 * Stalwart's lenient address check: exactly one `@` outside quotes, a non-empty local part, a domain
 * with at least one dot, no empty dot-separated part, and only atext outside quoted strings.
 */
export function isEmail(v: Value): Value {
  const text = valueToString(v);
  let quoted = false;
  let previous = '';
  let atSigns = 0;
  let domainDots = 0;
  let localLength = 0;
  let partLength = 0;
  for (const ch of text) {
    if (quoted) {
      // Inside quotes only atext and a few specials count towards a non-empty part; others are skipped.
      if (ch === '"' && previous !== '\\') quoted = false;
      else if (ATEXT.test(ch) || QUOTED_SPECIALS.includes(ch)) partLength++;
    } else if (ATEXT.test(ch)) {
      partLength++;
    } else if (ch === '.') {
      if (previous === '.' || previous === '@' || partLength === 0) return false;
      partLength++;
      if (atSigns === 1) domainDots++;
    } else if (ch === '@') {
      atSigns++;
      localLength = partLength;
      partLength = 0;
    } else if (ch === '"') {
      quoted = true;
    } else {
      return false;
    }
    previous = ch;
  }
  return atSigns === 1 && domainDots > 0 && localLength > 0 && partLength > 0;
}

/** `'local'` or `'domain'` part around the last `@`, trimmed; `''` otherwise. Applies to each array item. */
export function emailPart(v: Value, part: Value): Value {
  const which = valueToString(part);
  const pick = (address: string): Value => {
    const at = address.lastIndexOf('@');
    if (at < 0) return '';
    if (which === 'local') return address.slice(0, at).trim();
    if (which === 'domain') return address.slice(at + 1).trim();
    return '';
  };
  if (typeof v === 'object') return v.map((item) => pick(valueToString(item)));
  return pick(valueToString(v));
}
