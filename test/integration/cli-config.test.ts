/**
 * `mxsec config check` and `mxsec strategy` on the reference examples and on broken files: output and
 * exit codes (0 valid, 1 warnings with --strict, 64 usage, 78 configuration errors).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../support/capture.js';
import { fixture, REPO_ROOT } from '../support/paths.js';

describe('mxsec config check', () => {
  test('a valid file exits 0 and prints a summary', async () => {
    const r = await runCli([
      'config',
      'check',
      '--config',
      fixture('reference', 'strict-transport-security.toml'),
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /valid; TLS strategies: high-security, default, invalid-tls/);
  });

  test('the Handling TLS Errors example warns about the shadowed rule; --strict exits 1', async () => {
    const path = fixture('reference', 'handling-tls-errors.toml');
    const relaxed = await runCli(['config', 'check', '--config', path]);
    assert.equal(relaxed.code, 0);
    assert.match(
      relaxed.stderr,
      /handling-tls-errors\.toml:3:\d+: warning: queue\.strategy\.tls\[1\]: rule 2 .* can never match/,
    );
    assert.match(relaxed.stderr, /strategy 'disable-tls' is defined but no reachable rule/);
    const strict = await runCli(['config', 'check', '--strict', '--config', path]);
    assert.equal(strict.code, 1);
  });

  test('errors exit 78 and are all printed with positions', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mxsec-cli-'));
    try {
      const path = join(dir, 'bad.toml');
      await writeFile(path, '[queue.tls.a]\nstarttls = "never"\nalow-invalid-certs = true\n');
      const r = await runCli(['config', 'check', '--config', path]);
      assert.equal(r.code, 78);
      assert.match(
        r.stderr,
        /bad\.toml:2:12: error: queue\.tls\.a\.starttls: unknown value 'never'/,
      );
      assert.match(
        r.stderr,
        /bad\.toml:3:1: error: queue\.tls\.a\.alow-invalid-certs: unknown key 'alow-invalid-certs'; did you mean 'allow-invalid-certs'\?/,
      );
      assert.match(r.stderr, /configuration invalid: 2 errors/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('an unknown option is a usage error (64)', async () => {
    const r = await runCli(['config', 'check', '--strickt']);
    assert.equal(r.code, 64);
    assert.match(r.stderr, /strickt/);
  });
});

describe('mxsec strategy', () => {
  const path = fixture('reference', 'handling-tls-errors.toml');

  test('prints the selected strategy, the matching rule and every setting', async () => {
    const r = await runCli([
      'strategy',
      '--config',
      path,
      '--var',
      'retry_num=1',
      '--var',
      'last_error=tls',
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /strategy: invalid-tls/);
    assert.match(
      r.stdout,
      /rule: +#1 of queue\.strategy\.tls: if retry_num > 0 && last_error == 'tls' then 'invalid-tls'/,
    );
    assert.match(r.stdout, /allow-invalid-certs +true/);
    assert.match(r.stdout, /timeout\.tls +3m/);
  });

  test('--json gives the machine-readable form', async () => {
    const r = await runCli([
      'strategy',
      '--config',
      fixture('reference', 'strict-transport-security.toml'),
      '--var',
      'mx=highly-secure.host.org',
      '--json',
    ]);
    const parsed = JSON.parse(r.stdout) as {
      strategy: string;
      rule: { index: number; if: string };
      settings: Record<string, unknown>;
    };
    assert.equal(parsed.strategy, 'high-security');
    assert.deepEqual(parsed.rule, {
      index: 0,
      if: "mx == 'highly-secure.host.org'",
      then: "'high-security'",
    });
    assert.equal(parsed.settings['dane'], 'require');
  });

  test('an unknown variable is a usage error with a suggestion', async () => {
    const r = await runCli(['strategy', '--var', 'retry_nm=1']);
    assert.equal(r.code, 64);
    assert.match(r.stderr, /unknown variable 'retry_nm'; did you mean 'retry_num'\?/);
  });

  test('an integer variable rejects text', async () => {
    const r = await runCli(['strategy', '--var', 'retry_num=many']);
    assert.equal(r.code, 64);
  });
});

describe('the mxsec executable', () => {
  const bin = join(REPO_ROOT, 'dist', 'src', 'cli', 'bin.js');
  test(
    'exits with the command exit code',
    { skip: existsSync(bin) ? false : 'not built (npm test builds it)' },
    () => {
      const r = spawnSync(
        process.execPath,
        [bin, 'config', 'check', '--config', '/nonexistent/mxsec.toml'],
        { encoding: 'utf8' },
      );
      assert.equal(r.status, 78);
      assert.match(r.stderr, /cannot read configuration: no such file/);
      const usage = spawnSync(process.execPath, [bin, 'frobnicate'], { encoding: 'utf8' });
      assert.equal(usage.status, 64);
    },
  );
});
