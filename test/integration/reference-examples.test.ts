/**
 * Acceptance test of the configuration model: every TOML example of the Stalwart TLS strategy reference
 * (test/fixtures/reference/) loads verbatim and selects what the document says for representative contexts.
 * Adding a fixture file adds a load test.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { parseConfig } from '../../src/config/load.js';
import type { MxsecConfig } from '../../src/config/types.js';
import { INITIAL_CONTEXT } from '../../src/cli/context.js';
import { selectStrategy } from '../../src/policy/select.js';
import { fixture } from '../support/paths.js';

async function load(name: string): Promise<MxsecConfig> {
  const result = parseConfig(await readFile(fixture('reference', name), 'utf8'), name);
  assert.deepEqual(
    result.diagnostics.filter((d) => d.severity === 'error'),
    [],
  );
  assert.ok(result.config);
  return result.config;
}

function select(config: MxsecConfig, vars: Record<string, string | number>) {
  return selectStrategy(config.tls.selector, config.tls.strategies, {
    ...INITIAL_CONTEXT,
    ...vars,
  });
}

describe('reference document examples', async () => {
  for (const name of (await readdir(fixture('reference'))).filter((f) => f.endsWith('.toml'))) {
    test(`${name} loads without errors`, async () => {
      await load(name);
    });
  }

  test('Handling TLS Errors: first attempt uses default; a retry after a TLS error uses invalid-tls', async () => {
    const config = await load('handling-tls-errors.toml');
    assert.equal(select(config, {}).name, 'default');
    assert.equal(select(config, { retry_num: 1, last_error: 'tls' }).name, 'invalid-tls');
    assert.equal(select(config, { retry_num: 1, last_error: 'dns' }).name, 'default');
    // As written, the second rule is shadowed: retry 2 after a TLS error still gets invalid-tls.
    const second = select(config, { retry_num: 2, last_error: 'tls' });
    assert.equal(second.name, 'invalid-tls');
    assert.equal(second.rule.index, 0);
    assert.equal(config.tls.strategies.get('invalid-tls')?.allowInvalidCerts, true);
    assert.equal(config.tls.strategies.get('disable-tls')?.starttls, 'disable');
  });

  test('Strict Transport Security: the named MX gets high-security, others default', async () => {
    const config = await load('strict-transport-security.toml');
    const high = select(config, { mx: 'highly-secure.host.org' });
    assert.equal(high.name, 'high-security');
    assert.deepEqual(
      [
        high.strategy.dane,
        high.strategy.mtaSts,
        high.strategy.starttls,
        high.strategy.allowInvalidCerts,
      ],
      ['require', 'require', 'require', false],
    );
    const other = select(config, { mx: 'mx.example.org' });
    assert.equal(other.name, 'default');
    assert.deepEqual(
      [other.strategy.dane, other.strategy.mtaSts, other.strategy.starttls],
      ['optional', 'optional', 'optional'],
    );
  });

  test('snippets: each defines the strategy with the documented setting', async () => {
    assert.equal((await load('dane-require.toml')).tls.strategies.get('secure')?.dane, 'require');
    assert.equal(
      (await load('mta-sts-optional.toml')).tls.strategies.get('default')?.mtaSts,
      'optional',
    );
    assert.equal(
      (await load('starttls-disable.toml')).tls.strategies.get('legacy')?.starttls,
      'disable',
    );
    const invalid = await load('invalid-certs.toml');
    assert.equal(invalid.tls.strategies.get('invalid-tls')?.allowInvalidCerts, false);
    // The built-in selector still picks invalid-tls on a TLS retry; the file made it strict.
    assert.equal(
      select(invalid, { retry_num: 1, last_error: 'tls' }).strategy.allowInvalidCerts,
      false,
    );
    const timeouts = (await load('timeouts.toml')).tls.strategies.get('default');
    assert.deepEqual([timeouts?.timeoutTlsMs, timeouts?.timeoutMtaStsMs], [180_000, 180_000]);
  });
});
