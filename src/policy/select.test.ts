import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import diagnostics_channel from 'node:diagnostics_channel';
import { parseConfig } from '../config/load.js';
import { channels } from '../core/events.js';
import type { StrategyFallbackEvent } from '../core/events.js';
import { INITIAL_CONTEXT } from '../cli/context.js';
import { reportFallback, selectStrategy } from './select.js';

const config = (source: string) => {
  const result = parseConfig(source, 'f');
  assert.ok(result.config, result.diagnostics.map((d) => d.message).join('\n'));
  return result.config;
};

describe('strategy selection', () => {
  test('rules are tried in order and the first true condition wins', () => {
    const c = config(
      `[queue.strategy]\ntls = [ { if = "retry_num > 0", then = "'invalid-tls'" }, { if = "retry_num > 1", then = "'x'" }, { else = "'default'" } ]\n[queue.tls.x]\ndane = "require"\n`,
    );
    const s = selectStrategy(c.tls.selector, c.tls.strategies, {
      ...INITIAL_CONTEXT,
      retry_num: 5,
    });
    assert.equal(s.name, 'invalid-tls');
    assert.equal(s.rule.index, 0);
    assert.equal(s.rule.condition, 'retry_num > 0');
  });

  test('the else rule is taken when no condition holds', () => {
    const c = config('');
    const s = selectStrategy(c.tls.selector, c.tls.strategies, INITIAL_CONTEXT);
    assert.equal(s.name, 'default');
    assert.equal(s.rule.index, 1);
    assert.equal(s.rule.condition, undefined);
  });

  test('a computed name that matches no strategy falls back to default and says so', () => {
    const c = config(`[queue.strategy]\ntls = "mx"\n`);
    const s = selectStrategy(c.tls.selector, c.tls.strategies, {
      ...INITIAL_CONTEXT,
      mx: 'mx.unknown.example',
    });
    assert.equal(s.name, 'default');
    assert.deepEqual(s.fallback, { computed: 'mx.unknown.example', used: 'default' });
  });

  test('a computed name that matches a strategy selects it', () => {
    const c = config(
      `[queue.strategy]\ntls = "mx"\n[queue.tls."mx.example"]\nstarttls = "require"\n`,
    );
    const s = selectStrategy(c.tls.selector, c.tls.strategies, {
      ...INITIAL_CONTEXT,
      mx: 'mx.example',
    });
    assert.equal(s.name, 'mx.example');
    assert.equal(s.strategy.starttls, 'require');
    assert.equal(s.fallback, undefined);
  });

  test('a fallback selection is published on the strategy fallback channel; a normal one is not', () => {
    const c = config(`[queue.strategy]\ntls = "mx"\n`);
    const seen: StrategyFallbackEvent[] = [];
    const listener = (message: unknown) => seen.push(message as StrategyFallbackEvent);
    diagnostics_channel.subscribe(channels.strategyFallback.name, listener);
    try {
      reportFallback(
        selectStrategy(c.tls.selector, c.tls.strategies, {
          ...INITIAL_CONTEXT,
          mx: 'nope.example',
        }),
        c.tls.selector.key,
      );
      reportFallback(
        selectStrategy(c.tls.selector, c.tls.strategies, { ...INITIAL_CONTEXT, mx: 'default' }),
        c.tls.selector.key,
      );
    } finally {
      diagnostics_channel.unsubscribe(channels.strategyFallback.name, listener);
    }
    assert.deepEqual(seen, [
      {
        selector: 'queue.strategy.tls',
        computed: 'nope.example',
        fallback: 'default',
        ruleIndex: 0,
      },
    ]);
  });
});
