/**
 * MTA-STS discovery record parsing (RFC 8461 section 3.1). Pure: takes the TXT strings found at
 * `_mta-sts.<domain>` and says whether they announce a policy, and with which `id`. Never throws; every
 * reason a domain has no usable record is a value, because RFC 8461 treats all of them the same way
 * ("assume the recipient domain does not have an available MTA-STS Policy") while reports and logs want
 * to know which one it was.
 *
 * Decisions where the RFC leaves room:
 * - A record is a candidate when it starts with `v=STSv1`, optional whitespace and `;`. The prose says
 *   "records that do not begin with `v=STSv1;`", the ABNF (`sts-field-delim = *WSP ";" *WSP`) also admits
 *   whitespace before the `;` (erratum 6285 points out the conflict); we follow the ABNF.
 * - Names and values are case-sensitive (`%s"v=STSv1"`, `%s"id="`): `V=STSv1` is not a candidate, and
 *   `ID=x` is an extension field, which leaves the record without its required `id`.
 * - `id` is required and must appear once: a record with two ids cannot say which policy is current.
 * - A field named `id` whose value is not 1 to 32 alphanumerics makes the record invalid, even though the
 *   ABNF could read it as an extension field: accepting it would silently drop the domain's intent.
 * - Nothing may follow the last field except an optional delimiter: trailing spaces are invalid.
 */

/** What the TXT records at `_mta-sts.<domain>` say. */
export type StsTxtDiscovery =
  | { readonly kind: 'record'; readonly id: string; readonly record: string }
  | { readonly kind: 'none'; readonly reason: StsTxtNoneReason; readonly detail: string };

/**
 * `no-record`: no TXT record starts with `v=STSv1;`. `multiple-records`: more than one does.
 * `invalid-record`: exactly one does, but it does not parse.
 */
export type StsTxtNoneReason = 'no-record' | 'multiple-records' | 'invalid-record';

/** One parsed `v=STSv1` record. */
export type StsTxtParse =
  | { readonly ok: true; readonly id: string; readonly extensions: ReadonlyMap<string, string> }
  | { readonly ok: false; readonly message: string };

const CANDIDATE = /^v=STSv1[ \t]*;/;
const ID_VALUE = /^[A-Za-z0-9]{1,32}$/;
const EXTENSION = /^([A-Za-z0-9][A-Za-z0-9_.-]{0,31})=([\x21-\x3a\x3c\x3e-\x7e]+)$/;
const WSP_ONLY = /^[ \t]*$/;

/** True when a TXT record takes part in discovery at all (RFC 8461 section 3.1). */
export function isStsCandidate(record: string): boolean {
  return CANDIDATE.test(record);
}

/**
 * Parses one record against the `sts-text-record` ABNF of RFC 8461 section 3.1. Unknown extension fields
 * are ignored (but must be well-formed, since the ABNF defines their syntax).
 */
export function parseStsTxt(record: string): StsTxtParse {
  if (!record.startsWith('v=STSv1'))
    return { ok: false, message: 'record does not start with "v=STSv1"' };
  // Values may contain neither ";" nor whitespace, so splitting on ";" recovers the ABNF's fields.
  const parts = record.slice('v=STSv1'.length).split(';');
  if (!WSP_ONLY.test(parts[0] ?? ''))
    return { ok: false, message: 'unexpected text after "v=STSv1"' };
  const fields = parts.slice(1);
  // `[sts-field-delim]`: one trailing delimiter (and its whitespace) is allowed, nothing else.
  const lastPart = fields[fields.length - 1] ?? '';
  if (WSP_ONLY.test(lastPart)) fields.pop();
  // Whitespace may only precede a ";" (`*WSP ";" *WSP`), so an undelimited last field cannot end in it.
  else if (/[ \t]$/.test(lastPart))
    return { ok: false, message: 'whitespace after the last field' };
  if (fields.length === 0) return { ok: false, message: 'no fields after "v=STSv1"' };

  let id: string | undefined;
  const extensions = new Map<string, string>();
  for (const raw of fields) {
    const field = raw.replace(/^[ \t]+/, '').replace(/[ \t]+$/, '');
    if (/[ \t]/.test(field)) {
      return { ok: false, message: `whitespace inside field "${field}"` };
    }
    if (field.startsWith('id=')) {
      const value = field.slice(3);
      if (!ID_VALUE.test(value))
        return { ok: false, message: `id "${value}" is not 1 to 32 letters and digits` };
      if (id !== undefined) return { ok: false, message: 'more than one id field' };
      id = value;
      continue;
    }
    const extension = EXTENSION.exec(field);
    if (extension === null) return { ok: false, message: `malformed field "${field}"` };
    extensions.set(extension[1] ?? '', extension[2] ?? '');
  }
  if (id === undefined) return { ok: false, message: 'missing id field' };
  return { ok: true, id, extensions };
}

/**
 * Applies RFC 8461 section 3.1 to all TXT records of `_mta-sts.<domain>`: non-candidates are discarded;
 * the domain has a policy only when exactly one candidate remains and it parses.
 */
export function discoverStsRecord(records: readonly string[]): StsTxtDiscovery {
  const candidates = records.filter(isStsCandidate);
  const only = candidates[0];
  if (only === undefined) {
    return {
      kind: 'none',
      reason: 'no-record',
      detail: `no TXT record starts with "v=STSv1;" (${records.length} TXT records)`,
    };
  }
  if (candidates.length > 1) {
    return {
      kind: 'none',
      reason: 'multiple-records',
      detail: `${candidates.length} TXT records start with "v=STSv1;"`,
    };
  }
  const parsed = parseStsTxt(only);
  if (!parsed.ok) return { kind: 'none', reason: 'invalid-record', detail: parsed.message };
  return { kind: 'record', id: parsed.id, record: only };
}
