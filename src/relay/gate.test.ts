import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConcurrencyGate } from './gate.js';

test('concurrency: global and per-domain limits, FIFO per domain, slots freed on completion', () => {
  const running: string[] = [];
  const finishers = new Map<string, () => void>();
  const gate = new ConcurrencyGate<string>({ global: 3, perDomain: 2 }, (item, done) => {
    running.push(item);
    finishers.set(item, done);
  });
  for (const item of ['a1', 'a2', 'a3', 'b1', 'b2']) gate.submit(item[0] ?? '', item);
  assert.deepEqual(running, ['a1', 'a2', 'b1']);
  assert.equal(gate.waiting, 2);
  finishers.get('a1')?.();
  finishers.get('a1')?.(); // idempotent
  assert.deepEqual(running, ['a1', 'a2', 'b1', 'a3']);
  assert.equal(gate.active, 3);
  assert.deepEqual(gate.clearWaiting(), ['b2']);
  assert.equal(gate.waiting, 0);
});
