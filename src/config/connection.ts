/**
 * `queue.connection.<id>` sections (Stalwart's keys): the EHLO host name and the per-phase SMTP
 * timeouts of outbound sessions, picked per host by `queue.strategy.connection` (default `'default'`).
 * The built-in `default` strategy exists unless the file defines it. Also `[delivery] port` and
 * `mta-sts-port`, mxsec settings for test networks only: real MX hosts listen on 25 (RFC 5321 section
 * 4.5.4) and policy hosts on 443 (RFC 8461 section 3.3).
 */
import { hostname } from 'node:os';
import { DEFAULT_SMTP_TIMEOUTS } from '../smtp/timeouts.js';
import type { SmtpTimeouts } from '../smtp/timeouts.js';
import { join } from './reader.js';
import type { ConfigReader } from './reader.js';
import type { TomlTable } from './toml.js';
import type { ConnectionStrategy } from './types.js';

const KEYS = ['description', 'ehlo-hostname', 'timeout'] as const;
const TIMEOUT_KEYS = [
  'connect',
  'greeting',
  'ehlo',
  'mail-from',
  'rcpt-to',
  'data',
] as const satisfies readonly (keyof SmtpTimeouts)[];

/** RFC 5321 4.1.1.1: the EHLO argument is the client's fully qualified domain name. */
const HOSTNAME =
  /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

export function defaultConnection(): ConnectionStrategy {
  return {
    id: 'default',
    ehloHostname: hostname() || 'localhost',
    timeouts: DEFAULT_SMTP_TIMEOUTS,
    builtIn: true,
  };
}

function readOne(
  reader: ConfigReader,
  id: string,
  table: TomlTable,
  path: string,
): ConnectionStrategy {
  reader.checkKeys(table, path, KEYS);
  const timeouts: Record<keyof SmtpTimeouts, number> = { ...DEFAULT_SMTP_TIMEOUTS };
  const timeoutNode = table.entries.get('timeout')?.node;
  const timeoutTable =
    timeoutNode === undefined ? undefined : reader.table(timeoutNode, join(path, 'timeout'));
  if (timeoutTable !== undefined) {
    reader.checkKeys(timeoutTable, join(path, 'timeout'), TIMEOUT_KEYS);
    for (const key of TIMEOUT_KEYS) {
      const node = timeoutTable.entries.get(key)?.node;
      if (node === undefined) continue;
      const ms = reader.duration(node, join(join(path, 'timeout'), key));
      if (ms !== undefined) timeouts[key] = ms;
    }
  }
  let ehloHostname = defaultConnection().ehloHostname;
  const ehloNode = table.entries.get('ehlo-hostname')?.node;
  if (ehloNode !== undefined) {
    const text = reader.string(ehloNode, join(path, 'ehlo-hostname'));
    if (text !== undefined && HOSTNAME.test(text.value)) ehloHostname = text.value;
    else if (text !== undefined)
      reader.error(join(path, 'ehlo-hostname'), ehloNode.position, 'not a host name', {
        expected: 'a fully qualified domain name such as "mail.example.com"',
        found: `"${text.value}"`,
      });
  }
  const descriptionNode = table.entries.get('description')?.node;
  const description =
    descriptionNode === undefined
      ? undefined
      : reader.string(descriptionNode, join(path, 'description'))?.value;
  return {
    id,
    ehloHostname,
    timeouts,
    builtIn: false,
    ...(description === undefined ? {} : { description }),
  };
}

export function readConnections(
  reader: ConfigReader,
  queue: TomlTable | undefined,
): Map<string, ConnectionStrategy> {
  const out = new Map<string, ConnectionStrategy>();
  const node = queue?.entries.get('connection')?.node;
  const table = node === undefined ? undefined : reader.table(node, 'queue.connection');
  for (const [id, entry] of table?.entries ?? []) {
    const path = join('queue.connection', id);
    const strategy = reader.table(entry.node, path);
    if (strategy !== undefined) out.set(id, readOne(reader, id, strategy, path));
  }
  if (!out.has('default')) out.set('default', defaultConnection());
  return out;
}

export interface DeliverySettings {
  readonly port: number;
  readonly mtaStsPort: number;
}

export function readDelivery(reader: ConfigReader, root: TomlTable): DeliverySettings {
  const node = root.entries.get('delivery')?.node;
  const table = node === undefined ? undefined : reader.table(node, 'delivery');
  if (table === undefined) return { port: 25, mtaStsPort: 443 };
  reader.checkKeys(table, 'delivery', ['port', 'mta-sts-port']);
  const port = table.entries.get('port')?.node;
  const stsPort = table.entries.get('mta-sts-port')?.node;
  return {
    port: port === undefined ? 25 : (reader.integer(port, 'delivery.port', 1, 65535) ?? 25),
    mtaStsPort:
      stsPort === undefined
        ? 443
        : (reader.integer(stsPort, 'delivery.mta-sts-port', 1, 65535) ?? 443),
  };
}
