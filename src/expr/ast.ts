/**
 * The syntax tree of an expression, exported so that the configuration linter can walk it. Every node
 * carries the `offset` and `length` (UTF-16 code units) of the source text it came from. Binary
 * operators are stored normalised (`&` is `&&`, `|` is `||`, `=` is `==`, `=>` is `>=`, `=<` is `<=`).
 * A regular-expression capture `$1` is a `variable` node whose name starts with `$`.
 */

import type { BinaryOp, UnaryOp } from './ops.js';
import type { Value } from './value.js';

interface Span {
  readonly offset: number;
  readonly length: number;
}

/** A constant: string, number (durations already in milliseconds), boolean. `raw` is the source text. */
export interface LiteralNode extends Span {
  readonly kind: 'literal';
  readonly value: Value;
  readonly raw: string;
}

/** A host variable such as `retry_num`, or a capture `$N` of the last `matches`. */
export interface VariableNode extends Span {
  readonly kind: 'variable';
  readonly name: string;
}

export interface UnaryNode extends Span {
  readonly kind: 'unary';
  readonly op: UnaryOp;
  readonly operand: Ast;
}

export interface BinaryNode extends Span {
  readonly kind: 'binary';
  readonly op: BinaryOp;
  readonly left: Ast;
  readonly right: Ast;
}

/** `name(arg, ...)`; `nameLength` is the length of the function name at `offset`. */
export interface CallNode extends Span {
  readonly kind: 'call';
  readonly name: string;
  readonly nameLength: number;
  readonly args: readonly Ast[];
}

/** An array literal `[a, b]`. */
export interface ArrayNode extends Span {
  readonly kind: 'array';
  readonly items: readonly Ast[];
}

export type Ast = LiteralNode | VariableNode | UnaryNode | BinaryNode | CallNode | ArrayNode;

/** The direct children of a node, left to right. */
export function childrenOf(node: Ast): readonly Ast[] {
  switch (node.kind) {
    case 'literal':
    case 'variable':
      return [];
    case 'unary':
      return [node.operand];
    case 'binary':
      return [node.left, node.right];
    case 'call':
      return node.args;
    case 'array':
      return node.items;
  }
}

/** Calls `visit` on `node` and every descendant, parents before children. */
export function walkAst(node: Ast, visit: (node: Ast) => void): void {
  visit(node);
  for (const child of childrenOf(node)) walkAst(child, visit);
}

/** True for a capture reference (`$0`, `$1`, ...) rather than a host variable. */
export function isCapture(node: VariableNode): boolean {
  return node.name.startsWith('$');
}
