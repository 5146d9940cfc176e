/**
 * The human-readable sentence of a DSN (RFC 3464 section 2.1, the first part of the report): which
 * requirement stopped delivery, in words a sender can act on, derived from the recipient's `last_error`
 * class, RFC 3463 status and the failure message. Pure; every `LastError` has a sentence, so a new
 * class that nobody explained fails to compile.
 */
import type { LastError } from '../core/outcome.js';

export interface FailureFacts {
  readonly lastError: LastError;
  /** RFC 3463 status, e.g. `4.7.5`. */
  readonly code: string;
  /** The failure message recorded with the attempt (policy reason, TLS error, server reply). */
  readonly message: string;
  /** The MX host that was tried last, when one was. */
  readonly mx?: string;
  readonly domain: string;
  /** The server's reply, when it gave one. */
  readonly reply?: string;
}

/** One sentence naming the failed requirement, ending with the recorded detail. */
export function explainFailure(f: FailureFacts): string {
  const host = f.mx ?? `the mail servers of ${f.domain}`;
  const detail = f.message === '' ? '' : ` (${f.message})`;
  switch (f.lastError) {
    case 'dane':
      // RFC 7672 section 2.2: with usable TLSA records over DNSSEC, only a DANE-authenticated TLS session may carry mail.
      return `DANE could not authenticate ${host}: the domain publishes TLSA records over DNSSEC and the server's certificate or DNSSEC data did not match them${detail}.`;
    case 'mta-sts':
      // RFC 8461 section 4.2: an enforce policy requires a matching MX name and a WebPKI-valid certificate.
      return `The MTA-STS policy of ${f.domain} requires TLS with a certificate valid for a listed MX host, and ${host} did not meet it${detail}.`;
    case 'tls':
      if (f.code.endsWith('.7.4'))
        return `The TLS policy requires an encrypted connection, but ${host} did not offer STARTTLS${detail}.`;
      return `The TLS policy requires a verified encrypted connection, and the TLS handshake or certificate check with ${host} failed${detail}.`;
    case 'dns':
      return `The DNS lookup for ${f.domain} did not give a usable answer${detail}.`;
    case 'connection':
      return `mxsec could not connect to ${host}${detail}.`;
    case 'unexpected-reply':
      return `${host} did not accept the message${f.reply === undefined ? detail : `; it answered: ${f.reply}`}.`;
    case 'rate':
    case 'concurrency':
      return `Delivery to ${f.domain} was held back by a rate or concurrency limit${detail}.`;
    case 'io':
      return `A local problem on the sending server stopped delivery${detail}.`;
    case 'none':
      return `Delivery to ${host} failed${detail}.`;
  }
}
