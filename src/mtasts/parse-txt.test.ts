import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { discoverStsRecord, isStsCandidate, parseStsTxt } from './parse-txt.js';

describe('RFC 8461 3.1: _mta-sts TXT record', () => {
  test('RFC 8461 3.1: the RFC example "v=STSv1; id=20160831085700Z;" parses', () => {
    assert.deepEqual(discoverStsRecord(['v=STSv1; id=20160831085700Z;']), {
      kind: 'record',
      id: '20160831085700Z',
      record: 'v=STSv1; id=20160831085700Z;',
    });
  });

  const valid: readonly [string, string][] = [
    ['v=STSv1;id=abc', 'abc'],
    ['v=STSv1; id=abc', 'abc'],
    ['v=STSv1 ; id=abc ;', 'abc'],
    ['v=STSv1;\tid=abc;\t', 'abc'],
    ['v=STSv1; id=abc; ext=value', 'abc'],
    ['v=STSv1; ext-1.x_y=v!al:ue; id=abc', 'abc'],
    [`v=STSv1; id=${'a1'.repeat(16)}`, 'a1'.repeat(16)],
  ];
  for (const [record, id] of valid) {
    test(`RFC 8461 3.1: ${JSON.stringify(record)} gives id ${id}`, () => {
      const parsed = parseStsTxt(record);
      assert.equal(parsed.ok && parsed.id, id);
    });
  }

  test('RFC 8461 3.1: unknown extension fields are kept aside and ignored', () => {
    const parsed = parseStsTxt('v=STSv1; id=1; future=yes');
    assert.ok(parsed.ok);
    assert.equal(parsed.extensions.get('future'), 'yes');
  });

  const invalid: readonly [string, string][] = [
    ['v=STSv1;', 'no fields'],
    ['v=STSv1; ext=1', 'missing id'],
    ['v=STSv1; id=', 'empty id'],
    ['v=STSv1; id=abc-def', 'id with a hyphen'],
    ['v=STSv1; id=abc_def', 'id with an underscore'],
    [`v=STSv1; id=${'a'.repeat(33)}`, 'id of 33 characters'],
    ['v=STSv1; id=a b', 'whitespace inside id'],
    ['v=STSv1; id=abc; id=def', 'two ids'],
    ['v=STSv1;; id=abc', 'empty field'],
    ['v=STSv1; ID=abc', 'upper-case ID is an extension, so id is missing'],
    ['v=STSv1; id=abc ', 'trailing whitespace without a delimiter'],
    ['v=STSv1; id=abc; =x', 'extension without a name'],
    ['v=STSv1; id=abc; ext=a=b', 'extension value containing "="'],
  ];
  for (const [record, what] of invalid) {
    test(`RFC 8461 3.1: ${what} (${JSON.stringify(record)}) is invalid, so the domain has no policy`, () => {
      assert.equal(parseStsTxt(record).ok, false);
      const discovery = discoverStsRecord([record]);
      assert.equal(discovery.kind === 'none' && discovery.reason, 'invalid-record');
    });
  }

  test('RFC 8461 3.1: no TXT record at all means no policy', () => {
    assert.deepEqual(discoverStsRecord([]).kind, 'none');
    const discovery = discoverStsRecord([]);
    assert.equal(discovery.kind === 'none' && discovery.reason, 'no-record');
  });

  test('RFC 8461 3.1: records not starting with v=STSv1 are discarded', () => {
    const discovery = discoverStsRecord([
      'v=spf1 -all',
      'google-site-verification=x',
      'v=STSv1; id=one',
    ]);
    assert.equal(discovery.kind === 'record' && discovery.id, 'one');
  });

  test('RFC 8461 3.1: two v=STSv1 records mean no policy', () => {
    const discovery = discoverStsRecord(['v=STSv1; id=one', 'v=STSv1; id=two']);
    assert.equal(discovery.kind === 'none' && discovery.reason, 'multiple-records');
  });

  test('RFC 8461 3.1: an invalid v=STSv1 record still counts, so with a valid one there are two', () => {
    const discovery = discoverStsRecord(['v=STSv1; id=bad-id', 'v=STSv1; id=good']);
    assert.equal(discovery.kind === 'none' && discovery.reason, 'multiple-records');
  });

  const notCandidates = [
    'V=STSv1; id=abc',
    'v=stsv1; id=abc',
    'v=STSv2; id=abc',
    ' v=STSv1; id=abc',
    'v=STSv1',
    'v=STSv1 id=abc',
    'v=STSv10; id=abc',
  ];
  for (const record of notCandidates) {
    test(`RFC 8461 3.1: ${JSON.stringify(record)} is not a v=STSv1 record (case-sensitive, exact)`, () => {
      assert.equal(isStsCandidate(record), false);
      const discovery = discoverStsRecord([record]);
      assert.equal(discovery.kind === 'none' && discovery.reason, 'no-record');
    });
  }
});
