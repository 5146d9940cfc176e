/**
 * Host variables: the names configuration expressions may read, and the one place where a context
 * value enters evaluation. A context is supplied by the host at run time and is not trusted to match
 * its type: a missing variable, or one holding something that is not a {@link Value} (null, an object,
 * a bigint, an over-deep array), reads as `''`, Stalwart's value for a variable it cannot resolve.
 * Nothing here throws.
 */

import type { EvalContext, Value } from './value.js';
import { MISSING } from './value.js';

/**
 * The variables of the outbound queue, with Stalwart's names, that mxsec configuration allows in
 * `queue.*` expressions. Times (`queue_age`, `expires_in`) are milliseconds, so `queue_age > 1h` reads
 * naturally; `last_error` is one of the `LastError` classes of `src/core/outcome.ts`.
 */
export const QUEUE_VARIABLES: ReadonlySet<string> = new Set([
  'rcpt',
  'rcpt_domain',
  'sender',
  'sender_domain',
  'mx',
  'remote_ip',
  'local_ip',
  'retry_num',
  'notify_num',
  'last_error',
  'last_status',
  'priority',
  'queue_name',
  'queue_age',
  'expires_in',
  'source',
  'size',
]);

const MAX_ARRAY_DEPTH = 16;

/** The value of `name` in `ctx`, or `''` when it is missing or not a well-formed value. */
export function readVariable(ctx: EvalContext, name: string): Value {
  const v: unknown = ctx[name];
  switch (typeof v) {
    case 'string':
    case 'number':
    case 'boolean':
      return v;
    default:
      return Array.isArray(v) ? sanitizeArray(v, 0) : MISSING;
  }
}

function sanitizeArray(items: readonly unknown[], depth: number): readonly Value[] {
  if (depth >= MAX_ARRAY_DEPTH) return [];
  let clean = true;
  for (const item of items) {
    const t = typeof item;
    if (t !== 'string' && t !== 'number' && t !== 'boolean') {
      clean = false;
      break;
    }
  }
  if (clean) return items as readonly Value[];
  return items.map((item): Value => {
    if (typeof item === 'string' || typeof item === 'number' || typeof item === 'boolean')
      return item;
    return Array.isArray(item) ? sanitizeArray(item, depth + 1) : MISSING;
  });
}
