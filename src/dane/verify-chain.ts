/**
 * DANE-TA(2) path validation (RFC 7671 section 5.2, RFC 7672 section 3.1.1): find the trust anchor a
 * TLSA record designates, then build a path from the leaf up to it through the certificates the server
 * sent, checking signatures, issuer names, CA flags, validity dates at `now` and, on the leaf, the
 * serverAuth extended key usage and the host name (SAN dNSName only, RFC 7672 section 3.2.3).
 *
 * Pure: `now` is an input. Failure contract: every problem is a `ChainFailure` value; malformed
 * certificates are skipped as path candidates and never throw.
 */
import { createPublicKey } from 'node:crypto';
import type { KeyObject, X509Certificate } from 'node:crypto';
import type { TlsaRecord } from '../dns/types.js';
import type { ParsedCertificate } from './verify-match.js';
import { parseCertificate, recordMatches, recordMatchesRawCertificate } from './verify-match.js';

/** A trust anchor: a whole certificate (issuer name and key are checked) or a bare public key. */
export type TrustAnchor =
  | { readonly kind: 'certificate'; readonly cert: ParsedCertificate }
  | { readonly kind: 'key'; readonly key: KeyObject };

export type ChainFailureReason =
  'bad-chain' | 'expired' | 'not-yet-valid' | 'no-server-auth' | 'name-mismatch';

export interface ChainFailure {
  readonly reason: ChainFailureReason;
  readonly message: string;
}

/** Paths longer than this are refused: real MX chains have one or two intermediates. */
const MAX_PATH = 8;
const SERVER_AUTH = '1.3.6.1.5.5.7.3.1';
const ANY_EKU = '2.5.29.37.0';

/**
 * The trust anchors a DANE-TA record designates. Full records (matching type 0) carry the anchor
 * themselves, so the server need not send it; digest records can only name a certificate the server
 * sent above the leaf (RFC 7671 section 5.2.2). `bad-data` means the record names something unusable.
 */
export function anchorsFor(
  record: TlsaRecord,
  chainDer: readonly Uint8Array[],
  parsed: readonly (ParsedCertificate | undefined)[],
): TrustAnchor[] | 'bad-data' {
  if (record.matchingType === 0 && record.selector === 0) {
    const cert = parseCertificate(record.data);
    return cert === undefined ? 'bad-data' : [{ kind: 'certificate', cert }];
  }
  if (record.matchingType === 0 && record.selector === 1) {
    try {
      return [
        {
          kind: 'key',
          key: createPublicKey({ key: Buffer.from(record.data), format: 'der', type: 'spki' }),
        },
      ];
    } catch {
      return 'bad-data';
    }
  }
  const anchors: TrustAnchor[] = [];
  // Depth 0 is skipped: a TA record that matches the leaf is not a trust anchor for it (only EE records are).
  for (let i = 1; i < chainDer.length; i += 1) {
    const cert = parsed[i];
    if (cert === undefined) {
      if (recordMatchesRawCertificate(record, chainDer[i] ?? new Uint8Array())) return 'bad-data';
      continue;
    }
    if (!recordMatches(record, cert.der, cert.spki)) continue;
    // A pinned key trusts whatever that key signed; a pinned certificate also pins its subject name.
    anchors.push(
      record.selector === 1 ? { kind: 'key', key: cert.publicKey } : { kind: 'certificate', cert },
    );
  }
  return anchors;
}

function signedBy(subject: X509Certificate, key: KeyObject): boolean {
  try {
    return subject.verify(key);
  } catch {
    return false;
  }
}

function issuedByCertificate(subject: X509Certificate, issuer: X509Certificate): boolean {
  try {
    return subject.checkIssued(issuer) && signedBy(subject, issuer.publicKey);
  } catch {
    return false;
  }
}

function issuedByAnchor(subject: X509Certificate, anchor: TrustAnchor): boolean {
  return anchor.kind === 'key'
    ? signedBy(subject, anchor.key)
    : issuedByCertificate(subject, anchor.cert.x509);
}

/** The certificates from the leaf up to, excluding, the anchor; or why no such path exists. */
function buildPath(
  leaf: ParsedCertificate,
  candidates: readonly ParsedCertificate[],
  anchor: TrustAnchor,
): ParsedCertificate[] | ChainFailure {
  const path = [leaf];
  const remaining = [...candidates];
  let current = leaf;
  while (path.length <= MAX_PATH) {
    if (issuedByAnchor(current.x509, anchor)) return path;
    // Servers do not always send their chain in order, so any sent CA certificate may be the next link.
    const index = remaining.findIndex(
      (c) => c.x509.ca && issuedByCertificate(current.x509, c.x509),
    );
    const next = remaining[index];
    if (next === undefined) {
      return {
        reason: 'bad-chain',
        message: `no signature path from ${current.x509.subject} to the DANE-TA trust anchor`,
      };
    }
    remaining.splice(index, 1);
    path.push(next);
    current = next;
  }
  return { reason: 'bad-chain', message: `certificate path longer than ${MAX_PATH}` };
}

function checkDates(cert: X509Certificate, now: Date): ChainFailure | undefined {
  const notBefore = Date.parse(cert.validFrom);
  const notAfter = Date.parse(cert.validTo);
  if (Number.isNaN(notBefore) || Number.isNaN(notAfter))
    return { reason: 'bad-chain', message: `unreadable validity dates in ${cert.subject}` };
  if (now.getTime() < notBefore)
    return {
      reason: 'not-yet-valid',
      message: `${cert.subject} is not valid before ${cert.validFrom}`,
    };
  if (now.getTime() > notAfter)
    return { reason: 'expired', message: `${cert.subject} expired ${cert.validTo}` };
  return undefined;
}

/**
 * The leaf's extended key usage OIDs, undefined without the extension. Node 20 calls the property
 * `keyUsage`; later versions add `extKeyUsage`. Both are read so that a rename cannot silently skip the check.
 */
function extendedKeyUsage(cert: X509Certificate): readonly string[] | undefined {
  const named = cert as unknown as {
    readonly extKeyUsage?: readonly string[];
    readonly keyUsage?: readonly string[];
  };
  return named.extKeyUsage ?? named.keyUsage;
}

/** RFC 7672 section 3.2.3: SAN dNSName only, a wildcard stands for exactly one leftmost label. */
export function leafMatchesName(
  leaf: X509Certificate,
  referenceNames: readonly string[],
): string | undefined {
  for (const name of referenceNames) {
    // A leading dot would make OpenSSL match any subdomain, which no reference identifier means.
    if (name === '' || name.startsWith('.')) continue;
    try {
      const matched = leaf.checkHost(name, {
        subject: 'never',
        wildcards: true,
        partialWildcards: false,
        multiLabelWildcards: false,
      });
      if (matched !== undefined) return name;
    } catch {
      // checkHost throws on names OpenSSL cannot parse; such a name cannot match.
    }
  }
  return undefined;
}

/**
 * Validates the sent chain up to `anchor`. Returns undefined when the leaf is authenticated.
 * `parsed` holds the chain as sent (leaf at 0); unparsable entries are skipped as path candidates.
 */
export function validateToAnchor(input: {
  readonly parsed: readonly (ParsedCertificate | undefined)[];
  readonly anchor: TrustAnchor;
  readonly referenceNames: readonly string[];
  readonly now: Date;
}): ChainFailure | undefined {
  const [leaf, ...rest] = input.parsed;
  if (leaf === undefined)
    return { reason: 'bad-chain', message: 'the leaf certificate is malformed' };
  const candidates = rest.filter((c): c is ParsedCertificate => c !== undefined);
  const path = buildPath(leaf, candidates, input.anchor);
  if (!Array.isArray(path)) return path;
  // The anchor itself is trusted as published; everything below it must be valid now (RFC 7671 5.2).
  for (const cert of path) {
    const dates = checkDates(cert.x509, input.now);
    if (dates !== undefined) return dates;
  }
  const eku = extendedKeyUsage(leaf.x509);
  if (eku !== undefined && eku.length > 0 && !eku.includes(SERVER_AUTH) && !eku.includes(ANY_EKU)) {
    return {
      reason: 'no-server-auth',
      message: `${leaf.x509.subject} is not for TLS server authentication (EKU ${eku.join(', ')})`,
    };
  }
  if (leafMatchesName(leaf.x509, input.referenceNames) === undefined) {
    const names = input.referenceNames.join(', ');
    return {
      reason: 'name-mismatch',
      message: `certificate names (${leaf.x509.subjectAltName ?? 'no subjectAltName'}) match none of ${names}`,
    };
  }
  return undefined;
}
