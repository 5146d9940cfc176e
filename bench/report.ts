/**
 * Presentation of benchmark results: pairs each result with the baseline it names and computes the
 * ratio `value / baseline.value`, then renders a fixed-width table or JSON. Pure: strings out, no I/O.
 *
 * A ratio is absent (not zero, not NaN) when a result names no baseline, names one that is not among
 * the results, or the baseline's value is zero. Rates (units ending in `/s`) are higher-is-better,
 * every time unit is lower-is-better; the legend says so, because a bare ratio cannot.
 */

import type { BenchResult } from './types.js';

export interface ReportRow {
  readonly name: string;
  readonly value: number;
  readonly unit: string;
  /** Tells a JSON consumer which way a ratio is good. */
  readonly higherIsBetter: boolean;
  readonly baseline?: string;
  readonly baselineValue?: number;
  readonly ratio?: number;
}

/** True for throughput units (`deliveries/s`), where a larger value is better. */
export function higherIsBetter(unit: string): boolean {
  return unit.endsWith('/s');
}

/** Resolves every result's baseline among `results` and computes its ratio. */
export function toRows(results: readonly BenchResult[]): ReportRow[] {
  const byName = new Map(results.map((r) => [r.name, r]));
  return results.map((r) => {
    const base = r.baseline === undefined ? undefined : byName.get(r.baseline);
    const row: ReportRow = {
      name: r.name,
      value: r.value,
      unit: r.unit,
      higherIsBetter: higherIsBetter(r.unit),
    };
    if (r.baseline === undefined) return row;
    if (base === undefined || base.value === 0) return { ...row, baseline: r.baseline };
    return {
      ...row,
      baseline: r.baseline,
      baselineValue: base.value,
      ratio: round(r.value / base.value, 3),
    };
  });
}

const HEADERS = ['name', 'value', 'unit', 'baseline', 'ratio'] as const;

/** A plain-text table; long names are kept whole and widen their column. */
export function formatTable(results: readonly BenchResult[]): string {
  const rows = toRows(results).map((row) => [
    row.name,
    String(row.value),
    row.unit,
    row.baseline === undefined
      ? ''
      : row.baselineValue === undefined
        ? `${row.baseline} (missing)`
        : String(row.baselineValue),
    row.ratio === undefined ? '' : `${row.ratio.toFixed(2)}x`,
  ]);
  const widths = HEADERS.map((h, i) =>
    Math.max(h.length, ...rows.map((cells) => (cells[i] ?? '').length)),
  );
  // Numbers are right-aligned so that magnitudes line up; text is left-aligned.
  const numeric = [false, true, false, true, true];
  const line = (cells: readonly string[]): string =>
    cells
      .map((cell, i) =>
        numeric[i] === true ? cell.padStart(widths[i] ?? 0) : cell.padEnd(widths[i] ?? 0),
      )
      .join('  ')
      .trimEnd();
  const rule = widths.map((w) => '-'.repeat(w)).join('  ');
  const legend =
    'ratio = value / baseline value; time units: lower is better; rates (*/s): higher is better';
  return [line(HEADERS), rule, ...rows.map(line), '', legend].join('\n');
}

/** The rows as a JSON document (two-space indented), with the total wall time of the run. */
export function formatJson(
  results: readonly BenchResult[],
  totalSeconds: number,
  failures: readonly string[],
): string {
  return JSON.stringify(
    { totalSeconds: round(totalSeconds, 2), failures, results: toRows(results) },
    null,
    2,
  );
}

/** Rounds to `digits` decimal places (results are reported, not computed with). */
export function round(n: number, digits = 2): number {
  const scale = 10 ** digits;
  return Math.round(n * scale) / scale;
}
