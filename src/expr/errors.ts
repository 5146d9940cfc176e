/**
 * Compile errors of the expression language and the "did you mean" hint that names the closest known
 * spelling. An error points into the source with a 0-based `offset` and a `length` in UTF-16 code
 * units (the config loader turns them into line and column); its message names the problem and the
 * offending text. Nothing here throws.
 */

/** One problem found while compiling an expression. */
export interface ExprError {
  readonly offset: number;
  readonly length: number;
  readonly message: string;
}

/** Compilation stops collecting after this many errors: past it, the rest is noise. */
export const MAX_ERRORS = 20;

/**
 * The known name closest to `name` by edit distance, when it is close enough to be a plausible typo
 * (at most one edit for short names, a third of the length for longer ones).
 */
export function closestName(name: string, known: Iterable<string>): string | undefined {
  const limit = Math.max(1, Math.floor(name.length / 3));
  let best: string | undefined;
  let bestDistance = limit + 1;
  for (const candidate of known) {
    const distance = editDistance(name, candidate, bestDistance);
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}

/** `message` followed by `; did you mean 'x'?` when a close spelling exists. */
export function withSuggestion(message: string, name: string, known: Iterable<string>): string {
  const suggestion = closestName(name, known);
  return suggestion === undefined ? message : `${message}; did you mean '${suggestion}'?`;
}

/** Levenshtein distance with transpositions counted as one edit; gives up (returns `cap`) past `cap`. */
function editDistance(a: string, b: string, cap: number): number {
  if (Math.abs(a.length - b.length) >= cap) return cap;
  let previous2: number[] = [];
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    let rowMin = i;
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let value = Math.min(
        (previous[j] ?? cap) + 1,
        (current[j - 1] ?? cap) + 1,
        (previous[j - 1] ?? cap) + cost,
      );
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        value = Math.min(value, (previous2[j - 2] ?? cap) + 1);
      }
      current.push(value);
      rowMin = Math.min(rowMin, value);
    }
    if (rowMin >= cap) return cap;
    previous2 = previous;
    previous = current;
  }
  return Math.min(previous[b.length] ?? cap, cap);
}
