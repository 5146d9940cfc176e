/**
 * One SMTP client session over a connected socket: greeting, EHLO (HELO fallback), STARTTLS through a
 * caller-supplied upgrade function, mail transactions, RSET and QUIT. A thin driver: the protocol rules
 * live in `protocol/`, this file only moves bytes and applies the per-phase timeouts.
 *
 * Contract: no method throws for network or peer behaviour; each returns `{ ok: true, ... }` or
 * `{ ok: false, failure }`. After a failure of kind timeout, closed, protocol, injection or tls the
 * session is dead (socket destroyed) and every later call fails with kind `closed`. A `reply` failure
 * (the server said no) leaves the session usable. Misuse, such as `send` before `ehlo`, throws.
 */
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { heloCapabilities, parseCapabilities } from './protocol/capabilities.js';
import type { Capabilities } from './protocol/capabilities.js';
import { hello, mailFrom, rcptTo, QUIT, RSET, STARTTLS } from './protocol/commands.js';
import type { CommandError } from './protocol/commands.js';
import { encodeData, messageSize } from './protocol/body.js';
import { formatReply } from './protocol/reply.js';
import type { SmtpReply } from './protocol/reply.js';
import { Transaction } from './protocol/transaction.js';
import type { Expected, TransactionOutcome } from './protocol/transaction.js';
import type { Transcript } from './protocol/transcript.js';
import type { SmtpConnection } from './connection.js';
import { smtpFailure } from './failure.js';
import type { SmtpFailure, SmtpPhase } from './failure.js';
import { timeoutFor } from './timeouts.js';
import type { SmtpTimeouts } from './timeouts.js';

export type Failed = { readonly ok: false; readonly failure: SmtpFailure };

export type GreetingResult = { readonly ok: true; readonly reply: SmtpReply } | Failed;
export type EhloResult = { readonly ok: true; readonly capabilities: Capabilities; readonly reply: SmtpReply; readonly helo: boolean } | Failed;
export type ReplyResult = { readonly ok: true; readonly reply: SmtpReply } | Failed;
export type SendResult = { readonly ok: true; readonly outcome: TransactionOutcome } | Failed;

/** What an upgrade function must return; extra fields (certificate facts, failure detail) pass through. */
export type UpgradeResult = { readonly ok: true; readonly socket: TLSSocket } | { readonly ok: false };

export type StartTlsResult<T extends UpgradeResult> =
  | { readonly ok: true; readonly upgrade: Extract<T, { ok: true }> }
  | { readonly ok: false; readonly failure: SmtpFailure; readonly upgrade?: Extract<T, { ok: false }> };

export interface OutgoingMessage {
  /** Reverse-path; `''` for the null sender of bounces. */
  readonly from: string;
  readonly recipients: readonly string[];
  /** The message as stored: any line endings, not dot-stuffed. */
  readonly body: Uint8Array;
  /** The envelope or headers need SMTPUTF8 (RFC 6531). */
  readonly smtputf8?: boolean;
  /** The body has 8-bit octets and needs BODY=8BITMIME (RFC 6152). */
  readonly eightBit?: boolean;
}

const PHASE_OF: Readonly<Record<Expected['kind'], SmtpPhase>> = { mail: 'mail-from', rcpt: 'rcpt-to', data: 'data', body: 'data', rset: 'rset' };

export class SmtpSession {
  private readonly conn: SmtpConnection;
  private readonly timeouts: SmtpTimeouts;
  private readonly log: Transcript;
  private caps: Capabilities | undefined;
  private tls = false;
  private dead = false;

  constructor(conn: SmtpConnection, timeouts: SmtpTimeouts, transcript: Transcript) {
    this.conn = conn;
    this.timeouts = timeouts;
    this.log = transcript;
  }

  /** Capabilities from the last EHLO/HELO; cleared by STARTTLS (RFC 3207 4.2). */
  get capabilities(): Capabilities | undefined {
    return this.caps;
  }

  /** True after a successful STARTTLS upgrade. */
  get secure(): boolean {
    return this.tls;
  }

  /** The last lines of the conversation, message data elided. */
  transcript(): readonly string[] {
    return this.log.toLines();
  }

  /** RFC 5321 3.1 / 4.3.1: waits for the 220 greeting. A 554 (no service) is a `reply` failure. */
  async greeting(): Promise<GreetingResult> {
    const read = await this.read('greeting');
    if (!read.ok) return read;
    return read.reply.code === 220 ? read : this.refused('greeting', read.reply);
  }

  /** RFC 5321 4.1.1.1: EHLO, and HELO when the server rejects EHLO as unknown (5yz). */
  async ehlo(name: string): Promise<EhloResult> {
    const ehlo = hello('EHLO', name);
    if (!ehlo.ok) throw new TypeError(ehlo.error.message);
    const first = await this.command('ehlo', ehlo.line);
    if (!first.ok) return first;
    if (first.reply.code === 250) {
      this.caps = parseCapabilities(first.reply);
      return { ok: true, capabilities: this.caps, reply: first.reply, helo: false };
    }
    if (first.reply.code < 500) return this.refused('ehlo', first.reply);
    const second = await this.command('ehlo', `HELO ${name}\r\n`);
    if (!second.ok) return second;
    if (second.reply.code !== 250) return this.refused('ehlo', second.reply);
    this.caps = heloCapabilities(second.reply);
    return { ok: true, capabilities: this.caps, reply: second.reply, helo: true };
  }

  /**
   * RFC 3207: sends STARTTLS and, on 220, hands the raw socket to `upgrade` (which does the handshake and
   * its own timeout). Any byte already received after the 220 is an injection attempt (CVE-2011-0411
   * class): it is never parsed as a reply and the connection is destroyed. `replyTimeoutMs` bounds the
   * wait for the reply to STARTTLS (the TLS strategy's `timeout.tls`; default: the EHLO timeout). On success the session
   * continues over TLS with no capabilities; the caller must EHLO again.
   */
  async startTls<T extends UpgradeResult>(upgrade: (raw: Socket) => Promise<T>, replyTimeoutMs?: number): Promise<StartTlsResult<T>> {
    if (this.conn.unreadBytes > 0 && !this.dead) {
      return this.kill(smtpFailure('protocol', 'starttls', 'unsolicited data from the server before STARTTLS'));
    }
    const reply = await this.command('starttls', STARTTLS, replyTimeoutMs);
    if (!reply.ok) return reply;
    if (reply.reply.code !== 220) return this.refused('starttls', reply.reply);
    const raw = this.conn.detach();
    const injected = this.conn.unreadBytes;
    if (injected > 0) {
      this.log.note(`${injected} unread octets after the STARTTLS 220 discarded unparsed`);
      return this.kill(smtpFailure('injection', 'starttls', 'the server sent data after the STARTTLS 220 in plaintext (command injection)'));
    }
    this.log.note('starting TLS handshake');
    let result: T;
    try {
      result = await upgrade(raw);
    } catch (error) {
      return this.kill(smtpFailure('tls', 'starttls', `TLS upgrade threw: ${String(error)}`));
    }
    if (!result.ok) {
      const failed = this.kill(smtpFailure('tls', 'starttls', 'TLS handshake failed'));
      return { ...failed, upgrade: result as Extract<T, { ok: false }> };
    }
    this.conn.attach(result.socket);
    this.caps = undefined;
    this.tls = true;
    this.log.note('TLS established');
    return { ok: true, upgrade: result as Extract<T, { ok: true }> };
  }

  /**
   * One mail transaction (RFC 5321 3.3). Uses PIPELINING when offered (RFC 2920). Refuses before sending
   * anything when the message exceeds the advertised SIZE (5.3.4) or needs an extension the server lacks.
   */
  async send(message: OutgoingMessage): Promise<SendResult> {
    const caps = this.caps;
    if (caps === undefined) throw new Error('send() before a successful ehlo()');
    if (this.dead) return this.deadFailure('mail-from');
    const size = messageSize(message.body);
    if (caps.size !== undefined && caps.size > 0 && size > caps.size) {
      return { ok: false, failure: smtpFailure('too-large', 'mail-from', `message of ${size} octets exceeds the server's SIZE limit of ${caps.size}`) };
    }
    const smtputf8 = message.smtputf8 === true;
    const mail = mailFrom(message.from, caps, { size, eightBit: message.eightBit === true, smtputf8 });
    if (!mail.ok) return commandFailure(mail.error);
    const recipients: { address: string; line: string }[] = [];
    for (const address of message.recipients) {
      const rcpt = rcptTo(address, smtputf8);
      if (!rcpt.ok) return commandFailure(rcpt.error);
      recipients.push({ address, line: rcpt.line });
    }
    const tx = new Transaction({ mailLine: mail.line, recipients, pipelining: caps.pipelining });
    let step = tx.start();
    for (;;) {
      switch (step.type) {
        case 'done':
          return { ok: true, outcome: step.outcome };
        case 'write':
          this.log.client(step.text);
          this.conn.write(step.text);
          break;
        case 'write-data': {
          const data = encodeData(message.body);
          this.log.body(data.length);
          this.conn.write(data);
          tx.dataWritten();
          break;
        }
        case 'read':
          break;
      }
      const read = await this.read(PHASE_OF[tx.expected!.kind]);
      if (!read.ok) return read;
      step = tx.onReply(read.reply);
    }
  }

  /** RFC 5321 4.1.1.5: aborts the current transaction. */
  async rset(): Promise<ReplyResult> {
    // Anything the server sent while the connection was idle (a 421 before it hangs up, or garbage)
    // would otherwise be read as the reply to RSET: such a session is not reusable.
    if (this.conn.unreadBytes > 0 && !this.dead) {
      return this.kill(smtpFailure('protocol', 'rset', 'the server sent data while the connection was idle'));
    }
    const read = await this.command('rset', RSET);
    if (!read.ok) return read;
    return read.reply.code === 250 ? read : this.refused('rset', read.reply);
  }

  /** Best effort QUIT (RFC 5321 4.1.1.10), bounded by the quit timeout, then closes. Never fails. */
  async quit(): Promise<void> {
    if (!this.dead) await this.command('quit', QUIT);
    this.close();
  }

  /** Destroys the connection now. */
  close(): void {
    this.dead = true;
    this.conn.destroy();
  }

  private async command(phase: SmtpPhase, line: string, timeoutMs?: number): Promise<ReplyResult> {
    if (this.dead) return this.deadFailure(phase);
    this.log.client(line);
    this.conn.write(line);
    return this.read(phase, timeoutMs);
  }

  private async read(phase: SmtpPhase, timeoutMs?: number): Promise<ReplyResult> {
    if (this.dead) return this.deadFailure(phase);
    const result = await this.conn.read(phase, timeoutMs ?? timeoutFor(this.timeouts, phase));
    if (!result.ok) this.kill(result.failure);
    return result;
  }

  private refused(phase: SmtpPhase, reply: SmtpReply): Failed {
    return { ok: false, failure: smtpFailure('reply', phase, `${phase} refused: ${formatReply(reply)}`, { reply }) };
  }

  private kill(failure: SmtpFailure): Failed {
    this.dead = true;
    this.conn.destroy();
    return { ok: false, failure };
  }

  private deadFailure(phase: SmtpPhase): Failed {
    return { ok: false, failure: smtpFailure('closed', phase, 'the session is closed') };
  }
}

function commandFailure(error: CommandError): Failed {
  switch (error.kind) {
    case 'smtputf8-unsupported':
      return { ok: false, failure: smtpFailure('smtputf8-unsupported', 'mail-from', error.message) };
    case '8bitmime-unsupported':
      return { ok: false, failure: smtpFailure('8bitmime-unsupported', 'mail-from', error.message) };
    case 'invalid-address':
    case 'invalid-name':
      return { ok: false, failure: smtpFailure('invalid-address', 'mail-from', error.message) };
  }
}
