/**
 * Hostile SMTP peers, scripted byte by byte.
 *
 * STARTTLS command injection (CVE-2011-0411 class, RFC 3207 section 4): a man in the middle appends
 * plaintext to the server's `220 ready to start TLS`. A client that keeps reading from the same buffer
 * after the upgrade would take those attacker bytes as the first replies of the TLS session (e.g. a fake
 * EHLO reply without STARTTLS, or a 250 to a MAIL the real server never accepted). The client must treat
 * any byte after the 220 as an attack: never parse it as a reply, never start TLS, destroy the connection.
 *
 * Resource exhaustion: a reply line without end, or a reply that never ends, must be cut off by limits.
 * Truncation: a server that closes during DATA must produce a failure, never an "accepted" outcome.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { connectSmtp } from '../../src/smtp/connect.js';
import type { SmtpSession } from '../../src/smtp/session.js';
import type { SmtpTimeouts } from '../../src/smtp/timeouts.js';
import { startSmtpServer } from '../support/smtp-server.js';
import type { SmtpServerOptions, TestSmtpServer } from '../support/smtp-server.js';
import { createTestCa } from '../support/pki.js';

const TIMEOUTS: SmtpTimeouts = {
  connect: 30_000,
  greeting: 30_000,
  ehlo: 30_000,
  'mail-from': 30_000,
  'rcpt-to': 30_000,
  data: 30_000,
};
const body = new TextEncoder().encode('Subject: x\r\n\r\nhello\r\n');
const EHLO_REPLY = '250-mx.test\r\n250-PIPELINING\r\n250 STARTTLS\r\n';

const servers: TestSmtpServer[] = [];
after(async () => {
  await Promise.all(servers.map((s) => s.close()));
});

async function open(
  options: SmtpServerOptions,
): Promise<{ s: TestSmtpServer; session: SmtpSession }> {
  const s = await startSmtpServer(options);
  servers.push(s);
  const connected = await connectSmtp({ host: s.address, port: s.port, timeouts: TIMEOUTS });
  assert.ok(connected.ok);
  return { s, session: connected.session };
}

describe('STARTTLS command injection (CVE-2011-0411 class)', () => {
  const injections: [string, string][] = [
    ['a complete fake reply', '250-mx.test\r\n250 AUTH PLAIN\r\n'],
    ['a partial line', '250 inj'],
    ['a single byte', '2'],
  ];
  for (const [name, injected] of injections) {
    test(`RFC 3207 4: ${name} after the 220 is never parsed and fails with kind injection`, async () => {
      const { s, session } = await open({
        script: [
          { send: '220 mx.test ESMTP\r\n' },
          { expect: /^EHLO / },
          { send: EHLO_REPLY },
          { expect: 'STARTTLS' },
          // One write: the 220 and the attacker's bytes arrive together.
          { send: `220 2.0.0 go ahead\r\n${injected}` },
          { expect: /.*/ },
        ],
      });
      assert.equal((await session.greeting()).ok, true);
      assert.equal((await session.ehlo('client.test')).ok, true);
      let upgradeCalled = false;
      const started = await session.startTls((raw) => {
        upgradeCalled = true;
        raw.destroy();
        return Promise.resolve({ ok: false } as const);
      });
      assert.ok(!started.ok);
      assert.equal(started.failure.kind, 'injection');
      assert.equal(started.failure.phase, 'starttls');
      assert.equal(upgradeCalled, false);
      const transcript = session.transcript();
      assert.ok(transcript.includes('S: 220 2.0.0 go ahead'));
      assert.equal(
        transcript.some((l) => l.includes('AUTH') || l.includes('inj') || l === 'S: 2'),
        false,
        transcript.join('\n'),
      );
      assert.equal(session.capabilities?.auth.length, 0);
      const after = await session.ehlo('client.test');
      assert.ok(!after.ok);
      assert.equal(after.failure.kind, 'closed');
      assert.equal(s.messages.length, 0);
    });
  }

  test("RFC 3207 4: the test server's injection option is caught the same way against a real TLS server", async () => {
    const ca = await createTestCa();
    const leaf = await ca.issue({ dnsNames: ['mx.example.test'] });
    const { session } = await open({
      tls: { key: leaf.keyPem, cert: leaf.chainPem },
      injectAfterStartTls: '250 2.1.0 sender ok\r\n',
    });
    await session.greeting();
    await session.ehlo('client.test');
    const started = await session.startTls(() => Promise.resolve({ ok: false } as const));
    assert.ok(!started.ok);
    assert.equal(started.failure.kind, 'injection');
    assert.equal(
      session.transcript().some((l) => l.includes('sender ok')),
      false,
    );
  });

  test('RFC 3207 4: bytes pipelined before STARTTLS is even sent are refused as a protocol error', async () => {
    const { session } = await open({
      script: [
        { send: '220 mx.test\r\n' },
        { expect: /^EHLO / },
        { send: `${EHLO_REPLY}220 2.0.0 pre-sent\r\n` },
        { expect: /.*/ },
      ],
    });
    await session.greeting();
    await session.ehlo('client.test');
    const started = await session.startTls(() => Promise.resolve({ ok: false } as const));
    assert.ok(!started.ok);
    assert.equal(started.failure.kind, 'protocol');
  });
  /**
   * Attack / misbehaviour: a reply the server sends on its own while a pooled connection is idle (a 421
   * before hanging up, or a forged "250") must never be read as the answer to the RSET that starts the
   * next message. The session refuses to be reused instead.
   */
  test('RFC 5321 4.1.1.5: data received while idle makes RSET fail instead of being read as its reply', async () => {
    const { session } = await open({
      script: [
        { send: '220 mx.test\r\n' },
        { expect: /^EHLO / },
        { send: `${EHLO_REPLY}250 2.0.0 forged\r\n` },
        { expect: /.*/ },
      ],
    });
    await session.greeting();
    await session.ehlo('client.test');
    const reset = await session.rset();
    assert.ok(!reset.ok);
    assert.deepEqual([reset.failure.kind, reset.failure.phase], ['protocol', 'rset']);
    assert.equal(
      session.transcript().some((l) => /^C: RSET/.test(l)),
      false,
      'RSET must not be sent',
    );
  });
});

describe('reply limits and syntax', () => {
  test('RFC 5321 4.5.3.1.5: a reply line beyond 4096 octets is a protocol error, not unbounded buffering', async () => {
    const { session } = await open({
      script: [{ send: `220 ${'x'.repeat(5000)}` }, { expect: /.*/ }],
    });
    const greeting = await session.greeting();
    assert.ok(!greeting.ok);
    assert.equal(greeting.failure.kind, 'protocol');
    assert.equal(greeting.failure.phase, 'greeting');
  });

  test('RFC 5321 4.2: an endless multi-line reply is cut off by the line-count limit', async () => {
    const { session } = await open({
      script: [
        { send: '220 mx.test\r\n' },
        { expect: /^EHLO / },
        { send: '250-more\r\n'.repeat(300) },
        { expect: /.*/ },
      ],
    });
    await session.greeting();
    const ehlo = await session.ehlo('client.test');
    assert.ok(!ehlo.ok);
    assert.equal(ehlo.failure.kind, 'protocol');
    assert.match(ehlo.failure.message, /more than 128 lines/);
  });

  test('RFC 5321 4.2: a continuation line with another code is a protocol error', async () => {
    const { session } = await open({
      script: [{ send: '220-mx.test\r\n250 mixed\r\n' }, { expect: /.*/ }],
    });
    const greeting = await session.greeting();
    assert.ok(!greeting.ok);
    assert.equal(greeting.failure.kind, 'protocol');
  });

  test('RFC 5321 4.2: a garbage greeting is a protocol error', async () => {
    const { session } = await open({
      script: [{ send: 'HTTP/1.1 400 Bad Request\r\n' }, { expect: /.*/ }],
    });
    const greeting = await session.greeting();
    assert.ok(!greeting.ok);
    assert.equal(greeting.failure.kind, 'protocol');
  });
});

describe('truncation', () => {
  test('RFC 5321 4.1.1.4: a server that closes mid-DATA yields a closed failure, never acceptance', async () => {
    const { s, session } = await open({ closeDuringData: true });
    await session.greeting();
    await session.ehlo('client.test');
    const sent = await session.send({
      from: 'a@example.test',
      recipients: ['b@example.test'],
      body,
    });
    assert.ok(!sent.ok);
    assert.equal(sent.failure.kind, 'closed');
    assert.equal(sent.failure.phase, 'data');
    assert.equal(s.messages.length, 0);
  });

  test('RFC 5321 3.8: a 421 followed by close is read as a reply first', async () => {
    const { session } = await open({
      script: [
        { send: '220 mx.test\r\n' },
        { expect: /^EHLO / },
        { send: '421 4.3.2 shutting down\r\n' },
        { close: true },
      ],
    });
    await session.greeting();
    const ehlo = await session.ehlo('client.test');
    assert.ok(!ehlo.ok);
    assert.equal(ehlo.failure.kind, 'reply');
    assert.equal(ehlo.failure.reply?.code, 421);
  });
});
