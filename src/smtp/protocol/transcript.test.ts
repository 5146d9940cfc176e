import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Transcript } from './transcript.js';

test('transcript: pipelined writes become one line per command; data is elided to its size', () => {
  const t = new Transcript();
  t.client('MAIL FROM:<a@x>\r\nRCPT TO:<b@y>\r\n');
  t.server(250, ['2.1.0 ok']);
  t.server(250, ['first', 'second']);
  t.body(1234);
  assert.deepEqual(t.toLines(), [
    'C: MAIL FROM:<a@x>',
    'C: RCPT TO:<b@y>',
    'S: 250 2.1.0 ok',
    'S: 250-first',
    'S: 250 second',
    'C: <message data, 1234 octets>',
  ]);
});

test('transcript: keeps only the last lines and neutralises control characters', () => {
  const t = new Transcript(2);
  t.note('one');
  t.note('two');
  t.note('th\x1bree');
  assert.deepEqual(t.toLines(), ['* 1 earlier lines dropped', '* two', '* th?ree']);
});
