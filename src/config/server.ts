/**
 * `[server]`: mxsec's own keys for the SMTP submission listener of `mxsec serve`.
 *
 *   [server.listener.<name>]  bind = ["127.0.0.1:2525"], tls = { cert = "f.pem", key = "f.pem" },
 *                             auth = "required" | "optional" | "none"
 *   [server.auth]             users = [{ name = "app", secret = "..." } | { name, secret-file = "..." }]
 *   [server.limits]           message-size = "25MB" | bytes, recipients, line-length, timeout, connections
 *
 * With no listener section there is one listener, `submission`, on 127.0.0.1:2525. Security rules, each an
 * error with the listener's position: a listener bound to any non-loopback address must have
 * `auth = "required"` (an open relay on the network is never a default nor an option), and a listener
 * that accepts AUTH on a non-loopback address must have `tls` (no plaintext passwords on the network).
 * Files (certificates, secret files) are named here and read when the listener starts. Problems are
 * diagnostics with positions, never exceptions.
 */
import { isIP } from 'node:net';
import { join } from './reader.js';
import type { ConfigReader } from './reader.js';
import type { Position } from './diagnostics.js';
import type { TomlNode, TomlTable } from './toml.js';

export type AuthPolicy = 'required' | 'optional' | 'none';

export interface ListenAddress {
  /** An IPv4 or IPv6 literal (no brackets). */
  readonly host: string;
  /** 0 asks the system for an ephemeral port (tests). */
  readonly port: number;
}

export interface ListenerConfig {
  readonly name: string;
  readonly bind: readonly ListenAddress[];
  /** PEM files of the certificate chain and its key; present means STARTTLS is offered. */
  readonly tls?: { readonly certFile: string; readonly keyFile: string };
  readonly auth: AuthPolicy;
  readonly position?: Position;
}

/** A submission account: exactly one of `secret` and `secretFile`. */
export interface ServerUser {
  readonly name: string;
  readonly secret?: string;
  /** Read at start; one trailing newline is ignored. */
  readonly secretFile?: string;
}

export interface ServerLimits {
  /** Largest message in octets, advertised as SIZE (RFC 1870). */
  readonly messageSize: number;
  /** Recipients per transaction (RFC 5321 4.5.3.1.8 asks for at least 100). */
  readonly recipients: number;
  /** Longest command or text line in octets, CRLF included (RFC 5321 4.5.3.1.4 and .6 minimums). */
  readonly lineLength: number;
  /** Idle time before a session is closed with 421 (RFC 5321 4.5.3.2.7 asks for at least 5 minutes). */
  readonly timeoutMs: number;
  /** Concurrent sessions per listener; more are answered 421 and closed. */
  readonly connections: number;
}

export interface ServerConfig {
  readonly listeners: readonly ListenerConfig[];
  readonly users: readonly ServerUser[];
  readonly limits: ServerLimits;
}

export const DEFAULT_SERVER_LIMITS: ServerLimits = {
  messageSize: 25_000_000,
  recipients: 100,
  lineLength: 4096,
  timeoutMs: 5 * 60_000,
  connections: 100,
};

export const DEFAULT_LISTENER: ListenerConfig = {
  name: 'submission',
  bind: [{ host: '127.0.0.1', port: 2525 }],
  auth: 'none',
};

const SERVER_KEYS = ['listener', 'auth', 'limits'];
const LISTENER_KEYS = ['bind', 'tls', 'auth'];
const TLS_KEYS = ['cert', 'key'];
const USER_KEYS = ['name', 'secret', 'secret-file'];
const LIMIT_KEYS = ['message-size', 'recipients', 'line-length', 'timeout', 'connections'];
const SIZE = /^(\d+)\s*(B|KB|MB|GB|KiB|MiB|GiB)?$/i;
const SIZE_UNITS: Readonly<Record<string, number>> = {
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  kib: 1024,
  mib: 1024 ** 2,
  gib: 1024 ** 3,
};

/** True for 127.0.0.0/8, ::1 and IPv4-mapped loopback: the only addresses open to unauthenticated use. */
export function isLoopback(host: string): boolean {
  const lower = host.toLowerCase();
  if (lower === '::1' || lower === '0:0:0:0:0:0:0:1') return true;
  const v4 = lower.startsWith('::ffff:') ? lower.slice(7) : lower;
  return isIP(v4) === 4 && v4.startsWith('127.');
}

/** `127.0.0.1:2525` or `[::1]:2525`; undefined when it is not an IP literal with a port. */
export function parseBind(text: string): ListenAddress | undefined {
  const match = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(text.trim());
  if (match === null) return undefined;
  const host = match[1] ?? match[2] ?? '';
  const port = Number(match[3]);
  const family = isIP(host);
  if (family === 0 || (match[1] !== undefined && family !== 6) || port > 65535) return undefined;
  return { host, port };
}

function readSize(reader: ConfigReader, node: TomlNode, path: string): number | undefined {
  if (node.kind === 'integer' && typeof node.value === 'number' && node.value > 0)
    return node.value;
  const match =
    node.kind === 'string' && typeof node.value === 'string' ? SIZE.exec(node.value.trim()) : null;
  if (match !== null) {
    const bytes = Number(match[1]) * (SIZE_UNITS[(match[2] ?? 'b').toLowerCase()] ?? 1);
    if (Number.isSafeInteger(bytes) && bytes > 0) return bytes;
  }
  reader.error(path, node.position, 'not a size', {
    expected: "bytes, or a size such as '25MB' or '10MiB'",
    found: String(node.kind === 'table' || node.kind === 'array' ? node.kind : node.value),
  });
  return undefined;
}

function readLimits(reader: ConfigReader, server: TomlTable | undefined): ServerLimits {
  const node = server?.entries.get('limits')?.node;
  const table = node === undefined ? undefined : reader.table(node, 'server.limits');
  if (table === undefined) return DEFAULT_SERVER_LIMITS;
  reader.checkKeys(table, 'server.limits', LIMIT_KEYS);
  const get = (key: string): TomlNode | undefined => table.entries.get(key)?.node;
  const size = get('message-size');
  const recipients = get('recipients');
  const line = get('line-length');
  const timeout = get('timeout');
  const connections = get('connections');
  const d = DEFAULT_SERVER_LIMITS;
  return {
    messageSize:
      (size === undefined ? undefined : readSize(reader, size, 'server.limits.message-size')) ??
      d.messageSize,
    recipients:
      (recipients === undefined
        ? undefined
        : reader.integer(recipients, 'server.limits.recipients', 1, 100_000)) ?? d.recipients,
    // RFC 5321 4.5.3.1.6: a text line of 1000 octets must be accepted, so no smaller limit is allowed.
    lineLength:
      (line === undefined
        ? undefined
        : reader.integer(line, 'server.limits.line-length', 1000, 1_000_000)) ?? d.lineLength,
    timeoutMs:
      (timeout === undefined ? undefined : reader.duration(timeout, 'server.limits.timeout')) ??
      d.timeoutMs,
    connections:
      (connections === undefined
        ? undefined
        : reader.integer(connections, 'server.limits.connections', 1, 100_000)) ?? d.connections,
  };
}

function readUsers(reader: ConfigReader, server: TomlTable | undefined): ServerUser[] {
  const node = server?.entries.get('auth')?.node;
  const table = node === undefined ? undefined : reader.table(node, 'server.auth');
  if (table === undefined) return [];
  reader.checkKeys(table, 'server.auth', ['users']);
  const list = table.entries.get('users')?.node;
  if (list === undefined) return [];
  if (list.kind !== 'array') {
    reader.error('server.auth.users', list.position, 'wrong type', {
      expected: 'an array of { name, secret } tables',
    });
    return [];
  }
  const out: ServerUser[] = [];
  list.items.forEach((item, i) => {
    const path = `server.auth.users[${i}]`;
    const user = reader.table(item, path);
    if (user === undefined) return;
    reader.checkKeys(user, path, USER_KEYS);
    const text = (key: string): string | undefined => {
      const n = user.entries.get(key)?.node;
      return n === undefined ? undefined : reader.string(n, join(path, key))?.value;
    };
    const name = text('name');
    const secret = text('secret');
    const secretFile = text('secret-file');
    if (name === undefined || name === '') {
      reader.error(join(path, 'name'), item.position, 'missing user name', {
        expected: 'name = "..."',
      });
      return;
    }
    if (out.some((u) => u.name === name))
      reader.error(join(path, 'name'), item.position, `user '${name}' is defined twice`);
    if ((secret === undefined) === (secretFile === undefined)) {
      reader.error(
        path,
        item.position,
        `user '${name}' needs exactly one of 'secret' and 'secret-file'`,
      );
      return;
    }
    if (secret === '')
      reader.error(join(path, 'secret'), item.position, `user '${name}' has an empty secret`);
    out.push({
      name,
      ...(secret === undefined ? {} : { secret }),
      ...(secretFile === undefined ? {} : { secretFile }),
    });
  });
  return out;
}

function readTls(reader: ConfigReader, node: TomlNode, path: string): ListenerConfig['tls'] {
  const table = reader.table(node, path);
  if (table === undefined) return undefined;
  reader.checkKeys(table, path, TLS_KEYS);
  const certNode = table.entries.get('cert')?.node;
  const keyNode = table.entries.get('key')?.node;
  const certFile =
    certNode === undefined ? undefined : reader.string(certNode, join(path, 'cert'))?.value;
  const keyFile =
    keyNode === undefined ? undefined : reader.string(keyNode, join(path, 'key'))?.value;
  if (certFile === undefined || keyFile === undefined) {
    reader.error(path, node.position, 'tls needs both cert and key', {
      expected: '{ cert = "chain.pem", key = "key.pem" }',
    });
    return undefined;
  }
  return { certFile, keyFile };
}

function readListener(
  reader: ConfigReader,
  name: string,
  table: TomlTable,
  path: string,
  hasUsers: boolean,
): ListenerConfig | undefined {
  reader.checkKeys(table, path, LISTENER_KEYS);
  const bindNode = table.entries.get('bind')?.node;
  const bind: ListenAddress[] = [];
  const texts =
    bindNode === undefined
      ? ['127.0.0.1:2525']
      : bindNode.kind === 'string'
        ? [String(bindNode.value)]
        : reader.stringList(bindNode, join(path, 'bind'));
  if (texts === undefined) return undefined;
  for (const text of texts) {
    const address = parseBind(text);
    if (address === undefined)
      reader.error(
        join(path, 'bind'),
        bindNode?.position,
        `not an IP address with a port: '${text}'`,
        { expected: '"127.0.0.1:2525" or "[::1]:2525"' },
      );
    else bind.push(address);
  }
  if (bind.length === 0 && texts.length === 0)
    reader.error(join(path, 'bind'), bindNode?.position, 'a listener needs at least one address');
  const tlsNode = table.entries.get('tls')?.node;
  const tls = tlsNode === undefined ? undefined : readTls(reader, tlsNode, join(path, 'tls'));
  const exposed = bind.filter((b) => !isLoopback(b.host));
  const authNode = table.entries.get('auth')?.node;
  const defaultAuth: AuthPolicy = exposed.length > 0 ? 'required' : hasUsers ? 'optional' : 'none';
  const auth =
    (authNode === undefined
      ? undefined
      : reader.oneOf<AuthPolicy>(authNode, join(path, 'auth'), ['required', 'optional', 'none'])) ??
    defaultAuth;
  const where = authNode?.position ?? table.position;
  const first = exposed[0];
  // Guard: anything but loopback may be reached by strangers, so only authenticated clients may submit.
  if (first !== undefined && auth !== 'required') {
    reader.error(
      join(path, 'auth'),
      where,
      `listener '${name}' binds the non-loopback address ${first.host}, so auth must be "required" (an open relay is never allowed)`,
      { expected: '"required"', found: `"${auth}"` },
    );
  }
  // Guard: AUTH PLAIN/LOGIN send the secret itself; on a network it must be inside TLS (RFC 4954 4).
  if (first !== undefined && auth !== 'none' && tls === undefined && tlsNode === undefined) {
    reader.error(
      join(path, 'tls'),
      table.position,
      `listener '${name}' accepts passwords on the non-loopback address ${first.host} and needs tls = { cert, key } (no plaintext passwords on the network)`,
    );
  }
  if (auth !== 'none' && !hasUsers) {
    reader.error(
      join(path, 'auth'),
      where,
      `listener '${name}' uses auth "${auth}" but [server.auth] defines no users`,
    );
  }
  return { name, bind, auth, position: table.position, ...(tls === undefined ? {} : { tls }) };
}

/** Reads `[server]` from the root table; absent means one loopback listener without AUTH. */
export function readServer(reader: ConfigReader, root: TomlTable): ServerConfig {
  const node = root.entries.get('server')?.node;
  const server = node === undefined ? undefined : reader.table(node, 'server');
  if (server !== undefined) reader.checkKeys(server, 'server', SERVER_KEYS);
  const users = readUsers(reader, server);
  const limits = readLimits(reader, server);
  const listenerNode = server?.entries.get('listener')?.node;
  const table =
    listenerNode === undefined ? undefined : reader.table(listenerNode, 'server.listener');
  const listeners: ListenerConfig[] = [];
  for (const [name, entry] of table?.entries ?? []) {
    const path = join('server.listener', name);
    const listener = reader.table(entry.node, path);
    const read =
      listener === undefined
        ? undefined
        : readListener(reader, name, listener, path, users.length > 0);
    if (read !== undefined) listeners.push(read);
  }
  if (table === undefined)
    listeners.push(users.length > 0 ? { ...DEFAULT_LISTENER, auth: 'optional' } : DEFAULT_LISTENER);
  return { listeners, users, limits };
}
