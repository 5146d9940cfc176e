/**
 * AUTH and STARTTLS on the submission listener over loopback: PLAIN and LOGIN with good and bad
 * secrets, 530 before MAIL when AUTH is required, STARTTLS with a test PKI certificate and AUTH inside
 * TLS, the STARTTLS command-injection defence, and the configuration errors that keep passwords and
 * open relays off the network.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatDiagnostic } from '../../src/config/diagnostics.js';
import { parseConfig } from '../../src/config/load.js';
import { DEFAULT_SERVER_LIMITS } from '../../src/config/server.js';
import { MemoryStore } from '../../src/queue/memory-store.js';
import { startSubmissionServer } from '../../src/server/index.js';
import { createTestCa } from '../support/pki.js';
import type { TestCa } from '../support/pki.js';
import { closeAll, RawClient, RecordingLogger, startServer } from './server-harness.js';

const b64 = (s: string): string => Buffer.from(s, 'utf8').toString('base64');
let dir = '';
let ca: TestCa;
let certFile = '';
let keyFile = '';

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mxsec-server-auth-'));
  ca = await createTestCa();
  const leaf = await ca.issue({ dnsNames: ['mx.test'] });
  certFile = join(dir, 'chain.pem');
  keyFile = join(dir, 'key.pem');
  await writeFile(certFile, leaf.chainPem);
  await writeFile(keyFile, leaf.keyPem);
});

after(async () => {
  await closeAll();
  await rm(dir, { recursive: true, force: true });
});

async function ready(port: number): Promise<RawClient> {
  const client = await RawClient.connect(port);
  assert.equal((await client.reply()).code, 220);
  return client;
}

describe('AUTH without TLS on a loopback listener', () => {
  test('RFC 4954 6: auth required answers 530 before MAIL; AUTH PLAIN then submits', async () => {
    const store = new MemoryStore();
    const { port } = await startServer(store, { auth: 'required' });
    const client = await ready(port);
    const ehlo = await client.command('EHLO client.test');
    assert.match(ehlo.text, /250[- ]AUTH PLAIN LOGIN/);
    const refused = await client.command('MAIL FROM:<a@s.test>');
    assert.equal(refused.code, 530);
    assert.match(refused.text, /5\.7\.0/);
    assert.equal((await client.command(`AUTH PLAIN ${b64('\u0000app\u0000s3cret')}`)).code, 235);
    client.send('MAIL FROM:<a@s.test>\r\nRCPT TO:<b@r.test>\r\nDATA\r\n');
    assert.deepEqual(
      [(await client.reply()).code, (await client.reply()).code, (await client.reply()).code],
      [250, 250, 354],
    );
    assert.equal((await client.command('Subject: x\r\n\r\nhi\r\n.')).code, 250);
    const list = await store.list();
    assert.ok(list.ok);
    const message = await store.get(list.value[0]!.id);
    assert.ok(message.ok);
    assert.match(
      new TextDecoder().decode(message.value.body),
      /\twith ESMTPA\r\n\tfor <b@r\.test>;\r\n/,
    );
    client.close();
  });

  test('RFC 4954 6: a wrong secret or unknown user is 535 and MAIL stays refused', async () => {
    const { port } = await startServer(new MemoryStore(), { auth: 'required' });
    const client = await ready(port);
    await client.command('EHLO client.test');
    assert.equal((await client.command(`AUTH PLAIN ${b64('\u0000app\u0000wrong')}`)).code, 535);
    assert.equal((await client.command(`AUTH PLAIN ${b64('\u0000nobody\u0000s3cret')}`)).code, 535);
    assert.equal((await client.command('MAIL FROM:<a@s.test>')).code, 530);
    client.close();
  });

  test('RFC 4954 4: the AUTH LOGIN dialog, and a secret read from secret-file', async () => {
    const secretFile = join(dir, 'secret');
    await writeFile(secretFile, 'from-file\n');
    const { port } = await startServer(new MemoryStore(), { auth: 'required' }, {}, [
      { name: 'filed', secretFile },
    ]);
    const client = await ready(port);
    await client.command('EHLO client.test');
    const user = await client.command('AUTH LOGIN');
    assert.equal(user.text, '334 VXNlcm5hbWU6\r\n');
    assert.equal((await client.command(b64('filed'))).text, '334 UGFzc3dvcmQ6\r\n');
    assert.equal((await client.command(b64('from-file'))).code, 235);
    assert.equal((await client.command('MAIL FROM:<a@s.test>')).code, 250);
    client.close();
  });
});

describe('STARTTLS', () => {
  test('RFC 3207 / RFC 4954 4: AUTH only after STARTTLS; then a submission with TLS in the Received header', async () => {
    const store = new MemoryStore();
    const { port } = await startServer(store, { auth: 'required', tls: { certFile, keyFile } });
    const client = await ready(port);
    const ehlo = await client.command('EHLO client.test');
    assert.match(ehlo.text, /STARTTLS/);
    assert.doesNotMatch(ehlo.text, /AUTH/);
    assert.equal((await client.command(`AUTH PLAIN ${b64('\u0000app\u0000s3cret')}`)).code, 538);
    assert.equal((await client.command('STARTTLS')).code, 220);
    const secure = await client.upgrade(ca.certPem);
    assert.match(secure.getProtocol() ?? '', /^TLSv1\.[23]$/);
    const again = await client.command('EHLO client.test');
    assert.doesNotMatch(again.text, /STARTTLS/);
    assert.match(again.text, /AUTH PLAIN LOGIN/);
    assert.equal((await client.command(`AUTH PLAIN ${b64('\u0000app\u0000s3cret')}`)).code, 235);
    client.send('MAIL FROM:<a@s.test>\r\nRCPT TO:<b@r.test>\r\nDATA\r\n');
    assert.deepEqual(
      [(await client.reply()).code, (await client.reply()).code, (await client.reply()).code],
      [250, 250, 354],
    );
    assert.equal((await client.command('hi\r\n.')).code, 250);
    const list = await store.list();
    assert.ok(list.ok);
    const message = await store.get(list.value[0]!.id);
    assert.ok(message.ok);
    assert.match(
      new TextDecoder().decode(message.value.body),
      /with ESMTPSA \(TLSv1\.[23] cipher \S+\)/,
    );
    client.close();
  });

  /**
   * STARTTLS command injection (CVE-2011-0411 class, RFC 3207 6): an attacker on the path appends a
   * command to the client's plaintext STARTTLS; a server that keeps its input buffer would run it as if
   * it came through TLS. The pipelined MAIL must be discarded, so after TLS a RCPT is a sequence error.
   */
  test('RFC 3207 6: a command pipelined after STARTTLS is discarded', async () => {
    const store = new MemoryStore();
    const { port, logger } = await startServer(store, { tls: { certFile, keyFile } });
    const client = await ready(port);
    await client.command('EHLO client.test');
    client.send('STARTTLS\r\nMAIL FROM:<injected@evil.test>\r\n');
    assert.equal((await client.reply()).code, 220);
    await client.upgrade(ca.certPem);
    assert.equal((await client.command('EHLO client.test')).code, 250);
    assert.equal(
      (await client.command('RCPT TO:<b@r.test>')).code,
      503,
      'no MAIL survived into the TLS session',
    );
    assert.equal(logger.events('starttls-injection').length, 1);
    client.close();
  });

  test('a listener whose certificate file is missing does not start', async () => {
    const started = await startSubmissionServer({
      config: {
        listeners: [
          {
            name: 'x',
            bind: [{ host: '127.0.0.1', port: 0 }],
            auth: 'none',
            tls: { certFile: join(dir, 'missing.pem'), keyFile },
          },
        ],
        users: [],
        limits: DEFAULT_SERVER_LIMITS,
      },
      store: new MemoryStore(),
      logger: new RecordingLogger(),
      hostname: 'mx.test',
    });
    assert.equal(started.ok, false);
    assert.match(started.ok ? '' : started.message, /missing\.pem: ENOENT/);
  });
});

describe('configuration rules', () => {
  const users = '[server.auth]\nusers = [{ name = "app", secret = "s" }]\n';
  const errorsOf = (source: string): string =>
    parseConfig(source, 'mxsec.toml').diagnostics.map(formatDiagnostic).join('\n');

  test('a non-loopback listener without auth is a configuration error', () => {
    assert.equal(
      parseConfig('[server.listener.mx]\nbind = ["0.0.0.0:2525"]\nauth = "none"\n', 'mxsec.toml')
        .config,
      undefined,
    );
    assert.match(
      errorsOf('[server.listener.mx]\nbind = ["0.0.0.0:2525"]\nauth = "none"\n'),
      /non-loopback address 0\.0\.0\.0, so auth must be "required"/,
    );
  });

  test('AUTH on a non-loopback listener without TLS is a configuration error', () => {
    assert.equal(
      parseConfig(`${users}[server.listener.mx]\nbind = ["[::]:587"]\n`, 'mxsec.toml').config,
      undefined,
    );
    assert.match(
      errorsOf(`${users}[server.listener.mx]\nbind = ["[::]:587"]\n`),
      /needs tls = \{ cert, key \}/,
    );
  });
});
