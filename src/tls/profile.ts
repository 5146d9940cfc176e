/**
 * The TLS client profile: what mxsec offers in a ClientHello, chosen to equal rustls's defaults (the
 * library Stalwart uses), so that a server reachable by one is reachable by the other. TLS 1.2 and 1.3
 * only; ECDHE key exchange only; AEAD ciphers only; groups X25519, P-256, P-384; no renegotiation, no
 * compression, no session tickets. Pure data plus functions that turn it into Node options; no I/O.
 *
 * A server that supports none of this fails the handshake (`protocol-version` or `no-shared-cipher`);
 * there is deliberately no weaker fallback here. A TLS strategy that wants plaintext after such a
 * failure says so through `last_error = 'tls'` in its expression.
 */
import { constants } from 'node:crypto';
import { isIP } from 'node:net';
import type {
  ConnectionOptions,
  SecureContext,
  SecureContextOptions,
  SecureVersion,
} from 'node:tls';

/** The profile as data, for tests, `describe` output and documentation. */
export interface ClientProfile {
  readonly minVersion: SecureVersion;
  readonly maxVersion: SecureVersion;
  /** RFC 8446 section B.4 names, most preferred first. */
  readonly tls13CipherSuites: readonly string[];
  /** OpenSSL names of the TLS 1.2 suites (RFC 5289, RFC 7905), most preferred first. */
  readonly tls12Ciphers: readonly string[];
  /** Supported groups (RFC 8446 section 4.2.7, RFC 8422 section 5.1.1), most preferred first. */
  readonly groups: readonly string[];
  /** OpenSSL `SSL_OP_*` flags, OR-ed. */
  readonly secureOptions: number;
}

export const CLIENT_PROFILE: ClientProfile = Object.freeze({
  minVersion: 'TLSv1.2',
  maxVersion: 'TLSv1.3',
  tls13CipherSuites: Object.freeze([
    'TLS_AES_256_GCM_SHA384',
    'TLS_AES_128_GCM_SHA256',
    'TLS_CHACHA20_POLY1305_SHA256',
  ]),
  tls12Ciphers: Object.freeze([
    'ECDHE-ECDSA-AES256-GCM-SHA384',
    'ECDHE-ECDSA-AES128-GCM-SHA256',
    'ECDHE-ECDSA-CHACHA20-POLY1305',
    'ECDHE-RSA-AES256-GCM-SHA384',
    'ECDHE-RSA-AES128-GCM-SHA256',
    'ECDHE-RSA-CHACHA20-POLY1305',
  ]),
  groups: Object.freeze(['X25519', 'P-256', 'P-384']),
  // Renegotiation has a history of attacks (RFC 5746) and no use between MTAs; compression leaks
  // plaintext length (CRIME); a one-shot delivery gains nothing from TLS 1.2 session tickets.
  secureOptions:
    constants.SSL_OP_NO_RENEGOTIATION |
    constants.SSL_OP_NO_COMPRESSION |
    constants.SSL_OP_NO_TICKET,
});

/**
 * The options of a secure context holding the profile and the given trust anchors. `ca` replaces
 * Node's default roots, so the caller passes the complete list (see trust-store.ts).
 */
export function secureContextOptions(
  ca: readonly string[],
  profile: ClientProfile = CLIENT_PROFILE,
): SecureContextOptions {
  return {
    minVersion: profile.minVersion,
    maxVersion: profile.maxVersion,
    // Node routes names starting with TLS_ to TLS 1.3's ciphersuites list and the rest to TLS 1.2's.
    ciphers: [...profile.tls13CipherSuites, ...profile.tls12Ciphers].join(':'),
    ecdhCurve: profile.groups.join(':'),
    secureOptions: profile.secureOptions,
    ca: [...ca],
  };
}

/**
 * Who judges the peer's certificate. `deferred`: Node completes the handshake whatever the chain, and
 * the caller must judge `TlsFacts.pkix` (SMTP, where DANE and opportunistic TLS need the session even
 * with an invalid chain). `enforced`: Node aborts on an invalid chain or name (MTA-STS policy fetch,
 * RFC 8461 section 3.3, which has no use for an unauthenticated answer).
 */
export type CertificateJudgement = 'deferred' | 'enforced';

export interface ClientConnectionInput {
  /** The host name to authenticate; sent as SNI unless it is an IP literal (RFC 6066 section 3). */
  readonly servername: string;
  /** A context made from `secureContextOptions`, built once and shared by every connection. */
  readonly secureContext: SecureContext;
  readonly judgement: CertificateJudgement;
}

/** `tls.connect` / `https.request` options for one connection with the profile. */
export function clientConnectionOptions(input: ClientConnectionInput): ConnectionOptions {
  const options: ConnectionOptions = {
    secureContext: input.secureContext,
    // With `deferred` the verdict is not lost: handshake.ts always computes it and returns it as a value.
    rejectUnauthorized: input.judgement === 'enforced',
  };
  // Node's own name check would run against `servername || host || 'localhost'` and fold its result
  // into `authorizationError`; deferred callers check the name they mean, and keep the chain verdict
  // apart from the name verdict.
  if (input.judgement === 'deferred') options.checkServerIdentity = skipNodeNameCheck;
  // RFC 6066 section 3: "Literal IPv4 and IPv6 addresses are not permitted in HostName".
  if (isIP(input.servername) === 0) options.servername = input.servername;
  return options;
}

function skipNodeNameCheck(): undefined {
  return undefined;
}
