/**
 * The `mxsec` command: dispatches to one module per command. Unknown commands and bad arguments exit
 * with 64 (EX_USAGE) and a message naming the problem.
 */
import { didYouMean } from '../config/diagnostics.js';
import { runCommand } from './common.js';
import type { Command } from './common.js';
import { checkCommand } from './check.js';
import { configCheck } from './config-check.js';
import { dnsSelftestCommand } from './dns-selftest.js';
import { EXIT } from './exit-codes.js';
import type { ExitCode } from './exit-codes.js';
import { mtaStsCommand } from './mta-sts.js';
import { line, processOut } from './output.js';
import type { Out } from './output.js';
import { queueCommand } from './queue.js';
import { sendCommand } from './send.js';
import { serveCommand } from './serve.js';
import { strategyCommand } from './strategy.js';

const COMMANDS: Readonly<Record<string, Command>> = {
  'config check': configCheck,
  strategy: strategyCommand,
  send: sendCommand,
  check: checkCommand,
  'mta-sts': mtaStsCommand,
  'dns selftest': dnsSelftestCommand,
  serve: serveCommand,
  queue: queueCommand,
};

export const USAGE = `usage: mxsec <command> [options]

commands:
  config check [--config F] [--strict]                 validate and lint the configuration
  strategy [--config F] [--var name=value ...] [--json] show the TLS strategy selected for a context
  send --from ADDR --to ADDR [--to ADDR ...] [--config F] [--var name=value ...] [--json] < message
                                                       deliver one message now, without the queue
  check DOMAIN [--config F] [--var name=value ...] [--json]
                                                       probe a domain's MX hosts and explain the verdict
  mta-sts show|fetch|flush DOMAIN [--config F] [--json]
                                                       show the cached MTA-STS policy, fetch it now, forget it
  dns selftest [--config F] [--json]                   can DANE work with the configured resolver?
  serve [--config F]                                   run the relay: submission listener and delivery queue
  queue list|show ID|retry ID|delete ID|hold ID|release ID [--config F] [--json]
                                                       inspect and change the queue, also while serve runs

Exit codes: 0 ok, 1 warnings with --strict, 64 usage, 69 unavailable, 75 temporary failure, 78 configuration error.`;

export async function main(argv: readonly string[], out: Out = processOut): Promise<ExitCode> {
  if (argv.length === 0 || argv[0] === '--help' || argv[0] === '-h' || argv[0] === 'help') {
    line(argv.length === 0 ? out.stderr : out.stdout, USAGE);
    return argv.length === 0 ? EXIT.usage : EXIT.ok;
  }
  for (const [name, command] of Object.entries(COMMANDS)) {
    const words = name.split(' ');
    if (words.every((w, i) => argv[i] === w))
      return runCommand(command, argv.slice(words.length), out);
  }
  const first = argv[0] ?? '';
  line(
    out.stderr,
    `mxsec: unknown command '${argv.slice(0, 2).join(' ')}'${didYouMean(
      first,
      Object.keys(COMMANDS).map((c) => c.split(' ')[0] ?? c),
    )}`,
  );
  line(out.stderr, USAGE);
  return EXIT.usage;
}
