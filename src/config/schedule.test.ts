import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig } from './load.js';

test('Stalwart queue.schedule: built-in schedules and the default selector (dsn -> dsn, else remote)', () => {
  const { config } = parseConfig('', 't.toml');
  assert.ok(config !== undefined);
  assert.deepEqual([...config.schedule.schedules.keys()].sort(), [
    'default',
    'dsn',
    'local',
    'remote',
    'report',
  ]);
  assert.deepEqual(
    config.schedule.selector.rules.map((r) => r.then.source),
    ["'dsn'", "'report'", "'remote'"],
  );
  assert.equal(config.worker.concurrency, 16);
});

test('queue.schedule.<id>: retry/notify lists (TOML or Stalwart expression form), expire or max-attempts', () => {
  const { config, diagnostics } = parseConfig(
    `
[queue.schedule.remote]
retry = "[1m, 5m]"
notify = ["1h", "1d"]
expire = "2d"
[queue.schedule.bulk]
retry = ["1h"]
max-attempts = 3
[queue.strategy]
schedule = [ { if = "priority < 0", then = "'bulk'" }, { else = "'remote'" } ]
`,
    't.toml',
  );
  assert.deepEqual(diagnostics, []);
  assert.deepEqual(config?.schedule.schedules.get('remote')?.retry, [60_000, 300_000]);
  assert.deepEqual(config?.schedule.schedules.get('bulk')?.expire, {
    kind: 'attempts',
    maxAttempts: 3,
  });
  assert.equal(config?.schedule.schedules.get('bulk')?.queueName, 'bulk');
});

test('queue.schedule.<id>: expire with max-attempts, decreasing notify and unknown names are errors', () => {
  const both = parseConfig('[queue.schedule.x]\nexpire = "1d"\nmax-attempts = 3\n', 't.toml');
  assert.match(both.diagnostics.map((d) => d.message).join('\n'), /exclude each other/);
  const order = parseConfig('[queue.schedule.x]\nnotify = ["1d", "1h"]\n', 't.toml');
  assert.match(order.diagnostics.map((d) => d.message).join('\n'), /must increase/);
  const unknown = parseConfig(`[queue.strategy]\nschedule = "'remot'"\n`, 't.toml');
  assert.match(
    unknown.diagnostics.map((d) => d.message).join('\n'),
    /unknown schedule strategy 'remot'; did you mean 'remote'/,
  );
  const worker = parseConfig('[queue.worker]\nlease = "10ms"\n', 't.toml');
  assert.match(worker.diagnostics.map((d) => d.message).join('\n'), /too short/);
});
