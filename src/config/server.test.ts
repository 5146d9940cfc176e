import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { formatDiagnostic } from './diagnostics.js';
import { parseConfig } from './load.js';
import { isLoopback, parseBind } from './server.js';

const USERS = '[server.auth]\nusers = [{ name = "app", secret = "s3cret" }]\n';

function server(source: string) {
  const result = parseConfig(source, 'mxsec.toml');
  assert.ok(result.config, result.diagnostics.map(formatDiagnostic).join('\n'));
  return result.config.server;
}

function errors(source: string): string[] {
  const result = parseConfig(source, 'mxsec.toml');
  assert.equal(result.config, undefined, 'expected the configuration to be rejected');
  return result.diagnostics.filter((d) => d.severity === 'error').map(formatDiagnostic);
}

describe('[server] configuration', () => {
  test('without [server], one loopback listener on 127.0.0.1:2525 without AUTH', () => {
    const s = server('');
    assert.deepEqual(
      s.listeners.map((l) => [l.name, l.bind, l.auth, l.tls]),
      [['submission', [{ host: '127.0.0.1', port: 2525 }], 'none', undefined]],
    );
    assert.deepEqual(s.limits, {
      messageSize: 25_000_000,
      recipients: 100,
      lineLength: 4096,
      timeoutMs: 300_000,
      connections: 100,
    });
  });

  test('listeners, users and limits are read', () => {
    const s = server(`${USERS}
[server.listener.public]
bind = ["0.0.0.0:587", "[::]:587"]
tls = { cert = "chain.pem", key = "key.pem" }
auth = "required"
[server.listener.local]
bind = ["127.0.0.1:2525", "[::1]:2525"]
[server.limits]
message-size = "10MiB"
recipients = 50
line-length = 2000
timeout = "10m"
connections = 20
`);
    assert.deepEqual(
      s.listeners.map((l) => l.name),
      ['public', 'local'],
    );
    assert.deepEqual(s.listeners[0]?.bind, [
      { host: '0.0.0.0', port: 587 },
      { host: '::', port: 587 },
    ]);
    assert.deepEqual(s.listeners[0]?.tls, { certFile: 'chain.pem', keyFile: 'key.pem' });
    assert.equal(s.listeners[1]?.auth, 'optional', 'loopback with users defaults to optional AUTH');
    assert.deepEqual(s.users, [{ name: 'app', secret: 's3cret' }]);
    assert.deepEqual(s.limits, {
      messageSize: 10 * 1024 * 1024,
      recipients: 50,
      lineLength: 2000,
      timeoutMs: 600_000,
      connections: 20,
    });
  });

  test('message-size accepts bytes and SI units', () => {
    assert.equal(server('[server.limits]\nmessage-size = 1234\n').limits.messageSize, 1234);
    assert.equal(server('[server.limits]\nmessage-size = "25MB"\n').limits.messageSize, 25_000_000);
    assert.match(errors('[server.limits]\nmessage-size = "lots"\n').join('\n'), /not a size/);
  });

  test('RFC 4954 14: a non-loopback listener without auth "required" is an error (no open relay)', () => {
    const found = errors(
      `${USERS}[server.listener.mx]\nbind = ["0.0.0.0:25"]\ntls = { cert = "c", key = "k" }\nauth = "optional"\n`,
    );
    assert.equal(found.length, 1);
    assert.match(found[0]!, /mxsec\.toml:6:.*non-loopback address 0\.0\.0\.0.*"required"/);
    assert.match(
      errors(`[server.listener.mx]\nbind = ["192.0.2.1:25"]\nauth = "none"\n`).join('\n'),
      /must be "required"/,
    );
  });

  test('RFC 4954 4: AUTH on a non-loopback listener without TLS is an error (no plaintext passwords)', () => {
    const found = errors(
      `${USERS}[server.listener.mx]\nbind = ["192.0.2.1:587"]\nauth = "required"\n`,
    );
    assert.equal(found.length, 1);
    assert.match(found[0]!, /needs tls/);
  });

  test('AUTH on a loopback listener without TLS is allowed', () => {
    assert.equal(
      server(`${USERS}[server.listener.l]\nbind = ["127.0.0.1:0"]\nauth = "required"\n`)
        .listeners[0]?.auth,
      'required',
    );
  });

  test('AUTH without users, bad binds, unknown keys and half a tls table are errors with positions', () => {
    assert.match(errors('[server.listener.l]\nauth = "required"\n').join('\n'), /defines no users/);
    assert.match(
      errors('[server.listener.l]\nbind = ["localhost:25"]\n').join('\n'),
      /mxsec\.toml:2:.*not an IP address with a port/,
    );
    assert.match(
      errors('[server.listener.l]\nbnd = ["127.0.0.1:25"]\n').join('\n'),
      /unknown key 'bnd'/,
    );
    assert.match(
      errors('[server.listener.l]\ntls = { cert = "c" }\n').join('\n'),
      /both cert and key/,
    );
    assert.match(
      errors('[server.auth]\nusers = [{ name = "a" }]\n').join('\n'),
      /exactly one of 'secret' and 'secret-file'/,
    );
    assert.match(errors('[server.limits]\nline-length = 512\n').join('\n'), /out of range/);
  });

  test('bind addresses and the loopback rule', () => {
    assert.deepEqual(parseBind('[::1]:25'), { host: '::1', port: 25 });
    assert.equal(parseBind('::1:25'), undefined);
    assert.equal(parseBind('127.0.0.1:70000'), undefined);
    for (const host of ['127.0.0.1', '127.9.9.9', '::1', '::ffff:127.0.0.1'])
      assert.equal(isLoopback(host), true, host);
    for (const host of ['0.0.0.0', '::', '192.0.2.1', '::ffff:192.0.2.1'])
      assert.equal(isLoopback(host), false, host);
  });
});
