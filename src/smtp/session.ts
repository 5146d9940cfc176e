/**
 * One SMTP client session over a connected socket: greeting, EHLO (HELO fallback), STARTTLS through a
 * caller-supplied upgrade function, mail transactions, RSET and QUIT. The driver of the sans-I/O core
 * `protocol/client.ts`, which holds every protocol rule (what to send, what a reply means, when the
 * connection must go). This file only writes what the core says to write, reads replies with the
 * per-phase timeouts, detaches and attaches the socket around the TLS handshake, destroys the connection
 * when the core or the byte layer (`connection.ts`: timeouts, closes, broken framing) says so, and reports.
 *
 * Contract: no method throws for network or peer behaviour; each returns `{ ok: true, ... }` or
 * `{ ok: false, failure }`. After a failure of kind timeout, closed, protocol, injection or tls the
 * session is dead (socket destroyed) and every later call fails with kind `closed`. A `reply` failure
 * (the server said no) leaves the session usable. Misuse, such as `send` before `ehlo`, throws.
 */
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { Capabilities } from './protocol/capabilities.js';
import { ClientSession } from './protocol/client.js';
import type { Abort, ClientStep, OutgoingMessage } from './protocol/client.js';
import type { SmtpReply } from './protocol/reply.js';
import type { TransactionOutcome } from './protocol/transaction.js';
import type { Transcript } from './protocol/transcript.js';
import type { SmtpConnection } from './connection.js';
import type { SmtpFailure } from './failure.js';
import { timeoutFor } from './timeouts.js';
import type { SmtpTimeouts } from './timeouts.js';

export type { OutgoingMessage } from './protocol/client.js';

export type Failed = { readonly ok: false; readonly failure: SmtpFailure };

export type GreetingResult = { readonly ok: true; readonly reply: SmtpReply } | Failed;
export type EhloResult =
  | {
      readonly ok: true;
      readonly capabilities: Capabilities;
      readonly reply: SmtpReply;
      readonly helo: boolean;
    }
  | Failed;
export type ReplyResult = { readonly ok: true; readonly reply: SmtpReply } | Failed;
export type SendResult = { readonly ok: true; readonly outcome: TransactionOutcome } | Failed;

/** What an upgrade function must return; extra fields (certificate facts, failure detail) pass through. */
export type UpgradeResult =
  { readonly ok: true; readonly socket: TLSSocket } | { readonly ok: false };

export type StartTlsResult<T extends UpgradeResult> =
  | { readonly ok: true; readonly upgrade: Extract<T, { ok: true }> }
  | {
      readonly ok: false;
      readonly failure: SmtpFailure;
      readonly upgrade?: Extract<T, { ok: false }>;
    };

type Driven<T> = { readonly ok: true; readonly value: T } | Failed;

export class SmtpSession {
  private readonly conn: SmtpConnection;
  private readonly timeouts: SmtpTimeouts;
  private readonly log: Transcript;
  private readonly core = new ClientSession();

  constructor(conn: SmtpConnection, timeouts: SmtpTimeouts, transcript: Transcript) {
    this.conn = conn;
    this.timeouts = timeouts;
    this.log = transcript;
  }

  /** Capabilities from the last EHLO/HELO; cleared by STARTTLS (RFC 3207 4.2). */
  get capabilities(): Capabilities | undefined {
    return this.core.capabilities;
  }

  /** True after a successful STARTTLS upgrade. */
  get secure(): boolean {
    return this.core.secure;
  }

  /** The last lines of the conversation, message data elided. */
  transcript(): readonly string[] {
    return this.log.toLines();
  }

  /** RFC 5321 3.1 / 4.3.1: waits for the 220 greeting. A 554 (no service) is a `reply` failure. */
  async greeting(): Promise<GreetingResult> {
    const result = await this.drive(this.core.greeting());
    return result.ok ? { ok: true, reply: result.value } : result;
  }

  /** RFC 5321 4.1.1.1: EHLO, and HELO when the server rejects EHLO as unknown (5yz). */
  async ehlo(name: string): Promise<EhloResult> {
    const result = await this.drive(this.core.ehlo(name));
    return result.ok ? { ok: true, ...result.value } : result;
  }

  /**
   * RFC 3207: sends STARTTLS and, on 220, hands the raw socket to `upgrade` (which does the handshake and
   * its own timeout). Any byte already received after the 220 is an injection attempt (CVE-2011-0411
   * class): it is never parsed as a reply and the connection is destroyed. `replyTimeoutMs` bounds the
   * wait for the reply to STARTTLS (the TLS strategy's `timeout.tls`; default: the EHLO timeout). On success the session
   * continues over TLS with no capabilities; the caller must EHLO again.
   */
  async startTls<T extends UpgradeResult>(
    upgrade: (raw: Socket) => Promise<T>,
    replyTimeoutMs?: number,
  ): Promise<StartTlsResult<T>> {
    const accepted = await this.drive(this.core.startTls(this.conn.unreadBytes), replyTimeoutMs);
    if (!accepted.ok) return accepted;
    // No listener of ours stays on the plaintext socket: what follows the 220 can only be counted, never parsed.
    const raw = this.conn.detach();
    const injected = this.core.plaintextAfterStarttls(this.conn.unreadBytes);
    if (injected !== undefined) return this.abort(injected);
    this.log.note('starting TLS handshake');
    let result: T;
    try {
      result = await upgrade(raw);
    } catch (error) {
      return this.abort(this.core.upgradeFailed({ error }));
    }
    if (!result.ok)
      return {
        ...this.abort(this.core.upgradeFailed()),
        upgrade: result as Extract<T, { ok: false }>,
      };
    this.conn.attach(result.socket);
    this.core.tlsEstablished();
    this.log.note('TLS established');
    return { ok: true, upgrade: result as Extract<T, { ok: true }> };
  }

  /**
   * One mail transaction (RFC 5321 3.3). Uses PIPELINING when offered (RFC 2920). Refuses before sending
   * anything when the message exceeds the advertised SIZE (5.3.4) or needs an extension the server lacks.
   */
  async send(message: OutgoingMessage): Promise<SendResult> {
    const result = await this.drive(this.core.send(message));
    return result.ok ? { ok: true, outcome: result.value } : result;
  }

  /** RFC 5321 4.1.1.5: aborts the current transaction; refused when the server sent data while idle. */
  async rset(): Promise<ReplyResult> {
    const result = await this.drive(this.core.rset(this.conn.unreadBytes));
    return result.ok ? { ok: true, reply: result.value } : result;
  }

  /** Best effort QUIT (RFC 5321 4.1.1.10), bounded by the quit timeout, then closes. Never fails. */
  async quit(): Promise<void> {
    await this.drive(this.core.quit());
    this.close();
  }

  /** Destroys the connection now. */
  close(): void {
    this.core.close();
    this.conn.destroy();
  }

  /**
   * Carries out the core's steps until the dialogue ends. Every write is followed by a read of the reply
   * that ends the step's phase, bounded by that phase's timeout (or `timeoutMs`); a read that fails has
   * already lost the connection's framing or liveness, so it destroys the connection.
   */
  private async drive<T>(first: ClientStep<T>, timeoutMs?: number): Promise<Driven<T>> {
    let step = first;
    for (;;) {
      switch (step.type) {
        case 'done':
          return { ok: true, value: step.value };
        case 'fail':
          return { ok: false, failure: step.failure };
        case 'abort':
          return this.abort(step);
        case 'write':
          this.log.client(step.text);
          this.conn.write(step.text);
          break;
        case 'write-data':
          this.log.body(step.data.length);
          this.conn.write(step.data);
          break;
        case 'read':
          break;
      }
      const read = await this.conn.read(
        step.phase,
        timeoutMs ?? timeoutFor(this.timeouts, step.phase),
      );
      if (!read.ok) return this.abort({ type: 'abort', failure: read.failure });
      step = step.then(read.reply);
    }
  }

  private abort(abort: Abort): Failed {
    if (abort.note !== undefined) this.log.note(abort.note);
    this.close();
    return { ok: false, failure: abort.failure };
  }
}
