/**
 * Lexer of the expression language: source text to tokens, each with its offset and length (UTF-16
 * code units, 0-based). It never stops at the first problem: an unterminated string, a character that
 * belongs to no token or a malformed number or duration becomes an {@link ExprError} and lexing goes
 * on, so that one compile reports every lexical error. The token list always ends with one `eof`.
 *
 * Lexical rules follow Stalwart's tokenizer: strings in single or double quotes with `\n`, `\r`, `\t`
 * and `\<any>` escapes; integers and decimals; a number followed by a unit is a duration in
 * milliseconds (`30s`, `1h`, `500ms`); `$1` is a regular-expression capture; `&`/`&&`, `|`/`||`,
 * `=`/`==` are synonyms and `=>`/`=<` spell `>=`/`<=`.
 */

import { parseDuration } from '../core/duration.js';
import type { ExprError } from './errors.js';
import type { BinaryOp } from './ops.js';

export type Token =
  | {
      readonly type: 'number';
      readonly value: number;
      readonly offset: number;
      readonly length: number;
    }
  | {
      readonly type: 'string';
      readonly value: string;
      readonly offset: number;
      readonly length: number;
    }
  | {
      readonly type: 'ident';
      readonly name: string;
      readonly offset: number;
      readonly length: number;
    }
  | {
      readonly type: 'capture';
      readonly index: number;
      readonly offset: number;
      readonly length: number;
    }
  | {
      readonly type: 'op';
      readonly op: BinaryOp | '!';
      readonly offset: number;
      readonly length: number;
    }
  | { readonly type: Punctuation; readonly offset: number; readonly length: number }
  | { readonly type: 'eof'; readonly offset: number; readonly length: 0 };

export type Punctuation = '(' | ')' | '[' | ']' | ',';

/** Operator spellings, longest first so that `&&` wins over `&`. */
const OPERATORS: ReadonlyArray<readonly [string, BinaryOp | '!']> = [
  ['&&', '&&'],
  ['||', '||'],
  ['==', '=='],
  ['!=', '!='],
  ['>=', '>='],
  ['<=', '<='],
  ['=>', '>='],
  ['=<', '<='],
  ['&', '&&'],
  ['|', '||'],
  ['=', '=='],
  ['!', '!'],
  ['>', '>'],
  ['<', '<'],
  ['+', '+'],
  ['-', '-'],
  ['*', '*'],
  ['/', '/'],
  ['^', '^'],
];

const PUNCTUATION = new Set<string>(['(', ')', '[', ']', ',']);
const IDENT_START = /[A-Za-z_]/;
const IDENT_PART = /[A-Za-z0-9_]/;
const DIGIT = /[0-9]/;
const WHITESPACE = /[ \t\r\n]/;
const ESCAPES: Readonly<Record<string, string>> = { n: '\n', r: '\r', t: '\t' };

/** Splits `source` into tokens; lexical errors are appended to `errors`. */
export function tokenize(source: string, errors: ExprError[]): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < source.length) {
    const ch = source[i] ?? '';
    if (WHITESPACE.test(ch)) {
      i++;
    } else if (ch === '"' || ch === "'") {
      i = readString(source, i, tokens, errors);
    } else if (DIGIT.test(ch)) {
      i = readNumber(source, i, tokens, errors);
    } else if (IDENT_START.test(ch)) {
      let end = i + 1;
      while (end < source.length && IDENT_PART.test(source[end] ?? '')) end++;
      tokens.push({ type: 'ident', name: source.slice(i, end), offset: i, length: end - i });
      i = end;
    } else if (ch === '$') {
      let end = i + 1;
      while (end < source.length && IDENT_PART.test(source[end] ?? '')) end++;
      const digits = source.slice(i + 1, end);
      if (/^\d+$/.test(digits)) {
        tokens.push({ type: 'capture', index: Number(digits), offset: i, length: end - i });
      } else {
        errors.push({
          offset: i,
          length: end - i,
          message: `invalid capture '${source.slice(i, end)}': write $0, $1, ...`,
        });
        // Stand in for the value so that the parser does not echo the error.
        tokens.push({ type: 'string', value: '', offset: i, length: end - i });
      }
      i = end;
    } else if (PUNCTUATION.has(ch)) {
      tokens.push({ type: ch as Punctuation, offset: i, length: 1 });
      i++;
    } else {
      const match = OPERATORS.find(([spelling]) => source.startsWith(spelling, i));
      if (match === undefined) {
        errors.push({ offset: i, length: 1, message: `invalid character '${ch}'` });
        i++;
      } else {
        tokens.push({ type: 'op', op: match[1], offset: i, length: match[0].length });
        i += match[0].length;
      }
    }
  }
  tokens.push({ type: 'eof', offset: source.length, length: 0 });
  return tokens;
}

function readString(source: string, start: number, tokens: Token[], errors: ExprError[]): number {
  const quote = source[start];
  let value = '';
  let i = start + 1;
  while (i < source.length && source[i] !== quote) {
    const ch = source[i] ?? '';
    if (ch === '\\' && i + 1 < source.length) {
      const next = source[i + 1] ?? '';
      value += ESCAPES[next] ?? next;
      i += 2;
    } else {
      value += ch;
      i++;
    }
  }
  if (i >= source.length) {
    errors.push({
      offset: start,
      length: source.length - start,
      message: `unterminated string: missing closing ${quote}`,
    });
    tokens.push({ type: 'string', value, offset: start, length: source.length - start });
    return source.length;
  }
  tokens.push({ type: 'string', value, offset: start, length: i + 1 - start });
  return i + 1;
}

function readNumber(source: string, start: number, tokens: Token[], errors: ExprError[]): number {
  let end = start;
  while (end < source.length && /[0-9A-Za-z_.]/.test(source[end] ?? '')) end++;
  const text = source.slice(start, end);
  const length = end - start;
  if (/^\d+(?:\.\d+)?$/.test(text)) {
    tokens.push({ type: 'number', value: Number(text), offset: start, length });
    return end;
  }
  const duration = /^\d+(?:\.\d+)?[a-z]+$/.test(text) ? parseDuration(text) : undefined;
  if (duration === undefined) {
    errors.push({
      offset: start,
      length,
      message: `invalid number or duration '${text}' (durations are like 500ms, 30s, 3m, 1h, 1d, 1w)`,
    });
    tokens.push({ type: 'number', value: 0, offset: start, length });
  } else {
    tokens.push({ type: 'number', value: duration, offset: start, length });
  }
  return end;
}
