/**
 * `queue.tls.<id>` sections: named TLS strategies (Stalwart's keys and defaults). A strategy may be
 * defined by any one of its keys; absent keys take the defaults below. The built-in strategies `default`
 * and `invalid-tls` exist unless the file defines them. A strategy that disables STARTTLS while requiring
 * DANE or MTA-STS contradicts itself (both require TLS) and is rejected.
 */
import type { Mode } from '../core/outcome.js';
import { child, join } from './reader.js';
import type { ConfigReader } from './reader.js';
import type { TomlTable } from './toml.js';
import type { TlsStrategy } from './types.js';

const MODES: readonly Mode[] = ['optional', 'require', 'disable'];
/** Stalwart documents `require`/`disable` but its parser also takes these spellings. */
const MODE_ALIASES: Readonly<Record<string, Mode>> = { required: 'require', disabled: 'disable' };

const STRATEGY_KEYS = [
  'description',
  'dane',
  'mta-sts',
  'starttls',
  'allow-invalid-certs',
  'timeout',
] as const;
const TIMEOUT_KEYS = ['tls', 'mta-sts'] as const;

export const TLS_STRATEGY_DEFAULTS = {
  dane: 'optional',
  mtaSts: 'optional',
  starttls: 'optional',
  allowInvalidCerts: false,
  timeoutTlsMs: 3 * 60_000,
  timeoutMtaStsMs: 5 * 60_000,
} as const satisfies Omit<TlsStrategy, 'id' | 'builtIn'>;

export const BUILT_IN_TLS_STRATEGIES: readonly TlsStrategy[] = [
  { id: 'default', ...TLS_STRATEGY_DEFAULTS, builtIn: true },
  { id: 'invalid-tls', ...TLS_STRATEGY_DEFAULTS, allowInvalidCerts: true, builtIn: true },
];

function readStrategy(
  reader: ConfigReader,
  id: string,
  table: TomlTable,
  path: string,
): TlsStrategy {
  reader.checkKeys(table, path, STRATEGY_KEYS);
  const get = (key: string) => table.entries.get(key)?.node;
  const mode = (key: string, fallback: Mode): Mode => {
    const node = get(key);
    return node === undefined
      ? fallback
      : (reader.oneOf(node, join(path, key), MODES, MODE_ALIASES) ?? fallback);
  };
  let timeoutTlsMs: number = TLS_STRATEGY_DEFAULTS.timeoutTlsMs;
  let timeoutMtaStsMs: number = TLS_STRATEGY_DEFAULTS.timeoutMtaStsMs;
  const timeoutNode = get('timeout');
  if (timeoutNode !== undefined) {
    const timeouts = reader.table(timeoutNode, join(path, 'timeout'));
    if (timeouts !== undefined) {
      reader.checkKeys(timeouts, join(path, 'timeout'), TIMEOUT_KEYS);
      const tls = child(timeouts, 'tls');
      const sts = child(timeouts, 'mta-sts');
      if (tls !== undefined)
        timeoutTlsMs =
          reader.duration(tls.node, join(join(path, 'timeout'), 'tls')) ?? timeoutTlsMs;
      if (sts !== undefined)
        timeoutMtaStsMs =
          reader.duration(sts.node, join(join(path, 'timeout'), 'mta-sts')) ?? timeoutMtaStsMs;
    }
  }
  const allowNode = get('allow-invalid-certs');
  const descriptionNode = get('description');
  const description =
    descriptionNode === undefined
      ? undefined
      : reader.string(descriptionNode, join(path, 'description'))?.value;
  const strategy: TlsStrategy = {
    id,
    ...(description === undefined ? {} : { description }),
    dane: mode('dane', TLS_STRATEGY_DEFAULTS.dane),
    mtaSts: mode('mta-sts', TLS_STRATEGY_DEFAULTS.mtaSts),
    starttls: mode('starttls', TLS_STRATEGY_DEFAULTS.starttls),
    allowInvalidCerts:
      allowNode === undefined
        ? false
        : (reader.boolean(allowNode, join(path, 'allow-invalid-certs')) ?? false),
    timeoutTlsMs,
    timeoutMtaStsMs,
    builtIn: false,
    position: table.position,
  };
  if (strategy.starttls === 'disable') {
    for (const [key, value] of [
      ['dane', strategy.dane],
      ['mta-sts', strategy.mtaSts],
    ] as const) {
      if (value !== 'require') continue;
      reader.error(
        join(path, 'starttls'),
        table.entries.get('starttls')?.keyPosition ?? table.position,
        `contradiction: starttls = "disable" cannot be combined with ${key} = "require" (${key} needs TLS)`,
        {
          expected: `starttls "optional" or "require", or ${key} "optional" or "disable"`,
          found: 'starttls "disable"',
        },
      );
    }
  }
  return strategy;
}

/** Reads `queue.tls` (a table of strategies by id) and adds the built-in strategies not defined there. */
export function readTlsStrategies(
  reader: ConfigReader,
  queue: TomlTable | undefined,
): Map<string, TlsStrategy> {
  const strategies = new Map<string, TlsStrategy>();
  const section = queue === undefined ? undefined : child(queue, 'tls');
  if (section !== undefined) {
    const table = reader.table(section.node, 'queue.tls');
    for (const [id, entry] of table?.entries ?? []) {
      const path = join('queue.tls', id);
      const strategyTable = reader.table(entry.node, path);
      if (strategyTable !== undefined)
        strategies.set(id, readStrategy(reader, id, strategyTable, path));
    }
  }
  for (const builtIn of BUILT_IN_TLS_STRATEGIES) {
    if (!strategies.has(builtIn.id)) strategies.set(builtIn.id, builtIn);
  }
  return strategies;
}
