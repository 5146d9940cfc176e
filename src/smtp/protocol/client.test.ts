import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ClientSession, checkSize, commandFailure } from './client.js';
import type { ClientStep, OutgoingMessage } from './client.js';
import { parseCapabilities } from './capabilities.js';
import { makeReply } from './reply.js';
import type { SmtpReply } from './reply.js';
import type { SmtpPhase } from '../failure.js';

const r = (code: number, ...lines: string[]): SmtpReply =>
  makeReply(code, lines.length === 0 ? [`${code} text`] : lines);
const caps = (...keywords: string[]) => parseCapabilities(makeReply(250, ['mx.test', ...keywords]));
const enc = new TextEncoder();

type Ended<T> = Extract<ClientStep<T>, { type: 'done' | 'fail' | 'abort' }>;

/** Plays a dialogue against scripted replies: what was written, in which phase each reply was awaited, the end. */
function play<T>(
  first: ClientStep<T>,
  replies: SmtpReply[],
): { writes: string[]; phases: SmtpPhase[]; end: Ended<T> } {
  const writes: string[] = [];
  const phases: SmtpPhase[] = [];
  let step = first;
  for (;;) {
    if (step.type === 'done' || step.type === 'fail' || step.type === 'abort') {
      assert.equal(replies.length, 0, 'dialogue ended with replies left over');
      return { writes, phases, end: step };
    }
    if (step.type === 'write') writes.push(step.text);
    if (step.type === 'write-data') writes.push(`<data ${new TextDecoder().decode(step.data)}>`);
    phases.push(step.phase);
    const reply = replies.shift();
    assert.ok(reply !== undefined, `dialogue wanted another reply after ${JSON.stringify(writes)}`);
    step = step.then(reply);
  }
}

/** A session that went through EHLO with these capability keywords. */
function greeted(...keywords: string[]): ClientSession {
  const session = new ClientSession();
  assert.equal(
    play(session.ehlo('client.test'), [r(250, 'mx.test', ...keywords)]).end.type,
    'done',
  );
  return session;
}

const message = (extra: Partial<OutgoingMessage> = {}): OutgoingMessage => ({
  from: 'a@x.test',
  recipients: ['b@y.test'],
  body: enc.encode('hi\r\n'),
  ...extra,
});

describe('client session core: greeting and EHLO', () => {
  test('RFC 5321 3.1: a 220 greeting opens the session', () => {
    const { writes, phases, end } = play(new ClientSession().greeting(), [r(220, 'mx.test ESMTP')]);
    assert.deepEqual([writes, phases], [[], ['greeting']]);
    assert.deepEqual(end, { type: 'done', value: r(220, 'mx.test ESMTP') });
  });

  test('RFC 5321 3.1: a 554 greeting is a refusal that carries the reply', () => {
    const { end } = play(new ClientSession().greeting(), [r(554, '5.3.2 no service')]);
    assert.deepEqual(end, {
      type: 'fail',
      failure: {
        kind: 'reply',
        phase: 'greeting',
        message: 'greeting refused: 554 5.3.2 no service',
        reply: r(554, '5.3.2 no service'),
      },
    });
  });

  test('RFC 5321 4.1.1.1: a 250 to EHLO yields its parsed capabilities', () => {
    const session = new ClientSession();
    const { writes, end } = play(session.ehlo('client.test'), [
      r(250, 'mx.test', 'PIPELINING', 'SIZE 100'),
    ]);
    assert.deepEqual(writes, ['EHLO client.test\r\n']);
    assert.ok(end.type === 'done');
    assert.equal(end.value.helo, false);
    assert.equal(end.value.capabilities.pipelining, true);
    assert.equal(session.capabilities, end.value.capabilities);
  });

  test('RFC 5321 4.1.1.1: a 5yz to EHLO falls back to HELO, which offers no extension', () => {
    const session = new ClientSession();
    const { writes, phases, end } = play(session.ehlo('client.test'), [
      r(502, 'unknown command'),
      r(250, 'mx.test', 'PIPELINING'),
    ]);
    assert.deepEqual(writes, ['EHLO client.test\r\n', 'HELO client.test\r\n']);
    assert.deepEqual(phases, ['ehlo', 'ehlo']);
    assert.ok(end.type === 'done');
    assert.equal(end.value.helo, true);
    assert.equal(end.value.capabilities.pipelining, false);
    assert.equal(end.value.capabilities.keywords.size, 0);
    assert.equal(session.capabilities?.serverName, 'mx.test');
  });

  test('RFC 5321 4.1.1.1: HELO refused too is a refusal carrying the HELO reply', () => {
    const session = new ClientSession();
    const { end } = play(session.ehlo('client.test'), [r(500, 'what'), r(550, 'go away')]);
    assert.deepEqual(end, {
      type: 'fail',
      failure: {
        kind: 'reply',
        phase: 'ehlo',
        message: 'ehlo refused: 550 go away',
        reply: r(550, 'go away'),
      },
    });
    assert.equal(session.capabilities, undefined);
  });

  test('RFC 5321 4.1.1.1: a 4yz to EHLO is a refusal and does not fall back to HELO', () => {
    const { writes, end } = play(new ClientSession().ehlo('client.test'), [r(421, 'busy')]);
    assert.deepEqual(writes, ['EHLO client.test\r\n']);
    assert.equal(end.type === 'fail' && end.failure.message, 'ehlo refused: 421 busy');
  });

  test('RFC 5321 4.1.1.1: a refused EHLO keeps the capabilities of the last successful one', () => {
    const session = greeted('PIPELINING');
    play(session.ehlo('client.test'), [r(421, 'busy')]);
    assert.equal(session.capabilities?.pipelining, true);
  });

  test('RFC 5321 4.1.1.1: an EHLO name that would inject a command throws, even on a closed session', () => {
    const session = new ClientSession();
    session.close();
    assert.throws(() => session.ehlo('x\r\nQUIT'), TypeError);
  });
});

describe('client session core: STARTTLS', () => {
  test('RFC 3207 4: a 220 to STARTTLS lets the handshake start', () => {
    const { writes, phases, end } = play(greeted('STARTTLS').startTls(0), [r(220, 'go ahead')]);
    assert.deepEqual([writes, phases, end.type], [['STARTTLS\r\n'], ['starttls'], 'done']);
  });

  test('RFC 3207 4: a 454 to STARTTLS is a refusal; the plaintext session stays usable', () => {
    const session = greeted('STARTTLS');
    const { end } = play(session.startTls(0), [r(454, '4.7.0 not now')]);
    assert.deepEqual(end, {
      type: 'fail',
      failure: {
        kind: 'reply',
        phase: 'starttls',
        message: 'starttls refused: 454 4.7.0 not now',
        reply: r(454, '4.7.0 not now'),
      },
    });
    assert.equal(session.capabilities?.startTls, true);
    assert.equal(session.secure, false);
  });

  test('RFC 3207 4: unread bytes before STARTTLS are a protocol failure; STARTTLS is never sent', () => {
    const { writes, end } = play(greeted('STARTTLS').startTls(1), []);
    assert.deepEqual(writes, []);
    assert.deepEqual(end, {
      type: 'abort',
      failure: {
        kind: 'protocol',
        phase: 'starttls',
        message: 'unsolicited data from the server before STARTTLS',
      },
    });
  });

  test('RFC 3207 4.2 (CVE-2011-0411): bytes after the STARTTLS 220 are an injection, never a reply', () => {
    const session = greeted('STARTTLS');
    assert.deepEqual(session.plaintextAfterStarttls(17), {
      type: 'abort',
      failure: {
        kind: 'injection',
        phase: 'starttls',
        message: 'the server sent data after the STARTTLS 220 in plaintext (command injection)',
      },
      note: '17 unread octets after the STARTTLS 220 discarded unparsed',
    });
  });

  test('RFC 3207 4.2: with nothing unread after the 220 the handshake may start', () => {
    assert.equal(greeted('STARTTLS').plaintextAfterStarttls(0), undefined);
  });

  test('RFC 3207 4.2: after the handshake the plaintext capabilities are forgotten', () => {
    const session = greeted('STARTTLS', 'PIPELINING');
    session.tlsEstablished();
    assert.equal(session.capabilities, undefined);
    assert.equal(session.secure, true);
    assert.throws(() => session.send(message()), /before a successful ehlo/);
  });

  test('RFC 3207 4.1: a failed or throwing upgrade gives the connection up with kind tls', () => {
    const session = greeted('STARTTLS');
    assert.deepEqual(session.upgradeFailed(), {
      type: 'abort',
      failure: { kind: 'tls', phase: 'starttls', message: 'TLS handshake failed' },
    });
    assert.deepEqual(session.upgradeFailed({ error: new Error('boom') }), {
      type: 'abort',
      failure: { kind: 'tls', phase: 'starttls', message: 'TLS upgrade threw: Error: boom' },
    });
    assert.equal(session.secure, false);
  });
});

describe('client session core: sending', () => {
  test('RFC 1870 6: a message above the advertised SIZE is refused with 5.3.4 before MAIL is written', () => {
    const session = greeted('SIZE 3');
    const { writes, end } = play(session.send(message()), []);
    assert.deepEqual(writes, []);
    assert.deepEqual(end, {
      type: 'fail',
      failure: {
        kind: 'too-large',
        phase: 'mail-from',
        message: "message of 4 octets exceeds the server's SIZE limit of 3",
      },
    });
  });

  test('RFC 1870 6: a message of exactly the advertised SIZE is sent', () => {
    assert.equal(checkSize(4, caps('SIZE 4')), undefined);
    assert.equal(checkSize(5, caps('SIZE 4'))?.kind, 'too-large');
  });

  test('RFC 1870 4: SIZE 0, bare SIZE and SIZE not advertised set no limit', () => {
    for (const keywords of [['SIZE 0'], ['SIZE'], []])
      assert.equal(checkSize(1e12, caps(...keywords)), undefined, keywords.join());
  });

  test('RFC 6531 3.4 / RFC 6152 3: an envelope the server cannot take maps to 5.6.7, 5.6.3 or 5.1.3, nothing sent', () => {
    assert.deepEqual(commandFailure({ kind: 'smtputf8-unsupported', message: 'm1' }), {
      kind: 'smtputf8-unsupported',
      phase: 'mail-from',
      message: 'm1',
    });
    assert.deepEqual(commandFailure({ kind: '8bitmime-unsupported', message: 'm2' }), {
      kind: '8bitmime-unsupported',
      phase: 'mail-from',
      message: 'm2',
    });
    assert.deepEqual(commandFailure({ kind: 'invalid-address', address: 'x', message: 'm3' }), {
      kind: 'invalid-address',
      phase: 'mail-from',
      message: 'm3',
    });
    const session = greeted();
    assert.deepEqual(play(session.send(message({ eightBit: true })), []).end.type, 'fail');
    const badRecipient = play(
      session.send(message({ recipients: ['b@y.test', 'c@y.test\r\nDATA'] })),
      [],
    );
    assert.deepEqual(
      [badRecipient.writes, badRecipient.end.type === 'fail' && badRecipient.end.failure.kind],
      [[], 'invalid-address'],
    );
  });

  test('RFC 2920 3.1: a pipelined transaction awaits each reply in the phase of its command', () => {
    const { writes, phases, end } = play(greeted('PIPELINING').send(message()), [
      r(250),
      r(250),
      r(354),
      r(250),
    ]);
    assert.deepEqual(writes, [
      'MAIL FROM:<a@x.test>\r\nRCPT TO:<b@y.test>\r\nDATA\r\n',
      '<data hi\r\n.\r\n>',
    ]);
    assert.deepEqual(phases, ['mail-from', 'rcpt-to', 'data', 'data']);
    assert.ok(end.type === 'done');
    assert.equal(end.value.data.status, 'accepted');
  });

  test('RFC 5321 4.1.1.5: without PIPELINING a transaction with no accepted recipient ends with RSET in phase rset', () => {
    const { writes, phases, end } = play(greeted().send(message()), [r(250), r(550), r(250)]);
    assert.deepEqual(
      writes.map((w) => w.slice(0, 4)),
      ['MAIL', 'RCPT', 'RSET'],
    );
    assert.deepEqual(phases, ['mail-from', 'rcpt-to', 'rset']);
    assert.ok(end.type === 'done');
    assert.equal(end.value.rset?.code, 250);
  });

  test('RFC 5321 3.3: send before a successful EHLO is misuse and throws', () => {
    assert.throws(() => new ClientSession().send(message()), /before a successful ehlo/);
  });
});

describe('client session core: RSET, QUIT and a closed session', () => {
  test('RFC 5321 4.1.1.5: RSET expects 250; another reply is a refusal', () => {
    assert.equal(play(greeted().rset(0), [r(250)]).end.type, 'done');
    const { end } = play(greeted().rset(0), [r(500, 'no')]);
    assert.deepEqual(end, {
      type: 'fail',
      failure: {
        kind: 'reply',
        phase: 'rset',
        message: 'rset refused: 500 no',
        reply: r(500, 'no'),
      },
    });
  });

  test('RFC 5321 3.8: data received while idle (a 421 before hang-up) aborts RSET unsent: not reusable', () => {
    const { writes, end } = play(greeted().rset(6), []);
    assert.deepEqual(writes, []);
    assert.deepEqual(end, {
      type: 'abort',
      failure: {
        kind: 'protocol',
        phase: 'rset',
        message: 'the server sent data while the connection was idle',
      },
    });
  });

  test('RFC 5321 4.1.1.10: QUIT ends on any reply; a closed session sends nothing', () => {
    const open = play(greeted().quit(), [r(221)]);
    assert.deepEqual(
      [open.writes, open.phases, open.end],
      [['QUIT\r\n'], ['quit'], { type: 'done', value: undefined }],
    );
    const session = greeted();
    session.close();
    assert.deepEqual(play(session.quit(), []), {
      writes: [],
      phases: [],
      end: { type: 'done', value: undefined },
    });
  });

  test('a closed session fails every dialogue with kind closed in its first phase, before any other rule', () => {
    const session = greeted('SIZE 1', 'STARTTLS');
    session.close();
    const closed = (phase: SmtpPhase) => ({
      type: 'fail',
      failure: { kind: 'closed', phase, message: 'the session is closed' },
    });
    assert.deepEqual(session.greeting(), closed('greeting'));
    assert.deepEqual(session.ehlo('client.test'), closed('ehlo'));
    assert.deepEqual(session.startTls(5), closed('starttls'));
    assert.deepEqual(session.send(message()), closed('mail-from'));
    assert.deepEqual(session.rset(5), closed('rset'));
  });
});
