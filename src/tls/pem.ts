/**
 * Splits a PEM bundle (RFC 7468) into its certificates and checks that each one parses as X.509.
 * Pure: the caller reads the file. Text outside the CERTIFICATE blocks (comments, the "subject=" lines
 * that `openssl` writes) is ignored, as OpenSSL does; other PEM types (keys, CRLs) are skipped. A
 * block that does not parse, or a bundle with no certificate at all, is an `invalid` result naming
 * the block, never an exception.
 */
import { X509Certificate, createHash } from 'node:crypto';

export type PemBundleResult =
  | { readonly ok: true; readonly certificates: readonly string[] }
  | { readonly ok: false; readonly message: string };

const BEGIN = '-----BEGIN CERTIFICATE-----';
const END = '-----END CERTIFICATE-----';
const BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g;

/** RFC 7468 section 5.1: the "CERTIFICATE" label; each block must be one DER certificate. */
export function parsePemBundle(text: string): PemBundleResult {
  const blocks = text.match(BLOCK) ?? [];
  const certificates: string[] = [];
  for (const [index, block] of blocks.entries()) {
    try {
      new X509Certificate(block);
    } catch (error) {
      return {
        ok: false,
        message: `certificate ${index + 1} of ${blocks.length} is not valid X.509: ${errorText(error)}`,
      };
    }
    certificates.push(block + '\n');
  }
  // A truncated last block would otherwise be dropped silently and its CA be missing at run time.
  const lastEnd = text.lastIndexOf(END);
  if ((lastEnd < 0 ? text : text.slice(lastEnd + END.length)).includes(BEGIN)) {
    return { ok: false, message: `certificate ${blocks.length + 1} has no END CERTIFICATE line` };
  }
  if (certificates.length === 0) return { ok: false, message: 'no PEM CERTIFICATE block found' };
  return { ok: true, certificates };
}

/** Hex SHA-256 of a PEM certificate's DER encoding: how trust anchors are recognised in a chain. */
export function pemSha256(pem: string): string {
  return createHash('sha256').update(new X509Certificate(pem).raw).digest('hex');
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
