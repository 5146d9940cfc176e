/**
 * TLSA record vocabulary for DANE SMTP: which records a client may use, and how a record is written in
 * reports. Pure and total: every `TlsaRecord` is classified, nothing throws.
 *
 * RFC 7672 section 3.1.3: an SMTP client treats PKIX-TA(0) and PKIX-EE(1) as unusable (there is no agreed
 * set of public CAs for MX hosts), as well as any usage, selector or matching type it does not know, and
 * any digest whose length is wrong for its algorithm (a truncated record can never match, so counting it
 * as usable would turn a publishing mistake into an authentication failure instead of a TLSA-invalid one).
 */
import type { TlsaRecord } from '../dns/types.js';

/** RFC 7218 section 2.1 names of the certificate usages. */
export type TlsaUsageName = 'PKIX-TA' | 'PKIX-EE' | 'DANE-TA' | 'DANE-EE';

/** The usages DANE SMTP acts on (RFC 7672 section 3.1). */
export const DANE_TA = 2;
export const DANE_EE = 3;

/** Digest lengths in bytes per matching type (RFC 6698 section 2.1.3): 1 SHA-256, 2 SHA-512. */
const DIGEST_LENGTH: Readonly<Record<number, number>> = { 1: 32, 2: 64 };

/** The RFC 7218 acronym of a usage, or undefined for a value no RFC defines. */
export function usageName(usage: number): TlsaUsageName | undefined {
  switch (usage) {
    case 0:
      return 'PKIX-TA';
    case 1:
      return 'PKIX-EE';
    case 2:
      return 'DANE-TA';
    case 3:
      return 'DANE-EE';
    default:
      return undefined;
  }
}

/** Why a record is not usable by an SMTP client; `undefined` from {@link unusableReason} means usable. */
export type UnusableReason =
  | 'pkix-usage'
  | 'unknown-usage'
  | 'unknown-selector'
  | 'unknown-matching-type'
  | 'bad-digest-length'
  | 'empty-data';

/**
 * Classifies one record for SMTP use (RFC 7672 section 3.1.3, RFC 6698 section 2.1).
 * Returns undefined when the record is usable, otherwise the first reason it is not.
 */
export function unusableReason(record: TlsaRecord): UnusableReason | undefined {
  if (record.usage === 0 || record.usage === 1) return 'pkix-usage';
  if (record.usage !== DANE_TA && record.usage !== DANE_EE) return 'unknown-usage';
  if (record.selector !== 0 && record.selector !== 1) return 'unknown-selector';
  if (record.matchingType === 0) return record.data.length === 0 ? 'empty-data' : undefined;
  const expected = DIGEST_LENGTH[record.matchingType];
  if (expected === undefined) return 'unknown-matching-type';
  return record.data.length === expected ? undefined : 'bad-digest-length';
}

/** True when an SMTP client may authenticate with this record (RFC 7672 section 3.1.3). */
export function isUsable(record: TlsaRecord): boolean {
  return unusableReason(record) === undefined;
}

/** The usable subset of an RRset, in the order received. */
export function usableRecords(records: readonly TlsaRecord[]): TlsaRecord[] {
  return records.filter(isUsable);
}

/**
 * The record in presentation form, `usage selector matching HEX` with upper-case hex, as TLS-RPT wants it
 * in `policy-string` for a `tlsa` policy (RFC 8460 section 4.3).
 */
export function policyString(record: TlsaRecord): string {
  return `${record.usage} ${record.selector} ${record.matchingType} ${Buffer.from(record.data).toString('hex').toUpperCase()}`;
}

/** A short human label, `3 1 1 (DANE-EE SPKI SHA2-256)`, for log and bounce messages. */
export function describeRecord(record: TlsaRecord): string {
  const selector =
    record.selector === 0 ? 'Cert' : record.selector === 1 ? 'SPKI' : `selector ${record.selector}`;
  const matching =
    record.matchingType === 0
      ? 'Full'
      : record.matchingType === 1
        ? 'SHA2-256'
        : record.matchingType === 2
          ? 'SHA2-512'
          : `matching ${record.matchingType}`;
  const usage = usageName(record.usage) ?? `usage ${record.usage}`;
  return `${record.usage} ${record.selector} ${record.matchingType} (${usage} ${selector} ${matching})`;
}
