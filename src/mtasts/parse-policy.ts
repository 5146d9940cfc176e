/**
 * MTA-STS policy parsing (RFC 8461 section 3.2). Pure: takes the body of
 * `https://mta-sts.<domain>/.well-known/mta-sts.txt` as text and returns the policy or the first error,
 * naming the line (1-based) and what is wrong. Never throws. A policy that fails here is, for the caller,
 * a policy that could not be fetched (RFC 8461 section 3.3): the domain has no live policy.
 *
 * Decisions where the RFC leaves room:
 * - Lines end in LF or CRLF, mixed freely (`sts-policy-term = LF / CRLF`); a lone CR is an error.
 * - Key names and the values of `version` and `mode` are case-sensitive (`%s"..."`); `Mode: enforce` is
 *   an unknown extension key, so the policy then lacks `mode`.
 * - `version`, `mode` and `max_age` are "required once": a second occurrence is an error rather than
 *   "first wins" or "last wins", since either choice could silently weaken the domain's intent.
 *   Repeated unknown keys are ignored like any unknown key.
 * - Whitespace: none before a key or before the `:`; any spaces/tabs after the `:` and at line end.
 *   Empty lines between fields are errors (the ABNF has none); empty lines at the very end are
 *   tolerated because editors and web servers append them and they carry no field.
 * - `mx` values are `["*."] Domain` (RFC 5321 LDH labels), stored lower-case. Non-ASCII names are
 *   rejected: the policy must use A-labels (punycode). A trailing dot is not part of `Domain` either.
 * - `max_age` is 1 to 10 digits and at most 31557600 (one year); `mx` is required unless mode is `none`.
 */

export type StsMode = 'enforce' | 'testing' | 'none';

/** A valid STSv1 policy. */
export interface StsPolicy {
  readonly version: 'STSv1';
  readonly mode: StsMode;
  /** Seconds, 0 to 31557600. */
  readonly maxAge: number;
  /** MX patterns, lower-case, possibly `*.`-prefixed; empty only in mode `none`. */
  readonly mx: readonly string[];
}

export interface PolicyParseError {
  /** 1-based line of the problem; absent when the policy as a whole is wrong (a missing field). */
  readonly line?: number;
  readonly message: string;
}

export type PolicyParse =
  | { readonly ok: true; readonly policy: StsPolicy }
  | { readonly ok: false; readonly error: PolicyParseError };

/** RFC 8461 section 3.2: "representable as an integer from 0 to 31557600". */
export const MAX_AGE_LIMIT = 31_557_600;

const LINE = /^([A-Za-z0-9][A-Za-z0-9_.-]{0,31}):[ \t]*(.*?)[ \t]*$/;
// sts-policy-vchar: printable ASCII or any non-ASCII character (UTF-8 decoded before parsing); no CTLs.
// eslint-disable-next-line no-control-regex
const EXT_VALUE = /^[^\x00-\x20\x7f](?:[^\x00-\x1f\x7f]*[^\x00-\x20\x7f])?$/;
const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
const MODES: readonly StsMode[] = ['enforce', 'testing', 'none'];

/** Parses a policy body per RFC 8461 section 3.2. */
export function parsePolicy(text: string): PolicyParse {
  const lines = text.split('\n').map((line) => (line.endsWith('\r') ? line.slice(0, -1) : line));
  while (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  if (lines.length === 0) return fail(undefined, 'policy is empty');

  let version: { value: string; line: number } | undefined;
  let mode: { value: StsMode; line: number } | undefined;
  let maxAge: { value: number; line: number } | undefined;
  const mx: string[] = [];

  for (const [index, line] of lines.entries()) {
    const number = index + 1;
    if (line === '') return fail(number, 'empty line between fields');
    if (line.includes('\r')) return fail(number, 'carriage return not followed by line feed');
    const match = LINE.exec(line);
    if (match === null) return fail(number, `expected "key: value", got "${clip(line)}"`);
    const key = match[1] ?? '';
    const value = match[2] ?? '';
    if (!EXT_VALUE.test(value))
      return fail(number, `"${key}" has an empty value or a control character`);
    switch (key) {
      case 'version':
        if (version !== undefined)
          return fail(number, `duplicate "version" (first on line ${version.line})`);
        if (value !== 'STSv1') return fail(number, `version must be "STSv1", got "${clip(value)}"`);
        version = { value, line: number };
        break;
      case 'mode': {
        if (mode !== undefined)
          return fail(number, `duplicate "mode" (first on line ${mode.line})`);
        const known = MODES.find((candidate) => candidate === value);
        if (known === undefined)
          return fail(number, `mode must be enforce, testing or none, got "${clip(value)}"`);
        mode = { value: known, line: number };
        break;
      }
      case 'max_age': {
        if (maxAge !== undefined)
          return fail(number, `duplicate "max_age" (first on line ${maxAge.line})`);
        if (!/^\d{1,10}$/.test(value))
          return fail(number, `max_age must be 1 to 10 digits, got "${clip(value)}"`);
        const seconds = Number(value);
        if (seconds > MAX_AGE_LIMIT)
          return fail(number, `max_age ${value} exceeds ${MAX_AGE_LIMIT}`);
        maxAge = { value: seconds, line: number };
        break;
      }
      case 'mx': {
        const problem = mxPatternProblem(value);
        if (problem !== undefined) return fail(number, `mx "${clip(value)}": ${problem}`);
        mx.push(value.toLowerCase());
        break;
      }
      default:
        // Extension keys (RFC 8461 section 3.2, "additional key/value pairs") are ignored.
        break;
    }
  }

  if (version === undefined) return fail(undefined, 'missing "version"');
  if (mode === undefined) return fail(undefined, 'missing "mode"');
  if (maxAge === undefined) return fail(undefined, 'missing "max_age"');
  if (mx.length === 0 && mode.value !== 'none')
    return fail(undefined, `mode ${mode.value} requires at least one "mx"`);
  return { ok: true, policy: { version: 'STSv1', mode: mode.value, maxAge: maxAge.value, mx } };
}

/**
 * Why `value` is not `["*."] Domain` (RFC 8461 section 3.2, RFC 5321 section 4.1.2), or undefined when
 * it is. Exported for configuration code that accepts MX patterns too.
 */
export function mxPatternProblem(value: string): string | undefined {
  // eslint-disable-next-line no-control-regex
  if (/[^\x00-\x7f]/.test(value)) return 'non-ASCII name: use the A-label (punycode) form';
  const name = value.startsWith('*.') ? value.slice(2) : value;
  if (name.length === 0) return 'empty domain';
  if (name.length > 253) return 'longer than 253 characters';
  if (name.endsWith('.')) return 'trailing dot';
  for (const label of name.toLowerCase().split('.')) {
    if (label === '') return 'empty label';
    if (!LABEL.test(label))
      return `label "${label}" is not letters, digits and inner hyphens (at most 63)`;
  }
  return undefined;
}

function fail(line: number | undefined, message: string): PolicyParse {
  return { ok: false, error: line === undefined ? { message } : { line, message } };
}

/** Keeps hostile or huge input out of error messages and logs. */
function clip(text: string): string {
  const printable = text.replace(/[^\x20-\x7e]/g, '?');
  return printable.length > 80 ? `${printable.slice(0, 77)}...` : printable;
}
