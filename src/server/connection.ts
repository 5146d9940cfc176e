/**
 * Drives one submission session over a socket: feeds the pure `ServerSession` the client's lines and
 * DATA, writes its replies in order, upgrades to TLS on STARTTLS, and stores accepted messages.
 *
 * Contract and defences:
 * - STARTTLS (RFC 3207 6): every byte the client sent after the STARTTLS line in plaintext is discarded
 *   unparsed; later plaintext reaches the TLS parser and fails the handshake. Nothing said before TLS
 *   survives into the TLS session (the session forgets EHLO and AUTH).
 * - A message is stored with `store.enqueue` and the client hears `250 ... queued as <id>` only after the
 *   store returned an id; any store error answers 451 4.3.0 (452 4.3.1 for `full`), never 250.
 * - While a message is being stored the socket is paused, so pipelined input waits in the kernel.
 * - Idle longer than the timeout: 421 4.4.2 and close. `shutdown` answers 421 4.3.2 once the command
 *   in progress has its reply. Socket errors close the connection; nothing here throws.
 */
import type { Socket } from 'node:net';
import { TLSSocket } from 'node:tls';
import type { SecureContext } from 'node:tls';
import type { QueueStore } from '../queue/store.js';
import { DataReader } from './protocol/data.js';
import { LineSplitter } from './protocol/lines.js';
import { formatServerReply, R } from './protocol/reply.js';
import type { ServerReply } from './protocol/reply.js';
import type { ServerSession, Step } from './protocol/session.js';
import { receivedHeader } from './received.js';
import type { Logger } from '../core/ports.js';

export interface ConnectionDeps {
  readonly listener: string;
  readonly hostname: string;
  readonly store: QueueStore;
  readonly logger: Logger;
  readonly now: () => number;
  readonly secureContext: SecureContext | undefined;
  readonly maxLine: number;
  readonly maxMessageSize: number;
  readonly timeoutMs: number;
}

export class SubmissionConnection {
  /** Resolves when the socket has closed. */
  readonly closed: Promise<void>;
  private socket: Socket;
  private readonly raw: Socket;
  private readonly splitter: LineSplitter;
  private data: DataReader | undefined;
  /** Waiting for the store or the TLS handshake: input is not processed meanwhile. */
  private busy = false;
  private ended = false;
  private stopping = false;
  private tls: { protocol: string; cipher: string } | undefined;
  private readonly peer: string;
  private markClosed: () => void = () => undefined;

  constructor(
    socket: Socket,
    private readonly session: ServerSession,
    private readonly deps: ConnectionDeps,
  ) {
    this.raw = socket;
    this.socket = socket;
    this.peer = socket.remoteAddress ?? 'unknown';
    this.splitter = new LineSplitter(deps.maxLine);
    this.closed = new Promise((resolve) => {
      this.markClosed = resolve;
    });
    socket.once('close', () => this.finish());
  }

  start(): void {
    this.attach(this.raw);
    this.write(this.session.greeting());
  }

  /** Server shutdown: 421 4.3.2 now, or after the reply of the command in progress. */
  shutdown(): void {
    this.stopping = true;
    // The store or the handshake in progress finishes first; each checks `stopping` when done.
    if (this.busy) return;
    this.end(R.shuttingDown);
  }

  private attach(socket: Socket): void {
    socket.on('data', this.onData);
    socket.on('error', this.onError);
    socket.setTimeout(this.deps.timeoutMs, this.onTimeout);
  }

  private detach(socket: Socket): void {
    socket.off('data', this.onData);
    socket.setTimeout(0);
    socket.off('timeout', this.onTimeout);
  }

  private readonly onData = (chunk: Buffer): void => {
    if (this.ended) return;
    if (this.data !== undefined) this.feedData(chunk);
    else this.splitter.push(chunk);
    this.pump();
  };

  private readonly onError = (): void => {
    // ECONNRESET and the like: the client is gone; `close` follows.
    this.ended = true;
    this.socket.destroy();
  };

  private readonly onTimeout = (): void => {
    this.end(R.timeout);
  };

  private pump(): void {
    while (!this.busy && !this.ended && this.data === undefined) {
      const event = this.splitter.next();
      if (event === undefined) return;
      this.apply(
        event.kind === 'line' ? this.session.onLine(event.line) : this.session.onLineTooLong(),
      );
    }
  }

  private feedData(chunk: Uint8Array): void {
    const step = this.data?.push(chunk);
    if (step === undefined || !step.done) return;
    this.data = undefined;
    this.splitter.push(step.rest);
    this.apply(this.session.onDataEnd(step.body, step.problem));
  }

  private apply(step: Step): void {
    switch (step.kind) {
      case 'reply':
        this.write(step.reply);
        return;
      case 'close':
        this.end(step.reply);
        return;
      case 'data': {
        this.write(step.reply);
        this.data = new DataReader({
          maxBytes: this.deps.maxMessageSize,
          maxLine: this.deps.maxLine,
        });
        const pipelined = this.splitter.takeRest();
        if (pipelined.length > 0) this.feedData(pipelined);
        return;
      }
      case 'starttls':
        this.startTls(step.reply);
        return;
      case 'enqueue':
        this.busy = true;
        this.socket.pause();
        void this.enqueue(step);
        return;
    }
  }

  private async enqueue(step: Extract<Step, { kind: 'enqueue' }>): Promise<void> {
    const { envelope } = step;
    const now = this.deps.now();
    const header = new TextEncoder().encode(
      receivedHeader({
        helo: envelope.helo,
        esmtp: envelope.esmtp,
        smtputf8: envelope.smtputf8,
        authenticated: envelope.user !== undefined,
        peerAddress: this.peer,
        hostname: this.deps.hostname,
        listener: this.deps.listener,
        recipients: envelope.recipients,
        now,
        ...(this.tls === undefined ? {} : { tls: this.tls }),
      }),
    );
    const body = new Uint8Array(header.length + step.body.length);
    body.set(header, 0);
    body.set(step.body, header.length);
    let result: Awaited<ReturnType<QueueStore['enqueue']>>;
    try {
      result = await this.deps.store.enqueue({
        returnPath: envelope.from,
        recipients: envelope.recipients.map((address) => ({ address })),
        body,
        createdAt: now,
        expiresAt: null,
        source: this.deps.listener,
      });
    } catch (error) {
      // A rejection is a store bug, but the client must still never hear 250 for it.
      result = { ok: false, error: { kind: 'io', message: String(error) } };
    }
    this.busy = false;
    if (result.ok) {
      this.deps.logger.info(
        {
          event: 'message-accepted',
          id: result.value,
          listener: this.deps.listener,
          peer: this.peer,
          from: envelope.from,
          recipients: envelope.recipients,
          size: body.length,
          tls: this.tls?.protocol ?? null,
          user: envelope.user ?? null,
        },
        'message queued',
      );
    } else {
      this.deps.logger.error(
        {
          event: 'enqueue-failed',
          listener: this.deps.listener,
          peer: this.peer,
          error: result.error,
        },
        'message not queued',
      );
    }
    this.apply(
      this.session.onQueued(
        result.ok ? { ok: true, id: result.value } : { ok: false, kind: result.error.kind },
      ),
    );
    if (this.stopping) {
      this.end(R.shuttingDown);
      return;
    }
    this.socket.resume();
    this.pump();
  }

  private startTls(reply: ServerReply): void {
    const context = this.deps.secureContext;
    if (context === undefined) throw new Error('STARTTLS step without a TLS context');
    // RFC 3207 6: whatever was pipelined after STARTTLS arrived in plaintext and is thrown away unread.
    const discarded = this.splitter.takeRest().length;
    if (discarded > 0)
      this.deps.logger.warn(
        {
          event: 'starttls-injection',
          listener: this.deps.listener,
          peer: this.peer,
          octets: discarded,
        },
        'plaintext after STARTTLS discarded',
      );
    this.busy = true;
    const raw = this.socket;
    this.detach(raw);
    raw.pause();
    raw.write(formatServerReply(reply), () => {
      if (this.ended) return;
      const secure = new TLSSocket(raw, { isServer: true, secureContext: context });
      this.socket = secure;
      secure.on('error', this.onError);
      secure.once('close', () => this.finish());
      secure.setTimeout(this.deps.timeoutMs, () => secure.destroy());
      secure.once('secure', () => {
        this.tls = {
          protocol: secure.getProtocol() ?? 'TLS',
          cipher: secure.getCipher().standardName,
        };
        this.session.onTlsEstablished();
        this.busy = false;
        secure.setTimeout(0);
        this.attach(secure);
        if (this.stopping) this.end(R.shuttingDown);
      });
    });
  }

  private write(reply: ServerReply): void {
    if (!this.ended) this.socket.write(formatServerReply(reply));
  }

  /** Sends a last reply and closes once it is written. */
  private end(reply: ServerReply): void {
    if (this.ended) return;
    this.ended = true;
    const socket = this.socket;
    socket.end(formatServerReply(reply), () => socket.destroy());
    // A client that never reads would keep the last write pending forever.
    setTimeout(() => socket.destroy(), 10_000).unref();
  }

  private finish(): void {
    this.ended = true;
    this.data = undefined;
    this.markClosed();
  }
}
