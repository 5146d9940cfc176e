/**
 * The byte-level half of DANE verification: parsing DER certificates without throwing, selecting the
 * data a TLSA record covers (full certificate or SubjectPublicKeyInfo) and comparing it under the
 * record's matching type (RFC 6698 sections 2.1.2, 2.1.3). Pure: no I/O, no clock.
 *
 * Failure contract: malformed DER yields `undefined` from {@link parseCertificate}; matching a record
 * against data never throws and an unknown selector or matching type simply does not match.
 */
import { X509Certificate, createHash } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import type { TlsaRecord } from '../dns/types.js';

/** A certificate from the peer's chain (or from a TLSA record), parsed once. */
export interface ParsedCertificate {
  /** The DER exactly as received: selector 0 covers these bytes. */
  readonly der: Uint8Array;
  readonly x509: X509Certificate;
  /** DER SubjectPublicKeyInfo: selector 1 covers these bytes. */
  readonly spki: Uint8Array;
  readonly publicKey: KeyObject;
}

/** Parses DER; undefined when the bytes are not a certificate Node (OpenSSL) can read. */
export function parseCertificate(der: Uint8Array): ParsedCertificate | undefined {
  if (der.length === 0) return undefined;
  try {
    const x509 = new X509Certificate(der);
    const publicKey = x509.publicKey;
    const spki = new Uint8Array(publicKey.export({ type: 'spki', format: 'der' }));
    return { der, x509, spki, publicKey };
  } catch {
    // OpenSSL rejects truncated or non-certificate input with an exception; for us that is a value.
    return undefined;
  }
}

/** The digest of `data` under a TLSA matching type, or undefined for a type RFC 6698 does not define. */
export function digestFor(matchingType: number, data: Uint8Array): Uint8Array | undefined {
  switch (matchingType) {
    case 0:
      return data;
    case 1:
      return new Uint8Array(createHash('sha256').update(data).digest());
    case 2:
      return new Uint8Array(createHash('sha512').update(data).digest());
    default:
      return undefined;
  }
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  // The compared values are public (certificates and DNS data), so a constant-time compare buys nothing.
  return a.length === b.length && Buffer.from(a).equals(Buffer.from(b));
}

/** True when `record` covers this certificate: its selected part, digested, equals the record data. */
export function recordMatches(
  record: TlsaRecord,
  certDer: Uint8Array,
  spkiDer: Uint8Array,
): boolean {
  const selected = record.selector === 0 ? certDer : record.selector === 1 ? spkiDer : undefined;
  if (selected === undefined) return false;
  const digest = digestFor(record.matchingType, selected);
  return digest !== undefined && equalBytes(digest, record.data);
}

/** True when the record matches a certificate's raw bytes even though they could not be parsed. */
export function recordMatchesRawCertificate(record: TlsaRecord, der: Uint8Array): boolean {
  if (record.selector !== 0) return false;
  const digest = digestFor(record.matchingType, der);
  return digest !== undefined && equalBytes(digest, record.data);
}
