/**
 * `matches(pattern, value)`: regular-expression search with captures, as in Stalwart. A match anywhere
 * in the value's text counts (the pattern is not anchored unless it says so). Each evaluation of
 * `matches` replaces the capture groups: `$0` is the whole match, `$1`... the groups (an unmatched
 * group is `''`); after a failed match there are none, and `$N` reads as `''`.
 *
 * Stalwart compiles patterns with Rust's `regex` crate; JavaScript's dialect agrees on the common
 * syntax. Rust spellings translated here: leading inline flags `(?i)`, `(?m)`, `(?s)` (and
 * combinations such as `(?im)`), named groups `(?P<name>...)`, and the anchors `\A` and `\z`.
 * A pattern that does not compile is a compile error when constant, and "no match" when computed at
 * evaluation time.
 */

import type { Value } from './value.js';
import { valueToString } from './value.js';

/** Capture groups of the last `matches` in one evaluation; hosts may share one across expressions. */
export interface CaptureState {
  groups: readonly string[];
}

export type RegexResult =
  { readonly ok: true; readonly regex: RegExp } | { readonly ok: false; readonly message: string };

const LEADING_FLAGS = /^\(\?([a-zA-Z]+)\)/;

/** Compiles a pattern written in Rust's syntax; never throws. */
export function compileRegex(pattern: string): RegexResult {
  let body = pattern;
  let flags = '';
  const leading = LEADING_FLAGS.exec(body);
  if (leading !== null) {
    for (const flag of leading[1] ?? '') {
      if (flag !== 'i' && flag !== 'm' && flag !== 's') {
        return { ok: false, message: `inline flag '${flag}' is not supported (use i, m or s)` };
      }
      if (!flags.includes(flag)) flags += flag;
    }
    body = body.slice(leading[0].length);
  }
  body = body
    .replace(/\(\?P</g, '(?<')
    .replace(/\\A/g, '^')
    .replace(/\\z/g, '$');
  try {
    return { ok: true, regex: new RegExp(body, flags) };
  } catch (error: unknown) {
    const detail =
      error instanceof Error
        ? error.message.replace(/^Invalid regular expression: \/.*\/[a-z]*: /s, '')
        : 'invalid';
    return { ok: false, message: detail };
  }
}

/** Runs `regex` on the text of `value`, storing the groups in `captures`; true when it matched. */
export function matchInto(regex: RegExp, value: Value, captures: CaptureState): boolean {
  const match = regex.exec(valueToString(value));
  if (match === null) {
    captures.groups = [];
    return false;
  }
  captures.groups = Array.from(match, (group) => group ?? '');
  return true;
}

/**
 * The evaluation-time form of `matches` for a computed pattern: compiles through a small per-call-site
 * cache so that a pattern repeated across evaluations compiles once.
 */
export function dynamicMatcher(): (
  pattern: Value,
  value: Value,
  captures: CaptureState,
) => boolean {
  const cache = new Map<string, RegExp | null>();
  return (pattern, value, captures) => {
    const text = valueToString(pattern);
    let regex = cache.get(text);
    if (regex === undefined) {
      const compiled = compileRegex(text);
      regex = compiled.ok ? compiled.regex : null;
      if (cache.size >= 64) cache.clear();
      cache.set(text, regex);
    }
    if (regex === null) {
      captures.groups = [];
      return false;
    }
    return matchInto(regex, value, captures);
  };
}
