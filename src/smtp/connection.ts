/**
 * The byte-level half of the driver: owns one socket at a time (plaintext, then TLS after STARTTLS),
 * feeds what it reads to a `ReplyParser`, and hands out replies one `read()` at a time with a timeout.
 *
 * Contract: nothing here throws for network or peer behaviour. `read()` resolves to a reply or to a
 * failure; replies that arrived before the peer closed or broke the syntax are still delivered first.
 * A timeout or a protocol error destroys the socket: a connection whose framing is lost or whose peer
 * stalls is never reused. `detach()` hands the raw socket over (for the TLS handshake) with no listener of
 * ours left on its data, so bytes that follow can never be parsed as replies.
 */
import type { Socket } from 'node:net';
import { ReplyParser } from './protocol/reply.js';
import type { SmtpReply } from './protocol/reply.js';
import type { Transcript } from './protocol/transcript.js';
import { smtpFailure } from './failure.js';
import type { SmtpFailure, SmtpPhase } from './failure.js';

export type ReadResult =
  | { readonly ok: true; readonly reply: SmtpReply }
  | { readonly ok: false; readonly failure: SmtpFailure };

type Broken = {
  readonly kind: 'closed' | 'protocol';
  readonly message: string;
  readonly errno?: string;
};

const ignoreError = (): void => {};

export class SmtpConnection {
  private socket: Socket;
  private parser = new ReplyParser();
  private readonly queue: SmtpReply[] = [];
  private broken: Broken | undefined;
  private wake: (() => void) | undefined;
  private readonly transcript: Transcript;
  private readonly onData = (chunk: Buffer): void => {
    const result = this.parser.push(chunk);
    this.queue.push(...result.replies);
    if (result.error !== undefined && this.broken === undefined) {
      this.broken = { kind: 'protocol', message: result.error.message };
    }
    this.notify();
  };
  private readonly onEnd = (): void => this.markClosed('connection closed by the server');
  private readonly onClose = (): void => this.markClosed('connection closed');
  private readonly onError = (error: Error & { code?: string }): void =>
    this.markClosed(error.message, error.code);

  constructor(socket: Socket, transcript: Transcript) {
    this.socket = socket;
    this.transcript = transcript;
    this.attach(socket);
  }

  /** True once the socket is gone or the stream is unusable; `read()` will only fail from here on. */
  get isBroken(): boolean {
    return this.broken !== undefined && this.queue.length === 0;
  }

  /** Bytes received but not consumed by `read()`: queued replies count as unread data too. */
  get unreadBytes(): number {
    return this.queue.length + this.parser.buffered + this.socket.readableLength;
  }

  /** Writes command text or message data. Returns false when the connection is already broken. */
  write(data: string | Uint8Array): boolean {
    if (this.broken !== undefined || this.socket.destroyed) return false;
    this.socket.write(data);
    return true;
  }

  /** The next reply, or the reason there will be none within `timeoutMs`. */
  async read(phase: SmtpPhase, timeoutMs: number): Promise<ReadResult> {
    let timedOut = false;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        timedOut = true;
        resolve();
      }, timeoutMs);
    });
    try {
      for (;;) {
        const reply = this.queue.shift();
        if (reply !== undefined) {
          this.transcript.server(reply.code, reply.lines);
          return { ok: true, reply };
        }
        if (this.broken !== undefined) return { ok: false, failure: this.brokenFailure(phase) };
        if (timedOut) {
          this.transcript.note(`timeout after ${timeoutMs} ms waiting for the ${phase} reply`);
          this.destroy();
          return {
            ok: false,
            failure: smtpFailure('timeout', phase, `no ${phase} reply within ${timeoutMs} ms`),
          };
        }
        await Promise.race([
          timeout,
          new Promise<void>((resolve) => {
            this.wake = resolve;
          }),
        ]);
        this.wake = undefined;
      }
    } finally {
      clearTimeout(timer);
    }
  }

  /** Stops reading the current socket and returns it paused, for the caller to upgrade. */
  detach(): Socket {
    const socket = this.socket;
    socket.pause();
    socket
      .off('data', this.onData)
      .off('end', this.onEnd)
      .off('close', this.onClose)
      .off('error', this.onError);
    socket.on('error', ignoreError);
    return socket;
  }

  /** Continues the session on `socket` (the TLS socket) with a fresh parser: nothing carries over. */
  attach(socket: Socket): void {
    this.socket = socket;
    this.parser = new ReplyParser();
    this.queue.length = 0;
    this.broken = undefined;
    socket
      .on('data', this.onData)
      .on('end', this.onEnd)
      .on('close', this.onClose)
      .on('error', this.onError);
  }

  destroy(): void {
    if (this.broken === undefined)
      this.broken = { kind: 'closed', message: 'connection closed by the client' };
    this.socket.destroy();
    this.notify();
  }

  private markClosed(message: string, errno?: string): void {
    if (this.broken === undefined)
      this.broken =
        errno === undefined ? { kind: 'closed', message } : { kind: 'closed', message, errno };
    this.notify();
  }

  private brokenFailure(phase: SmtpPhase): SmtpFailure {
    const broken = this.broken!;
    if (broken.kind === 'protocol') {
      this.transcript.note(`protocol error: ${broken.message}`);
      this.socket.destroy();
      return smtpFailure('protocol', phase, broken.message);
    }
    return smtpFailure('closed', phase, broken.message, { errno: broken.errno });
  }

  private notify(): void {
    this.wake?.();
  }
}
