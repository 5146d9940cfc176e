/**
 * `mxsec strategy [--config F] --var name=value ... [--json]`: which TLS strategy the configuration
 * selects for a context, the rule that matched, and every resolved setting. It explains a decision
 * before any mail is sent.
 */
import { formatDuration } from '../core/duration.js';
import { selectStrategy } from '../policy/select.js';
import { CONFIG_OPTION, contextFromVars, loadForCommand, parse } from './common.js';
import type { Command } from './common.js';
import { EXIT } from './exit-codes.js';
import { line, paint } from './output.js';

export const strategyCommand: Command = async (argv, out) => {
  const { values } = parse(argv, {
    ...CONFIG_OPTION,
    var: { type: 'string', multiple: true },
    json: { type: 'boolean' },
  });
  const context = contextFromVars(values.var);
  const { config } = await loadForCommand(values.config, out);
  if (config === undefined) return EXIT.config;
  const selection = selectStrategy(config.tls.selector, config.tls.strategies, context);
  const s = selection.strategy;
  const settings = {
    dane: s.dane,
    'mta-sts': s.mtaSts,
    starttls: s.starttls,
    'allow-invalid-certs': s.allowInvalidCerts,
    'timeout.tls': formatDuration(s.timeoutTlsMs),
    'timeout.mta-sts': formatDuration(s.timeoutMtaStsMs),
  };
  if (values.json === true) {
    line(
      out.stdout,
      JSON.stringify(
        {
          strategy: selection.name,
          builtIn: s.builtIn,
          rule: {
            index: selection.rule.index,
            if: selection.rule.condition ?? null,
            then: selection.rule.then,
          },
          fallback: selection.fallback ?? null,
          settings,
          context,
        },
        null,
        2,
      ),
    );
    return EXIT.ok;
  }
  const ruleText =
    selection.rule.condition === undefined
      ? `else ${selection.rule.then}`
      : `if ${selection.rule.condition} then ${selection.rule.then}`;
  line(
    out.stdout,
    `strategy: ${paint(out.stdout, 'bold', selection.name)}${s.builtIn ? ' (built-in)' : ''}`,
  );
  line(
    out.stdout,
    `rule:     #${selection.rule.index + 1} of ${config.tls.selector.key}: ${ruleText}`,
  );
  if (selection.fallback !== undefined) {
    line(
      out.stdout,
      paint(
        out.stdout,
        'yellow',
        `warning:  the rule computed '${selection.fallback.computed}', which is not a defined strategy; using '${selection.fallback.used}'`,
      ),
    );
  }
  for (const [key, value] of Object.entries(settings))
    line(out.stdout, `  ${key.padEnd(20)} ${String(value)}`);
  return EXIT.ok;
};
