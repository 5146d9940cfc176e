import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseDuration } from '../core/duration.js';
import type { ScheduleSettings } from './schedule.js';
import {
  checkSchedule,
  DEFAULT_SCHEDULES,
  expiresAtFor,
  isExpired,
  nextNotifyAt,
  nextRetryAt,
  notifyDue,
} from './schedule.js';

const d = (text: string): number => {
  const ms = parseDuration(text);
  if (ms === undefined) throw new Error(`bad duration ${text}`);
  return ms;
};
const T0 = Date.UTC(2025, 0, 1);
const remote: ScheduleSettings = DEFAULT_SCHEDULES.remote;

describe('queue.schedule defaults (Stalwart built-ins)', () => {
  test('remote and local: retry [2m, 5m, 10m, 15m, 30m, 1h, 2h], notify [1d, 3d], expire 3d', () => {
    for (const s of [DEFAULT_SCHEDULES.remote, DEFAULT_SCHEDULES.local]) {
      assert.deepEqual(s.retry, ['2m', '5m', '10m', '15m', '30m', '1h', '2h'].map(d));
      assert.deepEqual(s.notify, ['1d', '3d'].map(d));
      assert.deepEqual(s.expire, { kind: 'ttl', ttl: d('3d') });
    }
    assert.equal(DEFAULT_SCHEDULES.remote.queueName, 'remote');
    assert.equal(DEFAULT_SCHEDULES.local.queueName, 'local');
  });

  test('dsn: retry [15m, 30m, 1h, 2h], no delay notices, 10 attempts', () => {
    assert.deepEqual(DEFAULT_SCHEDULES.dsn.retry, ['15m', '30m', '1h', '2h'].map(d));
    assert.deepEqual(DEFAULT_SCHEDULES.dsn.notify, []);
    assert.deepEqual(DEFAULT_SCHEDULES.dsn.expire, { kind: 'attempts', maxAttempts: 10 });
  });

  test('report: retry [30m, 1h, 2h], no delay notices, 8 attempts', () => {
    assert.deepEqual(DEFAULT_SCHEDULES.report.retry, ['30m', '1h', '2h'].map(d));
    assert.deepEqual(DEFAULT_SCHEDULES.report.notify, []);
    assert.deepEqual(DEFAULT_SCHEDULES.report.expire, { kind: 'attempts', maxAttempts: 8 });
  });

  test('every built-in schedule passes checkSchedule', () => {
    for (const s of Object.values(DEFAULT_SCHEDULES)) assert.deepEqual(checkSchedule(s), []);
  });
});

describe('nextRetryAt', () => {
  const cases: Array<[number, string]> = [
    [0, '2m'],
    [1, '5m'],
    [2, '10m'],
    [5, '1h'],
    [6, '2h'],
    [7, '2h'],
    [50, '2h'],
  ];
  for (const [retryNum, wait] of cases) {
    test(`after the attempt with retry_num ${retryNum} fails, the next waits ${wait} (the last interval repeats)`, () => {
      const now = T0 + d('1h');
      assert.equal(nextRetryAt(remote, retryNum, now), now + d(wait));
    });
  }

  test('a one-entry list waits the same every time', () => {
    const s: ScheduleSettings = { ...remote, retry: [d('10m')] };
    assert.equal(nextRetryAt(s, 0, T0), T0 + d('10m'));
    assert.equal(nextRetryAt(s, 9, T0), T0 + d('10m'));
  });

  test('a negative retry_num is treated as the first failure', () => {
    assert.equal(nextRetryAt(remote, -1, T0), T0 + d('2m'));
  });
});

describe('isExpired', () => {
  const cases: Array<[string, ScheduleSettings, number, number, boolean]> = [
    ['ttl 3d: 3d minus 1 ms after arrival is not expired', remote, 1, T0 + d('3d') - 1, false],
    ['ttl 3d: exactly 3d after arrival is expired', remote, 1, T0 + d('3d'), true],
    ['ttl 3d: the attempt count does not matter', remote, 1000, T0 + d('1h'), false],
    [
      'max-attempts 10: 9 attempts made is not expired',
      DEFAULT_SCHEDULES.dsn,
      9,
      T0 + d('30d'),
      false,
    ],
    ['max-attempts 10: 10 attempts made is expired', DEFAULT_SCHEDULES.dsn, 10, T0, true],
    ['max-attempts 8 (report): 8 attempts made is expired', DEFAULT_SCHEDULES.report, 8, T0, true],
  ];
  for (const [name, settings, attempts, now, expected] of cases) {
    test(name, () => assert.equal(isExpired(settings, { createdAt: T0 }, attempts, now), expected));
  }

  test('expiresAtFor: creation + ttl, or null for attempt-limited schedules', () => {
    assert.equal(expiresAtFor(remote, T0), T0 + d('3d'));
    assert.equal(expiresAtFor(DEFAULT_SCHEDULES.dsn, T0), null);
  });
});

describe('RFC 3464 delay notifications (notifyDue)', () => {
  const longer: ScheduleSettings = { ...remote, expire: { kind: 'ttl', ttl: d('5d') } };
  const cases: Array<[string, ScheduleSettings, number, number, boolean]> = [
    ['none sent, 1d minus 1 ms after arrival: not due', remote, 0, T0 + d('1d') - 1, false],
    ['none sent, 1d after arrival: the first is due', remote, 0, T0 + d('1d'), true],
    ['one sent, 2d after arrival: the second (3d) is not due yet', longer, 1, T0 + d('2d'), false],
    ['one sent, 3d after arrival with expire 5d: the second is due', longer, 1, T0 + d('3d'), true],
    [
      'one sent, 3d with expire 3d: dropped, the failure DSN replaces it',
      remote,
      1,
      T0 + d('3d'),
      false,
    ],
    ['both sent: nothing more is ever due', longer, 2, T0 + d('30d'), false],
    [
      'a schedule without notify never sends delay DSNs',
      DEFAULT_SCHEDULES.dsn,
      0,
      T0 + d('30d'),
      false,
    ],
  ];
  for (const [name, settings, notifyNum, now, expected] of cases) {
    test(name, () => assert.equal(notifyDue(settings, notifyNum, T0, now), expected));
  }

  test('nextNotifyAt counts from arrival, not from the previous notice', () => {
    assert.equal(nextNotifyAt(longer, 0, T0), T0 + d('1d'));
    assert.equal(nextNotifyAt(longer, 1, T0), T0 + d('3d'));
    assert.equal(nextNotifyAt(longer, 2, T0), null);
  });
});

describe('checkSchedule', () => {
  const cases: Array<[string, ScheduleSettings, RegExp]> = [
    ['an empty retry list', { ...remote, retry: [] }, /retry needs at least one duration/],
    ['a zero retry wait', { ...remote, retry: [0] }, /retry duration 0 ms is not positive/],
    [
      'notify not increasing',
      { ...remote, notify: [d('3d'), d('1d')] },
      /must increase: 1d after 3d/,
    ],
    [
      'a zero expire',
      { ...remote, expire: { kind: 'ttl', ttl: 0 } },
      /expire must be a positive duration/,
    ],
    [
      'max-attempts 0',
      { ...remote, expire: { kind: 'attempts', maxAttempts: 0 } },
      /max-attempts must be an integer of at least 1/,
    ],
    ['an empty queue-name', { ...remote, queueName: '' }, /queue-name must not be empty/],
  ];
  for (const [name, settings, pattern] of cases) {
    test(`rejects ${name}`, () => {
      const problems = checkSchedule(settings);
      assert.equal(problems.length, 1, problems.join('; '));
      assert.match(problems[0]!, pattern);
    });
  }
});
