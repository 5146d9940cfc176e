import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatDiagnostic } from './diagnostics.js';
import { defaultConfig, loadConfigFile, parseConfig } from './load.js';

function errorsOf(source: string) {
  const result = parseConfig(source, 'mxsec.toml');
  assert.equal(result.config, undefined, 'expected the configuration to be rejected');
  return result.diagnostics.filter((d) => d.severity === 'error');
}

function only(source: string) {
  const errors = errorsOf(source);
  assert.equal(errors.length, 1, errors.map(formatDiagnostic).join('\n'));
  return errors[0]!;
}

describe('configuration defaults', () => {
  test('with no file, the built-in strategies default and invalid-tls exist with Stalwart defaults', () => {
    const config = defaultConfig();
    const d = config.tls.strategies.get('default');
    assert.deepEqual(
      d && {
        dane: d.dane,
        mtaSts: d.mtaSts,
        starttls: d.starttls,
        allow: d.allowInvalidCerts,
        tls: d.timeoutTlsMs,
        sts: d.timeoutMtaStsMs,
      },
      {
        dane: 'optional',
        mtaSts: 'optional',
        starttls: 'optional',
        allow: false,
        tls: 180_000,
        sts: 300_000,
      },
    );
    assert.equal(config.tls.strategies.get('invalid-tls')?.allowInvalidCerts, true);
    assert.equal(config.tls.selector.builtIn, true);
    assert.equal(
      config.tls.selector.rules[0]?.condition?.source,
      "retry_num > 0 && last_error == 'tls'",
    );
  });

  test('a strategy may be defined by one key; the others take their defaults', () => {
    const config = parseConfig('[queue.tls.secure]\ndane = "require"\n', 'f').config!;
    const s = config.tls.strategies.get('secure')!;
    assert.equal(s.dane, 'require');
    assert.equal(s.starttls, 'optional');
    assert.equal(s.timeoutTlsMs, 180_000);
    assert.ok(config.tls.strategies.has('default'), 'built-in default still exists');
  });

  test("Stalwart's spellings 'required' and 'disabled' are accepted", () => {
    const s = parseConfig(
      '[queue.tls.x]\nstarttls = "required"\ndane = "disabled"\n',
      'f',
    ).config!.tls.strategies.get('x')!;
    assert.equal(s.starttls, 'require');
    assert.equal(s.dane, 'disable');
  });

  test('a file that defines default replaces the built-in one', () => {
    const s = parseConfig(
      '[queue.tls.default]\nstarttls = "require"\n',
      'f',
    ).config!.tls.strategies.get('default')!;
    assert.equal(s.starttls, 'require');
    assert.equal(s.builtIn, false);
  });

  test('a single expression string is a selector with one unconditional rule', () => {
    const config = parseConfig('[queue.strategy]\ntls = "\'invalid-tls\'"\n', 'f').config!;
    assert.equal(config.tls.selector.rules.length, 1);
    assert.equal(config.tls.selector.rules[0]?.condition, undefined);
  });

  test('durations accept ms, s, m, h and d', () => {
    const s = parseConfig(
      '[queue.tls.x.timeout]\ntls = "500ms"\nmta-sts = "1h"\n',
      'f',
    ).config!.tls.strategies.get('x')!;
    assert.equal(s.timeoutTlsMs, 500);
    assert.equal(s.timeoutMtaStsMs, 3_600_000);
  });

  test('resolver nameservers are normalised to host:port', () => {
    const r = parseConfig(
      '[resolver]\nnameservers = ["127.0.0.1", "[::1]:5353", "127.0.0.2:53"]\ntrust-ad = true\n',
      'f',
    ).config!.resolver;
    assert.deepEqual(r.nameservers, ['127.0.0.1:53', '[::1]:5353', '127.0.0.2:53']);
    assert.equal(r.trustAd, true);
  });
});

describe('configuration errors name the file, position, key, expectation and finding', () => {
  test('TOML syntax error', () => {
    const e = only('[queue.tls.default]\nstarttls = "optional" extra\n');
    assert.match(e.message, /TOML syntax error/);
    assert.equal(e.position?.line, 2);
  });

  test('unknown key gets a did-you-mean suggestion at the key', () => {
    const e = only('[queue.tls.default]\nstarttsl = "require"\n');
    assert.equal(e.path, 'queue.tls.default.starttsl');
    assert.deepEqual(e.position, { line: 2, column: 1 });
    assert.match(e.message, /unknown key 'starttsl'; did you mean 'starttls'\?/);
  });

  test('unknown top-level section', () => {
    const e = only('[resolvr]\ntimeout = "1s"\n');
    assert.match(e.message, /did you mean 'resolver'/);
  });

  test('unknown mode value names the allowed ones', () => {
    const e = only('[queue.tls.default]\nstarttls = "requir"\n');
    assert.equal(e.path, 'queue.tls.default.starttls');
    assert.deepEqual(e.position, { line: 2, column: 12 });
    assert.match(e.message, /did you mean 'require'/);
    assert.equal(e.found, '"requir"');
    assert.match(e.expected ?? '', /"optional", "require", "disable"/);
  });

  test('wrong type for a boolean', () => {
    const e = only('[queue.tls.default]\nallow-invalid-certs = "yes"\n');
    assert.equal(e.expected, 'true or false');
    assert.equal(e.found, 'the string "yes"');
  });

  test('a duration that does not parse', () => {
    const e = only('[queue.tls.default.timeout]\ntls = "3 minutes"\n');
    assert.equal(e.path, 'queue.tls.default.timeout.tls');
    assert.match(e.message, /not a duration/);
  });

  test('starttls disable together with dane require is a contradiction', () => {
    const e = only('[queue.tls.x]\nstarttls = "disable"\ndane = "require"\n');
    assert.match(
      e.message,
      /contradiction: starttls = "disable" cannot be combined with dane = "require"/,
    );
    assert.deepEqual(e.position, { line: 2, column: 1 });
  });

  test('starttls disable together with mta-sts require is a contradiction', () => {
    assert.match(
      only('[queue.tls.x]\nstarttls = "disabled"\nmta-sts = "required"\n').message,
      /mta-sts = "require"/,
    );
  });

  test('a constant then naming an undefined strategy', () => {
    const e = only('[queue.strategy]\ntls = [ { else = "\'defualt\'" } ]\n');
    assert.match(e.message, /unknown TLS strategy 'defualt'; did you mean 'default'\?/);
    assert.equal(e.path, 'queue.strategy.tls[0].else');
  });

  test('an unknown variable is reported at its column inside the expression', () => {
    const e = only(
      '[queue.strategy]\ntls = [ { if = "retry_nm > 0", then = "\'default\'" }, { else = "\'default\'" } ]\n',
    );
    assert.equal(e.path, 'queue.strategy.tls[0].if');
    // `tls = [ { if = "` is 16 characters: the variable starts at column 17.
    assert.deepEqual(e.position, { line: 2, column: 17 });
    assert.match(e.message, /retry_nm/);
    assert.match(e.message, /retry_num/);
  });

  test('an expression syntax error carries its position', () => {
    const e = only(
      '[queue.strategy]\ntls = [ { if = "retry_num > ", then = "\'default\'" }, { else = "\'default\'" } ]\n',
    );
    assert.equal(e.position?.line, 2);
    assert.ok((e.position?.column ?? 0) >= 17);
  });

  test('a rule list must end with else', () => {
    const e = only('[queue.strategy]\ntls = [ { if = "retry_num > 0", then = "\'default\'" } ]\n');
    assert.match(e.message, /must end with an \{ else = \.\.\. \} entry/);
  });

  test('else must be the last entry', () => {
    const errors = errorsOf(
      '[queue.strategy]\ntls = [ { else = "\'default\'" }, { if = "true", then = "\'default\'" } ]\n',
    );
    assert.ok(errors.some((e) => /'else' must be the last entry/.test(e.message)));
  });

  test('all errors of a file are reported in one run, in order', () => {
    const errors = errorsOf(
      '[queue.tls.a]\nstarttls = "sometimes"\n[queue.tls.b]\nallow-invalid-certs = 1\n[queue.tls.c]\ntimeuot = "1s"\n',
    );
    assert.deepEqual(
      errors.map((e) => e.position?.line),
      [2, 4, 6],
    );
  });

  test('nameserver that is not an address', () => {
    const e = only('[resolver]\nnameservers = ["dns.example"]\n');
    assert.equal(e.path, 'resolver.nameservers[0]');
  });

  test('formatted diagnostics read file:line:column: severity: path: message (expected, found)', () => {
    const e = only('[queue.tls.default]\nstarttls = "requir"\n');
    assert.match(
      formatDiagnostic(e),
      /^mxsec\.toml:2:12: error: queue\.tls\.default\.starttls: unknown value 'requir'; did you mean 'require'\? \(expected .*, found "requir"\)$/,
    );
  });
});

describe('loading files', () => {
  test('a missing default file means built-in defaults; a missing named file is an error', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mxsec-config-'));
    try {
      const implicit = await loadConfigFile(join(dir, 'mxsec.toml'), false);
      assert.ok(implicit.config?.tls.strategies.has('default'));
      const explicit = await loadConfigFile(join(dir, 'mxsec.toml'), true);
      assert.equal(explicit.config, undefined);
      assert.match(explicit.diagnostics[0]?.message ?? '', /no such file/);
      await writeFile(join(dir, 'bad.toml'), '[queue.tls.x]\nstarttls = 3\n');
      const bad = await loadConfigFile(join(dir, 'bad.toml'), true);
      assert.equal(bad.diagnostics[0]?.file, join(dir, 'bad.toml'));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
