// The predicate that decides whether an AD bit is evidence. Trusting it from a remote resolver over an
// unauthenticated path would let an on-path attacker mark forged TLSA records secure (RFC 7672 2.1.1).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { adTrusted, dnssecStatus, isLoopbackAddress } from './trust.js';

test('RFC 4035 4.9.3: loopback addresses 127.0.0.0/8 and ::1 (any spelling) are a trusted path', () => {
  for (const host of [
    '127.0.0.1',
    '127.0.0.53',
    '127.255.255.254',
    '::1',
    '0:0:0:0:0:0:0:1',
    '[::1]',
    '::ffff:127.0.0.1',
  ]) {
    assert.equal(isLoopbackAddress(host), true, host);
  }
});

test('RFC 4035 4.9.3: remote and look-alike addresses are not loopback', () => {
  for (const host of [
    '10.255.255.53',
    '128.0.0.1',
    '1.127.0.0',
    '::2',
    '::',
    '1::1',
    '::ffff:10.0.0.1',
    'localhost',
    '127.0.0.1.example',
    '',
  ]) {
    assert.equal(isLoopbackAddress(host), false, host);
  }
});

test('RFC 6698 4.1: AD from a remote resolver is trusted only when trustAd is set', () => {
  assert.equal(adTrusted('192.0.2.53', false), false);
  assert.equal(adTrusted('192.0.2.53', true), true);
  assert.equal(adTrusted('127.0.0.1', false), true);
  assert.equal(adTrusted('::1', false), true);
});

test('RFC 4035 4.3: secure needs both the AD bit and a trusted resolver', () => {
  assert.equal(dnssecStatus(true, true), 'secure');
  assert.equal(dnssecStatus(true, false), 'insecure');
  assert.equal(dnssecStatus(false, true), 'insecure');
  assert.equal(dnssecStatus(false, false), 'insecure');
});
