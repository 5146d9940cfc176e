/**
 * The TLS client handshake over an existing TCP socket: SMTP STARTTLS (RFC 3207) after the server's
 * 220 reply, or a fresh connection (the socket may still be connecting; the deadline then covers the
 * TCP connect too). Uses the client profile and one of the trust store's shared secure contexts: the
 * one with the anchors, or for a DANE host the one without (`TlsClientOptions.dane`).
 *
 * Node never aborts the handshake for a bad certificate here (`judgement: 'deferred'`): DANE and
 * opportunistic TLS need the session anyway. Instead the PKIX verdict is always computed and returned
 * in `TlsFacts.pkix`; whoever uses the session must judge it (policy/ decides, not this module).
 *
 * Never rejects. The promise settles once: `ok` with the TLS socket and its facts, or a `TlsFailure`
 * (`timeout` when `timeoutMs` elapsed first, then both sockets are destroyed; on every failure both
 * sockets are destroyed). Before calling, the SMTP layer must have stopped reading the plaintext
 * socket and discarded anything the server sent after its 220 reply (RFC 3207 section 6: nothing
 * received before the handshake may be trusted afterwards).
 */
import { checkServerIdentity, connect } from 'node:tls';
import type { DetailedPeerCertificate, TLSSocket } from 'node:tls';
import type { Socket } from 'node:net';
import { anchoredVerifyCode, chainEnd, chainFacts, classifyPkix } from './certificate.js';
import { classifyHandshakeError, closedFailure, timeoutFailure } from './failure.js';
import type { TlsFailure } from './failure.js';
import { clientConnectionOptions } from './profile.js';
import type { TrustStore } from './trust-store.js';
import type { CertificateFacts, PkixVerdict, TlsFacts } from './types.js';

export type TlsUpgradeResult =
  | { readonly ok: true; readonly socket: TLSSocket; readonly facts: TlsFacts }
  | { readonly ok: false; readonly failure: TlsFailure };

export interface TlsClientOptions {
  /** The host name to authenticate (the MX host name); sent as SNI unless it is an IP literal. */
  readonly servername: string;
  readonly trust: TrustStore;
  /** Bounds the whole handshake (`queue.tls.<id>.timeout.tls`). */
  readonly timeoutMs: number;
  /**
   * The host is authenticated by DANE: handshake against `trust.daneSecureContext`, so that
   * `TlsFacts.chain` is exactly the chain the server sent. A DANE-TA digest record may only match a
   * certificate the server sent (RFC 7672 section 3.1, RFC 7671 section 5.2.2); with the anchors in
   * the context, Node would append a locally trusted root the server omitted.
   */
  readonly dane?: boolean;
}

/** Upgrades `socket` to TLS; see the module header for the contract. */
export function startTlsClient(
  socket: Socket,
  options: TlsClientOptions,
): Promise<TlsUpgradeResult> {
  return new Promise((resolve) => {
    if (socket.destroyed) {
      resolve({ ok: false, failure: closedFailure('the connection was already closed') });
      return;
    }
    const secureContext =
      options.dane === true ? options.trust.daneSecureContext : options.trust.secureContext;
    const tlsSocket = connect({
      ...clientConnectionOptions({
        servername: options.servername,
        secureContext,
        judgement: 'deferred',
      }),
      socket,
    });
    let settled = false;
    const finish = (result: TlsUpgradeResult): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      tlsSocket.off('secureConnect', onSecure).off('error', onError).off('close', onClose);
      if (!result.ok) {
        // Late errors from a socket we are abandoning must not become uncaught exceptions.
        tlsSocket.on('error', ignore);
        socket.on('error', ignore);
        tlsSocket.destroy();
        socket.destroy();
      }
      resolve(result);
    };
    const onSecure = (): void => {
      finish({ ok: true, socket: tlsSocket, facts: collectFacts(tlsSocket, options) });
    };
    const onError = (error: unknown): void =>
      finish({ ok: false, failure: classifyHandshakeError(error) });
    const onClose = (): void => finish({ ok: false, failure: closedFailure() });
    const timer = setTimeout(
      () => finish({ ok: false, failure: timeoutFailure(options.timeoutMs) }),
      options.timeoutMs,
    );
    tlsSocket.once('secureConnect', onSecure).on('error', onError).once('close', onClose);
  });
}

/** Reads version, cipher, chain and PKIX verdict off a socket that completed its handshake. */
function collectFacts(tlsSocket: TLSSocket, options: TlsClientOptions): TlsFacts {
  const peer: Partial<DetailedPeerCertificate> = tlsSocket.getPeerCertificate(true);
  const chain = chainFacts(peer);
  const hostError =
    peer.raw === undefined
      ? new Error('the server sent no certificate')
      : checkServerIdentity(options.servername, peer as DetailedPeerCertificate);
  const code = verifyCode(tlsSocket);
  const pkix =
    options.dane === true
      ? wirePkix(code, hostError, chain, options.trust)
      : classifyPkix(code, hostError, chainEnd(chain, options.trust.anchorsSha256));
  const cipher = tlsSocket.getCipher();
  return {
    version: tlsSocket.getProtocol() ?? 'unknown',
    // The IANA name (RFC 8446 section B.4, RFC 5289): the same string whichever TLS library a peer runs.
    cipher: cipher.standardName !== '' ? cipher.standardName : cipher.name,
    chain,
    pkix,
  };
}

/**
 * The PKIX verdict of a DANE host's handshake, made against an empty store where OpenSSL finds no
 * anchor. Policy never consults PKIX for a DANE host, but `TlsFacts.pkix` keeps one meaning for every
 * host (validation against the configured trust store: `mxsec check` prints it, and a WebPKI-valid
 * DANE host must not read as untrusted). So OpenSSL's verdict on the chain as sent is completed
 * against the real store: an anchor the server sent, or one that issued a sent certificate. Only the
 * unsent anchor's own extensions (path length, name constraints) go unchecked.
 */
function wirePkix(
  code: string | undefined,
  hostError: Error | undefined,
  chain: readonly CertificateFacts[],
  trust: TrustStore,
): PkixVerdict {
  const now = new Date();
  const end = chainEnd(chain, trust.anchorsSha256, (cert) => trust.issuedByAnchor(cert.der, now));
  return classifyPkix(anchoredVerifyCode(code, end), hostError, end);
}

/** Node types `authorizationError` as an Error but sets the OpenSSL verify code string. */
function verifyCode(tlsSocket: TLSSocket): string | undefined {
  if (tlsSocket.authorized) return undefined;
  const raw: unknown = tlsSocket.authorizationError;
  if (typeof raw === 'string') return raw;
  if (raw instanceof Error) return (raw as NodeJS.ErrnoException).code ?? raw.message;
  return 'UNKNOWN_VERIFY_ERROR';
}

function ignore(): void {
  // Intentionally empty: see `finish`.
}
