/**
 * The report's ratio arithmetic and its edge cases: a ratio is present only when the named baseline
 * exists among the results and is non-zero, and the table shows a missing baseline instead of hiding it.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { formatJson, formatTable, higherIsBetter, toRows } from './report.js';
import type { BenchResult } from './types.js';

const RESULTS: readonly BenchResult[] = [
  { name: 'base', unit: 'ns/op', value: 20 },
  { name: 'measured', unit: 'ns/op', value: 50, baseline: 'base' },
  { name: 'orphan', unit: 'ns/op', value: 7, baseline: 'nowhere' },
  { name: 'zero', unit: 'ns/op', value: 0 },
  { name: 'over zero', unit: 'ns/op', value: 3, baseline: 'zero' },
];

describe('report rows', () => {
  test('ratio is value divided by the baseline value', () => {
    const row = toRows(RESULTS).find((r) => r.name === 'measured');
    assert.equal(row?.baselineValue, 20);
    assert.equal(row?.ratio, 2.5);
  });

  test('a baseline that is not among the results gives no ratio', () => {
    const row = toRows(RESULTS).find((r) => r.name === 'orphan');
    assert.equal(row?.baseline, 'nowhere');
    assert.equal(row?.ratio, undefined);
  });

  test('a zero baseline gives no ratio rather than Infinity', () => {
    const row = toRows(RESULTS).find((r) => r.name === 'over zero');
    assert.equal(row?.ratio, undefined);
  });

  test('a result without a baseline has neither baseline nor ratio', () => {
    const row = toRows(RESULTS).find((r) => r.name === 'base');
    assert.deepEqual(row, { name: 'base', unit: 'ns/op', value: 20, higherIsBetter: false });
  });
});

describe('report output', () => {
  test('the table has one line per result, names the missing baseline and prints the ratio', () => {
    const lines = formatTable(RESULTS).split('\n');
    assert.match(lines[0] ?? '', /^name\s+value\s+unit\s+baseline\s+ratio$/);
    assert.match(lines.find((l) => l.startsWith('measured')) ?? '', /\s20\s+2\.50x$/);
    assert.match(lines.find((l) => l.startsWith('orphan')) ?? '', /nowhere \(missing\)$/);
  });

  test('JSON carries the rows, the failures and the total time', () => {
    const parsed = JSON.parse(formatJson(RESULTS, 1.234, ['delivery: boom'])) as {
      totalSeconds: number;
      failures: string[];
      results: unknown[];
    };
    assert.equal(parsed.totalSeconds, 1.23);
    assert.deepEqual(parsed.failures, ['delivery: boom']);
    assert.equal(parsed.results.length, RESULTS.length);
  });

  test('rates are higher-is-better, times are not', () => {
    assert.equal(higherIsBetter('deliveries/s'), true);
    assert.equal(higherIsBetter('ns/op'), false);
    assert.equal(higherIsBetter('µs'), false);
  });
});
