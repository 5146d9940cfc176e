/**
 * The SMTP client driver against the scripted loopback server: plaintext and STARTTLS delivery,
 * pipelining on and off (checked from the server's transcript), per-recipient refusal, HELO fallback,
 * SIZE, and a timeout for every phase.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import tls from 'node:tls';
import type { Socket } from 'node:net';
import { connectSmtp } from '../../src/smtp/connect.js';
import type { SmtpSession } from '../../src/smtp/session.js';
import { DEFAULT_SMTP_TIMEOUTS } from '../../src/smtp/timeouts.js';
import type { SmtpTimeouts } from '../../src/smtp/timeouts.js';
import { startSmtpServer } from '../support/smtp-server.js';
import type { SmtpServerOptions, TestSmtpServer } from '../support/smtp-server.js';
import { createTestCa } from '../support/pki.js';
import { classify, smtpCause } from '../../src/policy/failure.js';

const body = new TextEncoder().encode('Subject: hi\n\n.leading dot\nbody\n');
// Generous for a loaded machine, yet short enough that the stall tests finish quickly.
const SHORT: SmtpTimeouts = {
  connect: 20_000,
  greeting: 1_000,
  ehlo: 1_000,
  'mail-from': 1_000,
  'rcpt-to': 1_000,
  data: 1_000,
};
const LONG: SmtpTimeouts = {
  ...DEFAULT_SMTP_TIMEOUTS,
  greeting: 30_000,
  ehlo: 30_000,
  'mail-from': 30_000,
  'rcpt-to': 30_000,
  data: 30_000,
};

const servers: TestSmtpServer[] = [];
after(async () => {
  await Promise.all(servers.map((s) => s.close()));
});

async function server(options: SmtpServerOptions = {}): Promise<TestSmtpServer> {
  const s = await startSmtpServer(options);
  servers.push(s);
  return s;
}

async function open(s: TestSmtpServer, timeouts: SmtpTimeouts = LONG): Promise<SmtpSession> {
  const connected = await connectSmtp({ host: s.address, port: s.port, timeouts });
  assert.ok(connected.ok, connected.ok ? '' : connected.failure.message);
  return connected.session;
}

async function hello(session: SmtpSession): Promise<void> {
  assert.equal((await session.greeting()).ok, true);
  const ehlo = await session.ehlo('client.example.test');
  assert.ok(ehlo.ok);
}

function tlsUpgrade(ca: string) {
  return (raw: Socket) =>
    new Promise<
      { ok: true; socket: tls.TLSSocket; protocol: string | null } | { ok: false; error: string }
    >((resolve) => {
      const socket = tls.connect({
        socket: raw,
        servername: 'mx.example.test',
        ca,
        rejectUnauthorized: true,
      });
      socket.once('secureConnect', () =>
        resolve({ ok: true, socket, protocol: socket.getProtocol() }),
      );
      socket.once('error', (error: Error) => resolve({ ok: false, error: error.message }));
    });
}

describe('delivery', () => {
  test('RFC 5321 3.3: a message is delivered without TLS, dot-stuffed and CRLF-normalised', async () => {
    const s = await server();
    const session = await open(s);
    await hello(session);
    const sent = await session.send({
      from: 'a@example.test',
      recipients: ['b@example.test', 'c@example.test'],
      body,
    });
    assert.ok(sent.ok);
    assert.equal(sent.outcome.data.status, 'accepted');
    assert.deepEqual(
      sent.outcome.recipients.map((r) => r.accepted),
      [true, true],
    );
    await session.quit();
    assert.equal(s.messages.length, 1);
    const message = s.messages[0]!;
    assert.equal(message.from, 'a@example.test');
    assert.deepEqual(message.recipients, ['b@example.test', 'c@example.test']);
    assert.equal(
      new TextDecoder().decode(message.data),
      'Subject: hi\r\n\r\n.leading dot\r\nbody\r\n',
    );
    assert.equal(message.tls, false);
    assert.ok(session.transcript().some((line) => line.startsWith('C: <message data')));
  });

  test('RFC 3207: delivery after STARTTLS with a real TLS upgrade; capabilities are re-read', async () => {
    const ca = await createTestCa();
    const leaf = await ca.issue({ dnsNames: ['mx.example.test'] });
    const s = await server({
      tls: { key: leaf.keyPem, cert: leaf.chainPem, options: { minVersion: 'TLSv1.2' } },
    });
    const session = await open(s);
    await hello(session);
    assert.equal(session.capabilities?.startTls, true);
    const started = await session.startTls(tlsUpgrade(ca.certPem));
    assert.ok(started.ok, started.ok ? '' : started.failure.message);
    assert.match(started.upgrade.protocol ?? '', /^TLSv1\.[23]$/);
    assert.equal(session.secure, true);
    assert.equal(session.capabilities, undefined);
    const again = await session.ehlo('client.example.test');
    assert.ok(again.ok);
    assert.equal(again.capabilities.startTls, false);
    const sent = await session.send({
      from: 'a@example.test',
      recipients: ['b@example.test'],
      body,
    });
    assert.ok(sent.ok);
    assert.equal(sent.outcome.data.status, 'accepted');
    await session.quit();
    assert.equal(s.messages[0]?.tls, true);
  });

  test('RFC 3207: a failed handshake is a tls failure carrying the upgrade result', async () => {
    const ca = await createTestCa();
    const other = await createTestCa();
    const leaf = await ca.issue({ dnsNames: ['mx.example.test'] });
    const s = await server({ tls: { key: leaf.keyPem, cert: leaf.chainPem } });
    const session = await open(s);
    await hello(session);
    const started = await session.startTls(tlsUpgrade(other.certPem));
    assert.equal(started.ok, false);
    assert.equal(started.ok ? '' : started.failure.kind, 'tls');
    assert.equal(started.ok ? undefined : started.upgrade?.ok, false);
    assert.equal((await session.rset()).ok, false);
  });

  test('RFC 3207 4: 454 to STARTTLS is a reply failure and the plaintext session stays usable', async () => {
    const ca = await createTestCa();
    const leaf = await ca.issue({ dnsNames: ['mx.example.test'] });
    const s = await server({
      tls: { key: leaf.keyPem, cert: leaf.certPem },
      starttlsReply: '454 4.7.0 TLS not available',
    });
    const session = await open(s);
    await hello(session);
    let upgraded = false;
    const started = await session.startTls(() => {
      upgraded = true;
      return Promise.resolve({ ok: false } as const);
    });
    assert.ok(!started.ok);
    assert.equal(started.failure.kind, 'reply');
    assert.equal(started.failure.phase, 'starttls');
    assert.equal(started.failure.reply?.code, 454);
    assert.equal(upgraded, false);
    assert.equal((await session.rset()).ok, true);
    await session.quit();
  });
});

describe('pipelining', () => {
  test('RFC 2920 3.1: with PIPELINING, MAIL, RCPT and DATA go out before any reply', async () => {
    const s = await server({ pipelining: true });
    const session = await open(s);
    await hello(session);
    const sent = await session.send({
      from: 'a@example.test',
      recipients: ['b@example.test', 'c@example.test'],
      body,
    });
    assert.ok(sent.ok);
    await session.quit();
    const t = s.transcripts[0]!;
    const mail = t.findIndex((l) => l.startsWith('C: MAIL'));
    const data = t.indexOf('C: DATA');
    assert.deepEqual(
      t.slice(mail, data + 1).map((l) => l.slice(0, 7)),
      ['C: MAIL', 'C: RCPT', 'C: RCPT', 'C: DATA'],
    );
    assert.match(t[data + 1] ?? '', /^S: 250 2\.1\.0/);
  });

  test('RFC 2920: without PIPELINING each command waits for its reply', async () => {
    const s = await server({ pipelining: false });
    const session = await open(s);
    await hello(session);
    const sent = await session.send({
      from: 'a@example.test',
      recipients: ['b@example.test', 'c@example.test'],
      body,
    });
    assert.ok(sent.ok);
    await session.quit();
    const t = s.transcripts[0]!.filter((l) => /^(C: (MAIL|RCPT|DATA)|S: )/.test(l));
    const from = t.findIndex((l) => l.startsWith('C: MAIL'));
    assert.deepEqual(
      t.slice(from, from + 8).map((l) => l.slice(0, 7)),
      ['C: MAIL', 'S: 250 ', 'C: RCPT', 'S: 250 ', 'C: RCPT', 'S: 250 ', 'C: DATA', 'S: 354 '],
    );
  });

  for (const pipelining of [true, false]) {
    test(`RFC 5321 3.3: per-recipient refusal is reported per recipient (pipelining ${pipelining})`, async () => {
      const s = await server({
        pipelining,
        rcptReplies: {
          'bad@example.test': '550 5.1.1 no such user',
          'full@example.test': '452 4.2.2 mailbox full',
        },
      });
      const session = await open(s);
      await hello(session);
      const sent = await session.send({
        from: 'a@example.test',
        recipients: ['bad@example.test', 'ok@example.test', 'full@example.test'],
        body,
      });
      assert.ok(sent.ok);
      assert.deepEqual(
        sent.outcome.recipients.map((r) => [r.address, r.accepted, r.reply.code, r.reply.enhanced]),
        [
          ['bad@example.test', false, 550, '5.1.1'],
          ['ok@example.test', true, 250, '2.1.5'],
          ['full@example.test', false, 452, '4.2.2'],
        ],
      );
      assert.equal(sent.outcome.data.status, 'accepted');
      assert.deepEqual(s.messages[0]?.recipients, ['ok@example.test']);
      const none = await session.send({
        from: 'a@example.test',
        recipients: ['bad@example.test'],
        body,
      });
      assert.ok(none.ok);
      assert.deepEqual(none.outcome.data, { status: 'not-sent', reason: 'no-recipients' });
      assert.equal(none.outcome.rset?.code, 250);
      await session.quit();
      assert.equal(s.messages.length, 1);
    });
  }
});

describe('negotiation', () => {
  test('RFC 5321 4.1.1.1: EHLO refused with 5yz falls back to HELO, with no extensions', async () => {
    const s = await server({
      respond: (phase) => (phase === 'ehlo' ? '502 5.5.1 EHLO not implemented' : undefined),
    });
    const session = await open(s);
    assert.equal((await session.greeting()).ok, true);
    const ehlo = await session.ehlo('client.example.test');
    assert.ok(ehlo.ok);
    assert.equal(ehlo.helo, true);
    assert.equal(ehlo.capabilities.pipelining, false);
    assert.ok(s.transcripts[0]!.includes('C: HELO client.example.test'));
    const sent = await session.send({
      from: 'a@example.test',
      recipients: ['b@example.test'],
      body,
    });
    assert.ok(sent.ok);
    await session.quit();
  });

  test('RFC 5321 3.1: a 554 greeting is a reply failure', async () => {
    const s = await server({ greeting: '554 5.3.2 no service for you' });
    const session = await open(s);
    const greeting = await session.greeting();
    assert.ok(!greeting.ok);
    assert.equal(greeting.failure.kind, 'reply');
    assert.equal(greeting.failure.reply?.code, 554);
    await session.quit();
  });

  test('RFC 1870 6: a message above the advertised SIZE is refused before MAIL is sent', async () => {
    const s = await server({ sizeLimit: 10 });
    const session = await open(s);
    await hello(session);
    const sent = await session.send({
      from: 'a@example.test',
      recipients: ['b@example.test'],
      body,
    });
    assert.ok(!sent.ok);
    assert.equal(sent.failure.kind, 'too-large');
    assert.equal(classify(smtpCause(sent.failure)).status, '5.3.4');
    assert.equal(
      s.transcripts[0]!.some((l) => l.startsWith('C: MAIL')),
      false,
    );
    const small = await session.send({
      from: 'a@example.test',
      recipients: ['b@example.test'],
      body: new TextEncoder().encode('hi'),
    });
    assert.ok(small.ok);
    assert.ok(s.transcripts[0]!.includes('C: MAIL FROM:<a@example.test> SIZE=4'));
    await session.quit();
  });

  test('connect: a refused port is a connect failure with errno', async () => {
    const s = await server();
    const port = s.port;
    await s.close();
    const connected = await connectSmtp({ host: '127.0.0.1', port, timeouts: LONG });
    assert.ok(!connected.ok);
    assert.equal(connected.failure.kind, 'connect');
    assert.equal(connected.failure.errno, 'ECONNREFUSED');
  });
});

describe('timeouts', () => {
  const cases: [
    string,
    SmtpServerOptions,
    'greeting' | 'ehlo' | 'mail-from' | 'rcpt-to' | 'data',
  ][] = [
    ['a server that never greets', { delays: { greeting: 'stall' } }, 'greeting'],
    ['a server that stalls after EHLO', { delays: { ehlo: 'stall' } }, 'ehlo'],
    ['a server that stalls on MAIL', { delays: { mail: 'stall' }, pipelining: false }, 'mail-from'],
    ['a server that stalls on RCPT', { delays: { rcpt: 'stall' }, pipelining: false }, 'rcpt-to'],
    ['a server that stalls on DATA', { delays: { data: 'stall' } }, 'data'],
    ['a server that stalls after the final dot', { delays: { body: 'stall' } }, 'data'],
  ];
  for (const [name, options, phase] of cases) {
    test(`RFC 5321 4.5.3.2: ${name} times out in phase ${phase} and the connection is destroyed`, async () => {
      const s = await server(options);
      const session = await open(s, SHORT);
      let failure;
      const greeting = await session.greeting();
      if (!greeting.ok) failure = greeting.failure;
      else {
        const ehlo = await session.ehlo('client.example.test');
        if (!ehlo.ok) failure = ehlo.failure;
        else {
          const sent = await session.send({
            from: 'a@example.test',
            recipients: ['b@example.test'],
            body,
          });
          assert.ok(!sent.ok);
          failure = sent.failure;
        }
      }
      assert.equal(failure.kind, 'timeout');
      assert.equal(failure.phase, phase);
      const next = await session.rset();
      assert.ok(!next.ok);
      assert.equal(next.failure.kind, 'closed');
    });
  }
});
