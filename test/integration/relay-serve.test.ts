/**
 * `mxsec serve` as a real process (test/support/serve-process.ts), driven only from outside as an
 * operator and an application would: a TOML file, SMTP submission on its listener, signals, and
 * `mxsec queue` against its data dir. Receivers are the loopback test SMTP servers of a delivery
 * environment (in-process DNS, a test CA in `[tls] ca-file`). Covered: a submission is delivered over
 * validated STARTTLS; queue commands operate on the live queue; SIGHUP with an invalid file keeps the
 * running configuration and logs why, with a valid changed file the next attempt uses the new TLS
 * strategy; a second `serve` on the same data dir and port fails with exit 75 and the reason; SIGTERM
 * stops cleanly with exit 0. Every child and server is stopped in `after`.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../support/capture.js';
import { startDeliveryEnv } from '../support/delivery-env.js';
import type { DeliveryEnv } from '../support/delivery-env.js';
import { createSelfSigned } from '../support/pki.js';
import {
  runMxsecProcess,
  spawnServe,
  stopAllServes,
  submitMessage,
} from '../support/serve-process.js';
import type { LogLine, ServeProcess } from '../support/serve-process.js';

const TLS_MX = '127.0.0.61';
const SELF_MX = '127.0.0.62';
const OPS_MX = '127.0.0.63';

let env: DeliveryEnv;
let dir: string;
let configFile: string;
let serve: ServeProcess;
let port: number;
let refuseOps = true;

/** The configuration file; `tls` is a `queue.strategy.tls` rule and `extra` more tables (the reload test). */
function configText(
  bindPort: number,
  tls?: string,
  extra: readonly string[] = [],
  dataDir = join(dir, 'data'),
): string {
  return [
    `[server.listener.test]\nbind = ["127.0.0.1:${bindPort}"]`,
    `[storage]\ndata-dir = ${JSON.stringify(dataDir)}`,
    `[resolver]\nnameservers = [${JSON.stringify(env.dns.nameserver)}]`,
    `[tls]\nca-file = ${JSON.stringify(join(dir, 'ca.pem'))}`,
    `[delivery]\nport = ${env.port}`,
    // ops.test keeps its message queued for an hour after a refusal, so the queue commands have time.
    '[queue.strategy]',
    `schedule = [ { if = "rcpt_domain == 'ops.test'", then = "'slow'" }, { else = "'remote'" } ]`,
    ...(tls === undefined ? [] : [`tls = ${JSON.stringify(tls)}`]),
    ...extra,
    '[queue.schedule.remote]\nretry = ["1s"]',
    '[queue.schedule.slow]\nretry = ["1h"]',
    '[queue.worker]\nlease = "10s"\npoll-interval = "100ms"\ngrace-period = "20s"',
    '[queue.connection.default.timeout]\nconnect = "10s"\ngreeting = "10s"\nehlo = "10s"\nmail-from = "10s"\nrcpt-to = "10s"\ndata = "20s"',
    '',
  ].join('\n');
}

const uniqueBody = (to: string): { tag: string; body: string } => {
  const tag = `serve-${randomUUID()}`;
  return {
    tag,
    body: `From: app@sender.test\r\nTo: ${to}\r\nMessage-ID: <${tag}@mxsec.test>\r\nSubject: ${tag}\r\n\r\nhello\r\n`,
  };
};

const attemptFor =
  (id: string, result?: string) =>
  (l: LogLine): boolean =>
    l['event'] === 'delivery-attempt' &&
    l['id'] === id &&
    (result === undefined || l['result'] === result);

async function submit(to: string): Promise<{ id: string; tag: string }> {
  const { tag, body } = uniqueBody(to);
  // The null sender: a permanent failure here must not queue a DSN to a domain nobody serves.
  const sent = await submitMessage('127.0.0.1', port, { from: '', to: [to], body });
  assert.ok(sent.ok, sent.ok ? '' : sent.reason);
  return { id: sent.queueId, tag };
}

before(async () => {
  env = await startDeliveryEnv({
    'tls.test': { MX: [{ preference: 10, exchange: 'mx.tls.test' }] },
    'mx.tls.test': { A: [TLS_MX] },
    'self.test': { MX: [{ preference: 10, exchange: 'mx.self.test' }] },
    'mx.self.test': { A: [SELF_MX] },
    'ops.test': { MX: [{ preference: 10, exchange: 'mx.ops.test' }] },
    'mx.ops.test': { A: [OPS_MX] },
  });
  const cert = await env.ca.issue({ dnsNames: ['mx.tls.test'] });
  await env.server(TLS_MX, { tls: { key: cert.keyPem, cert: cert.chainPem } });
  const self = await createSelfSigned({ dnsNames: ['mx.self.test'] });
  await env.server(SELF_MX, { tls: { key: self.keyPem, cert: self.certPem } });
  await env.server(OPS_MX, {
    respond: (phase) => (phase === 'rcpt' && refuseOps ? '451 4.3.0 try later' : undefined),
  });
  dir = await mkdtemp(join(tmpdir(), 'mxsec-relay-serve-'));
  await writeFile(join(dir, 'ca.pem'), env.ca.certPem);
  configFile = join(dir, 'mxsec.toml');
  await writeFile(configFile, configText(0));
  serve = spawnServe(configFile);
  const started = await serve.started();
  assert.ok(
    started.ok,
    started.ok ? '' : `${JSON.stringify(started.exit)}\n${started.stdout}\n${started.stderr}`,
  );
  port = started.port;
});

after(async () => {
  await stopAllServes();
  await env.close();
  await rm(dir, { recursive: true, force: true });
});

test(
  'a submitted message gets 250 with its queue id and is delivered over validated STARTTLS',
  { timeout: 120_000 },
  async () => {
    const { id, tag } = await submit('user@tls.test');
    const attempt = await serve.waitForLog(`delivery of ${id}`, attemptFor(id));
    assert.deepEqual(
      [attempt['result'], attempt['strategy'], attempt['security'], attempt['mx']],
      ['delivered', 'default', 'pkix', 'mx.tls.test'],
    );
    const received =
      env.servers
        .get(TLS_MX)
        ?.messages.filter((m) => Buffer.from(m.data).toString('utf8').includes(tag)) ?? [];
    assert.equal(received.length, 1);
    assert.equal(received[0]?.tls, true, 'the sink saw the message inside TLS');
    assert.deepEqual(received[0]?.recipients, ['user@tls.test']);
  },
);

test(
  "mxsec queue list, show, hold, release, retry and delete work against the running serve's data dir",
  { timeout: 120_000 },
  async () => {
    const cli = async (
      ...args: string[]
    ): Promise<{ code: number; json: Record<string, unknown>; stderr: string }> => {
      const r = await runCli(['queue', ...args, '--config', configFile, '--json']);
      return {
        code: r.code,
        json: r.stdout === '' ? {} : (JSON.parse(r.stdout) as Record<string, unknown>),
        stderr: r.stderr,
      };
    };
    const { id, tag } = await submit('user@ops.test');
    const refused = await serve.waitForLog(`first attempt of ${id}`, attemptFor(id));
    assert.equal(refused['result'], 'temporary');

    // One command through the real binary as well, to show it shares the live database with the relay.
    const spawned = await runMxsecProcess(['queue', 'list', '--config', configFile, '--json']);
    assert.equal(spawned.exit.code, 0, spawned.stderr);
    const listed = JSON.parse(spawned.stdout) as {
      messages: { id: string; recipients: { state: string }[] }[];
    };
    assert.deepEqual(
      listed.messages.filter((m) => m.id === id).map((m) => m.recipients[0]?.state),
      ['temporary'],
    );

    const shown = await cli('show', id);
    assert.equal(shown.code, 0, shown.stderr);
    const recipient = (shown.json['recipients'] as Record<string, unknown>[])[0];
    assert.deepEqual(
      [recipient?.['state'], recipient?.['retry_num'], recipient?.['last_status']],
      ['temporary', 1, '451 4.3.0 try later'],
    );

    assert.equal((await cli('hold', id)).code, 0);
    refuseOps = false;
    assert.equal((await cli('retry', id)).code, 0);
    assert.equal((await cli('show', id)).json['held'], true);
    // Held and due now. Another submission wakes the loop, which claims everything due; once that other
    // message is delivered, the loop has passed over the held one at least once, without a sleep.
    const probe = await submit('user@tls.test');
    await serve.waitForLog(`delivery of ${probe.id}`, attemptFor(probe.id, 'delivered'));
    assert.equal(serve.logs.filter(attemptFor(id)).length, 1, 'a held message is not attempted');

    const releasedAt = serve.logs.length;
    assert.equal((await cli('release', id)).code, 0);
    const delivered = await serve.waitForLog(
      `delivery of ${id} after release`,
      attemptFor(id, 'delivered'),
    );
    assert.ok(serve.logs.indexOf(delivered) >= releasedAt, 'delivered only after the release');
    assert.equal(delivered['mx'], 'mx.ops.test');
    assert.equal(
      env.servers
        .get(OPS_MX)
        ?.messages.filter((m) => Buffer.from(m.data).toString('utf8').includes(tag)).length,
      1,
    );

    assert.equal((await cli('delete', id)).code, 0);
    const missing = await cli('show', id);
    assert.equal(missing.code, 69, 'a deleted id is unknown');
  },
);

test(
  'SIGHUP with an invalid file keeps the running configuration and logs every diagnostic',
  { timeout: 120_000 },
  async () => {
    await writeFile(configFile, `${configText(0)}[queue.tls.default]\nstarttls = "requir"\n`);
    serve.signal('SIGHUP');
    const rejected = await serve.waitForLog(
      'reload-rejected',
      (l) => l['event'] === 'reload-rejected',
    );
    assert.match(JSON.stringify(rejected['diagnostics']), /requir/, 'the log says what is wrong');
    assert.equal(
      serve.logs.some((l) => l['event'] === 'reloaded'),
      false,
    );
    // Still running, still on the old configuration.
    const { id } = await submit('user@tls.test');
    const attempt = await serve.waitForLog(`delivery of ${id}`, attemptFor(id));
    assert.deepEqual([attempt['result'], attempt['strategy']], ['delivered', 'default']);
  },
);

test(
  'SIGHUP with a valid changed file: the next attempt uses the new TLS strategy',
  { timeout: 120_000 },
  async () => {
    await writeFile(configFile, configText(0));
    const { id, tag } = await submit('user@self.test');
    // Under `default` the self-signed certificate fails; the 1 s retry keeps failing until the reload.
    const failed = await serve.waitForLog(`first attempt of ${id}`, attemptFor(id));
    assert.deepEqual(
      [failed['result'], failed['strategy'], failed['last_error']],
      ['temporary', 'default', 'tls'],
    );

    await writeFile(
      configFile,
      configText(0, "'lenient'", [
        '[queue.tls.lenient]\nallow-invalid-certs = true\nstarttls = "require"',
      ]),
    );
    serve.signal('SIGHUP');
    const reloaded = await serve.waitForLog('reloaded', (l) => l['event'] === 'reloaded');
    const delivered = await serve.waitForLog(`delivery of ${id}`, attemptFor(id, 'delivered'));
    assert.deepEqual([delivered['strategy'], delivered['security']], ['lenient', 'unverified']);
    const attempts = serve.logs.filter(attemptFor(id));
    const reloadAt = serve.logs.indexOf(reloaded);
    assert.ok(
      attempts
        .filter((a) => a['strategy'] === 'lenient')
        .every((a) => serve.logs.indexOf(a) > reloadAt),
      'lenient only after the reload',
    );
    // An attempt claimed just before the reload may still run under the old strategy, and fail as before.
    assert.ok(
      attempts
        .filter((a) => a['strategy'] === 'default')
        .every((a) => a['last_error'] === 'tls' && a['result'] === 'temporary'),
    );
    const received =
      env.servers
        .get(SELF_MX)
        ?.messages.filter((m) => Buffer.from(m.data).toString('utf8').includes(tag)) ?? [];
    assert.deepEqual(
      received.map((m) => m.tls),
      [true],
    );
  },
);

test(
  'a second serve on the same data dir is refused with exit 75, naming the pid that holds it',
  { timeout: 120_000 },
  async () => {
    const second = join(dir, 'same-dir.toml');
    await writeFile(second, configText(0));
    const other = spawnServe(second);
    const exit = await other.exited;
    assert.equal(exit.code, 75, other.output().stderr);
    const refused = other.logs.find((l) => l['event'] === 'data-dir-locked');
    assert.equal(refused?.['holder'], serve.pid);
    assert.match(
      String(refused?.['msg']),
      new RegExp(`in use by another mxsec serve \\(pid ${serve.pid}\\)`),
    );
    assert.equal(
      other.logs.find((l) => l['event'] === 'listener-started'),
      undefined,
    );
    // The first one is unaffected.
    const { id } = await submit('user@tls.test');
    assert.equal(
      (await serve.waitForLog(`delivery of ${id}`, attemptFor(id)))['result'],
      'delivered',
    );
  },
);

test(
  'a second serve on the same port fails with exit 75 and says why',
  { timeout: 120_000 },
  async () => {
    const second = join(dir, 'second.toml');
    await writeFile(second, configText(port, undefined, [], join(dir, 'other-data')));
    const other = spawnServe(second);
    const started = await other.started();
    assert.equal(started.ok, false, 'the second relay must not start');
    const exit = await other.exited;
    assert.equal(exit.code, 75, other.output().stderr);
    const failed = other.logs.find((l) => l['event'] === 'listener-failed');
    assert.match(
      String(failed?.['message']),
      new RegExp(`cannot bind 127\\.0\\.0\\.1:${port}: EADDRINUSE`),
    );
    // The first one is unaffected.
    const { id } = await submit('user@tls.test');
    assert.equal(
      (await serve.waitForLog(`delivery of ${id}`, attemptFor(id)))['result'],
      'delivered',
    );
  },
);

test('SIGTERM stops the relay cleanly with exit 0', { timeout: 120_000 }, async () => {
  serve.signal('SIGTERM');
  const exit = await serve.exited;
  assert.deepEqual(exit, { code: 0, signal: null }, serve.output().stderr);
  const stopped = serve.logs.find((l) => l['event'] === 'stopped');
  assert.equal(stopped?.['msg'], 'stopped cleanly');
  assert.deepEqual([stopped?.['abandoned'], stopped?.['dropped']], [0, 0]);
});
