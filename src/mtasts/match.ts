/**
 * MX host validation against a policy's `mx` patterns (RFC 8461 section 4.1). Pure and total: any two
 * strings give a boolean. Comparison is case-insensitive (RFC 4343) and ignores one trailing dot on
 * either side, since DNS answers are often written fully qualified. A leading `*.` matches exactly one
 * whole leftmost label, as RFC 8461 restricts RFC 6125 wildcards: `*.example.com` matches
 * `mail.example.com`, but neither `example.com` nor `foo.bar.example.com`. A `*` anywhere else is a
 * literal character that no valid host name contains, so such a pattern never matches.
 */

/** RFC 8461 section 4.1: does MX host `host` match policy pattern `pattern`? */
export function mxMatchesPattern(host: string, pattern: string): boolean {
  const name = canonical(host);
  const want = canonical(pattern);
  if (name === '' || want === '') return false;
  if (!want.startsWith('*.')) return name === want;
  const suffix = want.slice(1); // ".example.com"
  if (suffix.length < 2 || !name.endsWith(suffix)) return false;
  const leftmost = name.slice(0, name.length - suffix.length);
  return leftmost.length > 0 && !leftmost.includes('.') && leftmost !== '*';
}

/** The first pattern of `patterns` that `host` matches, or undefined when none does. */
export function findMatchingPattern(host: string, patterns: readonly string[]): string | undefined {
  return patterns.find((pattern) => mxMatchesPattern(host, pattern));
}

function canonical(name: string): string {
  const lower = name.toLowerCase();
  return lower.endsWith('.') ? lower.slice(0, -1) : lower;
}
