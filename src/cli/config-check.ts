/**
 * `mxsec config check [--config F] [--strict]`: validates the configuration, then lints it.
 * Exit 0 when valid (warnings are printed), 78 on errors, 1 on warnings with `--strict`.
 */
import { formatDiagnostic } from '../config/diagnostics.js';
import { lintConfig } from '../config/lint/lint.js';
import { CONFIG_OPTION, loadForCommand, parse } from './common.js';
import type { Command } from './common.js';
import { EXIT } from './exit-codes.js';
import { line, paint } from './output.js';

export const configCheck: Command = async (argv, out) => {
  const { values } = parse(argv, { ...CONFIG_OPTION, strict: { type: 'boolean' } });
  const { config, result } = await loadForCommand(values.config, out);
  if (config === undefined) {
    const errors = result.diagnostics.filter((d) => d.severity === 'error').length;
    line(
      out.stderr,
      paint(out.stderr, 'red', `configuration invalid: ${errors} error${errors === 1 ? '' : 's'}`),
    );
    return EXIT.config;
  }
  const warnings = lintConfig(config);
  for (const w of warnings) {
    line(
      out.stderr,
      paint(
        out.stderr,
        'yellow',
        formatDiagnostic({
          severity: 'warning',
          file: config.file,
          position: w.position,
          path: w.path,
          message: `${w.message} [${w.code}]`,
        }),
      ),
    );
  }
  const total = warnings.length + result.diagnostics.length;
  const strategies = [...config.tls.strategies.keys()].join(', ');
  line(
    out.stdout,
    `${config.file}: valid; TLS strategies: ${strategies}; ${config.tls.selector.rules.length} rule(s) in ${config.tls.selector.key}${total > 0 ? `; ${total} warning(s)` : ''}`,
  );
  return values.strict === true && total > 0 ? EXIT.warnings : EXIT.ok;
};
