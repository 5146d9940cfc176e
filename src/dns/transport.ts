/**
 * One DNS exchange with one nameserver over UDP or TCP (RFC 1035 section 4.2, RFC 7766). The socket is
 * always closed when the promise settles. Never rejects: a lost reply is `timeout`, a socket error is
 * `network`, and a reply that could not be decoded (and no good reply followed) is `malformed`.
 * Datagrams whose source, id or question do not match the query are ignored (RFC 5452 section 4.3)
 * and the wait goes on, so a blind spoofer cannot end the exchange early.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import type { NameserverAddress } from './names.js';
import { decodeReply, encodeQuery, replyMatches } from './packet.js';
import type { QueryMessage, Reply } from './packet.js';

export type ExchangeFailureKind = 'timeout' | 'network' | 'malformed';

export type ExchangeResult =
  | { readonly ok: true; readonly reply: Reply }
  | { readonly ok: false; readonly kind: ExchangeFailureKind; readonly message: string };

export type Transport = 'udp' | 'tcp';

/** Signature shared by both transports, so the client can be tested with either. */
export type Exchange = (
  server: NameserverAddress,
  query: QueryMessage,
  timeoutMs: number,
) => Promise<ExchangeResult>;

/** Sends the query in one datagram and waits for the matching reply. */
export const exchangeUdp: Exchange = (server, query, timeoutMs) =>
  new Promise((resolve) => {
    const socket = dgram.createSocket(server.family === 6 ? 'udp6' : 'udp4');
    let sawMalformed = false;
    let done = false;
    const finish = (result: ExchangeResult): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      try {
        socket.close();
      } catch {
        // Already closed after an error: nothing left to release.
      }
      resolve(result);
    };
    const timer = setTimeout(() => finish(lost(sawMalformed, 'udp', timeoutMs)), timeoutMs);
    socket.on('error', (error) =>
      finish({ ok: false, kind: 'network', message: `udp: ${error.message}` }),
    );
    // The socket is connected, so the kernel drops datagrams from any other source address or port.
    socket.on('message', (message) => {
      const reply = decodeReply(message);
      if (reply === undefined) {
        sawMalformed = true;
        return;
      }
      if (replyMatches(reply, query)) finish({ ok: true, reply });
    });
    // Connecting makes the kernel report ICMP port-unreachable as an error, so a dead server fails fast.
    socket.connect(server.port, server.host, () => {
      socket.send(encodeQuery(query), (error) => {
        if (error) finish({ ok: false, kind: 'network', message: `udp send: ${error.message}` });
      });
    });
  });

/** Sends the query with the two-byte length prefix of RFC 1035 section 4.2.2 and reads one reply. */
export const exchangeTcp: Exchange = (server, query, timeoutMs) =>
  new Promise((resolve) => {
    const socket = net.connect({ host: server.host, port: server.port });
    let buffered = Buffer.alloc(0);
    let sawMalformed = false;
    let done = false;
    const finish = (result: ExchangeResult): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(result);
    };
    const timer = setTimeout(() => finish(lost(sawMalformed, 'tcp', timeoutMs)), timeoutMs);
    socket.on('error', (error) =>
      finish({ ok: false, kind: 'network', message: `tcp: ${error.message}` }),
    );
    socket.on('close', () =>
      finish(
        sawMalformed
          ? { ok: false, kind: 'malformed', message: 'tcp: undecodable reply' }
          : { ok: false, kind: 'network', message: 'tcp: connection closed before a reply' },
      ),
    );
    socket.on('connect', () => {
      const body = encodeQuery(query);
      const frame = Buffer.alloc(2 + body.length);
      frame.writeUInt16BE(body.length, 0);
      body.copy(frame, 2);
      socket.write(frame);
    });
    socket.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      while (buffered.length >= 2) {
        const length = buffered.readUInt16BE(0);
        if (buffered.length < 2 + length) return;
        const reply = decodeReply(buffered.subarray(2, 2 + length));
        buffered = buffered.subarray(2 + length);
        if (reply === undefined) sawMalformed = true;
        else if (replyMatches(reply, query)) return finish({ ok: true, reply });
      }
    });
  });

function lost(sawMalformed: boolean, transport: Transport, timeoutMs: number): ExchangeResult {
  return sawMalformed
    ? {
        ok: false,
        kind: 'malformed',
        message: `${transport}: only undecodable replies within ${timeoutMs} ms`,
      }
    : { ok: false, kind: 'timeout', message: `${transport}: no reply within ${timeoutMs} ms` };
}
