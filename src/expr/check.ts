/**
 * Name resolution of a parsed expression: every variable must be one the host allows (or a capture
 * `$N`), every call must name a known function with exactly its number of arguments, and a constant
 * `matches` pattern must compile. All problems are reported, each pointing at the offending text, with
 * a "did you mean" hint when a close spelling exists. Pure; never throws.
 */

import type { Ast } from './ast.js';
import { isCapture, walkAst } from './ast.js';
import type { ExprError } from './errors.js';
import { MAX_ERRORS, withSuggestion } from './errors.js';
import { FUNCTIONS } from './functions.js';
import { compileRegex } from './regex.js';

/** Appends to `errors` every name, arity and pattern problem in `ast`. */
export function checkNames(ast: Ast, variables: ReadonlySet<string>, errors: ExprError[]): void {
  const report = (offset: number, length: number, message: string): void => {
    if (errors.length < MAX_ERRORS) errors.push({ offset, length, message });
  };

  walkAst(ast, (node) => {
    if (node.kind === 'variable') {
      if (isCapture(node) || variables.has(node.name)) return;
      const message = FUNCTIONS.has(node.name)
        ? `'${node.name}' is a function: call it as ${node.name}(...)`
        : withSuggestion(`unknown variable '${node.name}'`, node.name, variables);
      report(node.offset, node.length, message);
      return;
    }
    if (node.kind !== 'call') return;

    const spec = FUNCTIONS.get(node.name);
    if (spec === undefined) {
      const message = variables.has(node.name)
        ? `'${node.name}' is a variable, not a function`
        : withSuggestion(`unknown function '${node.name}'`, node.name, FUNCTIONS.keys());
      report(node.offset, node.nameLength, message);
      return;
    }
    if (node.args.length !== spec.arity) {
      const plural = spec.arity === 1 ? 'argument' : 'arguments';
      report(
        node.offset,
        node.length,
        `function '${node.name}' expects ${spec.arity} ${plural}, got ${node.args.length}`,
      );
      return;
    }
    const pattern = node.args[0];
    if (
      node.name === 'matches' &&
      pattern?.kind === 'literal' &&
      typeof pattern.value === 'string'
    ) {
      const compiled = compileRegex(pattern.value);
      if (!compiled.ok) {
        report(
          pattern.offset,
          pattern.length,
          `invalid regular expression '${pattern.value}': ${compiled.message}`,
        );
      }
    }
  });
}
