import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { makeQueueId, queueIdTime } from './id.js';

describe('queue ids', () => {
  test('time first, then randomness: ids of later messages sort after earlier ones as strings', () => {
    const a = makeQueueId(1_750_000_000_000, new Uint8Array([255, 255, 255, 255, 255]));
    const b = makeQueueId(1_750_000_000_001, new Uint8Array([0, 0, 0, 0, 0]));
    assert.ok(a < b);
    assert.equal(a, '01977420dc00ffffffffff');
    assert.equal(queueIdTime(b), 1_750_000_000_001);
  });

  test('anything else is not a queue id', () => {
    for (const text of ['', '01977420dc00ffffffffff0', '01977420DC00FFFFFFFFFF', '../etc/passwd'])
      assert.equal(queueIdTime(text), undefined);
  });

  test('misuse throws: a negative or fractional time, too few random bytes', () => {
    assert.throws(() => makeQueueId(-1, new Uint8Array(5)), RangeError);
    assert.throws(() => makeQueueId(1.5, new Uint8Array(5)), RangeError);
    assert.throws(() => makeQueueId(0, new Uint8Array(4)), RangeError);
  });
});
