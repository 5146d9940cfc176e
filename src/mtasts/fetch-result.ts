/**
 * The outcome of fetching an MTA-STS policy over HTTPS (RFC 8461 section 3.3), shared by the fetcher
 * (`fetch.ts`, the only module here that does I/O) and the pure code that consumes it (`resolve.ts`,
 * `requirement.ts`). Every way a fetch can fail is a `PolicyFetchError` kind; the failure table in
 * `policy/failure.ts` maps each kind onto the TLS-RPT result types of RFC 8460 section 4.3.
 */
import type { DnsFailure } from '../dns/types.js';
import type { PolicyParseError, StsPolicy } from './parse-policy.js';

/** Why the certificate of `mta-sts.<domain>` was refused (RFC 8461 section 3.3). */
export type PolicyTlsReason = 'untrusted' | 'hostname' | 'expired' | 'not-yet-valid' | 'other';

export type PolicyFetchError =
  /** `mta-sts.<domain>` has no A/AAAA record, or the lookup failed (`failure` set). */
  | { readonly kind: 'dns'; readonly message: string; readonly failure?: DnsFailure }
  /** TCP connect failed or the connection broke before a complete answer. */
  | { readonly kind: 'connect'; readonly message: string; readonly code?: string }
  | {
      readonly kind: 'tls';
      readonly reason: PolicyTlsReason;
      readonly message: string;
      readonly code?: string;
    }
  /** Any status other than 200 and 3xx. */
  | { readonly kind: 'status'; readonly status: number; readonly message: string }
  /** RFC 8461 section 3.3: "HTTP 3xx redirects MUST NOT be followed". */
  | {
      readonly kind: 'redirect';
      readonly status: number;
      readonly location?: string;
      readonly message: string;
    }
  /** The media type was not `text/plain`. */
  | { readonly kind: 'media-type'; readonly contentType?: string; readonly message: string }
  /** The body (or its Content-Length) exceeded the limit. */
  | { readonly kind: 'too-large'; readonly limit: number; readonly message: string }
  /** The whole fetch (DNS, connect, handshake, headers, body) exceeded its time budget. */
  | { readonly kind: 'timeout'; readonly timeoutMs: number; readonly message: string }
  /** The body was not UTF-8 or not a valid policy (RFC 8461 section 3.2). */
  | { readonly kind: 'parse'; readonly error: PolicyParseError; readonly message: string };

export type PolicyFetchErrorKind = PolicyFetchError['kind'];

export type PolicyFetchResult =
  | { readonly ok: true; readonly policy: StsPolicy; readonly text: string }
  | { readonly ok: false; readonly error: PolicyFetchError };

/** Fetches the policy of `domain`; implemented by `createPolicyFetcher` and by test fixtures. */
export type PolicyFetcher = (
  domain: string,
  options: { readonly timeoutMs: number },
) => Promise<PolicyFetchResult>;
