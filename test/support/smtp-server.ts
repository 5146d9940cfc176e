/**
 * A scriptable SMTP server on loopback for tests, never for production. It speaks enough of RFC 5321,
 * RFC 3207 (STARTTLS), RFC 1870 (SIZE) and RFC 2920 (PIPELINING) to receive real messages, and can be
 * told to misbehave: custom replies per command, 454 to STARTTLS, bytes injected after the STARTTLS 220,
 * stalls and delays per phase, closing in the middle of DATA. A raw `script` mode replaces all of that
 * with exact bytes to write and lines to expect, for hostile-peer tests.
 *
 * Like a real pipelining server it answers a batch of commands that arrived together in one write, once
 * its input is drained, so `transcripts` show whether a client pipelined (all `C:` lines before the
 * `S:` lines) or waited for each reply. Received messages are recorded dot-unstuffed, and reported one
 * by one to an optional `onMessage` hook as they are accepted.
 * `close()` destroys every connection and the listener.
 */
import net from 'node:net';
import tls from 'node:tls';
import type { SecureContextOptions } from 'node:tls';

export type ServerPhase =
  | 'greeting'
  | 'ehlo'
  | 'helo'
  | 'starttls'
  | 'mail'
  | 'rcpt'
  | 'data'
  | 'body'
  | 'rset'
  | 'quit'
  | 'other';

/** A reply text without CRLF (`'550 5.1.1 no such user'`, multi-line with `\r\n` inside), or a misdeed. */
export type ServerAction = string | { readonly close: true } | { readonly stall: true };

export type ScriptStep =
  | { readonly send: string | Uint8Array }
  | { readonly expect: string | RegExp }
  | { readonly close: true };

export interface SmtpServerOptions {
  readonly hostname?: string;
  /** Replaces the `220` greeting line. */
  readonly greeting?: string;
  /** EHLO keywords besides SIZE, PIPELINING and STARTTLS. Default 8BITMIME, SMTPUTF8, ENHANCEDSTATUSCODES. */
  readonly extensions?: readonly string[];
  /** Advertise PIPELINING (default true). */
  readonly pipelining?: boolean;
  /** Advertise `SIZE n` and enforce it. */
  readonly sizeLimit?: number;
  /** Offer STARTTLS with this key and certificate chain; `options` may set minVersion, maxVersion, ciphers. */
  readonly tls?: {
    readonly key: string;
    readonly cert: string;
    readonly options?: SecureContextOptions;
  };
  /** Answer STARTTLS with this instead of 220 (e.g. `454 4.7.0 TLS not available`). */
  readonly starttlsReply?: string;
  /** Bytes written in the same write as the STARTTLS 220, in plaintext: the CVE-2011-0411 attack. */
  readonly injectAfterStartTls?: string | Uint8Array;
  /** Replies to RCPT by lower-case address. */
  readonly rcptReplies?: Readonly<Record<string, string>>;
  /** Overrides any reply; return undefined for the default behaviour. */
  readonly respond?: (phase: ServerPhase, line: string) => ServerAction | undefined;
  /** Wait this many milliseconds before replying in a phase, or never reply. */
  readonly delays?: Partial<Readonly<Record<ServerPhase, number | 'stall'>>>;
  /** Destroy the connection as soon as message data starts arriving. */
  readonly closeDuringData?: boolean;
  /** Raw mode: run these steps and nothing else. */
  readonly script?: readonly ScriptStep[];
  /** Loopback address to listen on; default 127.0.0.1. */
  readonly address?: string;
  /** Port; default 0 (ephemeral). Delivery tests give several servers one port on different addresses. */
  readonly port?: number;
  /** Called with each accepted message right after it is recorded (benchmarks count arrivals with it). */
  readonly onMessage?: (message: ReceivedMessage) => void;
}

export interface ReceivedMessage {
  readonly from: string;
  readonly recipients: readonly string[];
  readonly data: Uint8Array;
  readonly tls: boolean;
}

export interface TestSmtpServer {
  readonly port: number;
  readonly address: string;
  readonly messages: ReceivedMessage[];
  /** One array per connection: `C: line`, `S: line`, `* note`. */
  readonly transcripts: string[][];
  close(): Promise<void>;
}

const END_OF_DATA = Buffer.from('\r\n.\r\n');

/** Buffers what the client sends; hands out lines or message data. Switches sockets at STARTTLS. */
class Input {
  private buf = Buffer.alloc(0);
  private closed = false;
  private wake: (() => void) | undefined;
  private socket: net.Socket;
  private readonly onData = (chunk: Buffer): void => {
    this.buf = Buffer.concat([this.buf, chunk]);
    this.notify();
  };
  private readonly onEnd = (): void => {
    this.closed = true;
    this.notify();
  };

  constructor(socket: net.Socket) {
    this.socket = socket;
    this.attach(socket);
  }

  attach(socket: net.Socket): void {
    this.socket = socket;
    this.buf = Buffer.alloc(0);
    socket.on('data', this.onData).on('close', this.onEnd).on('error', this.onEnd);
  }

  detach(): net.Socket {
    this.socket.pause();
    this.socket.off('data', this.onData).off('close', this.onEnd);
    return this.socket;
  }

  hasLine(): boolean {
    return this.buf.includes(0x0a);
  }

  async line(): Promise<string | null> {
    for (;;) {
      const lf = this.buf.indexOf(0x0a);
      if (lf !== -1) {
        const line = this.buf.subarray(0, lf).toString('utf8').replace(/\r$/, '');
        this.buf = this.buf.subarray(lf + 1);
        return line;
      }
      if (this.closed) return null;
      await this.waitForInput();
    }
  }

  /** Raw DATA content up to and including the CRLF before the terminating dot. */
  async data(): Promise<Buffer | null> {
    for (;;) {
      if (this.buf.subarray(0, 3).equals(Buffer.from('.\r\n'))) {
        this.buf = this.buf.subarray(3);
        return Buffer.alloc(0);
      }
      const end = this.buf.indexOf(END_OF_DATA);
      if (end !== -1) {
        const data = this.buf.subarray(0, end + 2);
        this.buf = this.buf.subarray(end + END_OF_DATA.length);
        return data;
      }
      if (this.closed) return null;
      await this.waitForInput();
    }
  }

  async anyInput(): Promise<void> {
    while (this.buf.length === 0 && !this.closed) await this.waitForInput();
  }

  private waitForInput(): Promise<void> {
    return new Promise((resolve) => {
      this.wake = resolve;
    });
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }
}

function unstuff(data: Buffer): Uint8Array {
  const out: number[] = [];
  let atLineStart = true;
  for (const byte of data) {
    if (atLineStart && byte === 0x2e) {
      atLineStart = false;
      continue;
    }
    out.push(byte);
    atLineStart = byte === 0x0a;
  }
  return Uint8Array.from(out);
}

// One secure context per configured certificate, as a real server builds it once at start.
const contexts = new WeakMap<NonNullable<SmtpServerOptions['tls']>, tls.SecureContext>();
function secureContextOf(config: NonNullable<SmtpServerOptions['tls']>): tls.SecureContext {
  let context = contexts.get(config);
  if (context === undefined) {
    context = tls.createSecureContext({ ...config.options, key: config.key, cert: config.cert });
    contexts.set(config, context);
  }
  return context;
}

const pathOf = (line: string): string => /<([^>]*)>/.exec(line)?.[1] ?? '';

/** Starts the server (default 127.0.0.1 with an ephemeral port). */
export async function startSmtpServer(options: SmtpServerOptions = {}): Promise<TestSmtpServer> {
  const messages: ReceivedMessage[] = [];
  const transcripts: string[][] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    const transcript: string[] = [];
    transcripts.push(transcript);
    const run =
      options.script === undefined
        ? serve(socket, options, transcript, messages)
        : runScript(socket, options.script, transcript);
    run.catch((error: unknown) => {
      transcript.push(`* server error: ${String(error)}`);
      socket.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.address ?? '127.0.0.1', resolve);
  });
  const address = server.address() as net.AddressInfo;
  return {
    port: address.port,
    address: address.address,
    messages,
    transcripts,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

async function runScript(
  socket: net.Socket,
  script: readonly ScriptStep[],
  transcript: string[],
): Promise<void> {
  const input = new Input(socket);
  for (const step of script) {
    if ('send' in step) {
      transcript.push(
        `S: ${typeof step.send === 'string' ? step.send : Buffer.from(step.send).toString('latin1')}`,
      );
      socket.write(step.send);
    } else if ('expect' in step) {
      const line = await input.line();
      transcript.push(`C: ${line ?? '<closed>'}`);
      const matches =
        line !== null &&
        (typeof step.expect === 'string' ? line === step.expect : step.expect.test(line));
      if (!matches) {
        transcript.push(`* expected ${String(step.expect)}`);
        socket.destroy();
        return;
      }
    } else {
      socket.destroy();
      return;
    }
  }
}

async function serve(
  socket: net.Socket,
  options: SmtpServerOptions,
  transcript: string[],
  messages: ReceivedMessage[],
): Promise<void> {
  const hostname = options.hostname ?? 'mx.test';
  const input = new Input(socket);
  let current = socket;
  let pending = '';
  let secure = false;
  let from: string | undefined;
  let recipients: string[] = [];

  const flush = (): void => {
    if (pending === '') return;
    for (const line of pending.split('\r\n')) if (line !== '') transcript.push(`S: ${line}`);
    current.write(pending);
    pending = '';
  };
  // Returns false when the connection must stop being served (stall or close).
  const answer = async (
    phase: ServerPhase,
    line: string,
    fallback: string,
    forceFlush = false,
  ): Promise<string | false> => {
    const action = options.respond?.(phase, line) ?? fallback;
    const delay = options.delays?.[phase];
    if (delay !== undefined || typeof action !== 'string') flush();
    if (delay === 'stall' || (typeof action !== 'string' && 'stall' in action)) {
      transcript.push(`* stalling in ${phase}`);
      return false;
    }
    if (typeof action !== 'string') {
      transcript.push(`* closing in ${phase}`);
      current.destroy();
      return false;
    }
    if (typeof delay === 'number') await new Promise((resolve) => setTimeout(resolve, delay));
    pending += `${action}\r\n`;
    if (forceFlush || !input.hasLine()) flush();
    return action;
  };
  const positive = (reply: string): boolean => reply.startsWith('2');
  const ehloReply = (): string => {
    const keywords = [...(options.extensions ?? ['8BITMIME', 'SMTPUTF8', 'ENHANCEDSTATUSCODES'])];
    if (options.pipelining ?? true) keywords.push('PIPELINING');
    if (options.sizeLimit !== undefined) keywords.push(`SIZE ${options.sizeLimit}`);
    if (options.tls !== undefined && !secure) keywords.push('STARTTLS');
    return [
      `250-${hostname} greets you`,
      ...keywords.map((k, i) => `250${i === keywords.length - 1 ? ' ' : '-'}${k}`),
    ].join('\r\n');
  };

  if (
    (await answer(
      'greeting',
      '',
      options.greeting ?? `220 ${hostname} ESMTP mxsec test server`,
    )) === false
  )
    return;
  for (;;) {
    const line = await input.line();
    if (line === null) return;
    transcript.push(`C: ${line}`);
    const verb = (line.split(' ', 1)[0] ?? '').toUpperCase();
    let reply: string | false;
    switch (verb) {
      case 'EHLO':
        from = undefined;
        recipients = [];
        reply = await answer('ehlo', line, ehloReply());
        break;
      case 'HELO':
        reply = await answer('helo', line, `250 ${hostname}`);
        break;
      case 'STARTTLS': {
        const fallback =
          options.tls === undefined || secure
            ? '502 5.5.1 STARTTLS not offered'
            : (options.starttlsReply ?? '220 2.0.0 ready to start TLS');
        const action = options.respond?.('starttls', line) ?? fallback;
        if (typeof action !== 'string' || !action.startsWith('220') || options.tls === undefined) {
          reply = await answer('starttls', line, fallback);
          break;
        }
        const delay = options.delays?.starttls;
        flush();
        if (delay === 'stall') return;
        if (delay !== undefined) await new Promise((resolve) => setTimeout(resolve, delay));
        const raw = input.detach();
        transcript.push(`S: ${action}`);
        const injected = options.injectAfterStartTls;
        // One write, so the injected bytes reach the client in the same segment as the 220.
        raw.write(
          injected === undefined
            ? `${action}\r\n`
            : Buffer.concat([Buffer.from(`${action}\r\n`), Buffer.from(injected)]),
        );
        if (injected !== undefined)
          transcript.push(`* injected ${Buffer.from(injected).length} octets after 220`);
        current = new tls.TLSSocket(raw, {
          isServer: true,
          secureContext: secureContextOf(options.tls),
        });
        current.on('error', () => current.destroy());
        input.attach(current);
        secure = true;
        from = undefined;
        recipients = [];
        continue;
      }
      case 'MAIL': {
        const size = Number(/\bSIZE=(\d+)/i.exec(line)?.[1] ?? '0');
        const tooBig = options.sizeLimit !== undefined && size > options.sizeLimit;
        reply = await answer(
          'mail',
          line,
          tooBig
            ? '552 5.3.4 message size exceeds fixed limit'
            : from !== undefined
              ? '503 5.5.1 nested MAIL'
              : '250 2.1.0 sender ok',
        );
        if (reply !== false && positive(reply)) from = pathOf(line);
        break;
      }
      case 'RCPT': {
        const address = pathOf(line);
        const fallback =
          from === undefined
            ? '503 5.5.1 need MAIL first'
            : (options.rcptReplies?.[address.toLowerCase()] ?? '250 2.1.5 recipient ok');
        reply = await answer('rcpt', line, fallback);
        if (reply !== false && positive(reply)) recipients.push(address);
        break;
      }
      case 'DATA': {
        const fallback =
          from === undefined || recipients.length === 0
            ? '554 5.5.1 no valid recipients'
            : '354 end data with <CR><LF>.<CR><LF>';
        reply = await answer('data', line, fallback, true);
        if (reply === false || !reply.startsWith('354')) break;
        if (options.closeDuringData === true) {
          await input.anyInput();
          transcript.push('* closing during DATA');
          current.destroy();
          return;
        }
        const data = await input.data();
        if (data === null) return;
        transcript.push(`C: <message data, ${data.length} octets>`);
        const body = unstuff(data);
        const tooBig =
          options.sizeLimit !== undefined &&
          options.sizeLimit > 0 &&
          body.length > options.sizeLimit;
        const final = await answer(
          'body',
          '.',
          tooBig ? '552 5.3.4 message too big' : '250 2.0.0 message accepted',
        );
        if (final === false) return;
        if (positive(final) && from !== undefined && recipients.length > 0) {
          const message = { from, recipients, data: body, tls: secure };
          messages.push(message);
          options.onMessage?.(message);
        }
        from = undefined;
        recipients = [];
        continue;
      }
      case 'RSET':
        from = undefined;
        recipients = [];
        reply = await answer('rset', line, '250 2.0.0 reset');
        break;
      case 'NOOP':
        reply = await answer('other', line, '250 2.0.0 ok');
        break;
      case 'QUIT':
        if ((await answer('quit', line, '221 2.0.0 bye')) !== false) current.end();
        return;
      default:
        reply = await answer('other', line, '500 5.5.2 command not recognised');
    }
    if (reply === false) return;
  }
}
