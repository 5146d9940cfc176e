/**
 * `mxsec send` and `mxsec check` run in-process (`runCli`) against the loopback delivery environment,
 * configured the way an operator would: a TOML file naming the test DNS server as nameserver, the
 * shared SMTP and MTA-STS port, the test CA as `ca-file` and a temporary data directory. Assertions are
 * on the exit code (0 delivered, 75 temporary, 69 permanent, 78 configuration, 64 usage), on the JSON
 * and human output, and on what the SMTP servers saw: `send` must deliver exactly the bytes read from
 * standard input, and `check` must stop after TLS without ever sending MAIL FROM.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../support/capture.js';
import { startDeliveryEnv, writeCliConfig } from '../support/delivery-env.js';
import type { DeliveryEnv } from '../support/delivery-env.js';
import { policyText, startPolicyServer } from '../support/https-policy-server.js';
import type { TestPolicyServer } from '../support/https-policy-server.js';
import { createSelfSigned } from '../support/pki.js';
import type { TestSmtpServer } from '../support/smtp-server.js';

// A line starting with a dot checks that dot-stuffing survives the round trip unchanged.
const MESSAGE =
  'From: sender@sender.test\r\nTo: user@valid.cli.test\r\nSubject: cli\r\n\r\nhello from stdin\r\n.leading dot\r\n';

const zone = {
  'valid.cli.test': { MX: [{ preference: 10, exchange: 'mx.valid.cli.test' }] },
  'mx.valid.cli.test': { A: ['127.0.0.31'] },
  'self.cli.test': { MX: [{ preference: 10, exchange: 'mx.self.cli.test' }] },
  'mx.self.cli.test': { A: ['127.0.0.32'] },
  'reject.cli.test': { MX: [{ preference: 10, exchange: 'mx.reject.cli.test' }] },
  'mx.reject.cli.test': { A: ['127.0.0.33'] },
  'sts.cli.test': { MX: [{ preference: 10, exchange: 'mx.sts.cli.test' }] },
  'mx.sts.cli.test': { A: ['127.0.0.34'] },
  '_mta-sts.sts.cli.test': { TXT: ['v=STSv1; id=1;'] },
  'mta-sts.sts.cli.test': { A: ['127.0.0.3'] },
  'nullmx.cli.test': { MX: [{ preference: 0, exchange: '.' }] },
  // A testing policy that does not list the MX, which is the plaintext server: reported, not enforced.
  'testing.cli.test': { MX: [{ preference: 10, exchange: 'mx.testing.cli.test' }] },
  'mx.testing.cli.test': { A: ['127.0.0.33'] },
  '_mta-sts.testing.cli.test': { TXT: ['v=STSv1; id=1;'] },
  'mta-sts.testing.cli.test': { A: ['127.0.0.3'] },
};

let env: DeliveryEnv;
let policies: TestPolicyServer;
let dir: string;
let config: string;

function smtp(ip: string): TestSmtpServer {
  return env.servers.get(ip)!;
}

/** Every client line the server at `ip` received on connections opened after `from`. */
function clientLines(ip: string, from: number): string[] {
  return smtp(ip)
    .transcripts.slice(from)
    .flat()
    .filter((l) => l.startsWith('C: '));
}

function send(args: readonly string[], input = MESSAGE) {
  return runCli(['send', '--config', config, ...args], input);
}

function json(stdout: string): Record<string, unknown> & {
  recipients: Record<string, unknown>[];
  attempts: Record<string, unknown>[];
} {
  return JSON.parse(stdout) as ReturnType<typeof json>;
}

before(async () => {
  env = await startDeliveryEnv(zone);
  const valid = await env.ca.issue({ dnsNames: ['mx.valid.cli.test'] });
  await env.server('127.0.0.31', { tls: { key: valid.keyPem, cert: valid.chainPem } });
  const self = await createSelfSigned({ dnsNames: ['mx.self.cli.test'] });
  await env.server('127.0.0.32', { tls: { key: self.keyPem, cert: self.certPem } });
  await env.server('127.0.0.33', {
    rcptReplies: {
      'a@reject.cli.test': '550 5.1.1 no such user',
      'b@reject.cli.test': '550 5.1.1 no such user',
    },
  });
  const sts = await env.ca.issue({ dnsNames: ['mx.sts.cli.test'] });
  await env.server('127.0.0.34', { tls: { key: sts.keyPem, cert: sts.chainPem } });
  policies = await startPolicyServer({
    address: '127.0.0.3',
    port: env.port,
    sites: {
      'sts.cli.test': {
        cert: await env.ca.issue({ dnsNames: ['mta-sts.sts.cli.test'] }),
        response: policyText('enforce', ['mx.sts.cli.test']),
      },
      'testing.cli.test': {
        cert: await env.ca.issue({ dnsNames: ['mta-sts.testing.cli.test'] }),
        response: policyText('testing', ['elsewhere.testing.cli.test']),
      },
    },
  });
  dir = await mkdtemp(join(tmpdir(), 'mxsec-cli-delivery-'));
  config = await writeCliConfig(env, dir);
});

after(async () => {
  await policies?.close();
  await env?.close();
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

describe('mxsec send', () => {
  test('a delivered message exits 0; the JSON names each recipient and attempt; the server got the stdin bytes', async () => {
    const r = await send(['--from', 'sender@sender.test', '--to', 'user@valid.cli.test', '--json']);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    const out = json(r.stdout);
    assert.equal(out.recipients.length, 1);
    const rcpt = out.recipients[0]!;
    assert.deepEqual(
      [rcpt['address'], rcpt['status'], rcpt['last_error'], rcpt['code']],
      ['user@valid.cli.test', 'delivered', 'none', '2.0.0'],
    );
    assert.match(String(rcpt['reply']), /^250 /);
    const attempt = out.attempts[0]!;
    assert.deepEqual(
      [attempt['mx'], attempt['ip'], attempt['strategy'], attempt['security'], attempt['error']],
      ['mx.valid.cli.test', '127.0.0.31', 'default', 'pkix', null],
    );
    const tls = attempt['tls'] as { version: string; cipher: string };
    assert.match(tls.version, /^TLSv1\.[23]$/);
    assert.match(tls.cipher, /^TLS_|ECDHE/);
    const received = smtp('127.0.0.31').messages.at(-1);
    assert.equal(Buffer.from(received!.data).toString(), MESSAGE);
    assert.equal(received?.tls, true);
  });

  test('the human output shows the host, the strategy, the security level and the recipient line', async () => {
    const r = await send(['--from', 'sender@sender.test', '--to', 'user@valid.cli.test']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /mx\.valid\.cli\.test \[127\.0\.0\.31\]: strategy 'default'/);
    assert.match(r.stdout, /security: pkix/);
    assert.match(r.stdout, /^delivered +user@valid\.cli\.test 2\.0\.0 \[none\] 250 /m);
  });

  test('a self-signed MX under the default strategy is a temporary tls failure: exit 75, nothing sent', async () => {
    const before = smtp('127.0.0.32').messages.length;
    const r = await send(['--from', 'sender@sender.test', '--to', 'user@self.cli.test', '--json']);
    assert.equal(r.code, 75, r.stderr);
    const rcpt = json(r.stdout).recipients[0]!;
    assert.deepEqual(
      [rcpt['status'], rcpt['last_error'], rcpt['code']],
      ['temporary', 'tls', '4.7.5'],
    );
    assert.equal(smtp('127.0.0.32').messages.length, before);
  });

  test('the retry context --var retry_num=1 --var last_error=tls selects invalid-tls and delivers: exit 0', async () => {
    const r = await send([
      '--from',
      'sender@sender.test',
      '--to',
      'user@self.cli.test',
      '--var',
      'retry_num=1',
      '--var',
      'last_error=tls',
      '--json',
    ]);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    const attempt = json(r.stdout).attempts[0]!;
    assert.deepEqual([attempt['strategy'], attempt['security']], ['invalid-tls', 'unverified']);
    assert.equal(smtp('127.0.0.32').messages.at(-1)?.tls, true);
  });

  test('RFC 7505: a null MX domain exits 69', async () => {
    const r = await send([
      '--from',
      'sender@sender.test',
      '--to',
      'user@nullmx.cli.test',
      '--json',
    ]);
    assert.equal(r.code, 69, r.stderr);
    assert.deepEqual(
      json(r.stdout).recipients.map((x) => [x['status'], x['code']]),
      [['permanent', '5.1.10']],
    );
  });

  test('a 550 for every recipient exits 69 and nothing is delivered', async () => {
    const r = await send([
      '--from',
      'sender@sender.test',
      '--to',
      'a@reject.cli.test',
      '--to',
      'b@reject.cli.test',
      '--json',
    ]);
    assert.equal(r.code, 69, r.stderr);
    assert.deepEqual(
      json(r.stdout).recipients.map((x) => [x['address'], x['status'], x['code']]),
      [
        ['a@reject.cli.test', 'permanent', '5.1.1'],
        ['b@reject.cli.test', 'permanent', '5.1.1'],
      ],
    );
    assert.equal(smtp('127.0.0.33').messages.length, 0);
  });

  test('RFC 8461 4.2: an MTA-STS enforce domain is delivered with security mta-sts through the configured ports', async () => {
    const r = await send(['--from', 'sender@sender.test', '--to', 'user@sts.cli.test', '--json']);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    assert.equal(json(r.stdout).attempts[0]!['security'], 'mta-sts');
    assert.ok(policies.fetches('sts.cli.test') >= 1);
  });

  test('a broken configuration exits 78 before reading the message or connecting', async () => {
    const broken = join(dir, 'broken.toml');
    await writeFile(broken, '[queue.tls.a]\nstarttls = "never"\n');
    const connections = smtp('127.0.0.31').transcripts.length;
    const r = await runCli(
      ['send', '--config', broken, '--from', 'sender@sender.test', '--to', 'user@valid.cli.test'],
      MESSAGE,
    );
    assert.equal(r.code, 78);
    assert.match(r.stderr, /broken\.toml:2:\d+: error: queue\.tls\.a\.starttls/);
    assert.equal(smtp('127.0.0.31').transcripts.length, connections);
  });

  test('an unreadable ca-file exits 78', async () => {
    const bad = join(dir, 'bad-ca.toml');
    await writeFile(
      bad,
      `[tls]\nca-file = ${JSON.stringify(join(dir, 'missing.pem'))}\n[storage]\ndata-dir = ${JSON.stringify(join(dir, 'data'))}\n`,
    );
    const r = await runCli(
      ['send', '--config', bad, '--from', 'sender@sender.test', '--to', 'user@valid.cli.test'],
      MESSAGE,
    );
    assert.equal(r.code, 78);
    assert.match(r.stderr, /missing\.pem/);
  });

  test('a missing --from exits 64 with a usage message', async () => {
    const r = await send(['--to', 'user@valid.cli.test']);
    assert.equal(r.code, 64);
    assert.match(r.stderr, /--from ADDR is required/);
    assert.equal(r.stdout, '');
  });

  test('a recipient that is not an address exits 64', async () => {
    const r = await send(['--from', 'sender@sender.test', '--to', 'not-an-address']);
    assert.equal(r.code, 64);
    assert.match(r.stderr, /'not-an-address' is not a mail address/);
  });
});

describe('mxsec check', () => {
  test('human output: MX host, STARTTLS, TLS version and cipher, chain, strategy and verdict; no MAIL FROM sent', async () => {
    const from = smtp('127.0.0.31').transcripts.length;
    const r = await runCli(['check', 'valid.cli.test', '--config', config]);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    assert.match(r.stdout, /^valid\.cli\.test: 1 MX host\(s\)/m);
    assert.match(r.stdout, /^mx\.valid\.cli\.test \(preference 10, 127\.0\.0\.31/m);
    assert.match(r.stdout, /strategy 'default' by rule #\d+ \(else\)/);
    assert.match(r.stdout, /127\.0\.0\.31: STARTTLS offered/);
    assert.match(
      r.stdout,
      /TLSv1\.[23] \S+, CN=mx\.valid\.cli\.test issued by CN=mxsec Test CA, valid/,
    );
    assert.match(
      r.stdout,
      /cert: CN=mx\.valid\.cli\.test \(issuer CN=mxsec Test CA; DNS mx\.valid\.cli\.test;/,
    );
    assert.match(r.stdout, /verdict: would deliver at security level pkix/);
    const lines = clientLines('127.0.0.31', from);
    assert.ok(lines.includes('C: STARTTLS'), lines.join('\n'));
    assert.ok(lines.some((l) => /^C: QUIT/i.test(l)));
    assert.ok(
      !lines.some((l) => /^C: (MAIL|RCPT|DATA)/i.test(l)),
      'check must never start a transaction',
    );
  });

  test('--json on a self-signed MX: chain and verdict refuse (tls), exit 75; no MAIL FROM sent', async () => {
    const from = smtp('127.0.0.32').transcripts.length;
    const r = await runCli(['check', 'self.cli.test', '--json', '--config', config]);
    assert.equal(r.code, 75, r.stderr);
    const host = (JSON.parse(r.stdout) as { hosts: Record<string, unknown>[] }).hosts[0]!;
    assert.deepEqual([host['mx'], host['strategy']], ['mx.self.cli.test', 'default']);
    const session = (host['sessions'] as Record<string, unknown>[])[0]!;
    assert.equal(session['starttls_offered'], true);
    const tls = session['tls'] as {
      version: string;
      cipher: string;
      pkix: { valid: boolean };
      chain: { dns_names: string[] }[];
    };
    assert.match(tls.version, /^TLSv1\.[23]$/);
    assert.ok(tls.cipher.length > 0);
    assert.equal(tls.pkix.valid, false);
    assert.deepEqual(tls.chain[0]?.dns_names, ['mx.self.cli.test']);
    assert.deepEqual(host['verdict'], {
      deliver: false,
      class: 'tls',
      severity: 'temporary',
      code: '4.7.5',
      message: (host['verdict'] as { message: string }).message,
    });
    assert.ok(!clientLines('127.0.0.32', from).some((l) => /^C: MAIL/i.test(l)));
  });

  test('--json with the retry context: invalid-tls would deliver unverified, exit 0', async () => {
    const r = await runCli([
      'check',
      'self.cli.test',
      '--json',
      '--var',
      'retry_num=1',
      '--var',
      'last_error=tls',
      '--config',
      config,
    ]);
    assert.equal(r.code, 0, r.stderr);
    const host = (JSON.parse(r.stdout) as { hosts: Record<string, unknown>[] }).hosts[0]!;
    assert.equal(host['strategy'], 'invalid-tls');
    assert.deepEqual(host['verdict'], { deliver: true, security: 'unverified' });
  });

  test('--json on a plaintext MX: STARTTLS not offered, would deliver at security none', async () => {
    const r = await runCli(['check', 'reject.cli.test', '--json', '--config', config]);
    assert.equal(r.code, 0, r.stderr);
    const host = (JSON.parse(r.stdout) as { hosts: Record<string, unknown>[] }).hosts[0]!;
    assert.equal((host['sessions'] as Record<string, unknown>[])[0]!['starttls_offered'], false);
    assert.deepEqual(host['verdict'], { deliver: true, security: 'none' });
  });

  test('RFC 8461: --json shows the enforce policy applied and the mta-sts security level', async () => {
    const r = await runCli(['check', 'sts.cli.test', '--json', '--config', config]);
    assert.equal(r.code, 0, r.stderr);
    const host = (JSON.parse(r.stdout) as { hosts: Record<string, unknown>[] }).hosts[0]!;
    assert.equal(host['mta_sts'], 'enforce');
    assert.deepEqual(host['verdict'], { deliver: true, security: 'mta-sts' });
  });

  test('RFC 8461 5: a testing policy the host fails is shown as reported only, and the verdict still delivers', async () => {
    const human = await runCli(['check', 'testing.cli.test', '--config', config]);
    assert.equal(human.code, 0, human.stderr);
    assert.match(human.stdout, /MTA-STS testing \(reported only\): .*STARTTLS/);
    assert.match(human.stdout, /verdict: would deliver at security level none/);
    const r = await runCli(['check', 'testing.cli.test', '--json', '--config', config]);
    const host = (JSON.parse(r.stdout) as { hosts: Record<string, unknown>[] }).hosts[0]!;
    assert.equal(host['mta_sts'], 'testing');
    const reported = (host['sessions'] as Record<string, unknown>[])[0]!['report_only'] as {
      reason: string;
      tlsrpt: string;
    } | null;
    assert.deepEqual(
      [reported?.reason, reported?.tlsrpt],
      ['starttls-not-supported', 'starttls-not-supported'],
    );
    assert.deepEqual(host['verdict'], { deliver: true, security: 'none' });
  });

  test('RFC 7505: a null MX domain exits 69', async () => {
    const r = await runCli(['check', 'nullmx.cli.test', '--json', '--config', config]);
    assert.equal(r.code, 69, r.stderr);
    assert.equal((JSON.parse(r.stdout) as { route: string }).route, 'null-mx');
  });

  test('no DOMAIN is a usage error (64); a broken configuration exits 78', async () => {
    assert.equal((await runCli(['check', '--config', config])).code, 64);
    const broken = join(dir, 'broken-check.toml');
    await writeFile(broken, '[delivery]\nport = "twenty-five"\n');
    assert.equal((await runCli(['check', 'valid.cli.test', '--config', broken])).code, 78);
  });
});
