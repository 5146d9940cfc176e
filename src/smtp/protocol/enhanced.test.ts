import { test } from 'node:test';
import assert from 'node:assert/strict';
import { effectiveEnhancedCode, replySeverity, replyText } from './enhanced.js';
import { makeReply } from './reply.js';

test('RFC 5321 4.2.1: 4yz is temporary, 5yz permanent, 2yz/3yz are no failure', () => {
  assert.equal(replySeverity(makeReply(451, ['try later'])), 'temporary');
  assert.equal(replySeverity(makeReply(550, ['no'])), 'permanent');
  assert.equal(replySeverity(makeReply(250, ['ok'])), undefined);
  assert.equal(replySeverity(makeReply(354, ['go'])), undefined);
});

test('RFC 3463 3.1: the enhanced class decides when it disagrees with the basic code', () => {
  assert.equal(
    replySeverity({ code: 550, enhanced: '4.7.1', lines: ['4.7.1 greylisted'] }),
    'temporary',
  );
  assert.equal(
    replySeverity({ code: 450, enhanced: '5.1.1', lines: ['5.1.1 unknown'] }),
    'permanent',
  );
});

test('RFC 3463 3.1: a reply without an enhanced code reports the generic one of its class', () => {
  assert.equal(effectiveEnhancedCode(makeReply(552, ['too big'])), '5.0.0');
  assert.equal(effectiveEnhancedCode(makeReply(421, ['bye'])), '4.0.0');
  assert.equal(effectiveEnhancedCode(makeReply(550, ['5.7.1 no'])), '5.7.1');
});

test('RFC 2034: the enhanced code prefix is stripped from every line for display', () => {
  assert.equal(
    replyText(makeReply(550, ['5.1.1 no such', '5.1.1 user here'])),
    'no such user here',
  );
});
