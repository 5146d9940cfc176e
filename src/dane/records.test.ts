import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { TlsaRecord } from '../dns/types.js';
import {
  describeRecord,
  isUsable,
  policyString,
  unusableReason,
  usableRecords,
  usageName,
} from './records.js';

function rec(usage: number, selector: number, matchingType: number, length: number): TlsaRecord {
  return { usage, selector, matchingType, data: new Uint8Array(length).fill(0xab) };
}

test('RFC 7672 3.1.3: DANE-TA(2) and DANE-EE(3) with known parameters are usable', () => {
  for (const usage of [2, 3]) {
    for (const selector of [0, 1]) {
      assert.ok(isUsable(rec(usage, selector, 0, 300)), `${usage} ${selector} 0`);
      assert.ok(isUsable(rec(usage, selector, 1, 32)), `${usage} ${selector} 1`);
      assert.ok(isUsable(rec(usage, selector, 2, 64)), `${usage} ${selector} 2`);
    }
  }
});

test('RFC 7672 3.1.3: PKIX-TA(0) and PKIX-EE(1) are unusable for SMTP', () => {
  assert.equal(unusableReason(rec(0, 0, 1, 32)), 'pkix-usage');
  assert.equal(unusableReason(rec(1, 1, 1, 32)), 'pkix-usage');
});

test('RFC 6698 2.1: unknown usage, selector and matching type are unusable', () => {
  assert.equal(unusableReason(rec(4, 1, 1, 32)), 'unknown-usage');
  assert.equal(unusableReason(rec(3, 2, 1, 32)), 'unknown-selector');
  assert.equal(unusableReason(rec(3, 1, 3, 32)), 'unknown-matching-type');
});

test('RFC 6698 2.1.3: a digest of the wrong length for its matching type is unusable', () => {
  assert.equal(unusableReason(rec(3, 1, 1, 31)), 'bad-digest-length');
  assert.equal(unusableReason(rec(3, 1, 1, 64)), 'bad-digest-length');
  assert.equal(unusableReason(rec(3, 1, 2, 32)), 'bad-digest-length');
  assert.equal(unusableReason(rec(2, 0, 0, 0)), 'empty-data');
});

test('RFC 7672 3.1.3: usableRecords keeps the usable ones in order', () => {
  const a = rec(3, 1, 1, 32);
  const b = rec(2, 0, 1, 32);
  assert.deepEqual(usableRecords([rec(1, 1, 1, 32), a, rec(3, 1, 1, 5), b]), [a, b]);
});

test('RFC 8460 4.3: the TLSA policy-string is the record in presentation form', () => {
  const record: TlsaRecord = {
    usage: 3,
    selector: 1,
    matchingType: 1,
    data: Uint8Array.from([0x0a, 0xff, 0x10]),
  };
  assert.equal(policyString(record), '3 1 1 0AFF10');
});

test('RFC 7218 2: acronyms name the usages, selectors and matching types', () => {
  assert.equal(usageName(2), 'DANE-TA');
  assert.equal(usageName(9), undefined);
  assert.equal(describeRecord(rec(3, 1, 1, 32)), '3 1 1 (DANE-EE SPKI SHA2-256)');
  assert.equal(describeRecord(rec(2, 0, 2, 64)), '2 0 2 (DANE-TA Cert SHA2-512)');
});
