/**
 * The server side of one SMTP submission session as a pure state machine (RFC 5321 4.1.4 command
 * order, RFC 3207 STARTTLS, RFC 4954 AUTH, RFC 2920 PIPELINING). It does no I/O: the driver feeds it
 * lines and data results and performs the `Step` it returns (write a reply, then maybe upgrade to TLS,
 * switch to reading DATA, store the message, or close). Secrets are checked by the `authenticate` input.
 *
 * Contract: every input yields exactly one step, so replies stay in command order under pipelining.
 * Sequence errors answer 503, syntax 501, unknown commands 500, limits 552/452, missing AUTH 530. After
 * `maxErrors` failed commands or `maxAuthFailures` failed AUTH attempts the session closes with 421. A
 * message is handed to the driver (`enqueue`) only when its data is complete and clean; the client
 * hears 250 only from `onQueued` with a stored id.
 */
import type { AuthPolicy } from '../../config/server.js';
import { LOGIN_PASSWORD, LOGIN_USERNAME, parseLoginResponse, parsePlain } from './auth.js';
import { parseCommand } from './command.js';
import type { Command } from './command.js';
import type { DataProblem } from './data.js';
import { R, reply } from './reply.js';
import type { ServerReply } from './reply.js';

export interface SessionSettings {
  /** Our host name, in the greeting and the EHLO reply. */
  readonly hostname: string;
  readonly auth: AuthPolicy;
  /** The listener has a certificate: STARTTLS is offered until TLS is up. */
  readonly tlsAvailable: boolean;
  readonly maxMessageSize: number;
  readonly maxRecipients: number;
  /** Longest line in octets, CRLF included (for the wording of a rejection). */
  readonly maxLine: number;
  /** Failed commands before 421; default 10. */
  readonly maxErrors?: number;
  /** Failed AUTH attempts before 421; default 3. */
  readonly maxAuthFailures?: number;
  /** Checks a user's secret (constant time is the implementation's duty). */
  authenticate(user: string, secret: string): boolean;
}

/** What the driver stores once the data is complete. */
export interface Envelope {
  /** `''` is the null reverse-path. */
  readonly from: string;
  readonly recipients: readonly string[];
  readonly smtputf8: boolean;
  /** The EHLO/HELO argument and whether it was EHLO. */
  readonly helo: string;
  readonly esmtp: boolean;
  readonly user?: string;
  readonly secure: boolean;
}

export type Step =
  | { readonly kind: 'reply' | 'starttls' | 'data' | 'close'; readonly reply: ServerReply }
  | { readonly kind: 'enqueue'; readonly envelope: Envelope; readonly body: Uint8Array };

/** How a store answered; `full` becomes 452 4.3.1, every other failure 451 4.3.0. */
export type QueueAnswer =
  { readonly ok: true; readonly id: string } | { readonly ok: false; readonly kind: string };

type Phase =
  | 'start'
  | 'ready'
  | 'data'
  | 'enqueue'
  | 'auth-plain'
  | 'auth-login-user'
  | 'auth-login-secret'
  | 'closed';

interface Transaction {
  readonly from: string;
  readonly smtputf8: boolean;
  readonly recipients: string[];
}

const NO_RELAY_LITERAL = reply(550, '5.1.2', 'Address literals are not accepted as recipients');

export class ServerSession {
  private phase: Phase = 'start';
  private helo = '';
  private esmtp = false;
  private tls = false;
  private user: string | undefined;
  private loginUser = '';
  private tx: Transaction | undefined;
  private errors = 0;
  private authFailures = 0;

  constructor(private readonly settings: SessionSettings) {}

  get secure(): boolean {
    return this.tls;
  }

  get authenticatedUser(): string | undefined {
    return this.user;
  }

  get closed(): boolean {
    return this.phase === 'closed';
  }

  /** RFC 5321 4.3.1: the 220 greeting. */
  greeting(): ServerReply {
    return reply(220, undefined, `${this.settings.hostname} ESMTP mxsec`);
  }

  /** A complete command line (or a SASL response while AUTH is in progress). */
  onLine(line: string): Step {
    if (this.phase === 'closed') return this.close(R.bye);
    if (
      this.phase === 'auth-plain' ||
      this.phase === 'auth-login-user' ||
      this.phase === 'auth-login-secret'
    )
      return this.authResponse(line);
    if (this.phase !== 'start' && this.phase !== 'ready')
      throw new Error(`onLine in phase ${this.phase}`);
    const parsed = parseCommand(line);
    return parsed.ok ? this.command(parsed.command) : this.error(parsed.reply);
  }

  /** A line over the limit was skipped (RFC 5321 4.5.3.1.4: reply 500 and carry on). */
  onLineTooLong(): Step {
    if (this.phase.startsWith('auth-')) {
      this.phase = 'ready';
      return this.error(R.authLineTooLong);
    }
    return this.error(R.lineTooLong);
  }

  /** The end of DATA; `problem` comes from the data reader. */
  onDataEnd(body: Uint8Array, problem: DataProblem | undefined): Step {
    const tx = this.tx;
    if (this.phase !== 'data' || tx === undefined) throw new Error('onDataEnd outside DATA');
    this.phase = 'ready';
    this.tx = undefined;
    if (problem !== undefined) {
      const why =
        problem === 'too-big'
          ? R.tooBig(this.settings.maxMessageSize)
          : problem === 'line-too-long'
            ? R.dataLineTooLong(this.settings.maxLine)
            : R.bareLineEnding;
      return { kind: 'reply', reply: why };
    }
    this.phase = 'enqueue';
    const envelope: Envelope = {
      from: tx.from,
      recipients: tx.recipients,
      smtputf8: tx.smtputf8,
      helo: this.helo,
      esmtp: this.esmtp,
      secure: this.tls,
      ...(this.user === undefined ? {} : { user: this.user }),
    };
    return { kind: 'enqueue', envelope, body };
  }

  /** The store's answer for the message of the last `enqueue` step. */
  onQueued(answer: QueueAnswer): Step {
    if (this.phase !== 'enqueue') throw new Error('onQueued without an enqueue');
    this.phase = 'ready';
    if (answer.ok) return { kind: 'reply', reply: R.queued(answer.id) };
    return { kind: 'reply', reply: answer.kind === 'full' ? R.storageFull : R.storageFailed };
  }

  /** RFC 3207 4.2: after the handshake everything learnt before is forgotten; the client must EHLO again. */
  onTlsEstablished(): void {
    this.tls = true;
    this.phase = 'start';
    this.helo = '';
    this.esmtp = false;
    this.user = undefined;
    this.tx = undefined;
  }

  private authOffered(): boolean {
    // Guard: with a certificate configured, secrets are accepted only inside TLS (RFC 4954 4).
    return this.settings.auth !== 'none' && (this.tls || !this.settings.tlsAvailable);
  }

  private ehloLines(domain: string): string[] {
    const lines = [
      `${this.settings.hostname} greets ${domain}`,
      'PIPELINING',
      `SIZE ${this.settings.maxMessageSize}`,
      '8BITMIME',
      'SMTPUTF8',
      'ENHANCEDSTATUSCODES',
    ];
    if (this.settings.tlsAvailable && !this.tls) lines.push('STARTTLS');
    if (this.authOffered()) lines.push('AUTH PLAIN LOGIN');
    return lines;
  }

  private command(command: Command): Step {
    switch (command.verb) {
      case 'EHLO':
      case 'HELO':
        // RFC 5321 4.1.4: a new EHLO also aborts any transaction in progress.
        this.phase = 'ready';
        this.tx = undefined;
        this.helo = command.domain;
        this.esmtp = command.verb === 'EHLO';
        return this.ok(
          command.verb === 'EHLO'
            ? { code: 250, lines: this.ehloLines(command.domain) }
            : reply(250, undefined, this.settings.hostname),
        );
      case 'STARTTLS':
        if (!this.settings.tlsAvailable || this.tls)
          return this.error(
            this.tls
              ? R.sequence('TLS already active')
              : R.notImplemented('STARTTLS not available'),
          );
        if (this.phase === 'start') return this.error(R.sequence('Send EHLO first'));
        if (this.tx !== undefined)
          return this.error(R.sequence('STARTTLS not allowed during a mail transaction'));
        return { kind: 'starttls', reply: R.readyTls };
      case 'AUTH':
        return this.auth(command.mechanism, command.initial);
      case 'MAIL':
        return this.mail(command);
      case 'RCPT':
        return this.rcpt(command);
      case 'DATA':
        if (this.tx === undefined) return this.error(R.sequence('Need MAIL before DATA'));
        if (this.tx.recipients.length === 0) return this.error(R.noRecipients);
        this.phase = 'data';
        return { kind: 'data', reply: R.startData };
      case 'RSET':
        this.tx = undefined;
        return this.ok(R.ok);
      case 'NOOP':
        return this.ok(R.ok);
      case 'VRFY':
        return this.ok(R.vrfy);
      case 'QUIT':
        return this.close(R.bye);
    }
  }

  private mail(command: Extract<Command, { verb: 'MAIL' }>): Step {
    if (this.phase === 'start') return this.error(R.sequence('Send EHLO/HELO first'));
    if (this.tx !== undefined) return this.error(R.sequence('Nested MAIL command'));
    // Guard: submission without AUTH only where the configuration allows it (loopback listeners).
    if (this.settings.auth === 'required' && this.user === undefined)
      return this.error(R.authRequired);
    const p = command.params;
    if (!this.esmtp && (p.size !== undefined || p.body !== undefined || p.smtputf8))
      return this.error(R.badParam('Parameters need EHLO'));
    if (p.size !== undefined && p.size > this.settings.maxMessageSize)
      return this.error(R.tooBig(this.settings.maxMessageSize));
    if (command.nonAscii && !p.smtputf8) return this.error(R.needUtf8);
    this.tx = { from: command.address, smtputf8: p.smtputf8, recipients: [] };
    return this.ok(R.senderOk);
  }

  private rcpt(command: Extract<Command, { verb: 'RCPT' }>): Step {
    const tx = this.tx;
    if (tx === undefined) return this.error(R.sequence('Need MAIL before RCPT'));
    if (command.literal) return this.error(NO_RELAY_LITERAL);
    if (command.nonAscii && !tx.smtputf8) return this.error(R.needUtf8);
    // RFC 5321 3.3: a repeated recipient may be accepted once; the store needs each address once.
    if (tx.recipients.includes(command.address)) return this.ok(R.recipientOk);
    // RFC 5321 4.5.3.1.10: 452 (not 552) for too many recipients; the client sends the rest later.
    if (tx.recipients.length >= this.settings.maxRecipients)
      return { kind: 'reply', reply: R.tooManyRecipients };
    tx.recipients.push(command.address);
    return this.ok(R.recipientOk);
  }

  private auth(mechanism: string, initial: string | undefined): Step {
    if (this.settings.auth === 'none') return this.error(R.notImplemented('AUTH not available'));
    if (this.phase === 'start') return this.error(R.sequence('Send EHLO first'));
    if (this.user !== undefined) return this.error(R.sequence('Already authenticated'));
    if (this.tx !== undefined)
      return this.error(R.sequence('AUTH not allowed during a mail transaction'));
    if (!this.authOffered()) return this.error(R.encryptionRequired);
    if (mechanism === 'PLAIN') {
      if (initial === undefined) {
        this.phase = 'auth-plain';
        return { kind: 'reply', reply: reply(334, undefined, '') };
      }
      return this.plain(initial);
    }
    if (mechanism === 'LOGIN') {
      if (initial === undefined) {
        this.phase = 'auth-login-user';
        return { kind: 'reply', reply: reply(334, undefined, LOGIN_USERNAME) };
      }
      return this.loginUserResponse(initial);
    }
    return this.error(R.unknownMechanism);
  }

  private authResponse(line: string): Step {
    const phase = this.phase;
    this.phase = 'ready';
    // RFC 4954 4: a lone `*` cancels the exchange.
    if (line === '*') return this.error(R.authCancelled);
    if (phase === 'auth-plain') return this.plain(line);
    if (phase === 'auth-login-user') return this.loginUserResponse(line);
    const secret = parseLoginResponse(line);
    if (secret === undefined) return this.error(R.badBase64);
    return this.verify(this.loginUser, secret);
  }

  private loginUserResponse(response: string): Step {
    const user = parseLoginResponse(response);
    if (user === undefined) return this.error(R.badBase64);
    this.loginUser = user;
    this.phase = 'auth-login-secret';
    return { kind: 'reply', reply: reply(334, undefined, LOGIN_PASSWORD) };
  }

  private plain(response: string): Step {
    const credentials = parsePlain(response);
    if (credentials === 'undecodable') return this.error(R.badBase64);
    if (credentials === 'invalid') return this.authFailed();
    return this.verify(credentials.user, credentials.secret);
  }

  private verify(user: string, secret: string): Step {
    this.loginUser = '';
    if (!this.settings.authenticate(user, secret)) return this.authFailed();
    this.user = user;
    return this.ok(R.authOk);
  }

  private authFailed(): Step {
    this.authFailures += 1;
    if (this.authFailures >= (this.settings.maxAuthFailures ?? 3))
      return this.close(R.tooManyErrors);
    return this.error(R.authFailed);
  }

  private ok(r: ServerReply): Step {
    return { kind: 'reply', reply: r };
  }

  private error(r: ServerReply): Step {
    this.errors += 1;
    if (this.errors >= (this.settings.maxErrors ?? 10)) return this.close(R.tooManyErrors);
    return { kind: 'reply', reply: r };
  }

  private close(r: ServerReply): Step {
    this.phase = 'closed';
    return { kind: 'close', reply: r };
  }
}
