/**
 * Strategy selector rules such as `queue.strategy.tls`: either one expression, or an array of
 * `{ if = "...", then = "..." }` entries ending with exactly one `{ else = "..." }` (Stalwart's form).
 * Each expression is compiled once here; compile errors are reported at their exact line and column
 * when the TOML string holds the expression verbatim. A constant `then` must name a defined strategy.
 */
import { QUEUE_VARIABLES, compileExpression, valueToString } from '../expr/index.js';
import type { CompiledExpression } from '../expr/index.js';
import { didYouMean } from './diagnostics.js';
import type { Position } from './diagnostics.js';
import { join } from './reader.js';
import type { ConfigReader } from './reader.js';
import { describeNode } from './toml.js';
import type { TomlNode, TomlScalar } from './toml.js';
import type { Rule, RuleSet } from './types.js';

/** Position of character `offset` of a string value, exact when the TOML text holds it verbatim. */
function positionIn(scalar: TomlScalar, offset: number): Position {
  if (!scalar.verbatim) return scalar.position;
  return { line: scalar.position.line, column: scalar.position.column + 1 + offset };
}

function compile(
  reader: ConfigReader,
  node: TomlNode,
  path: string,
): CompiledExpression | undefined {
  const scalar = reader.string(node, path);
  if (scalar === undefined) return undefined;
  const result = compileExpression(scalar.value, { variables: QUEUE_VARIABLES });
  if (result.ok) return result.expr;
  for (const error of result.errors) {
    reader.error(path, positionIn(scalar, error.offset), error.message, {
      found: `\`${scalar.value.slice(error.offset, error.offset + Math.max(1, error.length)) || 'end of expression'}\``,
    });
  }
  return undefined;
}

function checkTarget(
  reader: ConfigReader,
  expr: CompiledExpression,
  node: TomlNode,
  path: string,
  targets: ReadonlySet<string>,
  kind: string,
): void {
  if (expr.constant === undefined) return;
  const name = valueToString(expr.constant);
  if (typeof expr.constant !== 'string' || !targets.has(name)) {
    reader.error(
      path,
      node.position,
      `unknown ${kind} strategy '${name}'${didYouMean(name, targets)}`,
      {
        expected: `one of ${[...targets].map((t) => `'${t}'`).join(', ')}`,
        found: `'${name}'`,
      },
    );
  }
}

/**
 * Reads a rule list. `node` undefined means the key is absent and `fallback` (a built-in rule list in
 * TOML-free form) applies. `targets` are the strategy names a constant `then` may name.
 */
export function readRules(
  reader: ConfigReader,
  node: TomlNode | undefined,
  key: string,
  targets: ReadonlySet<string>,
  kind: string,
  fallback: () => RuleSet,
): RuleSet | undefined {
  if (node === undefined) return fallback();
  if (node.kind === 'string') {
    const then = compile(reader, node, key);
    if (then === undefined) return undefined;
    checkTarget(reader, then, node, key, targets, kind);
    return { key, builtIn: false, rules: [{ index: 0, then, position: node.position }] };
  }
  if (node.kind !== 'array') {
    reader.error(key, node.position, 'wrong type', {
      expected: 'an expression string or an array of { if, then } entries ending with { else }',
      found: describeNode(node),
    });
    return undefined;
  }
  const rules: Rule[] = [];
  let failed = false;
  node.items.forEach((item, index) => {
    const path = `${key}[${index}]`;
    const entry = reader.table(item, path);
    if (entry === undefined) return void (failed = true);
    const isLast = index === node.items.length - 1;
    const ifNode = entry.entries.get('if')?.node;
    const thenNode = entry.entries.get('then')?.node;
    const elseNode = entry.entries.get('else')?.node;
    reader.checkKeys(entry, path, elseNode !== undefined ? ['else'] : ['if', 'then']);
    if (elseNode !== undefined) {
      if (!isLast) {
        reader.error(path, entry.position, "'else' must be the last entry", {
          expected: '{ if = ..., then = ... }',
          found: '{ else = ... }',
        });
        failed = true;
        return;
      }
      const then = compile(reader, elseNode, join(path, 'else'));
      if (then === undefined) return void (failed = true);
      checkTarget(reader, then, elseNode, join(path, 'else'), targets, kind);
      rules.push({ index, then, position: entry.position });
      return;
    }
    if (ifNode === undefined || thenNode === undefined) {
      reader.error(
        path,
        entry.position,
        `entry needs both 'if' and 'then'${isLast ? ', or be the final { else = ... }' : ''}`,
        {
          expected: isLast ? '{ else = "..." }' : '{ if = "...", then = "..." }',
          found: `{ ${[...entry.entries.keys()].join(', ')} }`,
        },
      );
      failed = true;
      return;
    }
    const condition = compile(reader, ifNode, join(path, 'if'));
    const then = compile(reader, thenNode, join(path, 'then'));
    if (condition === undefined || then === undefined) return void (failed = true);
    checkTarget(reader, then, thenNode, join(path, 'then'), targets, kind);
    rules.push({ index, condition, then, position: entry.position });
    if (isLast) {
      reader.error(key, node.position, 'the list must end with an { else = ... } entry', {
        expected: 'a final { else = "..." }',
        found: `{ if = "${valueToString(ifNode.kind === 'string' ? ifNode.value : '')}", ... } as the last entry`,
      });
      failed = true;
    }
  });
  if (node.items.length === 0) {
    reader.error(key, node.position, 'empty rule list', {
      expected: 'at least an { else = ... } entry',
      found: '[]',
    });
    return undefined;
  }
  return failed ? undefined : { key, builtIn: false, rules };
}

/** Compiles a built-in rule list; a failure here is a bug in mxsec, not in the user's file. */
export function builtInRules(
  key: string,
  entries: readonly { if?: string; then: string }[],
): RuleSet {
  const mustCompile = (source: string): CompiledExpression => {
    const result = compileExpression(source, { variables: QUEUE_VARIABLES });
    if (!result.ok) throw new Error(`built-in expression does not compile: ${source}`);
    return result.expr;
  };
  return {
    key,
    builtIn: true,
    rules: entries.map((entry, index) => ({
      index,
      ...(entry.if === undefined ? {} : { condition: mustCompile(entry.if) }),
      then: mustCompile(entry.then),
    })),
  };
}
