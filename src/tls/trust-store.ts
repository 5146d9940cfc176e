/**
 * The trust anchors for PKIX validation of SMTP servers and MTA-STS policy hosts: Node's bundled roots,
 * then the file named by NODE_EXTRA_CA_CERTS, then the configured `ca-file`. Passing `ca` to Node
 * replaces its default roots, so the full list is built here and compiled once into a secure context
 * with the client profile; every connection reuses it (parsing ~150 roots per connection would cost
 * more than the handshake). A second context holds the profile and no anchors at all, for hosts that
 * DANE authenticates (see `daneSecureContext`).
 *
 * On failure nothing is thrown: an unreadable file or one that is not a PEM certificate bundle is a
 * `TrustStoreError` naming the file, its source and the problem. NODE_EXTRA_CA_CERTS is treated as
 * strictly as `ca-file` (Node itself only warns): an operator who named a CA expects it to be used.
 */
import { X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createSecureContext, rootCertificates } from 'node:tls';
import type { SecureContext } from 'node:tls';
import { parsePemBundle, pemSha256 } from './pem.js';
import { CLIENT_PROFILE, secureContextOptions } from './profile.js';
import type { ClientProfile } from './profile.js';

export type TrustSourceKind = 'node-roots' | 'NODE_EXTRA_CA_CERTS' | 'ca-file';

export interface TrustSource {
  readonly kind: TrustSourceKind;
  /** The file, for the two file sources. */
  readonly file?: string;
  /** Certificates it contributed, before removal of duplicates. */
  readonly count: number;
}

export interface TrustStore {
  /** PEM certificates, without duplicates, in source order. */
  readonly certificates: readonly string[];
  /** Hex SHA-256 of each certificate's DER: recognises a chain that ends in a trust anchor. */
  readonly anchorsSha256: ReadonlySet<string>;
  readonly sources: readonly TrustSource[];
  /** The client profile with these anchors; pass it to `clientConnectionOptions`. */
  readonly secureContext: SecureContext;
  /**
   * The client profile with an empty trust store, for hosts DANE authenticates. Node completes the
   * peer's chain from the context's store (`getPeerCertificate(true)`), so only a context without
   * anchors records exactly the chain the server sent, which a DANE-TA digest record must match
   * (RFC 7672 section 3.1). `ca: []` is what empties it: without `ca`, Node loads its bundled roots
   * and NODE_EXTRA_CA_CERTS.
   */
  readonly daneSecureContext: SecureContext;
  /**
   * Whether a certificate of the store valid at `now` issued the DER certificate `der` (issuer name,
   * key identifiers, key usage, signature): finds the anchor of a chain whose root the server did not send.
   */
  issuedByAnchor(der: Uint8Array, now: Date): boolean;
}

export interface TrustStoreError {
  readonly kind: 'unreadable' | 'invalid';
  readonly source: Exclude<TrustSourceKind, 'node-roots'>;
  readonly file: string;
  readonly message: string;
}

export type TrustStoreResult =
  | { readonly ok: true; readonly store: TrustStore }
  | { readonly ok: false; readonly error: TrustStoreError };

export interface TrustStoreOptions {
  /** The configured `ca-file`: PEM, one or more certificates. */
  readonly caFile?: string;
  /** Where NODE_EXTRA_CA_CERTS is read from; `process.env` unless given. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Include `tls.rootCertificates`; true unless given. */
  readonly nodeRoots?: boolean;
  readonly profile?: ClientProfile;
}

/** Reads the files and builds the store. */
export async function loadTrustStore(options: TrustStoreOptions = {}): Promise<TrustStoreResult> {
  const parts: { source: TrustSource; certificates: readonly string[] }[] = [];
  if (options.nodeRoots ?? true) {
    parts.push({
      source: { kind: 'node-roots', count: rootCertificates.length },
      certificates: rootCertificates,
    });
  }
  const extra = (options.env ?? process.env)['NODE_EXTRA_CA_CERTS'];
  const files: [TrustStoreError['source'], string | undefined][] = [
    ['NODE_EXTRA_CA_CERTS', extra],
    ['ca-file', options.caFile],
  ];
  for (const [kind, file] of files) {
    if (file === undefined || file === '') continue;
    const read = await readBundle(kind, file);
    if (!read.ok) return read;
    parts.push({
      source: { kind, file, count: read.certificates.length },
      certificates: read.certificates,
    });
  }
  return { ok: true, store: buildTrustStore(parts, options.profile ?? CLIENT_PROFILE) };
}

/** Builds a store from certificates already in memory (no file I/O). */
export function buildTrustStore(
  parts: readonly { readonly source: TrustSource; readonly certificates: readonly string[] }[],
  profile: ClientProfile = CLIENT_PROFILE,
): TrustStore {
  const certificates: string[] = [];
  const anchorsSha256 = new Set<string>();
  for (const part of parts) {
    for (const pem of part.certificates) {
      const hash = pemSha256(pem);
      if (anchorsSha256.has(hash)) continue;
      anchorsSha256.add(hash);
      certificates.push(pem);
    }
  }
  const secureContext = createSecureContext(secureContextOptions(certificates, profile));
  const daneSecureContext = createSecureContext(secureContextOptions([], profile));
  return {
    certificates,
    anchorsSha256,
    sources: parts.map((part) => part.source),
    secureContext,
    daneSecureContext,
    issuedByAnchor: anchorIssuerLookup(certificates),
  };
}

/** Parses the store only when first asked: most stores never see a DANE host. */
function anchorIssuerLookup(certificates: readonly string[]): TrustStore['issuedByAnchor'] {
  let bySubject: Map<string, X509Certificate[]> | undefined;
  return (der, now) => {
    if (bySubject === undefined) {
      bySubject = new Map();
      for (const pem of certificates) {
        const anchor = new X509Certificate(pem);
        bySubject.set(anchor.subject, [...(bySubject.get(anchor.subject) ?? []), anchor]);
      }
    }
    const cert = new X509Certificate(der);
    return (bySubject.get(cert.issuer) ?? []).some(
      (anchor) => validAt(anchor, now) && issued(cert, anchor),
    );
  };
}

function validAt(cert: X509Certificate, now: Date): boolean {
  return Date.parse(cert.validFrom) <= now.getTime() && now.getTime() <= Date.parse(cert.validTo);
}

function issued(cert: X509Certificate, anchor: X509Certificate): boolean {
  try {
    return cert.checkIssued(anchor) && cert.verify(anchor.publicKey);
  } catch {
    // OpenSSL throws for a key it cannot verify with (e.g. a type it does not support): no issuer.
    return false;
  }
}

/** One line for logs and the CLI. */
export function describeTrustStoreError(error: TrustStoreError): string {
  return `${error.source} ${error.file} is ${error.kind}: ${error.message}`;
}

async function readBundle(
  source: TrustStoreError['source'],
  file: string,
): Promise<{ ok: true; certificates: readonly string[] } | { ok: false; error: TrustStoreError }> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    // Node's message ends with ", open '<file>'"; the file is already a field of its own.
    const message =
      error instanceof Error ? error.message.replace(/, \w+ '.*'$/, '') : String(error);
    return { ok: false, error: { kind: 'unreadable', source, file, message } };
  }
  const parsed = parsePemBundle(text);
  if (!parsed.ok)
    return { ok: false, error: { kind: 'invalid', source, file, message: parsed.message } };
  return { ok: true, certificates: parsed.certificates };
}
