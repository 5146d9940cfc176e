/**
 * Parser of the expression language: tokens to an {@link Ast} by precedence climbing. Unary `!` and
 * `-` bind tighter than every binary operator; binary operators follow {@link PRECEDENCE} and are all
 * left-associative, as in Stalwart.
 *
 * On a syntax error the parser records an {@link ExprError} and recovers where that is cheap and safe
 * (a missing `)` or `]` is assumed, an unexpected token in value position becomes an empty-string
 * placeholder), so one compile can report several problems. It stops at the first token that cannot
 * continue the expression. The returned tree is meaningful only when no error was recorded. Nesting is
 * limited to {@link MAX_DEPTH} and length to {@link MAX_TOKENS} so that hostile input cannot exhaust
 * the stack.
 */

import type { Ast } from './ast.js';
import type { ExprError } from './errors.js';
import { MAX_ERRORS } from './errors.js';
import type { BinaryOp } from './ops.js';
import { PRECEDENCE } from './ops.js';
import type { Token } from './tokenize.js';

/** Deepest nesting of parentheses, brackets, calls and unary operators accepted. */
export const MAX_DEPTH = 128;

/**
 * Longest expression accepted, in tokens. Compiling and evaluating recurse once per tree level, and a
 * flat chain `a + a + ...` is as deep as it is long; this bound keeps that far from the stack limit.
 */
export const MAX_TOKENS = 4096;

/** Parses a whole token list (ending with `eof`); errors are appended to `errors`. */
export function parseTokens(source: string, tokens: readonly Token[], errors: ExprError[]): Ast {
  const excess = tokens[MAX_TOKENS];
  if (excess !== undefined && excess.type !== 'eof') {
    errors.push({
      offset: excess.offset,
      length: source.length - excess.offset,
      message: `expression longer than ${MAX_TOKENS} tokens`,
    });
    return { kind: 'literal', value: '', raw: '', offset: 0, length: source.length };
  }
  return new Parser(source, tokens, errors).parseAll();
}

class Parser {
  private position = 0;
  private depth = 0;
  private halted = false;
  /** Syntax errors past the first lexical error are usually its echo, so they are not reported. */
  private readonly quietFrom: number;

  constructor(
    private readonly source: string,
    private readonly tokens: readonly Token[],
    private readonly errors: ExprError[],
  ) {
    this.quietFrom = errors.reduce((first, e) => Math.min(first, e.offset), Infinity);
  }

  parseAll(): Ast {
    const first = this.peek();
    if (first.type === 'eof') {
      this.fail(first, 'empty expression');
      return this.placeholder(first);
    }
    const ast = this.parseBinary(1);
    const rest = this.peek();
    if (rest.type !== 'eof') {
      this.fail(
        rest,
        `unexpected ${this.describe(rest)}: expected an operator or the end of the expression`,
      );
    }
    return ast;
  }

  private parseBinary(minPrecedence: number): Ast {
    let left = this.parseUnary();
    for (;;) {
      const token = this.peek();
      if (token.type !== 'op' || token.op === '!') return left;
      const op: BinaryOp = token.op;
      const precedence = PRECEDENCE[op];
      if (precedence < minPrecedence) return left;
      this.position++;
      // Left-associative: the right operand may only contain tighter operators.
      const right = this.parseBinary(precedence + 1);
      left = {
        kind: 'binary',
        op,
        left,
        right,
        offset: left.offset,
        length: end(right) - left.offset,
      };
    }
  }

  private parseUnary(): Ast {
    const token = this.peek();
    if (token.type === 'op' && (token.op === '!' || token.op === '-')) {
      if (!this.enter(token)) return this.placeholder(token);
      this.position++;
      const operand = this.parseUnary();
      this.depth--;
      return {
        kind: 'unary',
        op: token.op,
        operand,
        offset: token.offset,
        length: end(operand) - token.offset,
      };
    }
    return this.parsePrimary();
  }

  private parsePrimary(): Ast {
    const token = this.peek();
    const raw = this.source.slice(token.offset, token.offset + token.length);
    switch (token.type) {
      case 'number':
      case 'string':
        this.position++;
        return {
          kind: 'literal',
          value: token.value,
          raw,
          offset: token.offset,
          length: token.length,
        };
      case 'capture':
        this.position++;
        return { kind: 'variable', name: raw, offset: token.offset, length: token.length };
      case 'ident':
        this.position++;
        if (this.peek().type === '(') return this.parseCall(token);
        if (token.name === 'true' || token.name === 'false') {
          return {
            kind: 'literal',
            value: token.name === 'true',
            raw,
            offset: token.offset,
            length: token.length,
          };
        }
        return { kind: 'variable', name: token.name, offset: token.offset, length: token.length };
      case '(': {
        if (!this.enter(token)) return this.placeholder(token);
        this.position++;
        const inner = this.parseBinary(1);
        const closing = this.close(')', token);
        this.depth--;
        // The node's span includes its parentheses, so an enclosing node's span covers them too.
        return { ...inner, offset: token.offset, length: closing - token.offset };
      }
      case '[': {
        if (!this.enter(token)) return this.placeholder(token);
        this.position++;
        const items = this.parseList(']');
        const closing = this.close(']', token);
        this.depth--;
        return { kind: 'array', items, offset: token.offset, length: closing - token.offset };
      }
      case 'op':
        // A stray binary operator (`1 + * 2`): report it and read on as if it were absent.
        this.fail(token, `unexpected ${this.describe(token)}: expected a value`);
        while (this.isStrayOperator(this.peek())) this.position++;
        return this.parseUnary();
      case ')':
      case ']':
      case ',':
      case 'eof':
        this.fail(token, `unexpected ${this.describe(token)}: expected a value`);
        return this.placeholder(token);
    }
  }

  private parseCall(name: Token & { type: 'ident' }): Ast {
    const open = this.peek();
    if (!this.enter(open)) return this.placeholder(open);
    this.position++;
    const args = this.parseList(')');
    const closing = this.close(')', open);
    this.depth--;
    return {
      kind: 'call',
      name: name.name,
      nameLength: name.length,
      args,
      offset: name.offset,
      length: closing - name.offset,
    };
  }

  /** Comma-separated expressions up to (not including) `closer`; empty when `closer` comes first. */
  private parseList(closer: ')' | ']'): Ast[] {
    const items: Ast[] = [];
    if (this.peek().type === closer) return items;
    for (;;) {
      items.push(this.parseBinary(1));
      if (this.peek().type !== ',') return items;
      this.position++;
    }
  }

  /** Consumes `closer` and returns the offset just past it; on a mismatch reports and assumes it. */
  private close(closer: ')' | ']', opener: Token): number {
    const token = this.peek();
    if (token.type === closer) {
      this.position++;
      return token.offset + 1;
    }
    this.fail(
      token,
      `missing '${closer}' to close '${opener.type === '[' ? '[' : '('}' at offset ${opener.offset}; found ${this.describe(token)}`,
    );
    const previous = this.tokens[this.position - 1];
    return previous === undefined ? token.offset : previous.offset + previous.length;
  }

  private enter(token: Token): boolean {
    if (this.depth >= MAX_DEPTH) {
      this.fail(token, `expression nested deeper than ${MAX_DEPTH} levels`);
      // Nothing sensible can follow: skip to the end and unwind without further errors.
      this.position = this.tokens.length - 1;
      this.halted = true;
      return false;
    }
    this.depth++;
    return true;
  }

  /** A binary-only operator, which cannot start a value (`!` and `-` can). */
  private isStrayOperator(token: Token): boolean {
    return token.type === 'op' && token.op !== '!' && token.op !== '-';
  }

  private peek(): Token {
    const token = this.tokens[Math.min(this.position, this.tokens.length - 1)];
    if (token === undefined) throw new Error('bug: token list without eof');
    return token;
  }

  private describe(token: Token): string {
    if (token.type === 'eof') return 'end of expression';
    return `'${this.source.slice(token.offset, token.offset + token.length)}'`;
  }

  private fail(token: Token, message: string): void {
    if (this.halted || token.offset > this.quietFrom || this.errors.length >= MAX_ERRORS) return;
    if (this.errors.some((e) => e.offset === token.offset && e.message === message)) return;
    this.errors.push({ offset: token.offset, length: token.length, message });
  }

  private placeholder(token: Token): Ast {
    return { kind: 'literal', value: '', raw: '', offset: token.offset, length: token.length };
  }
}

function end(node: Ast): number {
  return node.offset + node.length;
}
