import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ReplyParser, makeReply, parseEnhancedCode } from './reply.js';

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);

describe('reply parser', () => {
  test('RFC 5321 4.2: a single-line reply yields code and text', () => {
    const result = new ReplyParser().push(bytes('220 mx.example.test ESMTP ready\r\n'));
    assert.equal(result.error, undefined);
    assert.deepEqual(result.replies, [{ code: 220, lines: ['mx.example.test ESMTP ready'] }]);
  });

  test('RFC 5321 4.2.1: a multi-line reply is one reply with every line', () => {
    const result = new ReplyParser().push(
      bytes('250-mx.test\r\n250-PIPELINING\r\n250 SIZE 1000\r\n'),
    );
    assert.deepEqual(result.replies, [
      { code: 250, lines: ['mx.test', 'PIPELINING', 'SIZE 1000'] },
    ]);
  });

  test('RFC 5321 4.2: a reply code without text is accepted', () => {
    assert.deepEqual(new ReplyParser().push(bytes('250\r\n')).replies, [
      { code: 250, lines: [''] },
    ]);
  });

  test('RFC 5321 4.2: a reply split at every byte is reassembled', () => {
    const parser = new ReplyParser();
    const wire = bytes('250-first\r\n250 2.1.0 second\r\n354 go\r\n');
    const replies = [];
    for (const byte of wire) replies.push(...parser.push(Uint8Array.of(byte)).replies);
    // The enhanced code is read from the first line only; here it has none.
    assert.deepEqual(replies, [
      { code: 250, lines: ['first', '2.1.0 second'] },
      { code: 354, lines: ['go'] },
    ]);
    assert.equal(parser.buffered, 0);
  });

  test('RFC 5321 4.2: several replies in one chunk (pipelining) come out in order', () => {
    const result = new ReplyParser().push(bytes('250 2.1.0 ok\r\n550 5.1.1 no\r\n354 go\r\n'));
    assert.deepEqual(
      result.replies.map((r) => r.code),
      [250, 550, 354],
    );
    assert.equal(result.replies[1]!.enhanced, '5.1.1');
  });

  test('RFC 3463: the enhanced code is taken only when its class matches the reply', () => {
    assert.equal(makeReply(550, ['5.7.1 denied']).enhanced, '5.7.1');
    assert.equal(makeReply(250, ['5.7.1 odd']).enhanced, undefined);
    assert.equal(makeReply(250, ['2.0.0']).enhanced, '2.0.0');
    assert.equal(makeReply(250, ['2.0 not a code']).enhanced, undefined);
  });

  test('RFC 5321 4.2: a continuation with a different code is a protocol error', () => {
    const result = new ReplyParser().push(bytes('250-one\r\n251 two\r\n'));
    assert.equal(result.error?.kind, 'inconsistent-code');
    assert.deepEqual(result.replies, []);
  });

  test('RFC 5321 4.2: a line that does not start with a reply code is malformed', () => {
    for (const line of [
      'hello\r\n',
      '25 ok\r\n',
      '250x ok\r\n',
      '199 low\r\n',
      '260 bad second digit\r\n',
      '\r\n',
      '250 a\rb\r\n',
    ]) {
      assert.equal(new ReplyParser().push(bytes(line)).error?.kind, 'malformed', line);
    }
  });

  test('RFC 5321 4.5.3.1.5: a reply line beyond the 4096-octet limit is an error before its end arrives', () => {
    const parser = new ReplyParser();
    assert.equal(parser.push(bytes('250 ' + 'x'.repeat(4000))).error, undefined);
    assert.equal(parser.push(bytes('x'.repeat(200))).error?.kind, 'line-too-long');
  });

  test('RFC 5321 4.5.3.1.5: a 4096-octet line including CRLF is accepted', () => {
    const line = '250 ' + 'x'.repeat(4090) + '\r\n';
    assert.equal(line.length, 4096);
    assert.equal(new ReplyParser().push(bytes(line)).replies.length, 1);
  });

  test('limits: a reply with more than 128 lines is refused', () => {
    const result = new ReplyParser().push(bytes('250-x\r\n'.repeat(128) + '250 end\r\n'));
    assert.equal(result.error?.kind, 'too-many-lines');
  });

  test('limits: a reply larger than 64 KiB is refused', () => {
    const parser = new ReplyParser({ maxLineLength: 4096, maxReplySize: 65_536, maxLines: 1000 });
    const result = parser.push(bytes(('250-' + 'y'.repeat(1000) + '\r\n').repeat(70)));
    assert.equal(result.error?.kind, 'reply-too-large');
  });

  test('a broken stream stays broken; replies before the error are still returned', () => {
    const parser = new ReplyParser();
    const first = parser.push(bytes('220 hi\r\ngarbage\r\n'));
    assert.deepEqual(
      first.replies.map((r) => r.code),
      [220],
    );
    assert.equal(first.error?.kind, 'malformed');
    const second = parser.push(bytes('250 ok\r\n'));
    assert.deepEqual(second.replies, []);
    assert.equal(second.error?.kind, 'malformed');
  });

  test('buffered counts octets of an incomplete reply, for STARTTLS injection checks', () => {
    const parser = new ReplyParser();
    parser.push(bytes('250-part\r\n25'));
    assert.equal(parser.buffered, 12);
  });
});

test('RFC 3463 2: class.subject.detail parses; other text does not', () => {
  assert.deepEqual(parseEnhancedCode('5.1.1'), { class: 5, subject: 1, detail: 1, text: '5.1.1' });
  assert.equal(parseEnhancedCode('4.7.123')?.detail, 123);
  for (const text of ['3.0.0', '5.01.1', '5.1', '5.1.1.1', '5.1000.1', 'x.1.1', ''])
    assert.equal(parseEnhancedCode(text), undefined, text);
});
