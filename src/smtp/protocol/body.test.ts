import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DataEncoder, encodeData, messageSize } from './body.js';

const enc = new TextEncoder();
const dec = new TextDecoder();
const wire = (text: string): string => dec.decode(encodeData(enc.encode(text)));

/** Encodes `text` split into chunks at every possible pair of cut points and checks all agree. */
function assertChunkInvariant(text: string): void {
  const bytes = enc.encode(text);
  const whole = dec.decode(encodeData(bytes));
  for (let i = 0; i <= bytes.length; i++) {
    for (let j = i; j <= bytes.length; j++) {
      const e = new DataEncoder();
      const parts = [
        e.write(bytes.subarray(0, i)),
        e.write(bytes.subarray(i, j)),
        e.write(bytes.subarray(j)),
        e.end(),
      ];
      assert.equal(parts.map((p) => dec.decode(p)).join(''), whole, `cut at ${i},${j}`);
    }
  }
}

test('RFC 5321 4.5.2: a line starting with a dot gets a second dot', () => {
  assert.equal(wire('.hidden\r\nok\r\n..two\r\n'), '..hidden\r\nok\r\n...two\r\n.\r\n');
});

test('RFC 5321 4.5.2: a dot inside a line is left alone', () => {
  assert.equal(wire('a.b\r\n'), 'a.b\r\n.\r\n');
});

test('RFC 5321 4.1.1.4: the data ends with CRLF.CRLF, adding the last line ending when missing', () => {
  assert.equal(wire('no newline'), 'no newline\r\n.\r\n');
  assert.equal(wire('line\r\n'), 'line\r\n.\r\n');
});

test('RFC 5321 4.1.1.4: an empty message is just the terminating dot line', () => {
  assert.equal(wire(''), '.\r\n');
});

test('RFC 5321 2.3.8: bare LF and bare CR become CRLF (no SMTP smuggling)', () => {
  assert.equal(wire('a\nb\rc\r\nd'), 'a\r\nb\r\nc\r\nd\r\n.\r\n');
  // The smuggling payload: <LF>.<LF> must not survive as an end-of-data look-alike.
  assert.equal(wire('x\n.\nMAIL FROM:<e@x>\n'), 'x\r\n..\r\nMAIL FROM:<e@x>\r\n.\r\n');
  assert.equal(wire('x\r.\r'), 'x\r\n..\r\n.\r\n');
});

test('RFC 5321 4.5.2: dot-stuffing and CRLF are correct across every chunk boundary', () => {
  assertChunkInvariant('.a\r\n.\r\nb\n.c\r.d\r\n');
  assertChunkInvariant('\r\n\r\r\n\n.');
});

test('RFC 5321 4.5.2: a CR at the end of one chunk and LF at the start of the next is one line ending', () => {
  const e = new DataEncoder();
  const out = [e.write(enc.encode('a\r')), e.write(enc.encode('\n.b')), e.end()]
    .map((p) => dec.decode(p))
    .join('');
  assert.equal(out, 'a\r\n..b\r\n.\r\n');
});

test('RFC 1870 3: the SIZE estimate counts CRLF line endings, not dot-stuffing or the terminator', () => {
  assert.equal(messageSize(enc.encode('a\nb')), 6);
  assert.equal(messageSize(enc.encode('.x\r\n')), 4);
  assert.equal(messageSize(enc.encode('')), 0);
  assert.equal(messageSize(enc.encode('a\r')), 3);
});
