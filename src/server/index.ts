/**
 * The SMTP submission listener of `mxsec serve`: applications hand mail to mxsec here, mxsec stores it
 * in the queue and the relay delivers it. This module reads the files the configuration names
 * (certificates, secret files), builds the TLS context and the secret check, and starts every listener.
 *
 * Contract: resolves `{ ok: true, server }` once every listener is bound, or `{ ok: false, message }`
 * (unreadable certificate or secret file, invalid key, address in use) with nothing left listening.
 * `server.close()` stops accepting, answers 421 to open sessions after their command in progress, and
 * resolves when every socket is closed; the store stays open (the caller owns it).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createSecureContext } from 'node:tls';
import type { SecureContext } from 'node:tls';
import type { ListenerConfig, ServerConfig, ServerUser } from '../config/server.js';
import type { QueueStore } from '../queue/store.js';
import { startListener } from './listener.js';
import type { RunningListener } from './listener.js';
import type { Logger } from '../core/ports.js';

export interface SubmissionServer {
  /** One entry per bound address, with the actual port. */
  readonly listeners: readonly { name: string; host: string; port: number }[];
  close(): Promise<void>;
}

export interface SubmissionServerDeps {
  readonly config: ServerConfig;
  readonly store: QueueStore;
  /** A pino logger (any object with `info`, `warn`, `error` taking an object first). */
  readonly logger: Logger;
  /** Epoch milliseconds for `createdAt` and the Received header; default `Date.now`. */
  readonly now?: () => number;
  /** Our host name in the greeting, EHLO reply and Received header. */
  readonly hostname: string;
}

export type SubmissionServerStart =
  { ok: true; server: SubmissionServer } | { ok: false; message: string };

type Loaded<T> = { ok: true; value: T } | { ok: false; message: string };

async function readText(path: string, what: string): Promise<Loaded<string>> {
  try {
    return { ok: true, value: await readFile(path, 'utf8') };
  } catch (error) {
    return {
      ok: false,
      message: `cannot read ${what} ${path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`,
    };
  }
}

async function tlsContext(listener: ListenerConfig): Promise<Loaded<SecureContext | undefined>> {
  if (listener.tls === undefined) return { ok: true, value: undefined };
  const cert = await readText(
    listener.tls.certFile,
    `the certificate of listener '${listener.name}'`,
  );
  if (!cert.ok) return cert;
  const key = await readText(listener.tls.keyFile, `the key of listener '${listener.name}'`);
  if (!key.ok) return key;
  try {
    // TLS 1.2 is the floor (RFC 8996 retired 1.0 and 1.1; RFC 8314 4.1 for submission).
    return {
      ok: true,
      value: createSecureContext({ cert: cert.value, key: key.value, minVersion: 'TLSv1.2' }),
    };
  } catch (error) {
    return {
      ok: false,
      message: `listener '${listener.name}': invalid certificate or key: ${(error as Error).message}`,
    };
  }
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

/**
 * The secret check: equal-length digests compared in constant time, and an unknown user costs the same
 * comparison, so timing tells neither secrets nor which user names exist.
 */
async function authenticator(
  users: readonly ServerUser[],
): Promise<Loaded<(user: string, secret: string) => boolean>> {
  const digests = new Map<string, Buffer>();
  for (const user of users) {
    let secret = user.secret;
    if (user.secretFile !== undefined) {
      const text = await readText(user.secretFile, `the secret file of user '${user.name}'`);
      if (!text.ok) return text;
      secret = text.value.replace(/\r?\n$/, '');
      if (secret === '')
        return { ok: false, message: `the secret file of user '${user.name}' is empty` };
    }
    if (secret !== undefined) digests.set(user.name, digest(secret));
  }
  const decoy = digest('\u0000no such user');
  return {
    ok: true,
    value: (user, secret) => {
      const expected = digests.get(user);
      const same = timingSafeEqual(expected ?? decoy, digest(secret));
      return expected !== undefined && same;
    },
  };
}

/** Starts every configured listener; see the module contract. */
export async function startSubmissionServer(
  deps: SubmissionServerDeps,
): Promise<SubmissionServerStart> {
  const authenticate = await authenticator(deps.config.users);
  if (!authenticate.ok) return authenticate;
  const started: { name: string; listener: RunningListener }[] = [];
  const closeAll = async (): Promise<void> => {
    await Promise.all(started.map((s) => s.listener.close()));
  };
  for (const config of deps.config.listeners) {
    const context = await tlsContext(config);
    if (!context.ok) {
      await closeAll();
      return context;
    }
    const result = await startListener({
      config,
      limits: deps.config.limits,
      store: deps.store,
      logger: deps.logger,
      now: deps.now ?? Date.now,
      hostname: deps.hostname,
      secureContext: context.value,
      authenticate: authenticate.value,
    });
    if (!result.ok) {
      await closeAll();
      return result;
    }
    started.push({ name: config.name, listener: result.listener });
  }
  for (const { name, listener } of started) {
    deps.logger.info(
      { event: 'listener-started', listener: name, addresses: listener.addresses },
      `listener '${name}' ready`,
    );
  }
  const listeners = started.flatMap(({ name, listener }) =>
    listener.addresses.map((a) => ({ name, host: a.host, port: a.port })),
  );
  return { ok: true, server: { listeners, close: closeAll } };
}
