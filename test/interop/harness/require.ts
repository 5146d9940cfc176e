/**
 * Decides whether an interop test can run: the Debian binaries it drives must be installed and the
 * process must be root (the servers bind the real ports 25, 53 and 443 and Postfix must start as root).
 *
 * Contract: outside CI a missing prerequisite skips the suite with a message naming it and
 * `.ci/install-deps.sh`. In CI (`CI` set to anything but "", "0" or "false") the same message becomes a
 * failing test, so a broken CI image can never pass by skipping every interop test.
 */
import { test } from 'node:test';
import { findBinary } from './run.js';

/** What a suite passes to `describe(name, options, fn)`. */
export interface InteropOptions {
  readonly skip?: string;
}

/** The prerequisites that are not met: missing binaries, and "root" when not running as root. */
export function missingPrerequisites(binaries: readonly string[]): string[] {
  const missing = binaries.filter((name) => findBinary(name) === undefined);
  if (typeof process.getuid === 'function' && process.getuid() !== 0)
    missing.push('root privileges');
  return missing;
}

function inCi(env: NodeJS.ProcessEnv): boolean {
  const value = env.CI;
  return value !== undefined && value !== '' && value !== '0' && value.toLowerCase() !== 'false';
}

/**
 * Checks `binaries` (names looked up in PATH, /usr/sbin and /sbin). Returns `{}` when the suite can run
 * and `{ skip: reason }` when it cannot; in CI it also registers a failing test carrying that reason.
 */
export function interopAvailable(
  binaries: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
): InteropOptions {
  const missing = missingPrerequisites(binaries);
  if (missing.length === 0) return {};
  const reason = `interop prerequisites missing: ${missing.join(', ')} (install them with .ci/install-deps.sh as root)`;
  if (inCi(env)) {
    test(`interop prerequisites present: ${binaries.join(', ')}`, () => {
      throw new Error(reason);
    });
  }
  return { skip: reason };
}
