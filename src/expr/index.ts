/**
 * mxsec's expression language, compatible with Stalwart's: the public surface used by the config
 * loader, strategy selection and the linter. Compile once with {@link compileExpression} (errors are
 * returned as values with offset and length), then evaluate as often as needed; evaluation is pure
 * and never throws. Semantics (truthiness, `==` between text and numbers, missing variables, division
 * by zero, short-circuit results) are Stalwart's and are documented in the modules re-exported here.
 */

export type { Value, EvalContext } from './value.js';
export { isTruthy, valueToString, valuesEqual, compareValues, MISSING } from './value.js';
export type { ExprError } from './errors.js';
export type { CompileOptions, CompiledExpression, CompileResult } from './compile.js';
export { compileExpression } from './compile.js';
export type {
  Ast,
  LiteralNode,
  VariableNode,
  UnaryNode,
  BinaryNode,
  CallNode,
  ArrayNode,
} from './ast.js';
export { childrenOf, walkAst, isCapture } from './ast.js';
export type { BinaryOp, UnaryOp } from './ops.js';
export { PRECEDENCE } from './ops.js';
export type { CaptureState } from './regex.js';
export type { FunctionSpec } from './functions.js';
export { FUNCTIONS } from './functions.js';
export { QUEUE_VARIABLES } from './variables.js';
