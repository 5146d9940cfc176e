/**
 * Pure functions from what Node reports about the peer's certificates to the facts mxsec records
 * (`CertificateFacts`) and to the PKIX verdict (`PkixVerdict`). No I/O and no clock: validity is
 * judged by OpenSSL during the handshake, these functions only name its result.
 *
 * The chain is Node's `getPeerCertificate(true)` walk: leaf first, then issuers as OpenSSL linked
 * them. Certificates the peer sent that are not on the issuing path are not in it, and a root the peer
 * did not send is appended from the handshake's trust store when OpenSSL found it there (never for DANE
 * hosts, whose handshake has an empty store: see handshake.ts). DER that does not parse cannot come
 * from OpenSSL, so it throws (a bug, not a peer behaviour).
 */
import { X509Certificate, createHash } from 'node:crypto';
import type { CertificateFacts, PkixFailureReason, PkixVerdict } from './types.js';

/** The part of Node's `DetailedPeerCertificate` the walk needs. */
export interface PeerCertificateNode {
  readonly raw?: Uint8Array;
  readonly fingerprint256?: string;
  readonly issuerCertificate?: PeerCertificateNode;
}

/** Bounds the walk whatever the peer sends; RFC 5280 sets no limit, OpenSSL's default depth is 100. */
const MAX_CHAIN = 16;

/**
 * Facts of certificates already seen, by SHA-256 of their DER. `certificateFacts` is a function of the
 * DER alone, and a relay sees the same few MX certificates over and over: parsing one (X.509, SPKI
 * export and hash, signature check) costs more than the rest of a handshake's bookkeeping.
 */
const SEEN = new Map<string, CertificateFacts>();
const SEEN_LIMIT = 1024;

function factsOf(der: Uint8Array): CertificateFacts {
  const fingerprint = sha256Hex(der);
  const known = SEEN.get(fingerprint);
  if (known !== undefined) return known;
  const facts = certificateFacts(der);
  // Oldest first out: a Map iterates in insertion order.
  if (SEEN.size >= SEEN_LIMIT) SEEN.delete(SEEN.keys().next().value ?? '');
  SEEN.set(fingerprint, facts);
  return facts;
}

/**
 * Facts for each certificate of the peer's chain, leaf first. Stops after a self-issued certificate
 * (a root), at a fingerprint already seen (Node links a root to itself), or when there is no issuer.
 * A peer without a certificate gives an empty list.
 */
export function chainFacts(leaf: PeerCertificateNode | undefined): CertificateFacts[] {
  const facts: CertificateFacts[] = [];
  const seen = new Set<string>();
  for (
    let node = leaf;
    node?.raw !== undefined && facts.length < MAX_CHAIN;
    node = node.issuerCertificate
  ) {
    const fingerprint = node.fingerprint256 ?? sha256Hex(node.raw);
    if (seen.has(fingerprint)) break;
    seen.add(fingerprint);
    const cert = factsOf(node.raw);
    facts.push(cert);
    if (cert.selfSigned) break;
  }
  return facts;
}

/** RFC 5280 section 4.1 fields of one DER certificate, as mxsec records them. */
export function certificateFacts(der: Uint8Array): CertificateFacts {
  const x = new X509Certificate(der);
  const spki = x.publicKey.export({ type: 'spki', format: 'der' });
  return {
    subject: distinguishedName(x.subject),
    issuer: distinguishedName(x.issuer),
    dnsNames: dnsNames(x.subjectAltName),
    notBefore: new Date(x.validFrom).toISOString(),
    notAfter: new Date(x.validTo).toISOString(),
    spkiSha256: sha256Hex(spki),
    // RFC 5280 section 3.2: self-issued (subject = issuer) and signed by its own key. Not
    // `checkIssued`: OpenSSL's issuer check also demands keyCertSign, which a self-signed leaf lacks.
    selfSigned: x.subject === x.issuer && x.verify(x.publicKey),
    der: new Uint8Array(x.raw),
  };
}

/** Hex SHA-256 of a certificate's DER: the key of `TrustStore.anchorsSha256`. */
export function sha256Hex(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/**
 * Where the chain ends. `trust-anchor`: in a certificate of the trust store, or in one that a store
 * certificate issued (`issuedByAnchor`, for a chain recorded without the store's help). `untrusted-root`:
 * in a self-signed certificate the store does not hold. `incomplete`: in a certificate whose issuer is
 * neither sent nor known.
 */
export type ChainEnd = 'trust-anchor' | 'untrusted-root' | 'incomplete';

export function chainEnd(
  chain: readonly CertificateFacts[],
  anchorsSha256: ReadonlySet<string>,
  issuedByAnchor: (cert: CertificateFacts) => boolean = () => false,
): ChainEnd {
  if (chain.some((cert) => anchorsSha256.has(sha256Hex(cert.der)) || issuedByAnchor(cert)))
    return 'trust-anchor';
  return chain.at(-1)?.selfSigned === true ? 'untrusted-root' : 'incomplete';
}

/** The codes of a chain that OpenSSL could not link to an anchor of the handshake's trust store. */
const NO_ANCHOR = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
]);

/**
 * The verify code of a handshake made against an empty trust store (DANE hosts, see handshake.ts),
 * carried over to the real store, where the chain has `end`. OpenSSL looks for the anchor first and
 * then checks extensions, signatures and dates, going on past each error (Node's verify callback lets
 * every error through) and reporting the last one it met; so when the code says only "no anchor" and
 * the chain does reach one of the store, nothing else was wrong with the chain the server sent.
 * Undefined means verified.
 */
export function anchoredVerifyCode(code: string | undefined, end: ChainEnd): string | undefined {
  return code !== undefined && NO_ANCHOR.has(code) && end === 'trust-anchor' ? undefined : code;
}

/** OpenSSL verify codes (`X509_V_ERR_*` without the prefix, as Node reports them) by reason. */
const CHAIN_ERRORS: Readonly<Record<string, PkixFailureReason>> = {
  CERT_HAS_EXPIRED: 'expired',
  CERT_NOT_YET_VALID: 'not-yet-valid',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'self-signed',
  SELF_SIGNED_CERT_IN_CHAIN: 'self-signed',
  UNABLE_TO_GET_ISSUER_CERT: 'untrusted-issuer',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'untrusted-issuer',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'untrusted-issuer',
  // Node's own name check, should a caller not have turned it off (see profile.ts).
  ERR_TLS_CERT_ALTNAME_INVALID: 'hostname-mismatch',
};

/**
 * The PKIX verdict (RFC 5280 section 6 path validation, then RFC 6125 section 6 name check).
 *
 * Precedence: a chain problem wins over a name mismatch. A name in a certificate nobody vouches for
 * proves nothing, so "expired" or "untrusted" is the more fundamental finding, and it is what the
 * receiving operator must fix first; TLS-RPT (RFC 8460 section 4.3) has one result type per session,
 * so we report that one. rustls/webpki check in the same order.
 *
 * OpenSSL reports only the last error it met, so an expired self-signed certificate comes back as
 * `CERT_HAS_EXPIRED`. `end` corrects that: a date error on a chain that does not reach a trust
 * anchor is reported as the missing trust, the more fundamental problem.
 *
 * @param chainError Node's `authorizationError` (null or undefined when the chain verified).
 * @param hostError The error of `tls.checkServerIdentity`, undefined when the name matched.
 * @param end Where the chain ends; `trust-anchor` when unknown.
 */
export function classifyPkix(
  chainError: string | null | undefined,
  hostError: Error | undefined,
  end: ChainEnd = 'trust-anchor',
): PkixVerdict {
  if (chainError !== null && chainError !== undefined && chainError !== '') {
    let reason: PkixFailureReason = CHAIN_ERRORS[chainError] ?? 'other';
    const dateError = reason === 'expired' || reason === 'not-yet-valid';
    if (dateError && end === 'untrusted-root') reason = 'self-signed';
    if (dateError && end === 'incomplete') reason = 'untrusted-issuer';
    return { valid: false, reason, message: `certificate chain: ${chainError}` };
  }
  if (hostError !== undefined)
    return { valid: false, reason: 'hostname-mismatch', message: hostError.message };
  return { valid: true };
}

/** Node prints a DN one attribute per line; mxsec shows it on one line, in the certificate's order. */
function distinguishedName(text: string): string {
  return text
    .split('\n')
    .filter((line) => line !== '')
    .join(', ');
}

/**
 * dNSName entries of Node's subjectAltName text (`DNS:a, DNS:b, IP Address:...`). Node quotes a value
 * that contains a comma or quote as a JSON string, so the split honours quotes.
 */
function dnsNames(text: string | undefined): string[] {
  if (text === undefined) return [];
  const names: string[] = [];
  for (const match of text.matchAll(/([A-Za-z ]+):("(?:[^"\\]|\\.)*"|[^,]*)(?:, |$)/g)) {
    const [, type, value] = match;
    if (type !== 'DNS' || value === undefined) continue;
    names.push((value.startsWith('"') ? String(JSON.parse(value)) : value).toLowerCase());
  }
  return names;
}
