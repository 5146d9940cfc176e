/**
 * The submission listener end to end on loopback: a message submitted with mxsec's own SMTP client is
 * in the store with a Received header and its original bytes; pipelining; the size, recipient and line
 * limits; bare LF and the SMTP smuggling attack; connection limit, idle timeout and shutdown.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryStore } from '../../src/queue/memory-store.js';
import { connectSmtp } from '../../src/smtp/connect.js';
import { DEFAULT_SMTP_TIMEOUTS } from '../../src/smtp/timeouts.js';
import type { SmtpTimeouts } from '../../src/smtp/timeouts.js';
import { closeAll, RawClient, startServer, WAIT_MS } from './server-harness.js';

after(closeAll);

const TIMEOUTS: SmtpTimeouts = {
  ...DEFAULT_SMTP_TIMEOUTS,
  connect: WAIT_MS,
  greeting: WAIT_MS,
  ehlo: WAIT_MS,
  'mail-from': WAIT_MS,
  'rcpt-to': WAIT_MS,
  data: WAIT_MS,
};
const dec = (b: Uint8Array): string => new TextDecoder().decode(b);

async function stored(store: MemoryStore) {
  const list = await store.list();
  assert.ok(list.ok);
  return list.value;
}

async function ready(port: number): Promise<RawClient> {
  const client = await RawClient.connect(port);
  assert.equal((await client.reply()).code, 220);
  assert.equal((await client.command('EHLO client.test')).code, 250);
  return client;
}

describe('submission', () => {
  test('RFC 5321 4.4: a message from our own client is stored with a Received header and its original bytes', async () => {
    const store = new MemoryStore();
    const { port, logger } = await startServer(store);
    const connected = await connectSmtp({ host: '127.0.0.1', port, timeouts: TIMEOUTS });
    assert.ok(connected.ok);
    const session = connected.session;
    assert.equal((await session.greeting()).ok, true);
    const ehlo = await session.ehlo('client.test');
    assert.ok(ehlo.ok);
    assert.equal(ehlo.capabilities.pipelining, true);
    const body = 'Subject: hello\r\n\r\n.a line with a leading dot\r\nbye\r\n';
    const sent = await session.send({
      from: 'app@sender.test',
      recipients: ['one@Dest.TEST', 'two@other.test'],
      body: new TextEncoder().encode(body),
    });
    await session.quit();
    assert.ok(sent.ok);
    assert.equal(sent.outcome.data.status, 'accepted');
    const reply = 'reply' in sent.outcome.data ? sent.outcome.data.reply : undefined;
    const id = /queued as (\S+)/.exec(reply?.lines.join(' ') ?? '')?.[1];
    assert.ok(id !== undefined, 'the 250 names the queue id');
    const message = await store.get(id);
    assert.ok(message.ok);
    assert.equal(message.value.returnPath, 'app@sender.test');
    assert.deepEqual(
      message.value.recipients.map((r) => [r.address, r.domain]),
      [
        ['one@Dest.TEST', 'dest.test'],
        ['two@other.test', 'other.test'],
      ],
    );
    assert.equal(message.value.source, 'submission');
    const text = dec(message.value.body);
    assert.match(
      text,
      /^Received: from client\.test \(\[127\.0\.0\.1\]\)\r\n\tby mx\.test \(mxsec listener submission\)\r\n\twith ESMTP;\r\n\tThu, 2 Jan 2025 03:04:05 \+0000\r\n/,
    );
    assert.ok(text.endsWith(body), 'original bytes follow the header, dot-stuffing removed');
    const accepted = logger.events('message-accepted');
    assert.equal(accepted.length, 1);
    assert.equal(accepted[0]?.id, id);
  });

  test('RFC 2920: a pipelined transaction gets its replies in order', async () => {
    const store = new MemoryStore();
    const { port } = await startServer(store);
    const client = await RawClient.connect(port);
    client.send(
      'EHLO client.test\r\nMAIL FROM:<>\r\nRCPT TO:<a@r.test>\r\nRCPT TO:<nodomain>\r\nRCPT TO:<b@r.test>\r\nDATA\r\n',
    );
    const codes = [];
    for (let i = 0; i < 7; i++) codes.push((await client.reply()).code);
    assert.deepEqual(codes, [220, 250, 250, 250, 501, 250, 354]);
    client.send(
      'Subject: x\r\n\r\nbody\r\n.\r\nMAIL FROM:<c@s.test>\r\nRCPT TO:<d@r.test>\r\nQUIT\r\n',
    );
    const queued = await client.reply();
    assert.match(queued.text, /^250 2\.0\.0 Ok: queued as \S+/);
    assert.deepEqual(
      [(await client.reply()).code, (await client.reply()).code, (await client.reply()).code],
      [250, 250, 221],
    );
    await client.waitClosed();
    const list = await stored(store);
    assert.equal(list.length, 1);
    assert.equal(
      list[0]?.returnPath,
      '',
      'RFC 5321 4.5.5: the null reverse-path is stored as empty',
    );
    assert.deepEqual(
      list[0]?.recipients.map((r) => r.address),
      ['a@r.test', 'b@r.test'],
    );
  });

  test('RFC 1870: SIZE over the limit is refused at MAIL, and a body over the limit after the dot', async () => {
    const store = new MemoryStore();
    const { port } = await startServer(store, {}, { messageSize: 2000 });
    const client = await ready(port);
    assert.equal((await client.command('MAIL FROM:<a@s.test> SIZE=2001')).code, 552);
    assert.equal((await client.command('MAIL FROM:<a@s.test> SIZE=100')).code, 250);
    assert.equal((await client.command('RCPT TO:<b@r.test>')).code, 250);
    assert.equal((await client.command('DATA')).code, 354);
    client.send(`${'x'.repeat(98)}\r\n`.repeat(30) + '.\r\n');
    const reply = await client.reply();
    assert.equal(reply.code, 552);
    assert.match(reply.text, /5\.3\.4/);
    assert.equal((await client.command('NOOP')).code, 250, 'the session goes on');
    assert.equal((await stored(store)).length, 0);
    client.close();
  });

  test('RFC 5321 4.5.3.1.10: recipients over the limit get 452; the accepted ones are delivered', async () => {
    const store = new MemoryStore();
    const { port } = await startServer(store, {}, { recipients: 2 });
    const client = await ready(port);
    assert.equal((await client.command('MAIL FROM:<a@s.test>')).code, 250);
    assert.deepEqual(
      [
        (await client.command('RCPT TO:<1@r.test>')).code,
        (await client.command('RCPT TO:<2@r.test>')).code,
        (await client.command('RCPT TO:<3@r.test>')).code,
      ],
      [250, 250, 452],
    );
    assert.equal((await client.command('DATA')).code, 354);
    assert.equal((await client.command('x\r\n.')).code, 250);
    assert.deepEqual(
      (await stored(store))[0]?.recipients.map((r) => r.address),
      ['1@r.test', '2@r.test'],
    );
    client.close();
  });

  test('RFC 5321 4.5.3.1.4: an over-long command gets 500 and the session continues; an over-long DATA line rejects the message', async () => {
    const store = new MemoryStore();
    const { port } = await startServer(store, {}, { lineLength: 1000 });
    const client = await ready(port);
    assert.equal((await client.command(`NOOP ${'n'.repeat(1200)}`)).code, 500);
    assert.equal((await client.command('MAIL FROM:<a@s.test>')).code, 250);
    assert.equal((await client.command('RCPT TO:<b@r.test>')).code, 250);
    assert.equal((await client.command('DATA')).code, 354);
    const reply = await client.command(`short\r\n${'y'.repeat(1200)}\r\nend\r\n.`);
    assert.equal(reply.code, 554);
    assert.match(reply.text, /5\.5\.2/);
    assert.equal((await stored(store)).length, 0);
    client.close();
  });

  test('RFC 5321 2.3.8: a bare LF in DATA rejects the message', async () => {
    const store = new MemoryStore();
    const { port } = await startServer(store);
    const client = await ready(port);
    client.send('MAIL FROM:<a@s.test>\r\nRCPT TO:<b@r.test>\r\nDATA\r\n');
    assert.deepEqual(
      [(await client.reply()).code, (await client.reply()).code, (await client.reply()).code],
      [250, 250, 354],
    );
    assert.equal((await client.command('line one\nline two\r\n.')).code, 554);
    assert.equal((await stored(store)).length, 0);
    client.close();
  });

  /**
   * SMTP smuggling (CVE-2023-51766 class): the client ends its data with `LF . CRLF`, which some servers
   * take as the end, and appends a second transaction forging another sender. Here only CRLF.CRLF ends
   * DATA, so the "smuggled" commands are message content, and the message (bare LF) is refused whole:
   * exactly one reply, nothing stored.
   */
  test('smuggling: LF.CRLF does not end DATA and no second message is accepted', async () => {
    const store = new MemoryStore();
    const { port } = await startServer(store);
    const client = await ready(port);
    client.send('MAIL FROM:<a@s.test>\r\nRCPT TO:<b@r.test>\r\nDATA\r\n');
    assert.deepEqual(
      [(await client.reply()).code, (await client.reply()).code, (await client.reply()).code],
      [250, 250, 354],
    );
    client.send(
      'Subject: one\r\n\r\nfirst\n.\r\nMAIL FROM:<ceo@victim.test>\r\nRCPT TO:<b@r.test>\r\nDATA\r\nSubject: forged\r\n\r\nsecond\r\n.\r\n',
    );
    const only = await client.reply();
    assert.equal(only.code, 554);
    assert.equal(
      (await client.command('NOOP')).code,
      250,
      'the next reply is the NOOP: nothing was smuggled',
    );
    assert.equal((await stored(store)).length, 0);
    client.close();
  });

  test('connection limit: a session over the limit hears 421 and is closed', async () => {
    const { port } = await startServer(new MemoryStore(), {}, { connections: 1 });
    const first = await RawClient.connect(port);
    assert.equal((await first.reply()).code, 220);
    const second = await RawClient.connect(port);
    const refused = await second.reply();
    assert.equal(refused.code, 421);
    await second.waitClosed();
    assert.equal((await first.command('NOOP')).code, 250);
    first.close();
  });

  test('RFC 5321 4.5.3.2: an idle session is closed with 421 4.4.2', async () => {
    const { port } = await startServer(new MemoryStore(), {}, { timeoutMs: 200 });
    const client = await RawClient.connect(port);
    assert.equal((await client.reply()).code, 220);
    const reply = await client.reply();
    assert.equal(reply.code, 421);
    assert.match(reply.text, /4\.4\.2/);
    await client.waitClosed();
  });

  test('shutdown: close() answers 421 4.3.2 to an open session and waits for it to close', async () => {
    const { server, port } = await startServer(new MemoryStore());
    const client = await ready(port);
    const closing = server.close();
    const reply = await client.reply();
    assert.equal(reply.code, 421);
    assert.match(reply.text, /4\.3\.2/);
    await closing;
    await client.waitClosed();
  });
});
