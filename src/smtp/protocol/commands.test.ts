import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkAddress, hello, mailFrom, rcptTo } from './commands.js';
import { parseCapabilities } from './capabilities.js';
import { makeReply } from './reply.js';

const caps = (...keywords: string[]) => parseCapabilities(makeReply(250, ['mx.test', ...keywords]));
const line = (result: ReturnType<typeof mailFrom>): string =>
  result.ok ? result.line : `error:${result.error.kind}`;

test('RFC 5321 4.1.1.2: MAIL FROM without extensions carries no parameters', () => {
  assert.equal(
    line(mailFrom('a@example.test', caps(), { size: 100 })),
    'MAIL FROM:<a@example.test>\r\n',
  );
});

test('RFC 5321 4.5.5: the null reverse-path is <>', () => {
  assert.equal(line(mailFrom('', caps())), 'MAIL FROM:<>\r\n');
});

test('RFC 1870 / RFC 6152 / RFC 6531: SIZE, BODY=8BITMIME and SMTPUTF8 only when advertised and needed', () => {
  const all = caps('SIZE 1000', '8BITMIME', 'SMTPUTF8');
  assert.equal(line(mailFrom('a@b.test', all, { size: 42 })), 'MAIL FROM:<a@b.test> SIZE=42\r\n');
  assert.equal(
    line(mailFrom('a@b.test', all, { size: 42, eightBit: true, smtputf8: true })),
    'MAIL FROM:<a@b.test> SIZE=42 BODY=8BITMIME SMTPUTF8\r\n',
  );
  assert.equal(line(mailFrom('a@b.test', all, {})), 'MAIL FROM:<a@b.test>\r\n');
});

test('RFC 6531 3.4: a message needing SMTPUTF8 is refused for a server without it', () => {
  assert.equal(
    line(mailFrom('ü@b.test', caps('8BITMIME'), { smtputf8: true })),
    'error:smtputf8-unsupported',
  );
});

test('RFC 6152 3: 8-bit data is refused for a server without 8BITMIME', () => {
  assert.equal(
    line(mailFrom('a@b.test', caps(), { eightBit: true })),
    'error:8bitmime-unsupported',
  );
});

test('RFC 6531 3.3: a non-ASCII address needs SMTPUTF8', () => {
  assert.equal(rcptTo('jösé@b.test', false).ok, false);
  assert.deepEqual(rcptTo('jösé@b.test', true), { ok: true, line: 'RCPT TO:<jösé@b.test>\r\n' });
});

test('command injection: CR, LF and NUL in an address are refused, never sent', () => {
  for (const address of [
    'a@b.test\r\nRCPT TO:<evil@x.test>',
    'a@b.test\nDATA',
    'a@b.test\rX',
    'a\0@b.test',
  ]) {
    assert.equal(rcptTo(address, true).ok, false, JSON.stringify(address));
    assert.equal(mailFrom(address, caps('SMTPUTF8'), { smtputf8: true }).ok, false);
  }
});

test('parameter injection: angle brackets in an address are refused', () => {
  assert.equal(checkAddress('a@b.test> SIZE=1', false)?.kind, 'invalid-address');
  assert.equal(checkAddress('a b@c.test', false)?.kind, 'invalid-address');
  assert.equal(checkAddress('"a b"@c.test', false), undefined);
});

test('RFC 5321 4.1.1.3: the empty path is not a recipient', () => {
  assert.equal(rcptTo('', false).ok, false);
});

test('RFC 5321 4.1.1.1: EHLO names with spaces or controls are refused', () => {
  assert.deepEqual(hello('EHLO', 'client.example.test'), {
    ok: true,
    line: 'EHLO client.example.test\r\n',
  });
  assert.equal(hello('EHLO', 'a b').ok, false);
  assert.equal(hello('HELO', 'x\r\nQUIT').ok, false);
  assert.equal(hello('EHLO', '').ok, false);
});
