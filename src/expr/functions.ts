/**
 * The function table of the expression language: every name a configuration may call, its exact
 * arity (checked at compile time) and its implementation. The names and arities are Stalwart's pure
 * expression functions; `lower`, `upper` (aliases of `to_lowercase`, `to_uppercase`) and `join` are
 * mxsec additions. Stalwart's functions that do I/O or touch stores (`is_local_domain`, `key_get`,
 * `dns_query`, `sql_query`, ...) and `hash` are deliberately absent: expressions here are pure.
 * `matches` has an entry for its arity, but the compiler builds it specially (captures, regex
 * compiled once).
 */

import {
  contains,
  containsIgnoreCase,
  countCodePoints,
  countLowercase,
  countSpaces,
  countUppercase,
  endsWith,
  eqIgnoreCase,
  hasDigits,
  isLowercase,
  isUppercase,
  len,
  lines,
  rsplit,
  rsplitOnce,
  split,
  splitN,
  splitOnce,
  splitWords,
  startsWith,
  stripPrefix,
  stripSuffix,
  substring,
  toLowercase,
  toUppercase,
  trim,
  trimEnd,
  trimStart,
} from './functions-text.js';
import { count, dedup, isIntersect, join, sort, winnow } from './functions-list.js';
import { bitAnd, emailPart, ifThen, isEmail, isEmpty, isNumber } from './functions-misc.js';
import { ipReverseName, isIpAddr, isIpInCidr, isIpv4Addr, isIpv6Addr } from './ip.js';
import { dynamicMatcher } from './regex.js';
import type { Value } from './value.js';

/** A pure, total function of its arguments. */
export type ExprFunction = (...args: Value[]) => Value;

export interface FunctionSpec {
  readonly arity: number;
  readonly fn: ExprFunction;
}

const spec = (arity: number, fn: ExprFunction): FunctionSpec => ({ arity, fn });

// The compiler builds `matches` itself (precompiled pattern, shared captures); this plain form, which
// discards the captures, serves callers that use the table directly.
const matchAnywhere = dynamicMatcher();
const matches: ExprFunction = (pattern = '', value = '') =>
  matchAnywhere(pattern, value, { groups: [] });

/** Every callable function by name. */
export const FUNCTIONS: ReadonlyMap<string, FunctionSpec> = new Map<string, FunctionSpec>([
  // Arrays
  ['count', spec(1, count)],
  ['sort', spec(2, sort)],
  ['dedup', spec(1, dedup)],
  ['winnow', spec(1, winnow)],
  ['is_intersect', spec(2, isIntersect)],
  ['join', spec(2, join)],
  // Addresses
  ['is_email', spec(1, isEmail)],
  ['email_part', spec(2, emailPart)],
  // Types and utilities
  ['is_empty', spec(1, isEmpty)],
  ['is_number', spec(1, isNumber)],
  ['bit_and', spec(2, bitAnd)],
  ['if_then', spec(3, ifThen)],
  // IP addresses
  ['is_ip_addr', spec(1, isIpAddr)],
  ['is_ipv4_addr', spec(1, isIpv4Addr)],
  ['is_ipv6_addr', spec(1, isIpv6Addr)],
  ['is_ip_in_cidr', spec(2, isIpInCidr)],
  ['ip_reverse_name', spec(1, ipReverseName)],
  // Text
  ['trim', spec(1, trim)],
  ['trim_end', spec(1, trimEnd)],
  ['trim_start', spec(1, trimStart)],
  ['len', spec(1, len)],
  ['to_lowercase', spec(1, toLowercase)],
  ['to_uppercase', spec(1, toUppercase)],
  ['lower', spec(1, toLowercase)],
  ['upper', spec(1, toUppercase)],
  ['is_uppercase', spec(1, isUppercase)],
  ['is_lowercase', spec(1, isLowercase)],
  ['has_digits', spec(1, hasDigits)],
  ['count_spaces', spec(1, countSpaces)],
  ['count_uppercase', spec(1, countUppercase)],
  ['count_lowercase', spec(1, countLowercase)],
  ['count_chars', spec(1, countCodePoints)],
  ['contains', spec(2, contains)],
  ['contains_ignore_case', spec(2, containsIgnoreCase)],
  ['eq_ignore_case', spec(2, eqIgnoreCase)],
  ['starts_with', spec(2, startsWith)],
  ['ends_with', spec(2, endsWith)],
  ['lines', spec(1, lines)],
  ['substring', spec(3, substring)],
  ['strip_prefix', spec(2, stripPrefix)],
  ['strip_suffix', spec(2, stripSuffix)],
  ['split', spec(2, split)],
  ['rsplit', spec(2, rsplit)],
  ['split_once', spec(2, splitOnce)],
  ['rsplit_once', spec(2, rsplitOnce)],
  ['split_n', spec(3, splitN)],
  ['split_words', spec(1, splitWords)],
  // Regular expressions
  ['matches', spec(2, matches)],
]);
