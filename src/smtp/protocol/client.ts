/**
 * The SMTP client session as a sans-I/O state machine: every protocol rule of the conversation (the
 * greeting, EHLO with HELO fallback, STARTTLS and what it invalidates, the pre-send refusals, RSET, QUIT)
 * lives here, and the driver (`../session.ts`) only carries out the steps.
 *
 * Each dialogue method returns a `ClientStep`. `write`, `write-data` and `read` steps tell the driver what
 * to put on the wire and which phase's reply to wait for next; the driver hands that reply to the step's
 * `then` and carries on with the step it returns. `done` ends the dialogue with its value. `fail` is a
 * failure after which the session stays usable (the server said no, or nothing was sent); `abort` is one
 * after which the driver must destroy the connection (the byte stream can no longer be trusted).
 *
 * Contract: nothing here throws for peer behaviour. Misuse throws: an EHLO name that could smuggle a
 * command, `send` before a successful EHLO. Once the driver reports the connection gone (`close`), every
 * dialogue fails with kind `closed` in its own first phase. Every failure the session reports is built
 * here, except the ones the byte layer (`../connection.ts`) reports for timeouts, closes and broken framing.
 */
import { heloCapabilities, parseCapabilities } from './capabilities.js';
import type { Capabilities } from './capabilities.js';
import { hello, mailFrom, rcptTo, QUIT, RSET, STARTTLS } from './commands.js';
import type { CommandError } from './commands.js';
import { encodeData, messageSize } from './body.js';
import { formatReply } from './reply.js';
import type { SmtpReply } from './reply.js';
import { Transaction } from './transaction.js';
import type { Expected, TransactionOutcome, TransactionStep } from './transaction.js';
import { smtpFailure } from '../failure.js';
import type { SmtpFailure, SmtpPhase } from '../failure.js';

/** Continues a dialogue with the reply the driver read. */
export type OnReply<T> = (reply: SmtpReply) => ClientStep<T>;

export type ClientStep<T> =
  /** Write `text` (one or more command lines), then read the reply that ends `phase`. */
  | {
      readonly type: 'write';
      readonly text: string;
      readonly phase: SmtpPhase;
      readonly then: OnReply<T>;
    }
  /** Write the encoded message data, then read the reply that ends `phase`. */
  | {
      readonly type: 'write-data';
      readonly data: Uint8Array;
      readonly phase: SmtpPhase;
      readonly then: OnReply<T>;
    }
  /** Read the next reply; it ends `phase`. */
  | { readonly type: 'read'; readonly phase: SmtpPhase; readonly then: OnReply<T> }
  | { readonly type: 'done'; readonly value: T }
  /** The dialogue failed; the connection is still in a known state and the session stays usable. */
  | { readonly type: 'fail'; readonly failure: SmtpFailure }
  | Abort;

/** The dialogue failed and the connection must be destroyed; `note` goes to the transcript first. */
export interface Abort {
  readonly type: 'abort';
  readonly failure: SmtpFailure;
  readonly note?: string;
}

/** The positive end of EHLO (or of the HELO that replaced it). */
export interface Hello {
  readonly capabilities: Capabilities;
  readonly reply: SmtpReply;
  /** True when the server refused EHLO and HELO was used: no extension is available. */
  readonly helo: boolean;
}

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

const done = <T>(value: T): ClientStep<T> => ({ type: 'done', value });
const fail = (failure: SmtpFailure): ClientStep<never> => ({ type: 'fail', failure });

/** A negative (or unexpected) reply to a session command: the server said no, the session stays usable. */
function refused(phase: SmtpPhase, reply: SmtpReply): ClientStep<never> {
  return fail(smtpFailure('reply', phase, `${phase} refused: ${formatReply(reply)}`, { reply }));
}

/** Writes one command and expects `code`; any other reply is a refusal. */
function command(text: string, phase: SmtpPhase, code: number): ClientStep<SmtpReply> {
  return {
    type: 'write',
    text,
    phase,
    then: (reply) => (reply.code === code ? done(reply) : refused(phase, reply)),
  };
}

/** One session's protocol state. Create one per connection; the driver reports when the connection is gone. */
export class ClientSession {
  private caps: Capabilities | undefined;
  private tls = false;
  private closed = false;

  /** Capabilities from the last successful EHLO/HELO; cleared by STARTTLS (RFC 3207 4.2). */
  get capabilities(): Capabilities | undefined {
    return this.caps;
  }

  /** True once the TLS handshake after STARTTLS succeeded. */
  get secure(): boolean {
    return this.tls;
  }

  /** The driver destroyed the connection: from now on every dialogue fails with kind `closed`. */
  close(): void {
    this.closed = true;
  }

  /** RFC 5321 3.1 / 4.3.1: the greeting must be 220; anything else (554: no service) is a refusal. */
  greeting(): ClientStep<SmtpReply> {
    if (this.closed) return closedFailure('greeting');
    return {
      type: 'read',
      phase: 'greeting',
      then: (reply) => (reply.code === 220 ? done(reply) : refused('greeting', reply)),
    };
  }

  /**
   * RFC 5321 4.1.1.1: EHLO; a 5yz (the server does not know EHLO) falls back to HELO, which offers no
   * extension. A 4yz is a refusal, not a sign of an old server, so it does not fall back. Throws a
   * TypeError for a name that is not a single token (it would inject a command).
   */
  ehlo(name: string): ClientStep<Hello> {
    const ehlo = hello('EHLO', name);
    if (!ehlo.ok) throw new TypeError(ehlo.error.message);
    if (this.closed) return closedFailure('ehlo');
    return {
      type: 'write',
      text: ehlo.line,
      phase: 'ehlo',
      then: (reply) => {
        if (reply.code === 250) return this.greeted(parseCapabilities(reply), reply, false);
        if (reply.code < 500) return refused('ehlo', reply);
        return {
          type: 'write',
          text: `HELO ${name}\r\n`,
          phase: 'ehlo',
          then: (second) =>
            second.code === 250
              ? this.greeted(heloCapabilities(second), second, true)
              : refused('ehlo', second),
        };
      },
    };
  }

  /**
   * RFC 3207 4: STARTTLS, done with the 220 that lets the handshake start. `unreadBytes` is what the driver
   * has received and not consumed: with anything pending, the next reply read would not be the answer to
   * STARTTLS, so the session is aborted as a protocol failure before the command is sent.
   */
  startTls(unreadBytes: number): ClientStep<SmtpReply> {
    if (this.closed) return closedFailure('starttls');
    if (unreadBytes > 0)
      return abort(
        smtpFailure('protocol', 'starttls', 'unsolicited data from the server before STARTTLS'),
      );
    return command(STARTTLS, 'starttls', 220);
  }

  /**
   * RFC 3207 4.2 (CVE-2011-0411): after the 220 the driver stops reading the plaintext socket and reports
   * how many bytes it holds unread. Any such byte arrived before the handshake, so a man in the middle could
   * have placed it there to be read as a reply inside TLS: it is never parsed, the session is aborted with
   * kind `injection`. Returns undefined when the handshake may start.
   */
  plaintextAfterStarttls(unreadBytes: number): Abort | undefined {
    if (unreadBytes === 0) return undefined;
    return abort(
      smtpFailure(
        'injection',
        'starttls',
        'the server sent data after the STARTTLS 220 in plaintext (command injection)',
      ),
      `${unreadBytes} unread octets after the STARTTLS 220 discarded unparsed`,
    );
  }

  /** The upgrade function reported failure, or threw `thrown.error`: the connection is given up. */
  upgradeFailed(thrown?: { readonly error: unknown }): Abort {
    return abort(
      smtpFailure(
        'tls',
        'starttls',
        thrown === undefined
          ? 'TLS handshake failed'
          : `TLS upgrade threw: ${String(thrown.error)}`,
      ),
    );
  }

  /**
   * RFC 3207 4.2: the handshake succeeded; the protocol restarts, and the client must forget what the
   * server said in plaintext, the capabilities above all (a man in the middle could have stripped them).
   */
  tlsEstablished(): void {
    this.caps = undefined;
    this.tls = true;
  }

  /**
   * One mail transaction (RFC 5321 3.3) through `Transaction`, pipelined when PIPELINING was offered
   * (RFC 2920). Refuses before anything is written when the message exceeds the advertised SIZE (RFC 1870 6)
   * or when the envelope cannot be sent to this server (`commandFailure`). Throws before a successful EHLO.
   */
  send(message: OutgoingMessage): ClientStep<TransactionOutcome> {
    const caps = this.caps;
    if (caps === undefined) throw new Error('send() before a successful ehlo()');
    if (this.closed) return closedFailure('mail-from');
    const size = messageSize(message.body);
    const tooLarge = checkSize(size, caps);
    if (tooLarge !== undefined) return fail(tooLarge);
    const smtputf8 = message.smtputf8 === true;
    const mail = mailFrom(message.from, caps, {
      size,
      eightBit: message.eightBit === true,
      smtputf8,
    });
    if (!mail.ok) return fail(commandFailure(mail.error));
    const recipients: { address: string; line: string }[] = [];
    for (const address of message.recipients) {
      const rcpt = rcptTo(address, smtputf8);
      if (!rcpt.ok) return fail(commandFailure(rcpt.error));
      recipients.push({ address, line: rcpt.line });
    }
    const tx = new Transaction({ mailLine: mail.line, recipients, pipelining: caps.pipelining });
    return transactionStep(tx, tx.start(), message.body);
  }

  /**
   * RFC 5321 4.1.1.5: RSET, expecting 250. Anything received while the connection was idle (a 421 before
   * the server hangs up, RFC 5321 3.8, or garbage) would be read as the reply to RSET, so with
   * `unreadBytes` > 0 the session is aborted as not reusable and RSET is never sent.
   */
  rset(unreadBytes: number): ClientStep<SmtpReply> {
    if (this.closed) return closedFailure('rset');
    if (unreadBytes > 0)
      return abort(
        smtpFailure('protocol', 'rset', 'the server sent data while the connection was idle'),
      );
    return command(RSET, 'rset', 250);
  }

  /** RFC 5321 4.1.1.10: QUIT when the connection is still there; any reply (or none) ends it. */
  quit(): ClientStep<undefined> {
    if (this.closed) return done(undefined);
    return { type: 'write', text: QUIT, phase: 'quit', then: () => done(undefined) };
  }

  private greeted(capabilities: Capabilities, reply: SmtpReply, helo: boolean): ClientStep<Hello> {
    this.caps = capabilities;
    return done({ capabilities, reply, helo });
  }
}

/**
 * RFC 1870 6: a message larger than the advertised SIZE is refused before MAIL is sent (5.3.4). SIZE not
 * advertised, and SIZE 0 (RFC 1870 4: no fixed maximum), set no limit. `size` is `messageSize` of the body.
 */
export function checkSize(size: number, caps: Capabilities): SmtpFailure | undefined {
  if (caps.size === undefined || caps.size === 0 || size <= caps.size) return undefined;
  return smtpFailure(
    'too-large',
    'mail-from',
    `message of ${size} octets exceeds the server's SIZE limit of ${caps.size}`,
  );
}

/**
 * The failure for an envelope that cannot be written to this server, with the RFC 3463 code a bounce
 * should carry: 5.6.7 for SMTPUTF8 missing (RFC 6531 3.4), 5.6.3 for 8BITMIME missing (RFC 6152 3), 5.1.3
 * for an unusable address. All are reported in phase `mail-from`: nothing was sent.
 */
export function commandFailure(error: CommandError): SmtpFailure {
  switch (error.kind) {
    case 'smtputf8-unsupported':
      return smtpFailure('smtputf8-unsupported', 'mail-from', error.message);
    case '8bitmime-unsupported':
      return smtpFailure('8bitmime-unsupported', 'mail-from', error.message);
    case 'invalid-address':
    case 'invalid-name':
      return smtpFailure('invalid-address', 'mail-from', error.message);
  }
}

const PHASE_OF: Readonly<Record<Expected['kind'], SmtpPhase>> = {
  mail: 'mail-from',
  rcpt: 'rcpt-to',
  data: 'data',
  body: 'data',
  rset: 'rset',
};

/** Translates a `Transaction` step into a client step whose phase is that of the reply it waits for. */
function transactionStep(
  tx: Transaction,
  step: TransactionStep,
  body: Uint8Array,
): ClientStep<TransactionOutcome> {
  const then: OnReply<TransactionOutcome> = (reply) => transactionStep(tx, tx.onReply(reply), body);
  switch (step.type) {
    case 'done':
      return done(step.outcome);
    case 'write':
      return { type: 'write', text: step.text, phase: PHASE_OF[tx.expected!.kind], then };
    case 'write-data': {
      const data = encodeData(body);
      // The driver writes the data before it reads again, so the final reply is next from here on.
      tx.dataWritten();
      return { type: 'write-data', data, phase: PHASE_OF[tx.expected!.kind], then };
    }
    case 'read':
      return { type: 'read', phase: PHASE_OF[tx.expected!.kind], then };
  }
}

function abort(failure: SmtpFailure, note?: string): Abort {
  return note === undefined ? { type: 'abort', failure } : { type: 'abort', failure, note };
}

function closedFailure(phase: SmtpPhase): ClientStep<never> {
  return fail(smtpFailure('closed', phase, 'the session is closed'));
}
