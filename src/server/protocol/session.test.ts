import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ServerSession } from './session.js';
import type { SessionSettings, Step } from './session.js';
import { formatServerReply } from './reply.js';

const b64 = (s: string): string => Buffer.from(s, 'utf8').toString('base64');
const PLAIN_OK = b64('\u0000app\u0000s3cret');

function settings(over: Partial<SessionSettings> = {}): SessionSettings {
  return {
    hostname: 'mx.test',
    auth: 'none',
    tlsAvailable: false,
    maxMessageSize: 1000,
    maxRecipients: 2,
    maxLine: 1000,
    authenticate: (user, secret) => user === 'app' && secret === 's3cret',
    ...over,
  };
}

function code(step: Step): number {
  assert.notEqual(step.kind, 'enqueue');
  return step.kind === 'enqueue' ? 0 : step.reply.code;
}

/** Runs lines through a session; `DATA-END` ends the data of a 354 with an empty clean body. */
function run(s: ServerSession, script: readonly (readonly [string, number])[]): void {
  for (const [line, expected] of script) {
    const step = line === 'DATA-END' ? s.onDataEnd(new Uint8Array(), undefined) : s.onLine(line);
    const got = step.kind === 'enqueue' ? 250 : code(step);
    if (step.kind === 'enqueue') assert.equal(code(s.onQueued({ ok: true, id: 'Q1' })), 250);
    assert.equal(
      got,
      expected,
      `${line} -> ${step.kind === 'enqueue' ? 'enqueue' : formatServerReply(step.reply)}`,
    );
  }
}

const SCRIPTS: { name: string; settings?: Partial<SessionSettings>; script: [string, number][] }[] =
  [
    {
      name: 'RFC 5321 3.3: a whole transaction',
      script: [
        ['EHLO c.test', 250],
        ['MAIL FROM:<a@s.test>', 250],
        ['RCPT TO:<b@r.test>', 250],
        ['DATA', 354],
        ['DATA-END', 250],
        ['QUIT', 221],
      ],
    },
    {
      name: 'RFC 5321 4.5.5: the null reverse-path is accepted',
      script: [
        ['EHLO c.test', 250],
        ['MAIL FROM:<>', 250],
        ['RCPT TO:<b@r.test>', 250],
      ],
    },
    {
      name: 'RFC 5321 4.1.4: MAIL before EHLO is a sequence error (503)',
      script: [['MAIL FROM:<a@s.test>', 503]],
    },
    {
      name: 'RFC 5321 4.1.4: RCPT before MAIL is a sequence error (503)',
      script: [
        ['EHLO c.test', 250],
        ['RCPT TO:<b@r.test>', 503],
      ],
    },
    {
      name: 'RFC 5321 4.1.4: DATA before MAIL is a sequence error (503)',
      script: [
        ['EHLO c.test', 250],
        ['DATA', 503],
      ],
    },
    {
      name: 'RFC 5321 3.3: DATA without an accepted recipient is 554',
      script: [
        ['EHLO c.test', 250],
        ['MAIL FROM:<a@s.test>', 250],
        ['RCPT TO:<postmaster>', 501],
        ['DATA', 554],
      ],
    },
    {
      name: 'RFC 5321 4.1.4: a nested MAIL is a sequence error',
      script: [
        ['EHLO c.test', 250],
        ['MAIL FROM:<a@s.test>', 250],
        ['MAIL FROM:<a@s.test>', 503],
      ],
    },
    {
      name: 'RFC 5321 4.1.1.5: RSET ends the transaction',
      script: [
        ['EHLO c.test', 250],
        ['MAIL FROM:<a@s.test>', 250],
        ['RSET', 250],
        ['RCPT TO:<b@r.test>', 503],
        ['MAIL FROM:<a@s.test>', 250],
      ],
    },
    {
      name: 'RFC 5321 4.1.4: EHLO resets a transaction',
      script: [
        ['EHLO c.test', 250],
        ['MAIL FROM:<a@s.test>', 250],
        ['EHLO c.test', 250],
        ['RCPT TO:<b@r.test>', 503],
      ],
    },
    {
      name: 'RFC 5321 4.5.3.1.10: recipients over the limit get 452',
      script: [
        ['EHLO c.test', 250],
        ['MAIL FROM:<a@s.test>', 250],
        ['RCPT TO:<b@r.test>', 250],
        ['RCPT TO:<c@r.test>', 250],
        ['RCPT TO:<d@r.test>', 452],
        ['RCPT TO:<b@r.test>', 250],
      ],
    },
    {
      name: 'RFC 1870 6: a declared SIZE over the limit is 552',
      script: [
        ['EHLO c.test', 250],
        ['MAIL FROM:<a@s.test> SIZE=1001', 552],
        ['MAIL FROM:<a@s.test> SIZE=1000', 250],
      ],
    },
    {
      name: 'RFC 5321 4.1.1.1: parameters need EHLO, not HELO',
      script: [
        ['HELO c.test', 250],
        ['MAIL FROM:<a@s.test> SIZE=10', 555],
        ['MAIL FROM:<a@s.test>', 250],
      ],
    },
    {
      name: 'RFC 6531 3.5: a non-ASCII address without SMTPUTF8 is 553',
      script: [
        ['EHLO c.test', 250],
        ['MAIL FROM:<ü@s.test>', 553],
        ['MAIL FROM:<a@s.test>', 250],
        ['RCPT TO:<ü@r.test>', 553],
      ],
    },
    {
      name: 'RFC 6531 3.4: SMTPUTF8 allows non-ASCII addresses',
      script: [
        ['EHLO c.test', 250],
        ['MAIL FROM:<ü@s.test> SMTPUTF8', 250],
        ['RCPT TO:<ü@r.test>', 250],
      ],
    },
    {
      name: 'RFC 5321 4.1.1: unknown commands get 500, VRFY 252, NOOP 250',
      script: [
        ['FOO', 500],
        ['VRFY x', 252],
        ['NOOP', 250],
      ],
    },
    {
      name: 'RFC 5321 3.2: recipients at address literals are refused',
      script: [
        ['EHLO c.test', 250],
        ['MAIL FROM:<a@s.test>', 250],
        ['RCPT TO:<b@[192.0.2.1]>', 550],
      ],
    },
    {
      name: 'RFC 4954 6: auth required gives 530 before MAIL',
      settings: { auth: 'required' },
      script: [
        ['EHLO c.test', 250],
        ['MAIL FROM:<a@s.test>', 530],
      ],
    },
    {
      name: 'RFC 4954 4: AUTH PLAIN with an initial response',
      settings: { auth: 'required' },
      script: [
        ['EHLO c.test', 250],
        [`AUTH PLAIN ${PLAIN_OK}`, 235],
        ['MAIL FROM:<a@s.test>', 250],
        ['AUTH PLAIN x', 503],
      ],
    },
    {
      name: 'RFC 4954 4: AUTH PLAIN with a continuation',
      settings: { auth: 'required' },
      script: [
        ['EHLO c.test', 250],
        ['AUTH PLAIN', 334],
        [PLAIN_OK, 235],
      ],
    },
    {
      name: 'RFC 4954 4: AUTH LOGIN dialog',
      settings: { auth: 'required' },
      script: [
        ['EHLO c.test', 250],
        ['AUTH LOGIN', 334],
        [b64('app'), 334],
        [b64('s3cret'), 235],
      ],
    },
    {
      name: 'RFC 4954 4: AUTH LOGIN with the user name as initial response',
      settings: { auth: 'required' },
      script: [
        ['EHLO c.test', 250],
        [`AUTH LOGIN ${b64('app')}`, 334],
        [b64('s3cret'), 235],
      ],
    },
    {
      name: 'RFC 4954 6: a wrong secret is 535',
      settings: { auth: 'required' },
      script: [
        ['EHLO c.test', 250],
        [`AUTH PLAIN ${b64('\u0000app\u0000nope')}`, 535],
        ['MAIL FROM:<a@s.test>', 530],
      ],
    },
    {
      name: 'RFC 4616 2: an authzid other than the user is refused',
      settings: { auth: 'required' },
      script: [
        ['EHLO c.test', 250],
        [`AUTH PLAIN ${b64('root\u0000app\u0000s3cret')}`, 535],
      ],
    },
    {
      name: 'RFC 4954 4: "*" cancels the exchange with 501',
      settings: { auth: 'required' },
      script: [
        ['EHLO c.test', 250],
        ['AUTH LOGIN', 334],
        ['*', 501],
        ['NOOP', 250],
      ],
    },
    {
      name: 'RFC 4954 4: a response that is not base64 is 501',
      settings: { auth: 'required' },
      script: [
        ['EHLO c.test', 250],
        ['AUTH PLAIN', 334],
        ['not base64!', 501],
      ],
    },
    {
      name: 'RFC 4954 6: an unknown mechanism is 504',
      settings: { auth: 'required' },
      script: [
        ['EHLO c.test', 250],
        ['AUTH CRAM-MD5', 504],
      ],
    },
    {
      name: 'RFC 4954 6: AUTH before TLS on a TLS listener is 538',
      settings: { auth: 'required', tlsAvailable: true },
      script: [
        ['EHLO c.test', 250],
        [`AUTH PLAIN ${PLAIN_OK}`, 538],
      ],
    },
    {
      name: 'RFC 4954: AUTH on a listener without auth is 502',
      script: [
        ['EHLO c.test', 250],
        [`AUTH PLAIN ${PLAIN_OK}`, 502],
      ],
    },
    {
      name: 'RFC 3207 4: STARTTLS needs a certificate',
      script: [
        ['EHLO c.test', 250],
        ['STARTTLS', 502],
      ],
    },
    {
      name: 'RFC 3207 4: STARTTLS is refused during a transaction',
      settings: { tlsAvailable: true },
      script: [
        ['EHLO c.test', 250],
        ['MAIL FROM:<a@s.test>', 250],
        ['STARTTLS', 503],
      ],
    },
  ];

describe('ServerSession', () => {
  for (const { name, settings: over, script } of SCRIPTS) {
    test(name, () => run(new ServerSession(settings(over)), script));
  }

  test('RFC 4954 4 / RFC 3207 4.2: AUTH is advertised only once TLS is up on a TLS listener', () => {
    const s = new ServerSession(settings({ auth: 'required', tlsAvailable: true }));
    const before = s.onLine('EHLO c.test');
    assert.ok(before.kind === 'reply');
    assert.ok(before.reply.lines.includes('STARTTLS'));
    assert.ok(!before.reply.lines.some((l) => l.startsWith('AUTH')));
    assert.equal(s.onLine('STARTTLS').kind, 'starttls');
    s.onTlsEstablished();
    assert.equal(code(s.onLine('MAIL FROM:<a@s.test>')), 503, 'EHLO must be sent again after TLS');
    const after = s.onLine('EHLO c.test');
    assert.ok(after.kind === 'reply');
    assert.ok(!after.reply.lines.includes('STARTTLS'));
    assert.ok(after.reply.lines.includes('AUTH PLAIN LOGIN'));
    assert.equal(code(s.onLine(`AUTH PLAIN ${PLAIN_OK}`)), 235);
  });

  test('RFC 1870 / RFC 2920: EHLO advertises SIZE, PIPELINING, 8BITMIME, SMTPUTF8, ENHANCEDSTATUSCODES', () => {
    const s = new ServerSession(settings());
    const step = s.onLine('EHLO c.test');
    assert.ok(step.kind === 'reply');
    for (const ext of ['PIPELINING', 'SIZE 1000', '8BITMIME', 'SMTPUTF8', 'ENHANCEDSTATUSCODES'])
      assert.ok(step.reply.lines.includes(ext), ext);
  });

  test('RFC 5321 4.5.3.1.4: an over-long command line gets 500 and the session goes on', () => {
    const s = new ServerSession(settings());
    assert.equal(code(s.onLineTooLong()), 500);
    assert.equal(code(s.onLine('EHLO c.test')), 250);
  });

  test('RFC 5321 2.3.8: DATA problems reject the message with 5xx and end the transaction', () => {
    for (const [problem, expected] of [
      ['too-big', 552],
      ['line-too-long', 554],
      ['bare-line-ending', 554],
    ] as const) {
      const s = new ServerSession(settings());
      run(s, [
        ['EHLO c.test', 250],
        ['MAIL FROM:<a@s.test>', 250],
        ['RCPT TO:<b@r.test>', 250],
        ['DATA', 354],
      ]);
      assert.equal(code(s.onDataEnd(new Uint8Array(), problem)), expected, problem);
      assert.equal(code(s.onLine('RCPT TO:<b@r.test>')), 503);
    }
  });

  test('RFC 3463 4.3.x: a store failure answers 451 or 452, never 250', () => {
    for (const [kind, expected] of [
      ['io', 451],
      ['read-only', 451],
      ['busy', 451],
      ['full', 452],
    ] as const) {
      const s = new ServerSession(settings());
      run(s, [
        ['EHLO c.test', 250],
        ['MAIL FROM:<a@s.test>', 250],
        ['RCPT TO:<b@r.test>', 250],
        ['DATA', 354],
      ]);
      const step = s.onDataEnd(new TextEncoder().encode('x\r\n'), undefined);
      assert.ok(step.kind === 'enqueue');
      assert.deepEqual(step.envelope.recipients, ['b@r.test']);
      assert.equal(code(s.onQueued({ ok: false, kind })), expected, kind);
    }
  });

  test('abuse: too many failed AUTH attempts close the session with 421', () => {
    const s = new ServerSession(settings({ auth: 'required' }));
    s.onLine('EHLO c.test');
    const bad = `AUTH PLAIN ${b64('\u0000app\u0000bad')}`;
    assert.equal(code(s.onLine(bad)), 535);
    assert.equal(code(s.onLine(bad)), 535);
    const last = s.onLine(bad);
    assert.equal(last.kind, 'close');
    assert.equal(code(last), 421);
  });

  test('abuse: too many errors close the session with 421', () => {
    const s = new ServerSession(settings({ maxErrors: 3 }));
    assert.equal(code(s.onLine('X')), 500);
    assert.equal(code(s.onLine('X')), 500);
    const last = s.onLine('X');
    assert.equal(last.kind, 'close');
  });
});
