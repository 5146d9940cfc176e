/**
 * TOML to a positioned tree. The configuration loader needs the line and column of every key and value
 * to report mistakes where they are, which plain TOML parsers drop; toml-eslint-parser keeps them. This
 * module converts its AST into a small tree of tables, arrays and scalars that each carry a position.
 * A syntax error is returned as a value with its position; nothing here throws.
 */
import { parseTOML } from 'toml-eslint-parser';
import type { AST } from 'toml-eslint-parser';
import type { Position } from './diagnostics.js';

export interface Located {
  readonly position: Position;
  /** Source offsets [start, end) of the node, for mapping positions inside string values. */
  readonly range: readonly [number, number];
}

export interface TomlTable extends Located {
  readonly kind: 'table';
  /** Insertion order is preserved; each entry keeps the position of its key. */
  readonly entries: Map<string, { readonly keyPosition: Position; readonly node: TomlNode }>;
}

export interface TomlArray extends Located {
  readonly kind: 'array';
  readonly items: TomlNode[];
}

export interface TomlScalar extends Located {
  readonly kind: 'string' | 'integer' | 'float' | 'boolean' | 'datetime';
  readonly value: string | number | boolean;
  /** For strings: true when the source text between the quotes is the value itself (no escapes, one line). */
  readonly verbatim: boolean;
}

export type TomlNode = TomlTable | TomlArray | TomlScalar;

export type TomlParseResult =
  | { readonly ok: true; readonly root: TomlTable }
  | { readonly ok: false; readonly message: string; readonly position: Position };

function at(loc: AST.SourceLocation): Position {
  return { line: loc.start.line, column: loc.start.column + 1 };
}

function emptyTable(node: AST.TOMLNode): TomlTable {
  return { kind: 'table', entries: new Map(), position: at(node.loc), range: node.range };
}

function keyName(key: AST.TOMLBare | AST.TOMLQuoted): string {
  return key.type === 'TOMLBare' ? key.name : key.value;
}

/** Descends (creating tables as needed) along dotted keys, returning the innermost table. */
function descend(
  table: TomlTable,
  keys: readonly (AST.TOMLBare | AST.TOMLQuoted)[],
  owner: AST.TOMLNode,
): TomlTable {
  let current = table;
  for (const key of keys) {
    const name = keyName(key);
    const existing = current.entries.get(name);
    if (existing === undefined) {
      const created = emptyTable(owner);
      current.entries.set(name, { keyPosition: at(key.loc), node: created });
      current = created;
    } else if (existing.node.kind === 'table') {
      current = existing.node;
    } else if (existing.node.kind === 'array' && existing.node.items.at(-1)?.kind === 'table') {
      current = existing.node.items.at(-1) as TomlTable;
    } else {
      // The parser already rejects redefinitions; keep going on a detached table to stay total.
      current = emptyTable(owner);
    }
  }
  return current;
}

function convertValue(value: AST.TOMLContentNode, source: string): TomlNode {
  switch (value.type) {
    case 'TOMLArray':
      return {
        kind: 'array',
        items: value.elements.map((e) => convertValue(e, source)),
        position: at(value.loc),
        range: value.range,
      };
    case 'TOMLInlineTable': {
      const table = emptyTable(value);
      for (const kv of value.body) assign(table, kv, source);
      return table;
    }
    case 'TOMLValue':
      return convertScalar(value, source);
  }
}

function convertScalar(value: AST.TOMLValue, source: string): TomlScalar {
  const base = { position: at(value.loc), range: value.range };
  switch (value.kind) {
    case 'string': {
      const inner = source.slice(value.range[0] + 1, value.range[1] - 1);
      return {
        ...base,
        kind: 'string',
        value: value.value,
        verbatim: !value.multiline && inner === value.value,
      };
    }
    case 'integer':
      return { ...base, kind: 'integer', value: Number(value.value), verbatim: false };
    case 'float':
      return { ...base, kind: 'float', value: value.value, verbatim: false };
    case 'boolean':
      return { ...base, kind: 'boolean', value: value.value, verbatim: false };
    default:
      return {
        ...base,
        kind: 'datetime',
        value: source.slice(value.range[0], value.range[1]),
        verbatim: false,
      };
  }
}

function assign(table: TomlTable, kv: AST.TOMLKeyValue, source: string): void {
  const keys = kv.key.keys;
  const last = keys.at(-1);
  if (last === undefined) return;
  const parent = descend(table, keys.slice(0, -1), kv);
  parent.entries.set(keyName(last), {
    keyPosition: at(last.loc),
    node: convertValue(kv.value, source),
  });
}

/** Parses TOML source text into a positioned tree. */
export function parseToml(source: string): TomlParseResult {
  let ast: AST.TOMLProgram;
  try {
    ast = parseTOML(source);
  } catch (error: unknown) {
    const e = error as { message?: string; lineNumber?: number; column?: number };
    return {
      ok: false,
      message: e.message ?? String(error),
      position: { line: e.lineNumber ?? 1, column: (e.column ?? 0) + 1 },
    };
  }
  const top = ast.body[0];
  const root: TomlTable = {
    kind: 'table',
    entries: new Map(),
    position: { line: 1, column: 1 },
    range: [0, source.length],
  };
  if (top === undefined) return { ok: true, root };
  for (const item of top.body) {
    if (item.type === 'TOMLKeyValue') {
      assign(root, item, source);
      continue;
    }
    const keys = item.key.keys;
    if (item.kind === 'standard') {
      const table = descend(root, keys, item);
      Object.assign(table, { position: at(item.loc) });
      for (const kv of item.body) assign(table, kv, source);
    } else {
      const parent = descend(root, keys.slice(0, -1), item);
      const last = keys.at(-1);
      if (last === undefined) continue;
      const name = keyName(last);
      let entry = parent.entries.get(name);
      if (entry === undefined || entry.node.kind !== 'array') {
        entry = {
          keyPosition: at(last.loc),
          node: { kind: 'array', items: [], position: at(item.loc), range: item.range },
        };
        parent.entries.set(name, entry);
      }
      const table = emptyTable(item);
      for (const kv of item.body) assign(table, kv, source);
      (entry.node as TomlArray).items.push(table);
    }
  }
  return { ok: true, root };
}

/** Human name of a node's type for "found ..." messages. */
export function describeNode(node: TomlNode): string {
  switch (node.kind) {
    case 'table':
      return 'a table';
    case 'array':
      return 'an array';
    case 'string':
      return `the string "${String(node.value)}"`;
    case 'integer':
    case 'float':
      return `the number ${String(node.value)}`;
    case 'boolean':
      return `the boolean ${String(node.value)}`;
    case 'datetime':
      return `the date-time ${String(node.value)}`;
  }
}
