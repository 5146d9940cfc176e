/**
 * Loads mxsec's TOML configuration. `parseConfig` is pure (text in, config and diagnostics out);
 * `loadConfigFile` adds the file system: an explicitly named file must exist, while the default
 * `./mxsec.toml` may be absent, in which case the built-in defaults apply. The result carries every
 * diagnostic found; `config` is present only when there is no error.
 */
import { readFile } from 'node:fs/promises';
import type { Diagnostic } from './diagnostics.js';
import { sortDiagnostics } from './diagnostics.js';
import { ConfigReader, child } from './reader.js';
import { readResolver } from './resolver.js';
import { builtInRules, readRules } from './rules.js';
import { parseToml } from './toml.js';
import type { TomlTable } from './toml.js';
import { readTlsStrategies } from './tls-strategies.js';
import type { MxsecConfig, StorageConfig, TrustConfig } from './types.js';
import { readConnections, readDelivery } from './connection.js';
import { DEFAULT_SCHEDULE_RULES, readSchedules, readWorker } from './schedule.js';
import { readServer } from './server.js';

export const DEFAULT_CONFIG_PATH = './mxsec.toml';
export const DEFAULTS_NAME = '(built-in defaults)';

export interface LoadResult {
  readonly config?: MxsecConfig;
  readonly diagnostics: readonly Diagnostic[];
}

/** Stalwart's default TLS selector: relax certificate checks only on a retry after a TLS error. */
export const DEFAULT_TLS_RULES = [
  { if: "retry_num > 0 && last_error == 'tls'", then: "'invalid-tls'" },
  { then: "'default'" },
] as const;

const TOP_KEYS = ['queue', 'resolver', 'tls', 'storage', 'delivery', 'server'];
const QUEUE_KEYS = ['tls', 'connection', 'strategy', 'schedule', 'worker'];
const STRATEGY_KEYS = ['tls', 'connection', 'schedule'];

function readStorage(reader: ConfigReader, root: TomlTable): StorageConfig {
  const section = child(root, 'storage');
  const table = section === undefined ? undefined : reader.table(section.node, 'storage');
  if (table === undefined) return { dataDir: './data' };
  reader.checkKeys(table, 'storage', ['data-dir']);
  const dir = table.entries.get('data-dir');
  return {
    dataDir:
      (dir === undefined ? undefined : reader.string(dir.node, 'storage.data-dir')?.value) ??
      './data',
  };
}

function readTrust(reader: ConfigReader, root: TomlTable): TrustConfig {
  const section = child(root, 'tls');
  if (section === undefined) return {};
  const table = reader.table(section.node, 'tls');
  if (table === undefined) return {};
  reader.checkKeys(table, 'tls', ['ca-file']);
  const caFile = table.entries.get('ca-file');
  const value = caFile === undefined ? undefined : reader.string(caFile.node, 'tls.ca-file')?.value;
  return value === undefined ? {} : { caFile: value };
}

/** Validates configuration text. `file` is used in diagnostics only. */
export function parseConfig(source: string, file: string): LoadResult {
  const reader = new ConfigReader(file);
  const parsed = parseToml(source);
  if (!parsed.ok) {
    reader.error('', parsed.position, `TOML syntax error: ${parsed.message}`);
    return { diagnostics: reader.diagnostics };
  }
  const root = parsed.root;
  reader.checkKeys(root, '', TOP_KEYS);
  const queueEntry = child(root, 'queue');
  const queue = queueEntry === undefined ? undefined : reader.table(queueEntry.node, 'queue');
  if (queue !== undefined) reader.checkKeys(queue, 'queue', QUEUE_KEYS);
  const strategyEntry = queue === undefined ? undefined : child(queue, 'strategy');
  const strategy =
    strategyEntry === undefined ? undefined : reader.table(strategyEntry.node, 'queue.strategy');
  if (strategy !== undefined) reader.checkKeys(strategy, 'queue.strategy', STRATEGY_KEYS);

  const strategies = readTlsStrategies(reader, queue);
  const selector = readRules(
    reader,
    strategy?.entries.get('tls')?.node,
    'queue.strategy.tls',
    new Set(strategies.keys()),
    'TLS',
    () => builtInRules('queue.strategy.tls', DEFAULT_TLS_RULES),
  );
  const connections = readConnections(reader, queue);
  const connectionSelector = readRules(
    reader,
    strategy?.entries.get('connection')?.node,
    'queue.strategy.connection',
    new Set(connections.keys()),
    'connection',
    () => builtInRules('queue.strategy.connection', [{ then: "'default'" }]),
  );
  const schedules = readSchedules(reader, queue);
  const scheduleSelector = readRules(
    reader,
    strategy?.entries.get('schedule')?.node,
    'queue.strategy.schedule',
    new Set(schedules.keys()),
    'schedule',
    () => builtInRules('queue.strategy.schedule', DEFAULT_SCHEDULE_RULES),
  );
  const worker = readWorker(reader, queue);
  const resolver = readResolver(reader, root);
  const trust = readTrust(reader, root);
  const storage = readStorage(reader, root);
  const delivery = readDelivery(reader, root);
  const server = readServer(reader, root);

  const diagnostics = sortDiagnostics(reader.diagnostics);
  if (
    reader.hasErrors ||
    selector === undefined ||
    connectionSelector === undefined ||
    scheduleSelector === undefined
  )
    return { diagnostics };
  return {
    config: {
      file,
      tls: { strategies, selector },
      connection: { strategies: connections, selector: connectionSelector },
      resolver,
      trust,
      storage,
      delivery,
      schedule: { schedules, selector: scheduleSelector },
      worker,
      server,
    },
    diagnostics,
  };
}

/** The configuration in effect when there is no file. */
export function defaultConfig(): MxsecConfig {
  const result = parseConfig('', DEFAULTS_NAME);
  if (result.config === undefined) throw new Error('built-in defaults do not load');
  return result.config;
}

/**
 * Reads and validates a configuration file. With `explicit` false a missing file means defaults;
 * with `explicit` true (the user named it) a missing file is an error.
 */
export async function loadConfigFile(path: string, explicit: boolean): Promise<LoadResult> {
  let source: string;
  try {
    source = await readFile(path, 'utf8');
  } catch (error: unknown) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' && !explicit) return { config: defaultConfig(), diagnostics: [] };
    const reason =
      code === 'ENOENT'
        ? 'no such file'
        : code === 'EACCES'
          ? 'permission denied'
          : String((error as Error).message);
    return {
      diagnostics: [
        {
          severity: 'error',
          file: path,
          position: undefined,
          path: '',
          message: `cannot read configuration: ${reason}`,
        },
      ],
    };
  }
  return parseConfig(source, path);
}
