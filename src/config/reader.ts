/**
 * Typed reading of a positioned TOML tree. Each reader either returns the value or records a diagnostic
 * (with position, key path, expected and found) and returns undefined, so a loader can check every key
 * of a file in one pass and report all mistakes together.
 */
import { parseDuration } from '../core/duration.js';
import { didYouMean } from './diagnostics.js';
import type { Diagnostic, Position } from './diagnostics.js';
import { describeNode } from './toml.js';
import type { TomlNode, TomlScalar, TomlTable } from './toml.js';

export class ConfigReader {
  readonly diagnostics: Diagnostic[] = [];

  constructor(readonly file: string) {}

  error(
    path: string,
    position: Position | undefined,
    message: string,
    detail: { expected?: string; found?: string } = {},
  ): void {
    this.diagnostics.push({
      severity: 'error',
      file: this.file,
      position,
      path,
      message,
      ...detail,
    });
  }

  warning(path: string, position: Position | undefined, message: string): void {
    this.diagnostics.push({ severity: 'warning', file: this.file, position, path, message });
  }

  get hasErrors(): boolean {
    return this.diagnostics.some((d) => d.severity === 'error');
  }

  /** Reports every key of `table` that is not in `known`, with a did-you-mean suggestion. */
  checkKeys(table: TomlTable, path: string, known: readonly string[]): void {
    for (const [key, entry] of table.entries) {
      if (known.includes(key)) continue;
      this.error(
        join(path, key),
        entry.keyPosition,
        `unknown key '${key}'${didYouMean(key, known)}`,
        {
          expected: `one of ${known.map((k) => `'${k}'`).join(', ')}`,
        },
      );
    }
  }

  table(node: TomlNode, path: string): TomlTable | undefined {
    if (node.kind === 'table') return node;
    this.error(path, node.position, 'wrong type', {
      expected: 'a table',
      found: describeNode(node),
    });
    return undefined;
  }

  string(node: TomlNode, path: string): (TomlScalar & { value: string }) | undefined {
    if (node.kind === 'string') return node as TomlScalar & { value: string };
    this.error(path, node.position, 'wrong type', {
      expected: 'a string',
      found: describeNode(node),
    });
    return undefined;
  }

  boolean(node: TomlNode, path: string): boolean | undefined {
    if (node.kind === 'boolean' && typeof node.value === 'boolean') return node.value;
    this.error(path, node.position, 'wrong type', {
      expected: 'true or false',
      found: describeNode(node),
    });
    return undefined;
  }

  integer(node: TomlNode, path: string, min: number, max: number): number | undefined {
    if (node.kind !== 'integer' || typeof node.value !== 'number') {
      this.error(path, node.position, 'wrong type', {
        expected: `an integer from ${min} to ${max}`,
        found: describeNode(node),
      });
      return undefined;
    }
    if (node.value < min || node.value > max) {
      this.error(path, node.position, 'out of range', {
        expected: `an integer from ${min} to ${max}`,
        found: String(node.value),
      });
      return undefined;
    }
    return node.value;
  }

  /** A duration string (`500ms`, `30s`, `3m`, `1h`, `1d`) in milliseconds, or an integer of milliseconds. */
  duration(node: TomlNode, path: string): number | undefined {
    if (node.kind === 'integer' && typeof node.value === 'number' && node.value >= 0)
      return node.value;
    if (node.kind === 'string' && typeof node.value === 'string') {
      const ms = parseDuration(node.value);
      if (ms !== undefined) return ms;
    }
    this.error(path, node.position, 'not a duration', {
      expected: "a duration such as '500ms', '30s', '3m', '1h' or '1d'",
      found: describeNode(node),
    });
    return undefined;
  }

  /** One of `allowed`; `aliases` maps other accepted spellings onto them. */
  oneOf<T extends string>(
    node: TomlNode,
    path: string,
    allowed: readonly T[],
    aliases: Readonly<Record<string, T>> = {},
  ): T | undefined {
    const text = this.string(node, path);
    if (text === undefined) return undefined;
    const value = text.value;
    if ((allowed as readonly string[]).includes(value)) return value as T;
    const alias = aliases[value];
    if (alias !== undefined) return alias;
    this.error(path, node.position, `unknown value '${value}'${didYouMean(value, allowed)}`, {
      expected: allowed.map((a) => `"${a}"`).join(', '),
      found: `"${value}"`,
    });
    return undefined;
  }

  stringList(node: TomlNode, path: string): string[] | undefined {
    if (node.kind !== 'array') {
      this.error(path, node.position, 'wrong type', {
        expected: 'an array of strings',
        found: describeNode(node),
      });
      return undefined;
    }
    const out: string[] = [];
    node.items.forEach((item, i) => {
      const s = this.string(item, `${path}[${i}]`);
      if (s !== undefined) out.push(s.value);
    });
    return out.length === node.items.length ? out : undefined;
  }

  durationList(node: TomlNode, path: string): number[] | undefined {
    const items = node.kind === 'array' ? node.items : [node];
    const out: number[] = [];
    items.forEach((item, i) => {
      const ms = this.duration(item, node.kind === 'array' ? `${path}[${i}]` : path);
      if (ms !== undefined) out.push(ms);
    });
    return out.length === items.length ? out : undefined;
  }
}

export function join(path: string, key: string): string {
  const safe = /^[A-Za-z0-9_-]+$/.test(key) ? key : JSON.stringify(key);
  return path === '' ? safe : `${path}.${safe}`;
}

/** Looks up a dotted path of tables, returning undefined when any part is absent. */
export function child(
  table: TomlTable,
  ...keys: string[]
): { node: TomlNode; keyPosition: Position } | undefined {
  let current: TomlNode = table;
  let keyPosition: Position = table.position;
  for (const key of keys) {
    if (current.kind !== 'table') return undefined;
    const entry = current.entries.get(key);
    if (entry === undefined) return undefined;
    current = entry.node;
    keyPosition = entry.keyPosition;
  }
  return { node: current, keyPosition };
}
