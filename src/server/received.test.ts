import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { protocolKeyword, receivedHeader, rfc5322Date } from './received.js';
import { decodeBase64, parsePlain } from './protocol/auth.js';

const BASE = {
  helo: 'app.example',
  esmtp: true,
  smtputf8: false,
  authenticated: false,
  peerAddress: '127.0.0.1',
  hostname: 'mx.example',
  listener: 'submission',
  recipients: ['b@r.test'],
  now: Date.UTC(2025, 10, 29, 5, 28, 7),
};

describe('Received header', () => {
  test('RFC 5322 3.3: the date is a UTC date-time', () => {
    assert.equal(rfc5322Date(BASE.now), 'Sat, 29 Nov 2025 05:28:07 +0000');
  });

  test('RFC 3848: the with keyword says ESMTP, S for TLS, A for AUTH', () => {
    const tls = { protocol: 'TLSv1.3', cipher: 'TLS_AES_128_GCM_SHA256' };
    assert.equal(protocolKeyword({ esmtp: false, smtputf8: false, authenticated: false }), 'SMTP');
    assert.equal(protocolKeyword({ esmtp: true, smtputf8: false, authenticated: false }), 'ESMTP');
    assert.equal(
      protocolKeyword({ esmtp: true, smtputf8: false, authenticated: true, tls }),
      'ESMTPSA',
    );
    assert.equal(
      protocolKeyword({ esmtp: true, smtputf8: true, authenticated: false, tls }),
      'UTF8SMTPS',
    );
  });

  test('RFC 5321 4.4: from, by, with, for and the date, lines folded with CRLF TAB', () => {
    const header = receivedHeader({
      ...BASE,
      tls: { protocol: 'TLSv1.3', cipher: 'TLS_AES_128_GCM_SHA256' },
    });
    assert.equal(
      header,
      [
        'Received: from app.example ([127.0.0.1])',
        '\tby mx.example (mxsec listener submission)',
        '\twith ESMTPS (TLSv1.3 cipher TLS_AES_128_GCM_SHA256)',
        '\tfor <b@r.test>;',
        '\tSat, 29 Nov 2025 05:28:07 +0000',
        '',
      ].join('\r\n'),
    );
  });

  test('RFC 5321 7.6: several recipients are not listed; IPv6 peers use the IPv6 literal', () => {
    const header = receivedHeader({
      ...BASE,
      recipients: ['a@r.test', 'b@r.test'],
      peerAddress: '::1',
    });
    assert.ok(!header.includes('for <'));
    assert.ok(header.includes('([IPv6:::1])'));
    assert.ok(header.includes('with ESMTP;\r\n'));
  });

  test('RFC 5322 2.2: a hostile HELO name cannot break the header', () => {
    const header = receivedHeader({ ...BASE, helo: 'x)\r\nBcc: y;' });
    assert.equal(header.split('\r\n').filter((l) => l.startsWith('Bcc')).length, 0);
    assert.ok(header.startsWith('Received: from x???Bcc:?y? ('));
  });
});

describe('SASL decoding', () => {
  test('RFC 4648 4: only canonical base64 decodes', () => {
    assert.equal(decodeBase64('YWJj'), 'abc');
    assert.equal(decodeBase64('YWI='), 'ab');
    assert.equal(decodeBase64('YWJ'), undefined);
    assert.equal(decodeBase64('YW J j'), undefined);
  });

  test('RFC 4616 2: PLAIN messages', () => {
    const b64 = (s: string): string => Buffer.from(s).toString('base64');
    assert.deepEqual(parsePlain(b64('\u0000u\u0000p')), { user: 'u', secret: 'p' });
    assert.deepEqual(parsePlain(b64('u\u0000u\u0000p')), { user: 'u', secret: 'p' });
    assert.equal(parsePlain(b64('x\u0000u\u0000p')), 'invalid');
    assert.equal(parsePlain(b64('u\u0000p')), 'invalid');
    assert.equal(parsePlain('='), 'invalid');
    assert.equal(parsePlain('%%%'), 'undecodable');
  });
});
