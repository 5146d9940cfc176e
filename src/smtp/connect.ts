/**
 * Opens the TCP connection of an SMTP session. The host must already be an IP address: name resolution
 * belongs to mxsec's own resolver (DNSSEC status matters for DANE), so letting the socket layer resolve a
 * name would silently bypass it. Passing a name is a programming error and throws.
 *
 * Contract: resolves `{ ok: true, session }` once connected (the greeting is not read yet) or
 * `{ ok: false, failure }` with kind `connect` (errno set) or `timeout`; the socket is destroyed on failure.
 */
import net from 'node:net';
import { SmtpConnection } from './connection.js';
import { smtpFailure } from './failure.js';
import type { SmtpFailure } from './failure.js';
import { Transcript } from './protocol/transcript.js';
import { SmtpSession } from './session.js';
import type { SmtpTimeouts } from './timeouts.js';

export interface ConnectOptions {
  /** IPv4 or IPv6 literal. */
  readonly host: string;
  readonly port: number;
  /** Source address to bind (`queue.connection.<id>.source-ips`). */
  readonly localAddress?: string;
  readonly family?: 4 | 6;
  readonly timeouts: SmtpTimeouts;
  /** Transcript lines kept for diagnostics; default 200. */
  readonly transcriptLines?: number;
}

export type ConnectResult =
  | { readonly ok: true; readonly session: SmtpSession }
  | { readonly ok: false; readonly failure: SmtpFailure };

export function connectSmtp(options: ConnectOptions): Promise<ConnectResult> {
  if (net.isIP(options.host) === 0)
    throw new TypeError(`connectSmtp needs an IP address, got ${JSON.stringify(options.host)}`);
  const transcript = new Transcript(options.transcriptLines);
  transcript.note(`connecting to ${options.host} port ${options.port}`);
  return new Promise((resolve) => {
    const socket = net.connect({
      host: options.host,
      port: options.port,
      ...(options.localAddress === undefined ? {} : { localAddress: options.localAddress }),
      ...(options.family === undefined ? {} : { family: options.family }),
    });
    const timer = setTimeout(() => {
      finish({
        ok: false,
        failure: smtpFailure(
          'timeout',
          'connect',
          `no connection within ${options.timeouts.connect} ms`,
        ),
      });
    }, options.timeouts.connect);
    const onError = (error: Error & { code?: string }): void => {
      finish({
        ok: false,
        failure: smtpFailure('connect', 'connect', error.message, { errno: error.code }),
      });
    };
    const onConnect = (): void => {
      socket.setNoDelay(true);
      finish({
        ok: true,
        session: new SmtpSession(
          new SmtpConnection(socket, transcript),
          options.timeouts,
          transcript,
        ),
      });
    };
    function finish(result: ConnectResult): void {
      clearTimeout(timer);
      socket.off('error', onError).off('connect', onConnect);
      if (!result.ok) socket.destroy();
      resolve(result);
    }
    socket.once('error', onError).once('connect', onConnect);
  });
}
