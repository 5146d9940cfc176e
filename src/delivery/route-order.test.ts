// The pure MX ordering rules of RFC 5321 5.1 and RFC 7505, with randomness injected.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { classifyMx, orderMxHosts, selectAddresses } from './route-order.js';

const mx = (preference: number, exchange: string) => ({ preference, exchange });

/** A deterministic generator so a shuffle can be checked against both possible outcomes. */
function sequence(...values: number[]): () => number {
  let index = 0;
  return () => values[index++ % values.length] ?? 0;
}

test('RFC 5321 5.1: hosts are tried in ascending preference', () => {
  const hosts = orderMxHosts([mx(30, 'c.example'), mx(10, 'a.example'), mx(20, 'b.example')], {
    maxHosts: 5,
    random: () => 0,
  });
  assert.deepEqual(
    hosts.map((h) => h.name),
    ['a.example', 'b.example', 'c.example'],
  );
});

test('RFC 5321 5.1: hosts of equal preference are shuffled with the injected randomness', () => {
  const records = [mx(10, 'a.example'), mx(10, 'b.example'), mx(20, 'z.example')];
  const low = orderMxHosts(records, { maxHosts: 5, random: sequence(0) });
  const high = orderMxHosts(records, { maxHosts: 5, random: sequence(0.99) });
  assert.deepEqual(
    low.map((h) => h.name),
    ['b.example', 'a.example', 'z.example'],
  );
  assert.deepEqual(
    high.map((h) => h.name),
    ['a.example', 'b.example', 'z.example'],
  );
});

test('RFC 5321 5.1: the shuffle does not depend on the order the server sent the records in', () => {
  const forward = [mx(10, 'a.example'), mx(10, 'b.example'), mx(10, 'c.example')];
  const backward = [...forward].reverse();
  const random = () => 0.4;
  assert.deepEqual(
    orderMxHosts(forward, { maxHosts: 5, random }),
    orderMxHosts(backward, { maxHosts: 5, random }),
  );
});

test('RFC 5321 5.1: at most maxHosts hosts are kept, the most preferred ones', () => {
  const records = [mx(50, 'e'), mx(40, 'd'), mx(30, 'c'), mx(20, 'b'), mx(10, 'a')];
  assert.deepEqual(
    orderMxHosts(records, { maxHosts: 2, random: () => 0 }).map((h) => h.name),
    ['a', 'b'],
  );
  assert.deepEqual(orderMxHosts(records, { maxHosts: 0, random: () => 0 }), []);
});

test('a host listed twice keeps its most preferred entry', () => {
  const hosts = orderMxHosts([mx(20, 'a.example'), mx(5, 'a.example'), mx(10, 'b.example')], {
    maxHosts: 5,
    random: () => 0,
  });
  assert.deepEqual(hosts, [
    { name: 'a.example', preference: 5 },
    { name: 'b.example', preference: 10 },
  ]);
});

test('RFC 7505 3: a single MX with exchange "." is a null MX', () => {
  assert.equal(classifyMx([mx(0, '')]), 'null-mx');
  assert.equal(classifyMx([mx(0, ''), mx(0, '')]), 'null-mx');
});

test('RFC 7505 3: a null MX mixed with real MX records is ignored, the real hosts are used', () => {
  const records = [mx(0, ''), mx(10, 'mx.example')];
  assert.equal(classifyMx(records), 'hosts');
  assert.deepEqual(orderMxHosts(records, { maxHosts: 5, random: () => 0 }), [
    { name: 'mx.example', preference: 10 },
  ]);
});

test('RFC 5321 5.1: no MX records means the implicit MX', () => {
  assert.equal(classifyMx([]), 'implicit');
});

test('addresses: IPv4 first, then IPv6, duplicates removed, at most max', () => {
  assert.deepEqual(selectAddresses(['192.0.2.1'], ['2001:db8::1'], { max: 2, ipv6: true }), [
    '192.0.2.1',
    '2001:db8::1',
  ]);
  assert.deepEqual(
    selectAddresses(['192.0.2.1', '192.0.2.2', '192.0.2.1'], ['2001:db8::1'], {
      max: 2,
      ipv6: true,
    }),
    ['192.0.2.1', '192.0.2.2'],
  );
  assert.deepEqual(selectAddresses([], ['2001:db8::1'], { max: 2, ipv6: false }), []);
  assert.deepEqual(selectAddresses([], ['2001:db8::1', '2001:db8::2'], { max: 5, ipv6: true }), [
    '2001:db8::1',
    '2001:db8::2',
  ]);
});
