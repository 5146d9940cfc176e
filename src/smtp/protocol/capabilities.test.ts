import { test } from 'node:test';
import assert from 'node:assert/strict';
import { heloCapabilities, parseCapabilities } from './capabilities.js';
import { makeReply } from './reply.js';

const ehlo = (...keywords: string[]) => makeReply(250, ['mx.test greets you', ...keywords]);

test('RFC 5321 4.1.1.1: EHLO keywords are read case-insensitively from lines after the first', () => {
  const caps = parseCapabilities(
    ehlo(
      'pipelining',
      '8BITMIME',
      'SmtpUtf8',
      'ENHANCEDSTATUSCODES',
      'STARTTLS',
      'CHUNKING',
      'AUTH plain LOGIN',
      'X-CUSTOM a b',
    ),
  );
  assert.equal(caps.pipelining, true);
  assert.equal(caps.eightBitMime, true);
  assert.equal(caps.smtpUtf8, true);
  assert.equal(caps.enhancedStatusCodes, true);
  assert.equal(caps.startTls, true);
  assert.equal(caps.chunking, true);
  assert.deepEqual(caps.auth, ['PLAIN', 'LOGIN']);
  assert.deepEqual(caps.keywords.get('X-CUSTOM'), ['a', 'b']);
  assert.equal(caps.serverName, 'mx.test greets you');
  assert.equal(caps.size, undefined);
});

test('RFC 5321 4.1.1.1: the greeting line is not a keyword, even when it looks like one', () => {
  const caps = parseCapabilities(makeReply(250, ['STARTTLS']));
  assert.equal(caps.startTls, false);
});

test('RFC 1870 4: SIZE with a value is the limit; bare SIZE or SIZE 0 announce no limit', () => {
  assert.equal(parseCapabilities(ehlo('SIZE 35882577')).size, 35882577);
  assert.equal(parseCapabilities(ehlo('SIZE')).size, 0);
  assert.equal(parseCapabilities(ehlo('SIZE 0')).size, 0);
});

test('RFC 1870 4: a malformed SIZE parameter reads as SIZE not advertised', () => {
  assert.equal(parseCapabilities(ehlo('SIZE lots')).size, undefined);
  assert.equal(parseCapabilities(ehlo('SIZE -5')).size, undefined);
});

test('RFC 5321 4.1.1.1: a HELO reply offers no extension', () => {
  const caps = heloCapabilities(makeReply(250, ['mx.test', 'PIPELINING']));
  assert.equal(caps.pipelining, false);
  assert.equal(caps.keywords.size, 0);
});
