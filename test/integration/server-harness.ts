/**
 * Shared by the `server-*` integration tests: a submission server on loopback with port 0, a logger that
 * records what it is told, and a raw SMTP client for byte-exact (and hostile) conversations. Every
 * server started here is closed by `closeAll` (call it in `after`).
 */
import net from 'node:net';
import tls from 'node:tls';
import assert from 'node:assert/strict';
import type { ListenerConfig, ServerConfig, ServerLimits } from '../../src/config/server.js';
import { DEFAULT_SERVER_LIMITS } from '../../src/config/server.js';
import type { QueueStore } from '../../src/queue/store.js';
import { startSubmissionServer } from '../../src/server/index.js';
import type { SubmissionServer } from '../../src/server/index.js';
import type { Logger } from '../../src/core/ports.js';

/** Long enough for a loaded 2-core machine; only a guard against hanging, never a timing assertion. */
export const WAIT_MS = 30_000;

export class RecordingLogger implements Logger {
  readonly entries: { level: string; obj: Record<string, unknown> }[] = [];
  info(obj: object): void {
    this.entries.push({ level: 'info', obj: obj as Record<string, unknown> });
  }
  warn(obj: object): void {
    this.entries.push({ level: 'warn', obj: obj as Record<string, unknown> });
  }
  error(obj: object): void {
    this.entries.push({ level: 'error', obj: obj as Record<string, unknown> });
  }
  events(name: string): Record<string, unknown>[] {
    return this.entries.filter((e) => e.obj.event === name).map((e) => e.obj);
  }
}

const running: SubmissionServer[] = [];

export async function closeAll(): Promise<void> {
  await Promise.all(running.splice(0).map((s) => s.close()));
}

export interface Started {
  readonly server: SubmissionServer;
  readonly port: number;
  readonly logger: RecordingLogger;
}

export async function startServer(
  store: QueueStore,
  listener: Partial<ListenerConfig> = {},
  limits: Partial<ServerLimits> = {},
  users: ServerConfig['users'] = [{ name: 'app', secret: 's3cret' }],
): Promise<Started> {
  const logger = new RecordingLogger();
  const config: ServerConfig = {
    listeners: [
      { name: 'submission', bind: [{ host: '127.0.0.1', port: 0 }], auth: 'none', ...listener },
    ],
    users,
    limits: { ...DEFAULT_SERVER_LIMITS, ...limits },
  };
  const started = await startSubmissionServer({
    config,
    store,
    logger,
    hostname: 'mx.test',
    now: () => Date.UTC(2025, 0, 2, 3, 4, 5),
  });
  assert.ok(started.ok, started.ok ? '' : started.message);
  running.push(started.server);
  return { server: started.server, port: started.server.listeners[0]!.port, logger };
}

export interface Reply {
  readonly code: number;
  readonly text: string;
}

/** A line-level SMTP client that sends exactly what it is given. */
export class RawClient {
  private socket: net.Socket;
  private buffer = '';
  private readonly waiting: (() => void)[] = [];
  private closedFlag = false;

  private constructor(socket: net.Socket) {
    this.socket = socket;
    this.listen(socket);
  }

  static connect(port: number): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host: '127.0.0.1', port }, () => resolve(new RawClient(socket)));
      socket.once('error', reject);
    });
  }

  private listen(socket: net.Socket): void {
    socket.on('data', (chunk: Buffer) => {
      this.buffer += chunk.toString('utf8');
      this.wake();
    });
    socket.on('close', () => {
      this.closedFlag = true;
      this.wake();
    });
    socket.on('error', () => undefined);
  }

  private wake(): void {
    for (const w of this.waiting.splice(0)) w();
  }

  get closed(): boolean {
    return this.closedFlag;
  }

  send(text: string | Uint8Array): void {
    this.socket.write(text);
  }

  /** The next complete reply (all its lines). Fails the test if none comes. */
  async reply(): Promise<Reply> {
    const deadline = Date.now() + WAIT_MS;
    for (;;) {
      const match = /^(?:\d{3}-[^\n]*\n)*(\d{3})(?: [^\n]*)?\r?\n/.exec(this.buffer);
      if (match !== null) {
        this.buffer = this.buffer.slice(match[0].length);
        return { code: Number(match[1]), text: match[0] };
      }
      if (this.closedFlag)
        throw new Error(`connection closed; unread: ${JSON.stringify(this.buffer)}`);
      if (Date.now() > deadline)
        throw new Error(`no reply within ${WAIT_MS} ms; unread: ${JSON.stringify(this.buffer)}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 1000);
        this.waiting.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Sends a command and returns its reply. */
  async command(line: string): Promise<Reply> {
    this.send(`${line}\r\n`);
    return this.reply();
  }

  /** Waits until the server closes the connection. */
  async waitClosed(): Promise<void> {
    while (!this.closedFlag) await new Promise<void>((resolve) => this.waiting.push(resolve));
  }

  /** Starts TLS on the connection (after a 220 to STARTTLS), trusting `ca`. */
  upgrade(ca: string, servername = 'mx.test'): Promise<tls.TLSSocket> {
    const raw = this.socket;
    raw.removeAllListeners('data');
    raw.removeAllListeners('close');
    return new Promise((resolve, reject) => {
      const secure = tls.connect({ socket: raw, ca, servername }, () => {
        this.socket = secure;
        resolve(secure);
      });
      this.listen(secure);
      secure.once('error', reject);
    });
  }

  close(): void {
    this.socket.destroy();
  }
}
