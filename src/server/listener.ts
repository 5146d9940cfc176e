/**
 * One configured listener (`[server.listener.<name>]`): a TCP server per bind address, each accepted
 * socket driven by a `SubmissionConnection` with its own `ServerSession`.
 *
 * Contract: `startListener` resolves once every address is bound, or with `{ ok: false, message }`
 * (address in use, permission denied) after closing whatever it had bound. Sessions beyond
 * `limits.connections` (all addresses of the listener together) hear 421 4.7.0 and are closed. `close`
 * stops accepting, sends 421 4.3.2 to every session once its command in progress is answered, and
 * resolves when all sockets are closed.
 */
import net from 'node:net';
import type { SecureContext } from 'node:tls';
import type { ListenerConfig, ServerLimits } from '../config/server.js';
import type { QueueStore } from '../queue/store.js';
import { SubmissionConnection } from './connection.js';
import { formatServerReply, R } from './protocol/reply.js';
import { ServerSession } from './protocol/session.js';
import type { Logger } from '../core/ports.js';

export interface ListenerDeps {
  readonly config: ListenerConfig;
  readonly limits: ServerLimits;
  readonly store: QueueStore;
  readonly logger: Logger;
  readonly now: () => number;
  readonly hostname: string;
  readonly secureContext: SecureContext | undefined;
  readonly authenticate: (user: string, secret: string) => boolean;
}

export interface RunningListener {
  /** The addresses actually bound (port 0 in the configuration becomes the system's choice). */
  readonly addresses: readonly { readonly host: string; readonly port: number }[];
  close(): Promise<void>;
}

export type ListenerStart =
  | { readonly ok: true; readonly listener: RunningListener }
  | { readonly ok: false; readonly message: string };

function listen(
  server: net.Server,
  host: string,
  port: number,
): Promise<{ ok: true; port: number } | { ok: false; message: string }> {
  return new Promise((resolve) => {
    const onError = (error: NodeJS.ErrnoException): void =>
      resolve({ ok: false, message: `${host}:${port}: ${error.code ?? error.message}` });
    server.once('error', onError);
    server.listen({ host, port, exclusive: true }, () => {
      server.off('error', onError);
      const address = server.address();
      resolve({
        ok: true,
        port: typeof address === 'object' && address !== null ? address.port : port,
      });
    });
  });
}

function closeServer(server: net.Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

export async function startListener(deps: ListenerDeps): Promise<ListenerStart> {
  const { config, limits } = deps;
  const connections = new Set<SubmissionConnection>();
  const servers: net.Server[] = [];
  const addresses: { host: string; port: number }[] = [];

  const accept = (socket: net.Socket): void => {
    socket.on('error', () => socket.destroy());
    if (connections.size >= limits.connections) {
      socket.end(formatServerReply(R.tooManyConnections), () => socket.destroy());
      return;
    }
    const session = new ServerSession({
      hostname: deps.hostname,
      auth: config.auth,
      tlsAvailable: deps.secureContext !== undefined,
      maxMessageSize: limits.messageSize,
      maxRecipients: limits.recipients,
      maxLine: limits.lineLength,
      authenticate: deps.authenticate,
    });
    const connection = new SubmissionConnection(socket, session, {
      listener: config.name,
      hostname: deps.hostname,
      store: deps.store,
      logger: deps.logger,
      now: deps.now,
      secureContext: deps.secureContext,
      maxLine: limits.lineLength,
      maxMessageSize: limits.messageSize,
      timeoutMs: limits.timeoutMs,
    });
    connections.add(connection);
    void connection.closed.then(() => connections.delete(connection));
    connection.start();
  };

  for (const bind of config.bind) {
    const server = net.createServer({ noDelay: true }, accept);
    const bound = await listen(server, bind.host, bind.port);
    if (!bound.ok) {
      await Promise.all(servers.map(closeServer));
      return { ok: false, message: `listener '${config.name}' cannot bind ${bound.message}` };
    }
    server.on('error', (error) =>
      deps.logger.error(
        { event: 'listener-error', listener: config.name, error: error.message },
        'listener error',
      ),
    );
    servers.push(server);
    addresses.push({ host: bind.host, port: bound.port });
  }

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      const stopped = Promise.all(servers.map(closeServer));
      const open = [...connections];
      for (const connection of open) connection.shutdown();
      await Promise.all([stopped, ...open.map((c) => c.closed)]);
    })();
    return closing;
  };
  return { ok: true, listener: { addresses, close } };
}
