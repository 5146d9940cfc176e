/**
 * Parses the paths of MAIL FROM and RCPT TO (RFC 5321 4.1.2, RFC 6531 3.3 for SMTPUTF8): the angle
 * brackets, an obsolete source route (accepted and ignored, RFC 5321 4.1.1.3 / C), a local part as
 * dot-string or quoted string, and a domain name or address literal. Length limits of RFC 5321 4.5.3.1.
 *
 * Contract: returns the mailbox without brackets (`''` for the null reverse-path when allowed) and
 * whether it holds non-ASCII characters (which need SMTPUTF8), or a problem description. Never throws.
 */

export type PathResult =
  | {
      readonly ok: true;
      readonly address: string;
      readonly domain: string | undefined;
      readonly literal: boolean;
      readonly nonAscii: boolean;
      readonly rest: string;
    }
  | { readonly ok: false; readonly problem: 'syntax' | 'no-domain'; readonly message: string };

const ATOM = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~\u0080-\uFFFF-]+$/u;
const LABEL = /^[A-Za-z0-9\u0080-\uFFFF](?:[A-Za-z0-9\u0080-\uFFFF-]*[A-Za-z0-9\u0080-\uFFFF])?$/u;
const LITERAL = /^\[[\x21-\x5a\x5e-\x7e]+\]$/;
// U+FFFD marks bytes that were not UTF-8: such an address cannot be stored faithfully.
// eslint-disable-next-line no-control-regex
const FORBIDDEN = /[\u0000-\u001f\u007f\uFFFD]/u;
const encoder = new TextEncoder();

function syntax(message: string): PathResult {
  return { ok: false, problem: 'syntax', message };
}

/** Index of the `>` closing a path that starts at `text[0] === '<'`, honouring quoted strings. */
function closingBracket(text: string): number {
  let quoted = false;
  for (let i = 1; i < text.length; i++) {
    const c = text[i];
    if (quoted && c === '\\') i++;
    else if (c === '"') quoted = !quoted;
    else if (c === '>' && !quoted) return i;
  }
  return -1;
}

function validLocal(local: string): boolean {
  if (local.startsWith('"'))
    return /^"(?:[\x20\x21\x23-\x5b\x5d-\x7e\u0080-\uFFFF]|\\[\x20-\x7e])*"$/u.test(local);
  return local.split('.').every((atom) => ATOM.test(atom));
}

function validDomain(domain: string): boolean {
  if (domain.startsWith('[')) return LITERAL.test(domain);
  return domain.split('.').every((label) => LABEL.test(label));
}

/**
 * Reads `<path>` at the start of `text` (after `FROM:` or `TO:`); `rest` is what follows (parameters).
 * @param allowNull true for MAIL FROM, where `<>` is the null reverse-path (RFC 5321 4.5.5).
 */
export function parsePath(text: string, allowNull: boolean): PathResult {
  const trimmed = text.trimStart();
  if (!trimmed.startsWith('<')) return syntax('Syntax: address must be in angle brackets');
  const close = closingBracket(trimmed);
  if (close < 0) return syntax('Syntax: missing closing angle bracket');
  let inner = trimmed.slice(1, close);
  const rest = trimmed.slice(close + 1);
  if (rest !== '' && !rest.startsWith(' ')) return syntax('Syntax: parameters must follow a space');
  if (FORBIDDEN.test(inner))
    return syntax('Syntax: control characters or invalid UTF-8 in address');
  if (inner === '') {
    return allowNull
      ? { ok: true, address: '', domain: undefined, literal: false, nonAscii: false, rest }
      : syntax('Syntax: empty address');
  }
  // RFC 5321 4.1.1.3: a source route may be given and must be ignored.
  const route = /^@[^:,]+(?:,@[^:,]+)*:/.exec(inner);
  if (route !== null) inner = inner.slice(route[0].length);
  if (encoder.encode(inner).length > 254) return syntax('Syntax: address too long');
  const at = inner.lastIndexOf('@');
  const local = at < 0 ? inner : inner.slice(0, at);
  if (local === '' || !validLocal(local)) return syntax('Syntax: invalid local part');
  if (encoder.encode(local).length > 64) return syntax('Syntax: local part too long');
  if (at < 0) return { ok: false, problem: 'no-domain', message: 'Address must include a domain' };
  const domain = inner.slice(at + 1);
  if (domain === '')
    return { ok: false, problem: 'no-domain', message: 'Address must include a domain' };
  if (!validDomain(domain)) return syntax('Syntax: invalid domain');
  // eslint-disable-next-line no-control-regex
  const nonAscii = /[^\x00-\x7f]/.test(inner);
  return {
    ok: true,
    address: inner,
    domain: domain.toLowerCase(),
    literal: domain.startsWith('['),
    nonAscii,
    rest,
  };
}
