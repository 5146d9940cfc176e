import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { parseConfig } from '../load.js';
import { fixture } from '../../../test/support/paths.js';
import { lintConfig } from './lint.js';

function lint(source: string) {
  const { config, diagnostics } = parseConfig(source, 'mxsec.toml');
  assert.ok(config, diagnostics.map((d) => d.message).join('\n'));
  return lintConfig(config);
}

const rules = (...entries: string[]) => `[queue.strategy]\ntls = [ ${entries.join(', ')} ]\n`;

describe('lint: shadowed rules', () => {
  test('reference "Handling TLS Errors": retry_num > 1 rule is shadowed by retry_num > 0, so disable-tls is unreachable', async () => {
    const warnings = lintConfig(
      parseConfig(await readFile(fixture('reference', 'handling-tls-errors.toml'), 'utf8'), 'f')
        .config!,
    );
    const codes = warnings.map((w) => `${w.code} ${w.path}`);
    assert.deepEqual(codes, [
      'shadowed-rule queue.strategy.tls[1]',
      'unreachable-strategy queue.tls.disable-tls',
    ]);
    assert.match(
      warnings[0]!.message,
      /rule 2 \(`retry_num > 1 && last_error == 'tls'`\) can never match: rule 1 \(`retry_num > 0 && last_error == 'tls'`\)/,
    );
  });

  test('the same rules in the specific-first order produce no shadowing', () => {
    const w = lint(
      rules(
        `{ if = "retry_num > 1 && last_error == 'tls'", then = "'disable-tls'" }`,
        `{ if = "retry_num > 0 && last_error == 'tls'", then = "'invalid-tls'" }`,
        `{ else = "'default'" }`,
      ) + '[queue.tls.disable-tls]\nstarttls = "disable"\n',
    );
    assert.deepEqual(
      w.map((x) => x.code),
      [],
    );
  });

  test('different string constants do not shadow each other', () => {
    const w = lint(
      rules(
        `{ if = "last_error == 'tls'", then = "'invalid-tls'" }`,
        `{ if = "last_error == 'dns'", then = "'default'" }`,
        `{ else = "'default'" }`,
      ),
    );
    assert.equal(w.filter((x) => x.code === 'shadowed-rule').length, 0);
  });

  test('an integer interval inside an earlier one is shadowed (retry_num >= 3 after retry_num > 2)', () => {
    const w = lint(
      rules(
        `{ if = "retry_num > 2", then = "'default'" }`,
        `{ if = "retry_num >= 3 && retry_num < 9", then = "'default'" }`,
        `{ else = "'default'" }`,
      ),
    );
    assert.deepEqual(
      w.map((x) => x.path),
      ['queue.strategy.tls[1]'],
    );
  });

  test('an extra condition on another variable does not prevent shadowing by a weaker earlier rule', () => {
    const w = lint(
      rules(
        `{ if = "retry_num > 0", then = "'default'" }`,
        `{ if = "retry_num > 3 && mx == 'a.example'", then = "'default'" }`,
        `{ else = "'default'" }`,
      ),
    );
    assert.equal(w[0]?.code, 'shadowed-rule');
  });

  test('a condition that is always true shadows the final else', () => {
    const w = lint(rules(`{ if = "true", then = "'default'" }`, `{ else = "'invalid-tls'" }`));
    assert.equal(w[0]?.code, 'shadowed-rule');
  });

  test('a contradictory condition is reported as never true', () => {
    const w = lint(
      rules(
        `{ if = "retry_num > 3 && retry_num < 2", then = "'default'" }`,
        `{ else = "'default'" }`,
      ),
    );
    assert.equal(w[0]?.code, 'never-true');
  });

  test('conditions with function calls are not claimed to shadow anything (not proven)', () => {
    const w = lint(
      rules(
        `{ if = "ends_with(mx, '.org')", then = "'default'" }`,
        `{ if = "ends_with(mx, '.org') && retry_num > 0", then = "'default'" }`,
        `{ else = "'default'" }`,
      ),
    );
    assert.equal(w.filter((x) => x.code === 'shadowed-rule').length, 0);
  });

  test('a disjunction earlier covers each disjunct of a later rule', () => {
    const w = lint(
      rules(
        `{ if = "last_error == 'tls' || last_error == 'dns'", then = "'default'" }`,
        `{ if = "last_error == 'dns'", then = "'default'" }`,
        `{ else = "'default'" }`,
      ),
    );
    assert.equal(w[0]?.code, 'shadowed-rule');
  });

  test('negation is handled by De Morgan (!(retry_num < 1) is retry_num >= 1)', () => {
    const w = lint(
      rules(
        `{ if = "!(retry_num < 1)", then = "'default'" }`,
        `{ if = "retry_num > 5", then = "'default'" }`,
        `{ else = "'default'" }`,
      ),
    );
    assert.equal(w[0]?.code, 'shadowed-rule');
  });
});

describe('lint: strategies', () => {
  test('a defined strategy that no rule selects', () => {
    const w = lint('[queue.tls.legacy]\nstarttls = "disable"\n');
    assert.deepEqual(
      w.map((x) => `${x.code} ${x.path}`),
      ['unreachable-strategy queue.tls.legacy'],
    );
  });

  test('a weakening strategy selected without a retry condition', () => {
    const w = lint(
      rules(`{ if = "mx == 'old.example'", then = "'legacy'" }`, `{ else = "'default'" }`) +
        '[queue.tls.legacy]\nstarttls = "disable"\n',
    );
    assert.equal(w[0]?.code, 'weakening-without-retry');
    assert.match(w[0].message, /disables STARTTLS/);
  });

  test('an else selecting a strategy that accepts invalid certificates is weakening', () => {
    const w = lint(rules(`{ else = "'invalid-tls'" }`));
    assert.equal(w[0]?.code, 'weakening-without-retry');
    assert.match(w[0].message, /accepts invalid certificates/);
  });

  test('the built-in default selector is clean', () => {
    assert.deepEqual(lint(''), []);
  });

  test('a computed then counts the string literals it may produce as selectable', () => {
    const w = lint(
      rules(`{ if = "retry_num > 0", then = "'legacy'" }`, `{ else = "'default'" }`) +
        '[queue.tls.legacy]\nstarttls = "disable"\n',
    );
    assert.equal(w.length, 0);
  });

  test('a retry strategy with optional STARTTLS after a first attempt that requires it is a plaintext downgrade', () => {
    const w = lint('[queue.tls.default]\nstarttls = "require"\n');
    assert.deepEqual(
      w.map((x) => `${x.code} ${x.path}`),
      ['starttls-downgrade-on-retry queue.strategy.tls[0]'],
    );
    assert.match(w[0]!.message, /'invalid-tls' with starttls = "optional" \(built-in\)/);
  });

  test('no downgrade warning when the retry strategy requires STARTTLS too', () => {
    assert.deepEqual(
      lint(
        '[queue.tls.default]\nstarttls = "require"\n[queue.tls.invalid-tls]\nallow-invalid-certs = true\nstarttls = "require"\n',
      ),
      [],
    );
  });
});
