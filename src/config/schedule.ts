/**
 * `queue.schedule.<id>` (Stalwart's keys: `retry`, `notify`, `expire` or `max-attempts`, `queue-name`,
 * `description`), the `queue.strategy.schedule` selector, and `[queue.worker]`, mxsec's settings for the
 * relay's delivery loop. Problems are diagnostics with positions, never exceptions.
 *
 * Built-in schedules (`local`, `remote`, `dsn`, `report` from `DEFAULT_SCHEDULES`, plus `default`, a copy
 * of `remote`) exist unless the file defines them; a file's schedule that names a built-in id starts from
 * that built-in, others from `remote`. The default selector is Stalwart's without its local-domain rule
 * (mxsec delivers nothing locally): DSNs on `dsn`, reports on `report`, everything else on `remote`.
 * `default` exists because a computed name that matches no schedule falls back to it (as for TLS).
 *
 * Connection reuse (`connection-reuse`, `reuse-max-messages`, `reuse-idle-timeout`,
 * `reuse-max-connections`) is read here too, into `WorkerConfig.connectionReuse`.
 */
import { parseDuration } from '../core/duration.js';
import { checkSchedule, DEFAULT_SCHEDULES } from '../queue/schedule.js';
import type { Expiry, ScheduleSettings } from '../queue/schedule.js';
import { join } from './reader.js';
import type { ConfigReader } from './reader.js';
import type { TomlNode, TomlTable } from './toml.js';
import type { ConnectionReuse, Schedule, WorkerConfig } from './types.js';

export const DEFAULT_CONNECTION_REUSE: ConnectionReuse = {
  enabled: true,
  maxMessages: 100,
  idleMs: 5_000,
  maxConnections: 32,
};

/** Stalwart's default `queue.strategy.schedule`, minus `is_local_domain` (no local delivery here). */
export const DEFAULT_SCHEDULE_RULES = [
  { if: "source == 'dsn'", then: "'dsn'" },
  { if: "source == 'report'", then: "'report'" },
  { then: "'remote'" },
] as const;

export const DEFAULT_WORKER: WorkerConfig = {
  concurrency: 16,
  concurrencyPerDomain: 4,
  // Renewed every third of itself while a delivery runs (the scheduler's heartbeat), so it only bounds
  // how long a dead node's work waits when no restart recovers it; minutes are enough.
  leaseMs: 2 * 60_000,
  pollIntervalMs: 5_000,
  gracePeriodMs: 30_000,
  connectionReuse: DEFAULT_CONNECTION_REUSE,
};

const KEYS = ['description', 'queue-name', 'retry', 'notify', 'expire', 'max-attempts'] as const;
const WORKER_KEYS = [
  'concurrency',
  'concurrency-per-domain',
  'lease',
  'poll-interval',
  'grace-period',
  'connection-reuse',
  'reuse-max-messages',
  'reuse-idle-timeout',
  'reuse-max-connections',
] as const;

function builtIns(): Map<string, Schedule> {
  const out = new Map<string, Schedule>();
  for (const [id, settings] of Object.entries(DEFAULT_SCHEDULES))
    out.set(id, { id, ...(settings as ScheduleSettings), builtIn: true });
  out.set('default', {
    id: 'default',
    ...DEFAULT_SCHEDULES.remote,
    queueName: 'default',
    builtIn: true,
  });
  return out;
}

/**
 * A duration list as a TOML array (`["2m", "5m"]`) or Stalwart's expression form (`"[2m, 5m]"`); an
 * empty `notify` list is allowed (no delay notices).
 */
function durations(reader: ConfigReader, node: TomlNode, path: string): number[] | undefined {
  if (
    node.kind === 'string' &&
    typeof node.value === 'string' &&
    node.value.trim().startsWith('[')
  ) {
    const inner = node.value.trim().replace(/^\[/, '').replace(/\]$/, '').trim();
    const parts = inner === '' ? [] : inner.split(',').map((p) => p.trim());
    const out = parts.map((p) => parseDuration(p.replace(/^['"]|['"]$/g, '')));
    if (out.every((ms): ms is number => ms !== undefined)) return out;
    reader.error(path, node.position, 'not a list of durations', {
      expected: "durations such as '[2m, 5m, 1h]'",
      found: `"${node.value}"`,
    });
    return undefined;
  }
  return reader.durationList(node, path);
}

function readOne(
  reader: ConfigReader,
  id: string,
  table: TomlTable,
  path: string,
  base: Schedule,
): Schedule | undefined {
  reader.checkKeys(table, path, KEYS);
  const get = (key: string): TomlNode | undefined => table.entries.get(key)?.node;
  const errorsBefore = reader.diagnostics.length;
  const retryNode = get('retry');
  const notifyNode = get('notify');
  const expireNode = get('expire');
  const attemptsNode = get('max-attempts');
  const queueNode = get('queue-name');
  const descriptionNode = get('description');
  const retry =
    retryNode === undefined ? base.retry : durations(reader, retryNode, join(path, 'retry'));
  const notify =
    notifyNode === undefined ? base.notify : durations(reader, notifyNode, join(path, 'notify'));
  let expire: Expiry | undefined = base.expire;
  if (expireNode !== undefined && attemptsNode !== undefined) {
    reader.error(
      join(path, 'max-attempts'),
      attemptsNode.position,
      "'expire' and 'max-attempts' exclude each other",
      {
        expected: 'either a queue lifetime (expire) or an attempt limit (max-attempts)',
        found: 'both',
      },
    );
    expire = undefined;
  } else if (expireNode !== undefined) {
    const ttl = reader.duration(expireNode, join(path, 'expire'));
    expire = ttl === undefined ? undefined : { kind: 'ttl', ttl };
  } else if (attemptsNode !== undefined) {
    const maxAttempts = reader.integer(attemptsNode, join(path, 'max-attempts'), 1, 1_000_000);
    expire = maxAttempts === undefined ? undefined : { kind: 'attempts', maxAttempts };
  }
  const queueName =
    queueNode === undefined
      ? ((DEFAULT_SCHEDULES as Record<string, ScheduleSettings>)[id]?.queueName ?? id)
      : reader.string(queueNode, join(path, 'queue-name'))?.value;
  const description =
    descriptionNode === undefined
      ? undefined
      : reader.string(descriptionNode, join(path, 'description'))?.value;
  if (
    retry === undefined ||
    notify === undefined ||
    expire === undefined ||
    queueName === undefined
  )
    return undefined;
  const schedule: Schedule = {
    id,
    queueName,
    retry,
    notify,
    expire,
    builtIn: false,
    position: table.position,
    ...(description === undefined ? {} : { description }),
  };
  if (reader.diagnostics.length === errorsBefore) {
    for (const problem of checkSchedule(schedule)) reader.error(path, table.position, problem);
  }
  return schedule;
}

/** Reads `queue.schedule.<id>` sections over the built-in schedules. */
export function readSchedules(
  reader: ConfigReader,
  queue: TomlTable | undefined,
): Map<string, Schedule> {
  const out = builtIns();
  const node = queue?.entries.get('schedule')?.node;
  const table = node === undefined ? undefined : reader.table(node, 'queue.schedule');
  for (const [id, entry] of table?.entries ?? []) {
    const path = join('queue.schedule', id);
    const section = reader.table(entry.node, path);
    if (section === undefined) continue;
    const base = out.get(id) ?? out.get('remote');
    if (base === undefined) throw new Error('the built-in remote schedule is missing');
    const schedule = readOne(reader, id, section, path, base);
    if (schedule !== undefined) out.set(id, schedule);
  }
  return out;
}

/** Reads `[queue.worker]`: concurrency limits, lease, poll interval, stop grace period, connection reuse. */
export function readWorker(reader: ConfigReader, queue: TomlTable | undefined): WorkerConfig {
  const node = queue?.entries.get('worker')?.node;
  const table = node === undefined ? undefined : reader.table(node, 'queue.worker');
  if (table === undefined) return DEFAULT_WORKER;
  reader.checkKeys(table, 'queue.worker', WORKER_KEYS);
  const get = (key: string): TomlNode | undefined => table.entries.get(key)?.node;
  const int = (key: string, fallback: number): number => {
    const n = get(key);
    return n === undefined
      ? fallback
      : (reader.integer(n, join('queue.worker', key), 1, 10_000) ?? fallback);
  };
  const ms = (key: string, fallback: number): number => {
    const n = get(key);
    return n === undefined ? fallback : (reader.duration(n, join('queue.worker', key)) ?? fallback);
  };
  const reuseNode = get('connection-reuse');
  const reuseDefaults = DEFAULT_CONNECTION_REUSE;
  const idleNode = get('reuse-idle-timeout');
  const maxConnectionsNode = get('reuse-max-connections');
  const connectionReuse: ConnectionReuse = {
    enabled:
      reuseNode === undefined
        ? reuseDefaults.enabled
        : (reader.boolean(reuseNode, 'queue.worker.connection-reuse') ?? reuseDefaults.enabled),
    maxMessages: int('reuse-max-messages', reuseDefaults.maxMessages),
    idleMs: ms('reuse-idle-timeout', reuseDefaults.idleMs),
    // 0 is allowed here: it keeps no idle connection, the same as `connection-reuse = false`.
    maxConnections:
      maxConnectionsNode === undefined
        ? reuseDefaults.maxConnections
        : (reader.integer(maxConnectionsNode, 'queue.worker.reuse-max-connections', 0, 10_000) ??
          reuseDefaults.maxConnections),
  };
  // A server may drop an idle client after a few minutes (RFC 5321 4.5.3.2.7 lets it); holding a
  // connection longer than that only buys failed RSETs.
  if (idleNode !== undefined && connectionReuse.idleMs > 300_000) {
    reader.warning(
      'queue.worker.reuse-idle-timeout',
      idleNode.position,
      'servers commonly close idle clients after a few minutes; a longer idle timeout mostly keeps dead connections',
    );
  }
  const worker: WorkerConfig = {
    concurrency: int('concurrency', DEFAULT_WORKER.concurrency),
    concurrencyPerDomain: int('concurrency-per-domain', DEFAULT_WORKER.concurrencyPerDomain),
    leaseMs: ms('lease', DEFAULT_WORKER.leaseMs),
    pollIntervalMs: ms('poll-interval', DEFAULT_WORKER.pollIntervalMs),
    gracePeriodMs: ms('grace-period', DEFAULT_WORKER.gracePeriodMs),
    connectionReuse,
  };
  // A running delivery renews its lease every third of it; a lease so short that a busy event loop can
  // miss a renewal would let a second node take work that is still being sent. Short leases are for tests.
  const leaseNode = get('lease');
  if (leaseNode !== undefined && worker.leaseMs < 1_000) {
    reader.error('queue.worker.lease', leaseNode.position, 'too short', {
      expected: 'at least 1s',
      found: `${worker.leaseMs} ms`,
    });
  } else if (leaseNode !== undefined && worker.leaseMs < 60_000) {
    reader.warning(
      'queue.worker.lease',
      leaseNode.position,
      'a lease under 1m can lapse between two renewals on a busy relay; work held by a crashed node returns after it',
    );
  }
  const pollNode = get('poll-interval');
  if (pollNode !== undefined && worker.pollIntervalMs < 10) {
    reader.error('queue.worker.poll-interval', pollNode.position, 'too short', {
      expected: 'at least 10ms',
      found: `${worker.pollIntervalMs} ms`,
    });
  }
  return worker;
}
