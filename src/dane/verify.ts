/**
 * DANE verification of a server's certificate chain against a TLSA RRset (RFC 7672 section 3,
 * RFC 7671 section 5). Pure: the chain, the records, the reference names and `now` are all inputs.
 *
 * Any one usable record that matches authenticates the server. DANE-EE(3) records pin the leaf alone,
 * ignoring its names and dates (RFC 7671 section 5.1); DANE-TA(2) records pin an issuer, and the leaf is
 * then validated up to it like a private CA (RFC 7671 section 5.2). Unusable records (PKIX-TA, PKIX-EE,
 * unknown parameters) are ignored here, as RFC 7672 section 3.1.3 requires.
 *
 * Failure contract: never throws; malformed DER is a `bad-chain` verdict. When several records fail, the
 * verdict reports the most specific failure (a path that reached its anchor but failed a check beats a
 * broken path, which beats no anchor at all), since that is the one an operator can act on.
 */
import type { TlsaRecord } from '../dns/types.js';
import { DANE_EE, DANE_TA, describeRecord, isUsable } from './records.js';
import { anchorsFor, validateToAnchor } from './verify-chain.js';
import { parseCertificate, recordMatches } from './verify-match.js';

export interface DaneVerifyInput {
  /** The TLSA RRset; unusable records are skipped. */
  readonly records: readonly TlsaRecord[];
  /** DER certificates, leaf first, as the server sent them. */
  readonly chain: readonly Uint8Array[];
  /** Names the leaf may carry under DANE-TA (see `TlsaLookup.referenceNames`). */
  readonly referenceNames: readonly string[];
  readonly now: Date;
}

export type DaneFailureReason =
  | 'no-match'
  | 'name-mismatch'
  | 'expired'
  | 'not-yet-valid'
  | 'bad-chain'
  | 'no-server-auth'
  | 'no-certificate';

export type DaneVerdict =
  | { readonly ok: true; readonly matched: TlsaRecord; readonly usage: 'DANE-EE' | 'DANE-TA' }
  | { readonly ok: false; readonly reason: DaneFailureReason; readonly message: string };

type Failure = { readonly reason: DaneFailureReason; readonly message: string };

/** How far a failed DANE-TA attempt got; the highest rank is the one reported. */
function rank(reason: DaneFailureReason): number {
  switch (reason) {
    case 'no-certificate':
    case 'no-match':
      return 0;
    case 'bad-chain':
      return 1;
    case 'expired':
    case 'not-yet-valid':
    case 'no-server-auth':
    case 'name-mismatch':
      return 2;
  }
}

/**
 * Verifies a server chain against TLSA records (RFC 7672 section 3.1, RFC 7671 section 5).
 * @returns `ok: true` with the first record that authenticated the server, otherwise the failure.
 */
export function verifyDane(input: DaneVerifyInput): DaneVerdict {
  const usable = input.records.filter(isUsable);
  const leafDer = input.chain[0];
  if (leafDer === undefined || leafDer.length === 0) {
    return { ok: false, reason: 'no-certificate', message: 'the server sent no certificate' };
  }
  const parsed = input.chain.map(parseCertificate);
  const leaf = parsed[0];
  if (leaf === undefined)
    return { ok: false, reason: 'bad-chain', message: 'the server certificate is not valid DER' };
  if (usable.length === 0)
    return { ok: false, reason: 'no-match', message: 'no usable TLSA record' };

  // RFC 7671 section 5.1: DANE-EE binds the key alone; names and dates are deliberately not checked.
  for (const record of usable) {
    if (record.usage === DANE_EE && recordMatches(record, leaf.der, leaf.spki)) {
      return { ok: true, matched: record, usage: 'DANE-EE' };
    }
  }

  let failure: Failure = {
    reason: 'no-match',
    message: `no TLSA record matches the certificate chain (${usable.map(describeRecord).join('; ')})`,
  };
  const keep = (candidate: Failure): void => {
    if (rank(candidate.reason) > rank(failure.reason)) failure = candidate;
  };
  for (const record of usable) {
    if (record.usage !== DANE_TA) continue;
    const anchors = anchorsFor(record, input.chain, parsed);
    if (anchors === 'bad-data') {
      keep({
        reason: 'bad-chain',
        message: `TLSA ${describeRecord(record)} designates a malformed trust anchor`,
      });
      continue;
    }
    for (const anchor of anchors) {
      const problem = validateToAnchor({
        parsed,
        anchor,
        referenceNames: input.referenceNames,
        now: input.now,
      });
      if (problem === undefined) return { ok: true, matched: record, usage: 'DANE-TA' };
      keep({
        reason: problem.reason,
        message: `TLSA ${describeRecord(record)}: ${problem.message}`,
      });
    }
  }
  return { ok: false, ...failure };
}
