// Compile errors: each kind points at the offending text with offset and length, names the problem,
// suggests a close spelling, and one compile reports every independent problem it finds.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { compileExpression } from './compile.js';
import type { ExprError } from './errors.js';
import { closestName } from './errors.js';
import { MAX_DEPTH, MAX_TOKENS } from './parse.js';
import { QUEUE_VARIABLES } from './variables.js';

function errorsOf(source: string): readonly ExprError[] {
  const result = compileExpression(source, { variables: QUEUE_VARIABLES });
  if (result.ok) throw new Error(`${source} compiled`);
  return result.errors;
}

/** [source, offset, length, text the message must contain] for a source with exactly one error. */
const SINGLE: ReadonlyArray<readonly [string, number, number, string]> = [
  ['retry_nm > 0', 0, 8, "unknown variable 'retry_nm'; did you mean 'retry_num'?"],
  ["last_eror == 'tls'", 0, 9, "did you mean 'last_error'?"],
  ['zzzz', 0, 4, "unknown variable 'zzzz'"],
  ['len > 1', 0, 3, "'len' is a function: call it as len(...)"],
  ['ends_wth(rcpt, 1)', 0, 8, "unknown function 'ends_wth'; did you mean 'ends_with'?"],
  ['rcpt(1)', 0, 4, "'rcpt' is a variable, not a function"],
  ["1 + contains('a')", 4, 13, "function 'contains' expects 2 arguments, got 1"],
  ['trim(rcpt, 1)', 0, 13, "function 'trim' expects 1 argument, got 2"],
  ['substring()', 0, 11, "function 'substring' expects 3 arguments, got 0"],
  ["mx == 'abc", 6, 4, 'unterminated string'],
  ['mx == "abc\\"', 6, 6, 'unterminated string'],
  ['(1 + 2', 6, 0, "missing ')' to close '(' at offset 0"],
  ['contains(rcpt, 1 == 2', 21, 0, "missing ')' to close '(' at offset 8"],
  ['[1, 2', 5, 0, "missing ']' to close '[' at offset 0"],
  ['1 + ', 4, 0, 'unexpected end of expression: expected a value'],
  ['1 + * 2', 4, 1, "unexpected '*': expected a value"],
  ['(1 + 2))', 7, 1, "unexpected ')': expected an operator"],
  ['mx mx', 3, 2, "unexpected 'mx': expected an operator"],
  ['contains(rcpt,)', 14, 1, "unexpected ')': expected a value"],
  ['', 0, 0, 'empty expression'],
  ['   ', 3, 0, 'empty expression'],
  ['mx # 1', 3, 1, "invalid character '#'"],
  ['queue_age > 10x', 12, 3, "invalid number or duration '10x'"],
  ['1.2.3', 0, 5, "invalid number or duration '1.2.3'"],
  ['$x', 0, 2, "invalid capture '$x'"],
  ["matches('(a', rcpt)", 8, 4, "invalid regular expression '(a'"],
  ["matches('(?x)a', rcpt)", 8, 7, "inline flag 'x' is not supported"],
];

describe('each error kind has an exact position and a message naming the problem', () => {
  for (const [source, offset, length, message] of SINGLE) {
    test(`${JSON.stringify(source)}: ${message}`, () => {
      const errors = errorsOf(source);
      assert.equal(errors.length, 1, JSON.stringify(errors));
      const [error] = errors;
      assert.equal(error?.offset, offset);
      assert.equal(error?.length, length);
      assert.ok(error?.message.includes(message), error?.message);
    });
  }
});

describe('all independent errors are reported, in source order', () => {
  test('two unknown names and a wrong arity', () => {
    const errors = errorsOf("retry_nm > 0 && lowr(rcpt) == 'x' || contains(mx)");
    assert.deepEqual(
      errors.map((e) => [e.offset, e.length]),
      [
        [0, 8],
        [16, 4],
        [37, 12],
      ],
    );
  });
  test('a lexical error and a name error together', () => {
    const errors = errorsOf("mx == 'a' && sendr == 'abc");
    assert.deepEqual(
      errors.map((e) => e.offset),
      [13, 22],
    );
    assert.ok(errors[0]?.message.includes("did you mean 'sender'?"));
    assert.ok(errors[1]?.message.includes('unterminated string'));
  });
  test('a name error is still found when the syntax is also wrong', () => {
    const errors = errorsOf('retry_nm > 0 &&');
    assert.deepEqual(
      errors.map((e) => [e.offset, e.length]),
      [
        [0, 8],
        [15, 0],
      ],
    );
  });
});

describe('hostile input is an error, not a crash', () => {
  test(`nesting deeper than ${MAX_DEPTH} levels`, () => {
    const source = '('.repeat(1_000) + '1' + ')'.repeat(1_000);
    const errors = errorsOf(source);
    assert.equal(errors.length, 1);
    assert.equal(errors[0]?.offset, MAX_DEPTH);
    assert.ok(errors[0]?.message.includes('nested deeper'));
  });
  test('a long chain of unary operators', () => {
    assert.ok(errorsOf('!'.repeat(1_000) + '1')[0]?.message.includes('nested deeper'));
  });
  test('a long flat chain of binary operators compiles and evaluates', () => {
    const result = compileExpression(Array.from({ length: 2_000 }, () => 'retry_num').join(' + '), {
      variables: QUEUE_VARIABLES,
    });
    assert.ok(result.ok);
    assert.equal(result.ok && result.expr.evaluate({ retry_num: 1 }), 2_000);
  });
  test(`an expression longer than ${MAX_TOKENS} tokens`, () => {
    const errors = errorsOf(Array.from({ length: 100_000 }, () => 'retry_num').join(' + '));
    assert.equal(errors.length, 1);
    assert.equal(errors[0]?.offset, (MAX_TOKENS / 2) * 'retry_num + '.length);
    assert.ok(errors[0]?.message.includes(`longer than ${MAX_TOKENS} tokens`));
  });
  test('the longest accepted flat chain compiles and evaluates without exhausting the stack', () => {
    const terms = MAX_TOKENS / 2;
    const result = compileExpression(Array.from({ length: terms }, () => 'retry_num').join(' + '), {
      variables: QUEUE_VARIABLES,
    });
    assert.ok(result.ok);
    assert.equal(result.ok && result.expr.evaluate({ retry_num: 2 }), terms * 2);
  });
  test('the number of errors is capped', () => {
    assert.equal(errorsOf(Array.from({ length: 100 }, (_, i) => `v${i}`).join(' + ')).length, 20);
  });
});

describe('did-you-mean suggestions', () => {
  const table: ReadonlyArray<readonly [string, string | undefined]> = [
    ['retry_nm', 'retry_num'],
    ['rety_num', 'retry_num'],
    ['rerty_num', 'retry_num'], // a transposition is one edit
    ['mxx', 'mx'],
    ['queue', undefined],
    ['x', 'mx'],
    ['q', undefined],
  ];
  for (const [name, expected] of table) {
    test(`${name} suggests ${String(expected)}`, () =>
      assert.equal(closestName(name, QUEUE_VARIABLES), expected));
  }
});

test('a long run of stray binary operators is one error', () => {
  const errors = errorsOf('1 ' + '* '.repeat(2_000) + '2');
  assert.deepEqual(
    errors.map((e) => [e.offset, e.length]),
    [[4, 1]],
  );
});
