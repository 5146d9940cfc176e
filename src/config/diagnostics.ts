/**
 * Configuration diagnostics: every problem found while loading a configuration names the file, the line
 * and column (1-based), the dotted key path, what was expected and what was found. Loading collects all
 * of them in one run instead of stopping at the first, so an operator fixes a file in one pass.
 */

export interface Position {
  /** 1-based line. */
  readonly line: number;
  /** 1-based column, counted in UTF-16 code units like editors do for the BMP. */
  readonly column: number;
}

export type Severity = 'error' | 'warning';

export interface Diagnostic {
  readonly severity: Severity;
  readonly file: string;
  readonly position: Position | undefined;
  /** Dotted key path, e.g. `queue.tls.default.starttls`. */
  readonly path: string;
  readonly message: string;
  readonly expected?: string;
  readonly found?: string;
}

/** `mxsec.toml:12:9: queue.tls.default.starttls: unknown value (expected ..., found ...)` */
export function formatDiagnostic(d: Diagnostic): string {
  const where =
    d.position === undefined ? d.file : `${d.file}:${d.position.line}:${d.position.column}`;
  const detail: string[] = [];
  if (d.expected !== undefined) detail.push(`expected ${d.expected}`);
  if (d.found !== undefined) detail.push(`found ${d.found}`);
  const suffix = detail.length > 0 ? ` (${detail.join(', ')})` : '';
  const path = d.path === '' ? '' : `${d.path}: `;
  return `${where}: ${d.severity}: ${path}${d.message}${suffix}`;
}

/** Orders diagnostics by position so output reads top to bottom. */
export function sortDiagnostics(list: readonly Diagnostic[]): Diagnostic[] {
  return [...list].sort(
    (a, b) =>
      (a.position?.line ?? 0) - (b.position?.line ?? 0) ||
      (a.position?.column ?? 0) - (b.position?.column ?? 0),
  );
}

/** Levenshtein distance, small inputs only (key names). */
export function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      current.push(
        Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, (previous[j - 1] ?? 0) + cost),
      );
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}

/** The closest candidate within a distance that still looks like a typo, if any. */
export function closest(word: string, candidates: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestDistance = Math.max(2, Math.floor(word.length / 3)) + 1;
  for (const candidate of candidates) {
    const distance = editDistance(word.toLowerCase(), candidate.toLowerCase());
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}

/** A did-you-mean suffix for messages, or an empty string. */
export function didYouMean(word: string, candidates: Iterable<string>): string {
  const suggestion = closest(word, candidates);
  return suggestion === undefined ? '' : `; did you mean '${suggestion}'?`;
}
