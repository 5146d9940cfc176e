import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseCommand } from './command.js';
import { LineSplitter } from './lines.js';

/** [line, expected verb or reply code, check of the parsed command]. */
const COMMANDS: [string, string | number, Record<string, unknown>?][] = [
  ['EHLO client.example', 'EHLO', { domain: 'client.example' }],
  ['helo [192.0.2.1]', 'HELO', { domain: '[192.0.2.1]' }],
  ['EHLO', 501],
  ['EHLO bad<name>', 501],
  ['MAIL FROM:<a@example.com>', 'MAIL', { address: 'a@example.com', params: { smtputf8: false } }],
  ['mail from: <a@example.com>', 'MAIL', { address: 'a@example.com' }],
  ['MAIL FROM:<>', 'MAIL', { address: '' }],
  [
    'MAIL FROM:<a@example.com> SIZE=1000 BODY=8BITMIME SMTPUTF8',
    'MAIL',
    { params: { size: 1000, body: '8BITMIME', smtputf8: true } },
  ],
  ['MAIL FROM:<a@example.com> BODY=BINARYMIME', 555],
  ['MAIL FROM:<a@example.com> SIZE=big', 501],
  ['MAIL FROM:<a@example.com> SIZE=1 SIZE=2', 501],
  ['MAIL FROM:<a@example.com> RET=FULL', 555],
  ['MAIL FROM:a@example.com', 553],
  ['MAIL TO:<a@example.com>', 501],
  ['MAIL FROM:<@relay.example:a@example.com>', 'MAIL', { address: 'a@example.com' }],
  [
    'RCPT TO:<b@example.org>',
    'RCPT',
    { address: 'b@example.org', literal: false, nonAscii: false },
  ],
  ['RCPT TO:<"john doe"@example.org>', 'RCPT', { address: '"john doe"@example.org' }],
  ['RCPT TO:<"a>b"@example.org>', 'RCPT', { address: '"a>b"@example.org' }],
  ['RCPT TO:<用户@例子.广告>', 'RCPT', { nonAscii: true }],
  ['RCPT TO:<b@[192.0.2.1]>', 'RCPT', { literal: true }],
  ['RCPT TO:<postmaster>', 501],
  ['RCPT TO:<b@>', 501],
  ['RCPT TO:<>', 501],
  ['RCPT TO:<b..c@example.org>', 501],
  ['RCPT TO:<b@exa mple.org>', 501],
  ['RCPT TO:<b@example.org> NOTIFY=NEVER', 555],
  [`RCPT TO:<${'x'.repeat(65)}@example.org>`, 501],
  ['DATA', 'DATA'],
  ['DATA now', 501],
  ['STARTTLS', 'STARTTLS'],
  ['RSET', 'RSET'],
  ['NOOP anything', 'NOOP'],
  ['VRFY someone', 'VRFY'],
  ['QUIT', 'QUIT'],
  ['AUTH PLAIN', 'AUTH', { mechanism: 'PLAIN' }],
  ['auth login dXNlcg==', 'AUTH', { mechanism: 'LOGIN', initial: 'dXNlcg==' }],
  ['AUTH', 501],
  ['EXPN list', 500],
  ['GET / HTTP/1.1', 500],
  ['NOOP\u0000', 501],
  ['MAIL FROM:<a@example.com>\rRCPT TO:<b@example.org>', 501],
];

describe('parseCommand', () => {
  for (const [line, expected, fields] of COMMANDS) {
    const kind = typeof expected === 'number' ? `is refused with ${expected}` : `is ${expected}`;
    test(`RFC 5321 4.1.1: ${JSON.stringify(line.slice(0, 60))} ${kind}`, () => {
      const parsed = parseCommand(line);
      if (typeof expected === 'number') {
        assert.equal(parsed.ok, false);
        if (!parsed.ok) assert.equal(parsed.reply.code, expected);
        return;
      }
      assert.ok(parsed.ok, parsed.ok ? '' : JSON.stringify(parsed.reply));
      assert.equal(parsed.command.verb, expected);
      for (const [key, value] of Object.entries(fields ?? {})) {
        assert.deepEqual((parsed.command as unknown as Record<string, unknown>)[key], value, key);
      }
    });
  }
});

describe('LineSplitter', () => {
  const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

  test('RFC 5321 2.3.8: lines end at CRLF across chunk boundaries', () => {
    const s = new LineSplitter(100);
    s.push(enc('EHLO a\r'));
    assert.equal(s.next(), undefined);
    s.push(enc('\nNOOP\r\nQU'));
    assert.deepEqual(s.next(), { kind: 'line', line: 'EHLO a' });
    assert.deepEqual(s.next(), { kind: 'line', line: 'NOOP' });
    assert.equal(s.next(), undefined);
    assert.equal(new TextDecoder().decode(s.takeRest()), 'QU');
  });

  test('RFC 5321 4.5.3.1.4: an over-long line is reported once and skipped', () => {
    const s = new LineSplitter(10);
    s.push(enc('x'.repeat(25)));
    assert.deepEqual(s.next(), { kind: 'too-long' });
    assert.equal(s.next(), undefined);
    s.push(enc('yyy\r\nNOOP\r\n'));
    assert.deepEqual(s.next(), { kind: 'line', line: 'NOOP' });
  });

  test('RFC 5321 4.5.3.1.4: a complete line over the limit is too long, one at the limit is not', () => {
    const s = new LineSplitter(10);
    s.push(enc('12345678\r\n123456789\r\n'));
    assert.deepEqual(s.next(), { kind: 'line', line: '12345678' });
    assert.deepEqual(s.next(), { kind: 'too-long' });
  });

  test('RFC 3207 6: takeRest hands over pipelined bytes and empties the buffer', () => {
    const s = new LineSplitter(100);
    s.push(enc('STARTTLS\r\nMAIL FROM:<evil@x>\r\n'));
    assert.deepEqual(s.next(), { kind: 'line', line: 'STARTTLS' });
    assert.equal(new TextDecoder().decode(s.takeRest()), 'MAIL FROM:<evil@x>\r\n');
    assert.equal(s.next(), undefined);
  });
});
