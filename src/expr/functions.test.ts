// Every function of the expression language, with Stalwart's semantics and its edge cases. Each row
// runs twice: folded at compile time (literal arguments) and at evaluation time (the same arguments
// passed as variables), so both paths are checked against the same expectation.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { compileExpression } from './compile.js';
import { FUNCTIONS } from './functions.js';
import type { EvalContext, Value } from './value.js';

const variables = new Set(['a', 'b', 'c']);

function literal(v: Value): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'object') return `[${v.map(literal).join(', ')}]`;
  return String(v);
}

function evaluate(source: string, ctx: EvalContext): Value {
  const result = compileExpression(source, { variables });
  if (!result.ok) throw new Error(`${source}: ${JSON.stringify(result.errors)}`);
  return result.expr.evaluate(ctx);
}

type Row = readonly [name: string, args: readonly Value[], expected: Value];

const ROWS: readonly Row[] = [
  // Text
  ['trim', ['  a b \t\n'], 'a b'],
  ['trim', [['  x ', 5]], ['x', '5']],
  ['trim', ['\u00a0x\u2003'], 'x'], // Unicode White_Space, as Rust
  ['trim_start', ['  a  '], 'a  '],
  ['trim_end', ['  a  '], '  a'],
  ['len', ['héllo'], 6], // UTF-8 bytes, as Rust's str::len
  ['len', [['a', 'b', 'c']], 3],
  ['len', [12345], 5],
  ['len', [''], 0],
  ['to_lowercase', ['MiXeD'], 'mixed'],
  ['to_lowercase', [['A', 'B']], ['a', 'b']],
  ['to_uppercase', ['straße'], 'STRASSE'],
  ['lower', ['ABC'], 'abc'],
  ['upper', ['abc'], 'ABC'],
  ['is_uppercase', ['ABC 1!'], true],
  ['is_uppercase', ['AbC'], false],
  ['is_uppercase', ['123'], true], // no letters: vacuously true
  ['is_lowercase', ['abc-1'], true],
  ['is_lowercase', [['ab', 'Ab']], [true, false]],
  ['has_digits', ['ab3'], true],
  ['has_digits', ['abc'], false],
  ['count_spaces', ['a b\tc\nd'], 3],
  ['count_uppercase', ['AbCd'], 2],
  ['count_lowercase', ['AbCd'], 2],
  ['count_chars', ['héllo😀'], 6], // code points
  ['contains', ['mx.example.org', 'example'], true],
  ['contains', ['mx.example.org', 'EXAMPLE'], false],
  ['contains', [['a.org', 'b.org'], 'b.org'], true],
  ['contains', [['a.org', 'b.org'], 'org'], false], // arrays need an equal item
  ['contains', [[1, 2], '2'], true], // Stalwart equality: '2' == 2
  ['contains', [12345, 34], true],
  ['contains_ignore_case', ['Mx.Example.ORG', 'example.org'], true],
  ['contains_ignore_case', [['A.org', 'b.org'], 'a.ORG'], true],
  ['eq_ignore_case', ['TLS', 'tls'], true],
  ['eq_ignore_case', ['tls', 'tlsx'], false],
  ['starts_with', ['user@example.org', 'user@'], true],
  ['starts_with', ['user', ''], true],
  ['ends_with', ['agency.gov', '.gov'], true],
  ['ends_with', ['agency.gov.uk', '.gov'], false],
  ['ends_with', [['x', 'a.gov'], '.gov'], true], // arrays are CRLF-joined text
  ['lines', ['a\r\nb\nc\n'], ['a', 'b', 'c']],
  ['lines', [''], []],
  ['lines', [5], 5],
  ['substring', ['héllo', 1, 3], 'éll'],
  ['substring', ['abc', 5, 2], ''],
  ['substring', ['abc', 1, 100], 'bc'],
  ['substring', ['abc', -1, 2], ''], // a negative start wraps to a huge index, as Rust's `as usize`
  ['strip_prefix', ['user@example.org', 'user@'], 'example.org'],
  ['strip_prefix', ['example.org', 'user@'], ''], // no prefix: empty string
  ['strip_suffix', ['mx.example.org', '.org'], 'mx.example'],
  ['strip_suffix', [['a.org', 'b.net'], '.org'], ['a', '']],
  ['split', ['a,b,,c', ','], ['a', 'b', '', 'c']],
  ['split', ['abc', ''], ['', 'a', 'b', 'c', '']],
  ['split', ['', ','], ['']],
  ['rsplit', ['a.b.c', '.'], ['c', 'b', 'a']],
  ['rsplit', ['aaa', 'aa'], ['', 'a']], // matches found from the right
  ['split_once', ['user@example.org', '@'], ['user', 'example.org']],
  ['split_once', ['a@b@c', '@'], ['a', 'b@c']],
  ['split_once', ['abc', '@'], ''],
  ['rsplit_once', ['a@b@c', '@'], ['a@b', 'c']],
  ['rsplit_once', ['abc', '@'], ''],
  ['split_n', ['a,b,c', ',', 1], ['a', 'b,c']],
  ['split_n', ['a,b,c', ',', -1], ['a', 'b', 'c']],
  ['split_n', ['a,b,c', ',', 0], ['a,b,c']],
  ['split_n', ['ab', '', 1], ['', 'ab']],
  ['split_n', ['ab', '', 2], ['', 'a', 'b']],
  ['split_n', ['ab', '', -1], ['', 'a', 'b', '']],
  ['split_words', ['hello, big  world 42'], ['big', 'world', '42']],
  // Arrays
  ['count', [['a', 'b']], 2],
  ['count', ['text'], 1],
  ['count', [''], 0],
  ['count', [0], 1],
  ['sort', [[3, 1, 2], true], [1, 2, 3]],
  ['sort', [[3, 1, 2], false], [3, 2, 1]],
  ['sort', [['b', 'a', 'c'], 1], ['a', 'b', 'c']],
  ['sort', ['x', true], ['x']],
  ['dedup', [['a', 'b', 'a', 'c', 'b']], ['a', 'b', 'c']],
  ['dedup', [[1, '1', 2]], [1, 2]],
  ['winnow', [['a', '', 'b', '']], ['a', 'b']],
  ['winnow', ['x'], 'x'],
  [
    'is_intersect',
    [
      ['a', 'b'],
      ['c', 'b'],
    ],
    true,
  ],
  ['is_intersect', [['a', 'b'], ['c']], false],
  ['is_intersect', [['a', 'b'], 'a'], true],
  ['is_intersect', ['a', 'a'], false], // two scalars never intersect
  ['join', [['a', 'b', 1], ', '], 'a, b, 1'],
  ['join', ['', ','], ''],
  // Addresses
  ['is_email', ['user@example.org'], true],
  ['is_email', ['first.last+tag@sub.example.org'], true],
  ['is_email', ['"quoted name"@example.org'], true],
  ['is_email', ['user@localhost'], false], // the domain needs a dot
  ['is_email', ['user..x@example.org'], false],
  ['is_email', ['@example.org'], false],
  ['is_email', ['a@b@example.org'], false],
  ['is_email', ['us er@example.org'], false],
  ['email_part', ['user@example.org', 'local'], 'user'],
  ['email_part', ['user@example.org', 'domain'], 'example.org'],
  ['email_part', ['"a@b"@example.org', 'domain'], 'example.org'],
  ['email_part', ['user@example.org', 'other'], ''],
  ['email_part', ['no-at-sign', 'domain'], ''],
  ['email_part', [['a@x.org', 'b@y.org'], 'domain'], ['x.org', 'y.org']],
  // Types and utilities
  ['is_empty', [''], true],
  ['is_empty', [[]], true],
  ['is_empty', [0], false],
  ['is_empty', [' '], false],
  ['is_number', [1.5], true],
  ['is_number', ['1.5'], false],
  ['is_number', [true], true], // Stalwart's true is the integer 1
  ['bit_and', [12, 10], 8],
  ['bit_and', ['12', 10], 8],
  ['bit_and', ['x', 10], 0],
  ['if_then', [1, 'yes', 'no'], 'yes'],
  ['if_then', ['', 'yes', 'no'], 'no'],
  // IP addresses
  ['is_ip_addr', ['192.0.2.1'], true],
  ['is_ip_addr', ['2001:db8::1'], true],
  ['is_ip_addr', ['mx.example.org'], false],
  ['is_ipv4_addr', ['192.0.2.1'], true],
  ['is_ipv4_addr', ['192.0.2.256'], false],
  ['is_ipv4_addr', ['192.0.2.01'], false], // leading zeros are rejected, as Rust does
  ['is_ipv4_addr', ['192.0.2'], false],
  ['is_ipv4_addr', ['2001:db8::1'], false],
  ['is_ipv6_addr', ['2001:db8::1'], true],
  ['is_ipv6_addr', ['::'], true],
  ['is_ipv6_addr', ['::ffff:192.0.2.1'], true],
  ['is_ipv6_addr', ['1:2:3:4:5:6:7:8'], true],
  ['is_ipv6_addr', ['1:2:3:4:5:6:7::'], true],
  ['is_ipv6_addr', ['1:2:3:4:5:6:7:8::'], false],
  ['is_ipv6_addr', ['1::2::3'], false],
  ['is_ipv6_addr', ['12345::'], false],
  ['is_ipv6_addr', ['[2001:db8::1]'], false],
  ['is_ipv6_addr', ['fe80::1%eth0'], false],
  ['is_ipv6_addr', ['192.0.2.1'], false],
  ['is_ip_in_cidr', ['192.0.2.77', '192.0.2.0/24'], true],
  ['is_ip_in_cidr', ['192.0.3.1', '192.0.2.0/24'], false],
  ['is_ip_in_cidr', ['192.0.2.1', '192.0.2.1'], true],
  ['is_ip_in_cidr', ['2001:db8::5', '2001:db8::/32'], true],
  ['is_ip_in_cidr', ['2001:db9::5', '2001:db8::/32'], false],
  ['is_ip_in_cidr', ['192.0.2.1', '2001:db8::/32'], false],
  ['is_ip_in_cidr', ['192.0.2.1', '192.0.2.0/33'], false],
  ['is_ip_in_cidr', ['192.0.2.1', '0.0.0.0/0'], true],
  ['ip_reverse_name', ['192.0.2.1'], '1.2.0.192'],
  [
    'ip_reverse_name',
    ['2001:db8::1'],
    '1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2',
  ],
  ['ip_reverse_name', ['nope'], ''],
  // Regular expressions
  ['matches', ['^mx[0-9]+\\.', 'mx12.example.org'], true],
  ['matches', ['example', 'mx.example.org'], true], // unanchored search
  ['matches', ['^example', 'mx.example.org'], false],
  ['matches', ['(?i)^MX', 'mx.example.org'], true],
];

describe('each function returns what Stalwart returns', () => {
  for (const [name, args, expected] of ROWS) {
    const folded = `${name}(${args.map(literal).join(', ')})`;
    test(`${folded} is ${JSON.stringify(expected)}`, () => {
      assert.deepEqual(evaluate(folded, {}), expected, 'folded at compile time');
      const names = ['a', 'b', 'c'].slice(0, args.length);
      const ctx = Object.fromEntries(names.map((n, i) => [n, args[i]]));
      assert.deepEqual(
        evaluate(`${name}(${names.join(', ')})`, ctx),
        expected,
        'at evaluation time',
      );
    });
  }
});

test('every function in the table has at least one row here', () => {
  const tested = new Set(ROWS.map(([name]) => name));
  assert.deepEqual(
    [...FUNCTIONS.keys()].filter((name) => !tested.has(name)),
    [],
  );
});

test('every row calls a function with its declared arity', () => {
  for (const [name, args] of ROWS) assert.equal(args.length, FUNCTIONS.get(name)?.arity, name);
});
