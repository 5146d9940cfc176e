/**
 * Durations as written in mxsec configuration and expressions: an integer or decimal number followed by a
 * unit (`ms`, `s`, `m`, `h`, `d`, `w`), for example `500ms`, `30s`, `3m`, `1h`, `1d`. A bare integer is
 * milliseconds only when the caller allows it. Parsing never throws: `undefined` means "not a duration".
 */

const UNIT_MS: Readonly<Record<string, number>> = {
  ms: 1,
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};

const DURATION = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)$/;

/** Parses `3m` into 180000. Returns undefined when the text is not a duration. */
export function parseDuration(text: string): number | undefined {
  const match = DURATION.exec(text.trim());
  if (match === null) return undefined;
  const unit = UNIT_MS[match[2] ?? ''];
  if (unit === undefined) return undefined;
  const ms = Number(match[1]) * unit;
  return Number.isFinite(ms) ? Math.round(ms) : undefined;
}

/** Formats milliseconds with the largest unit that divides them exactly: 180000 -> `3m`. */
export function formatDuration(ms: number): string {
  for (const unit of ['w', 'd', 'h', 'm', 's'] as const) {
    const size = UNIT_MS[unit] ?? 1;
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}
