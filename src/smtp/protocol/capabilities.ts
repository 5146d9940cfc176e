/**
 * EHLO capabilities (RFC 5321 4.1.1.1): the keywords of the EHLO reply's lines after the first.
 * Keywords are case-insensitive; unknown ones are kept in `keywords` so nothing is silently lost.
 * Parsing never fails: a malformed parameter (e.g. `SIZE abc`) makes that one extension read as absent.
 */
import type { SmtpReply } from './reply.js';

export interface Capabilities {
  /** RFC 1870. `undefined` when not advertised; 0 when advertised without a (positive) limit. */
  readonly size: number | undefined;
  /** RFC 2920. */
  readonly pipelining: boolean;
  /** RFC 6152. */
  readonly eightBitMime: boolean;
  /** RFC 6531. */
  readonly smtpUtf8: boolean;
  /** RFC 2034. */
  readonly enhancedStatusCodes: boolean;
  /** RFC 3207. */
  readonly startTls: boolean;
  /** RFC 3030; recorded but never used by this client. */
  readonly chunking: boolean;
  /** RFC 4954 mechanisms, upper-case; empty when AUTH was not advertised. */
  readonly auth: readonly string[];
  /** Every advertised keyword, upper-case, with its raw parameters. */
  readonly keywords: ReadonlyMap<string, readonly string[]>;
  /** The greeting line of the EHLO reply (the server's name and text). */
  readonly serverName: string;
}

/** What a server that answered HELO, not EHLO, offers: nothing. */
export function heloCapabilities(reply: SmtpReply): Capabilities {
  return parseCapabilities({ ...reply, lines: reply.lines.slice(0, 1) });
}

/** Reads the capabilities from a positive EHLO reply. */
export function parseCapabilities(reply: SmtpReply): Capabilities {
  const keywords = new Map<string, string[]>();
  for (const line of reply.lines.slice(1)) {
    const [keyword, ...params] = line.trim().split(/\s+/);
    if (keyword === undefined || keyword === '') continue;
    keywords.set(keyword.toUpperCase(), params);
  }
  return {
    size: sizeOf(keywords.get('SIZE')),
    pipelining: keywords.has('PIPELINING'),
    eightBitMime: keywords.has('8BITMIME'),
    smtpUtf8: keywords.has('SMTPUTF8'),
    enhancedStatusCodes: keywords.has('ENHANCEDSTATUSCODES'),
    startTls: keywords.has('STARTTLS'),
    chunking: keywords.has('CHUNKING'),
    auth: (keywords.get('AUTH') ?? []).map((m) => m.toUpperCase()),
    keywords,
    serverName: reply.lines[0] ?? '',
  };
}

// RFC 1870 section 4: `SIZE` alone or `SIZE 0` means no fixed limit is announced.
function sizeOf(params: readonly string[] | undefined): number | undefined {
  if (params === undefined) return undefined;
  const value = params[0];
  if (value === undefined) return 0;
  if (!/^\d{1,15}$/.test(value)) return undefined;
  return Number(value);
}
