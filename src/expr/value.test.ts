// Value conversions with Stalwart's rules: truthiness, text of a value, numbers read from text,
// equality and ordering across types.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import type { Value } from './value.js';
import {
  compareValues,
  isTruthy,
  toArray,
  toCount,
  toInteger,
  toNumber,
  utf8Length,
  valuesEqual,
  valueToString,
} from './value.js';

describe('Stalwart truthiness: non-zero numbers, non-empty strings and arrays', () => {
  const table: ReadonlyArray<readonly [Value, boolean]> = [
    [0, false],
    [1, true],
    [-1, true],
    [0.0001, true],
    [NaN, true],
    [true, true],
    [false, false],
    ['', false],
    ['0', true],
    ['false', true],
    [' ', true],
    [[], false],
    [[''], true],
  ];
  for (const [value, truthy] of table) {
    test(`${JSON.stringify(value)} is ${truthy ? 'truthy' : 'falsy'}`, () =>
      assert.equal(isTruthy(value), truthy));
  }
});

describe('valueToString prints as Stalwart (Rust Display, CRLF-joined arrays)', () => {
  const table: ReadonlyArray<readonly [Value, string]> = [
    ['text', 'text'],
    [42, '42'],
    [2.5, '2.5'],
    [-3, '-3'],
    [1e21, '1000000000000000000000'],
    [1e-7, '0.0000001'],
    [-1.5e-7, '-0.00000015'],
    [Infinity, 'inf'],
    [-Infinity, '-inf'],
    [NaN, 'NaN'],
    [true, '1'],
    [false, '0'],
    [['a', 1, true], 'a\r\n1\r\n1'],
    [['', 'a'], 'a'], // no separator before the first non-empty text
    [['a', ['nested'], 'b'], 'a\r\n\r\nb'], // a nested array contributes nothing
    [[], ''],
  ];
  for (const [value, text] of table) {
    test(`${JSON.stringify(value)} prints as ${JSON.stringify(text)}`, () =>
      assert.equal(valueToString(value), text));
  }
});

describe('Stalwart parse_number: text reads as a Rust integer or float, else 0', () => {
  const table: ReadonlyArray<readonly [Value, number]> = [
    ['42', 42],
    ['-7', -7],
    ['+3', 3],
    ['2.5', 2.5],
    ['.5', 0.5],
    ['5.', 5],
    ['1e3', 1000],
    ['inf', Infinity],
    ['-Infinity', -Infinity],
    ['abc', 0],
    ['', 0],
    [' 1', 0],
    ['1 ', 0],
    ['0x10', 0],
    [[], 1],
    [['a'], 0],
    [true, 1],
    [false, 0],
    [3.5, 3.5],
  ];
  for (const [value, n] of table) {
    test(`${JSON.stringify(value)} reads as ${n}`, () => assert.equal(toNumber(value), n));
  }
  test("'nan' reads as NaN", () => assert.ok(Number.isNaN(toNumber('nan'))));
});

describe('integer and count conversions', () => {
  test('to_integer truncates numbers and accepts only integer text', () => {
    assert.equal(toInteger(3.9), 3);
    assert.equal(toInteger('12'), 12);
    assert.equal(toInteger('1.5'), undefined);
    assert.equal(toInteger([]), undefined);
  });
  test('to_usize wraps negative integers to huge and saturates negative fractions to 0', () => {
    assert.equal(toCount(-1), Number.MAX_SAFE_INTEGER);
    assert.equal(toCount(-1.5), 0);
    assert.equal(toCount('7'), 7);
    assert.equal(toCount('-7'), 0);
  });
  test('into_array: the empty string is the empty array, a scalar a one-item array', () => {
    assert.deepEqual(toArray(''), []);
    assert.deepEqual(toArray('a'), ['a']);
    assert.deepEqual(toArray(0), [0]);
  });
});

describe('equality and ordering across types', () => {
  test('text equals a number when it parses to it', () => {
    assert.ok(valuesEqual('5', 5));
    assert.ok(valuesEqual(5, '5.0'));
    assert.ok(!valuesEqual('5', '5.0'));
    assert.ok(!valuesEqual(NaN, NaN));
  });
  test('ordering: strings and arrays above numbers, arrays item by item then by length', () => {
    assert.equal(compareValues('a', []), 1);
    assert.equal(compareValues([], 'a'), 1); // Stalwart's ordering is not antisymmetric here
    assert.equal(compareValues(1, [0]), -1);
    assert.ok(compareValues([1, 2], [1, 3]) < 0);
    assert.ok(compareValues([1, 2], [1]) > 0);
    assert.ok(Number.isNaN(compareValues(NaN, 1)));
  });
  test('utf8Length counts bytes of the UTF-8 encoding', () => {
    assert.equal(utf8Length('aé€😀'), 1 + 2 + 3 + 4);
  });
});
