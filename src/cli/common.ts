/**
 * What every command shares: `--config` loading with diagnostics printed to stderr, `--var` parsing,
 * and usage errors. Commands are functions from arguments and output streams to an exit code, so tests
 * run them in-process.
 */
import { parseArgs } from 'node:util';
import type { ParseArgsConfig } from 'node:util';
import { formatDiagnostic } from '../config/diagnostics.js';
import { DEFAULT_CONFIG_PATH, loadConfigFile } from '../config/load.js';
import type { LoadResult } from '../config/load.js';
import type { MxsecConfig } from '../config/types.js';
import { createRuntime } from '../delivery/runtime.js';
import type { Runtime } from '../delivery/runtime.js';
import { completeContext, INITIAL_CONTEXT, parseVarAssignment } from './context.js';
import type { EvalContext, Value } from '../expr/index.js';
import { EXIT } from './exit-codes.js';
import type { ExitCode } from './exit-codes.js';
import { line, paint } from './output.js';
import type { Out } from './output.js';

export type Command = (argv: readonly string[], out: Out) => Promise<ExitCode>;

export class UsageError extends Error {}

export function parse<T extends NonNullable<ParseArgsConfig['options']>>(
  argv: readonly string[],
  options: T,
  allowPositionals = false,
) {
  try {
    return parseArgs({ args: [...argv], options, allowPositionals, strict: true });
  } catch (error: unknown) {
    throw new UsageError((error as Error).message);
  }
}

export const CONFIG_OPTION = { config: { type: 'string', short: 'c' } } as const;

/** Loads the configuration named by `--config` (or the default path), printing diagnostics. */
export async function loadForCommand(
  path: string | undefined,
  out: Out,
): Promise<{ config?: MxsecConfig; result: LoadResult }> {
  const result = await loadConfigFile(path ?? DEFAULT_CONFIG_PATH, path !== undefined);
  for (const d of result.diagnostics) {
    line(
      out.stderr,
      paint(out.stderr, d.severity === 'error' ? 'red' : 'yellow', formatDiagnostic(d)),
    );
  }
  return result.config === undefined ? { result } : { config: result.config, result };
}

/** Builds the expression context from repeated `--var name=value`. */
export function contextFromVars(vars: readonly string[] | undefined): EvalContext {
  const values: Record<string, Value> = { ...INITIAL_CONTEXT };
  const given = new Set<string>();
  for (const text of vars ?? []) {
    const parsed = parseVarAssignment(text);
    if (!parsed.ok) throw new UsageError(parsed.message);
    values[parsed.name] = parsed.value;
    given.add(parsed.name);
  }
  return completeContext(values, given);
}

export async function runCommand(
  command: Command,
  argv: readonly string[],
  out: Out,
): Promise<ExitCode> {
  try {
    return await command(argv, out);
  } catch (error: unknown) {
    if (error instanceof UsageError) {
      line(out.stderr, `mxsec: ${error.message}`);
      return EXIT.usage;
    }
    throw error;
  }
}

/**
 * Builds the delivery runtime for a one-shot command, printing its warnings; undefined (after printing
 * why) when it cannot be built, which the caller reports as a configuration error (78).
 */
export async function runtimeForCommand(
  config: MxsecConfig,
  out: Out,
): Promise<Runtime | undefined> {
  const made = await createRuntime(config);
  if (!made.ok) {
    line(out.stderr, `mxsec: ${made.message}`);
    return undefined;
  }
  for (const warning of made.runtime.warnings)
    line(out.stderr, paint(out.stderr, 'yellow', `warning: ${warning}`));
  return made.runtime;
}
