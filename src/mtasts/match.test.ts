import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { findMatchingPattern, mxMatchesPattern } from './match.js';

describe('RFC 8461 4.1: MX host matching', () => {
  const table: readonly [string, string, boolean][] = [
    ['mail.example.com', 'mail.example.com', true],
    ['MAIL.Example.COM', 'mail.example.com', true],
    ['mail.example.com', 'MAIL.EXAMPLE.COM', true],
    ['mail.example.com.', 'mail.example.com', true],
    ['mail.example.com', 'mail.example.com.', true],
    ['mail.example.com', 'example.com', false],
    ['mail.example.net', 'mail.example.com', false],
    ['xmail.example.com', 'mail.example.com', false],
    ['mail.example.com', '*.example.com', true],
    ['MX1.EXAMPLE.COM.', '*.example.com', true],
    ['example.com', '*.example.com', false],
    ['foo.bar.example.com', '*.example.com', false],
    ['mail.notexample.com', '*.example.com', false],
    ['mailexample.com', '*.example.com', false],
    ['.example.com', '*.example.com', false],
    ['*.example.com', '*.example.com', false],
    ['mail.example.com', 'mail.*.com', false],
    ['mail.example.com', '*', false],
    ['mail.example.com', '', false],
    ['', '*.example.com', false],
  ];
  for (const [host, pattern, expected] of table) {
    test(`RFC 8461 4.1: ${JSON.stringify(host)} ${expected ? 'matches' : 'does not match'} ${JSON.stringify(pattern)}`, () => {
      assert.equal(mxMatchesPattern(host, pattern), expected);
    });
  }

  test('RFC 8461 4.1: a host is valid when it matches any one of the mx patterns', () => {
    const patterns = ['mail.example.com', '*.example.net', 'backupmx.example.com'];
    assert.equal(findMatchingPattern('a.example.net', patterns), '*.example.net');
    assert.equal(findMatchingPattern('backupmx.example.com', patterns), 'backupmx.example.com');
    assert.equal(findMatchingPattern('evil.example.org', patterns), undefined);
  });
});
