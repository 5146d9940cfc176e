/**
 * The outbound host context that strategy expressions see (Stalwart's variable names), with the values
 * a first delivery attempt has, and parsing of `name=value` overrides for the CLI. Counters and
 * durations are integers (durations in milliseconds; `1h` is accepted on the command line).
 */
import { parseDuration } from '../core/duration.js';
import { didYouMean } from '../config/diagnostics.js';
import { QUEUE_VARIABLES } from '../expr/index.js';
import type { EvalContext, Value } from '../expr/index.js';
import { INTEGER_VARIABLES } from '../config/lint/conditions.js';

export type HostContext = Readonly<Record<string, Value>>;

/** A first attempt with nothing known yet. */
export const INITIAL_CONTEXT: HostContext = {
  rcpt: '',
  rcpt_domain: '',
  sender: '',
  sender_domain: '',
  mx: '',
  remote_ip: '',
  local_ip: '',
  retry_num: 0,
  notify_num: 0,
  last_error: 'none',
  last_status: '',
  priority: 0,
  queue_name: 'default',
  queue_age: 0,
  expires_in: 0,
  source: '',
  size: 0,
};

export type VarParse =
  | { readonly ok: true; readonly name: string; readonly value: Value }
  | { readonly ok: false; readonly message: string };

/** Parses one `name=value` assignment; integer variables accept integers and durations. */
export function parseVarAssignment(text: string): VarParse {
  const eq = text.indexOf('=');
  if (eq <= 0) return { ok: false, message: `--var '${text}' is not of the form name=value` };
  const name = text.slice(0, eq).trim();
  const raw = text.slice(eq + 1);
  if (!QUEUE_VARIABLES.has(name)) {
    return {
      ok: false,
      message: `unknown variable '${name}'${didYouMean(name, QUEUE_VARIABLES)}; variables: ${[...QUEUE_VARIABLES].join(', ')}`,
    };
  }
  if (!INTEGER_VARIABLES.has(name)) return { ok: true, name, value: raw };
  if (/^-?\d+$/.test(raw.trim())) return { ok: true, name, value: Number(raw) };
  const ms = parseDuration(raw);
  if (ms !== undefined) return { ok: true, name, value: ms };
  return {
    ok: false,
    message: `variable '${name}' takes an integer${name === 'queue_age' || name === 'expires_in' ? ' or a duration' : ''}, not '${raw}'`,
  };
}

/** Derives `rcpt_domain` / `sender_domain` from addresses when they were not given explicitly. */
export function completeContext(context: HostContext, given: ReadonlySet<string>): EvalContext {
  const out: Record<string, Value> = { ...context };
  const domainOf = (address: Value): string => {
    const text = String(address);
    const at = text.lastIndexOf('@');
    return at < 0 ? '' : text.slice(at + 1).toLowerCase();
  };
  if (!given.has('rcpt_domain') && given.has('rcpt'))
    out['rcpt_domain'] = domainOf(context['rcpt'] ?? '');
  if (!given.has('sender_domain') && given.has('sender'))
    out['sender_domain'] = domainOf(context['sender'] ?? '');
  return out;
}
