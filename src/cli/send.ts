/**
 * `mxsec send --from ADDR --to ADDR [--to ADDR ...] [--config F] [--var name=value ...] [--json] < message`:
 * one synchronous delivery attempt per recipient domain, without the queue. `--var` supplies the
 * strategy context of a retry (`retry_num`, `last_error`, ...). Exit 0 when every recipient was delivered,
 * 75 when any failed temporarily, 69 when all that remain failed permanently, 78 on configuration errors,
 * 64 on usage errors.
 */
import { createDeliverer } from '../delivery/deliverer.js';
import type { DomainDelivery } from '../delivery/types.js';
import { describeTlsFacts } from '../tls/describe.js';
import {
  CONFIG_OPTION,
  UsageError,
  contextFromVars,
  loadForCommand,
  parse,
  runtimeForCommand,
} from './common.js';
import type { Command } from './common.js';
import { EXIT } from './exit-codes.js';
import { deliveriesJson } from './json.js';
import type { ExitCode } from './exit-codes.js';
import { line, paint } from './output.js';
import type { Out } from './output.js';
import { readAll } from './read-stdin.js';

const MAX_MESSAGE_BYTES = 64 * 1024 * 1024;
const ADDRESS = /^[^\s@<>]+@[^\s@<>]+$/;

export function domainOf(address: string): string {
  return address.slice(address.lastIndexOf('@') + 1).toLowerCase();
}

/** The exit status for a set of deliveries. */
export function exitFor(deliveries: readonly DomainDelivery[]): ExitCode {
  const statuses = deliveries.flatMap((d) => d.recipients.map((r) => r.status));
  if (statuses.every((s) => s === 'delivered')) return EXIT.ok;
  if (statuses.includes('temporary')) return EXIT.tempfail;
  return EXIT.unavailable;
}

export function printDeliveries(deliveries: readonly DomainDelivery[], out: Out): void {
  const o = out.stdout;
  for (const d of deliveries) {
    for (const a of d.attempts) {
      const where = a.ip === undefined ? a.mx : `${a.mx} [${a.ip}]`;
      line(o, `${paint(o, 'bold', where)}: strategy '${a.strategy}' (rule #${a.rule.index + 1})`);
      for (const reason of a.reasons) line(o, paint(o, 'dim', `  - ${reason}`));
      if (a.tls !== null) line(o, `  tls: ${describeTlsFacts(a.tls)}`);
      if (a.security !== null)
        line(
          o,
          `  security: ${paint(o, a.security === 'none' || a.security === 'unverified' ? 'yellow' : 'green', a.security)}`,
        );
      if (a.reportOnly !== undefined)
        line(o, paint(o, 'yellow', `  MTA-STS testing (reported only): ${a.reportOnly.message}`));
      if (a.error !== null)
        line(
          o,
          paint(
            o,
            'red',
            `  failed: ${a.error.severity} ${a.error.status} [${a.error.lastError}] ${a.error.message}`,
          ),
        );
    }
    for (const r of d.recipients) {
      const colour =
        r.status === 'delivered' ? 'green' : r.status === 'temporary' ? 'yellow' : 'red';
      line(
        o,
        `${paint(o, colour, r.status.padEnd(9))} ${r.address} ${r.code} [${r.lastError}] ${r.reply ?? r.message}`,
      );
    }
  }
}

export const sendCommand: Command = async (argv, out) => {
  const { values } = parse(argv, {
    ...CONFIG_OPTION,
    from: { type: 'string' },
    to: { type: 'string', multiple: true },
    var: { type: 'string', multiple: true },
    json: { type: 'boolean' },
  });
  if (values.from === undefined)
    throw new UsageError('--from ADDR is required (use --from "" for the null sender)');
  if (values.to === undefined || values.to.length === 0)
    throw new UsageError('at least one --to ADDR is required');
  for (const address of [...values.to, ...(values.from === '' ? [] : [values.from])]) {
    if (!ADDRESS.test(address))
      throw new UsageError(`'${address}' is not a mail address (local@domain)`);
  }
  const context = contextFromVars(values.var);
  const { config } = await loadForCommand(values.config, out);
  if (config === undefined) return EXIT.config;
  const message = await readAll(out.stdin, MAX_MESSAGE_BYTES);
  if (!message.ok) throw new UsageError(message.message);
  const runtime = await runtimeForCommand(config, out);
  if (runtime === undefined) return EXIT.config;
  try {
    const byDomain = new Map<string, string[]>();
    for (const rcpt of values.to)
      byDomain.set(domainOf(rcpt), [...(byDomain.get(domainOf(rcpt)) ?? []), rcpt]);
    const deliveries: DomainDelivery[] = [];
    const deliverer = createDeliverer({
      config: () => config,
      deps: (connection) => runtime.deps(connection),
      reuse: false,
    });
    for (const [domain, recipients] of byDomain) {
      deliveries.push(
        await deliverer.deliver({
          from: values.from,
          domain,
          recipients,
          body: message.data,
          context,
        }),
      );
    }
    if (values.json === true) line(out.stdout, JSON.stringify(deliveriesJson(deliveries), null, 2));
    else printDeliveries(deliveries, out);
    return exitFor(deliveries);
  } finally {
    runtime.close();
  }
};
