// Syntax of the expression language: precedence of every operator pair that matters, left
// associativity, normalised operator spellings, literals and the spans the linter relies on.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import type { Ast } from './ast.js';
import { compileExpression } from './compile.js';
import type { EvalContext, Value } from './value.js';

const variables = new Set(['a', 'b', 'c', 'retry_num', 'last_error', 'queue_age']);

function astOf(source: string): Ast {
  const result = compileExpression(source, { variables });
  if (!result.ok) throw new Error(`${source}: ${JSON.stringify(result.errors)}`);
  return result.expr.ast;
}

/** The tree as a fully parenthesised string, so that a precedence mistake shows in the diff. */
function shape(node: Ast): string {
  switch (node.kind) {
    case 'literal':
      return node.raw;
    case 'variable':
      return node.name;
    case 'unary':
      return `(${node.op}${shape(node.operand)})`;
    case 'binary':
      return `(${shape(node.left)} ${node.op} ${shape(node.right)})`;
    case 'call':
      return `${node.name}(${node.args.map(shape).join(', ')})`;
    case 'array':
      return `[${node.items.map(shape).join(', ')}]`;
  }
}

function evaluate(source: string, ctx: EvalContext = {}): Value {
  const result = compileExpression(source, { variables });
  if (!result.ok) throw new Error(`${source}: ${JSON.stringify(result.errors)}`);
  return result.expr.evaluate(ctx);
}

describe('Stalwart precedence: * / over + - over comparisons over == != over ^ over && over ||', () => {
  const table: ReadonlyArray<readonly [string, string]> = [
    ['1 + 2 * 3', '(1 + (2 * 3))'],
    ['1 * 2 + 3', '((1 * 2) + 3)'],
    ['a - b / c', '(a - (b / c))'],
    ['a + b > c', '((a + b) > c)'],
    ['a > b + c', '(a > (b + c))'],
    ['a < b == c', '((a < b) == c)'],
    ['a == b >= c', '(a == (b >= c))'],
    ['a != b <= c', '(a != (b <= c))'],
    ['a == b ^ c', '((a == b) ^ c)'],
    ['a ^ b && c', '((a ^ b) && c)'],
    ['a && b ^ c', '(a && (b ^ c))'],
    ['a || b && c', '(a || (b && c))'],
    ['a && b || c', '((a && b) || c)'],
    ['a || b ^ c', '(a || (b ^ c))'],
    ['!a == b', '((!a) == b)'],
    ['-a * b', '((-a) * b)'],
    ['!a && b', '((!a) && b)'],
    ['!!a', '(!(!a))'],
    ['a - -b', '(a - (-b))'],
    ['(a || b) && c', '((a || b) && c)'],
    ['(1 + 2) * 3', '((1 + 2) * 3)'],
    ["retry_num > 0 && last_error == 'tls'", "((retry_num > 0) && (last_error == 'tls'))"],
  ];
  for (const [source, expected] of table) {
    test(`${source} parses as ${expected}`, () => assert.equal(shape(astOf(source)), expected));
  }

  test('1 + 2 * 3 evaluates to 7', () => assert.equal(evaluate('1 + 2 * 3'), 7));
  test('(1 + 2) * 3 evaluates to 9', () => assert.equal(evaluate('(1 + 2) * 3'), 9));
  test('1 || 0 && 0 evaluates as 1 || (0 && 0), which is truthy', () =>
    assert.equal(evaluate('1 || 0 && 0'), 1));
  test('!0 == 1 evaluates as (!0) == 1, which is true', () =>
    assert.equal(evaluate('!0 == 1'), true));
  test('1 ^ 1 && 0 evaluates as (1 ^ 1) && 0, which is falsy', () =>
    assert.equal(evaluate('1 ^ 1 && 0'), false));
});

describe('Stalwart associativity: binary operators are left-associative', () => {
  const table: ReadonlyArray<readonly [string, string, Value]> = [
    ['10 - 4 - 3', '((10 - 4) - 3)', 3],
    ['8 / 4 / 2', '((8 / 4) / 2)', 1],
    ['2 * 3 / 4', '((2 * 3) / 4)', 1.5],
    ['1 - 2 + 3', '((1 - 2) + 3)', 2],
    ['3 > 2 > 1', '((3 > 2) > 1)', false],
    ['1 == 1 == 1', '((1 == 1) == 1)', true],
    ['1 ^ 1 ^ 1', '((1 ^ 1) ^ 1)', true],
  ];
  for (const [source, expected, value] of table) {
    test(`${source} parses as ${expected} and evaluates to ${String(value)}`, () => {
      assert.equal(shape(astOf(source)), expected);
      assert.deepEqual(evaluate(source), value);
    });
  }
});

describe('Stalwart operator spellings are normalised in the tree', () => {
  const table: ReadonlyArray<readonly [string, string]> = [
    ['a & b', '&&'],
    ['a | b', '||'],
    ['a = b', '=='],
    ['a => b', '>='],
    ['a =< b', '<='],
    ['a && b', '&&'],
    ['a || b', '||'],
    ['a == b', '=='],
    ['a != b', '!='],
  ];
  for (const [source, op] of table) {
    test(`${source} is stored as '${op}'`, () => {
      const ast = astOf(source);
      assert.equal(ast.kind, 'binary');
      assert.equal(ast.kind === 'binary' ? ast.op : '', op);
    });
  }
});

describe('Stalwart literals', () => {
  const table: ReadonlyArray<readonly [string, Value]> = [
    ["'single'", 'single'],
    ['"double"', 'double'],
    ["'it\\'s'", "it's"],
    ['"a\\tb\\nc\\rd\\\\e\\"f"', 'a\tb\nc\rd\\e"f'],
    ["'\\q'", 'q'],
    ['42', 42],
    ['3.25', 3.25],
    ['true', true],
    ['false', false],
    ['500ms', 500],
    ['30s', 30_000],
    ['3m', 180_000],
    ['1h', 3_600_000],
    ['1d', 86_400_000],
    ['1.5h', 5_400_000],
    ["[1, 'a', [true]]", [1, 'a', [true]]],
    ['[]', []],
  ];
  for (const [source, value] of table) {
    test(`${source} is ${JSON.stringify(value)}`, () => assert.deepEqual(evaluate(source), value));
  }
  test('a duration literal keeps its source text in the tree', () => {
    const ast = astOf('1h');
    assert.equal(ast.kind === 'literal' ? ast.raw : '', '1h');
  });
});

describe('spans: every node covers exactly its source text', () => {
  test('binary, call, array, unary and parenthesised nodes', () => {
    const source = "!contains([a, 'x'], b) || (retry_num + 1) * 2";
    const seen: string[] = [];
    const visit = (node: Ast): void => {
      seen.push(source.slice(node.offset, node.offset + node.length));
      if (node.kind === 'unary') visit(node.operand);
      if (node.kind === 'binary') {
        visit(node.left);
        visit(node.right);
      }
      if (node.kind === 'call') node.args.forEach(visit);
      if (node.kind === 'array') node.items.forEach(visit);
    };
    visit(astOf(source));
    assert.deepEqual(seen, [
      source,
      "!contains([a, 'x'], b)",
      "contains([a, 'x'], b)",
      "[a, 'x']",
      'a',
      "'x'",
      'b',
      '(retry_num + 1) * 2',
      '(retry_num + 1)',
      'retry_num',
      '1',
      '2',
    ]);
  });
});
