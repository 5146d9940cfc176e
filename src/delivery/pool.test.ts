/**
 * The session pool without sockets: fake sessions that count RSETs and QUITs, and a manual timer, so
 * idle expiry is driven by the test instead of the clock. Also the reuse key: what must separate two
 * deliveries (host, address, port, strategy, every part of the host plan, trust store) and what must not
 * (the order DNS happened to return records in).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ConnectionPool, DEFAULT_POOL_LIMITS, poolKey } from './pool.js';
import type { PoolKeyInput, PoolLimits } from './pool.js';
import { DEFAULT_SMTP_TIMEOUTS } from '../smtp/timeouts.js';
import type { TlsaRecord } from '../dns/types.js';
import type { Authentication } from '../policy/host-plan.js';
import type { Timer } from '../core/ports.js';

class FakeSession {
  rsets = 0;
  quits = 0;
  constructor(
    readonly name: string,
    private readonly rsetOk = true,
  ) {}
  rset(): Promise<{ ok: boolean }> {
    this.rsets++;
    return Promise.resolve({ ok: this.rsetOk });
  }
  quit(): Promise<void> {
    this.quits++;
    return Promise.resolve();
  }
}

class ManualTimer implements Timer {
  private next = 0;
  readonly pending = new Map<number, { fn: () => void; ms: number }>();
  set(fn: () => void, ms: number): unknown {
    const id = ++this.next;
    this.pending.set(id, { fn, ms });
    return id;
  }
  clear(handle: unknown): void {
    this.pending.delete(handle as number);
  }
  fireAll(): void {
    const due = [...this.pending.values()];
    this.pending.clear();
    for (const t of due) t.fn();
  }
}

function pool(
  limits: Partial<PoolLimits> = {},
  timer = new ManualTimer(),
): { p: ConnectionPool<FakeSession, string>; timer: ManualTimer } {
  return {
    p: new ConnectionPool<FakeSession, string>({
      limits: () => ({ ...DEFAULT_POOL_LIMITS, ...limits }),
      timer,
    }),
    timer,
  };
}

describe('ConnectionPool', () => {
  test('RFC 5321 4.1.1.5: a pooled session is handed out only after RSET succeeded on it', async () => {
    const { p } = pool();
    const s = new FakeSession('a');
    assert.equal(p.release('k', { session: s, meta: 'facts', messages: 1 }), true);
    const got = await p.acquire('k');
    assert.equal(got?.session, s);
    assert.equal(got?.meta, 'facts');
    assert.equal(got?.messages, 1);
    assert.equal(s.rsets, 1);
    assert.equal(p.size, 0, 'a session in use is not idle');
  });

  test('RFC 5321 4.1.1.5: a failed RSET retires the session with QUIT and is a miss, not an error', async () => {
    const { p } = pool();
    const dead = new FakeSession('dead', false);
    p.release('k', { session: dead, meta: 'm', messages: 1 });
    assert.equal(await p.acquire('k'), undefined);
    assert.equal(dead.quits, 1);
    assert.equal(p.size, 0);
  });

  test('after a failed RSET the next idle session for the same key is tried', async () => {
    const { p } = pool();
    const good = new FakeSession('good');
    const dead = new FakeSession('dead', false);
    p.release('k', { session: good, meta: 'm', messages: 1 });
    p.release('k', { session: dead, meta: 'm', messages: 1 });
    const got = await p.acquire('k');
    assert.equal(got?.session, good);
    assert.deepEqual([dead.quits, good.quits], [1, 0]);
  });

  test('a session is only handed out for the key it was released under', async () => {
    const { p } = pool();
    const s = new FakeSession('a');
    p.release('k1', { session: s, meta: 'm', messages: 1 });
    assert.equal(await p.acquire('k2'), undefined);
    assert.equal(s.rsets, 0, 'no RSET is sent to a session of another key');
    assert.equal(p.sizeOf('k1'), 1);
  });

  test('concurrent acquires never share one session', async () => {
    const { p } = pool();
    p.release('k', { session: new FakeSession('a'), meta: 'm', messages: 1 });
    const [x, y] = await Promise.all([p.acquire('k'), p.acquire('k')]);
    assert.equal([x, y].filter((v) => v !== undefined).length, 1);
  });

  test('max messages per connection: a session that carried the limit is retired on release', () => {
    const { p } = pool({ maxMessages: 3 });
    const tired = new FakeSession('tired');
    const fresh = new FakeSession('fresh');
    assert.equal(p.release('k', { session: tired, meta: 'm', messages: 3 }), false);
    assert.equal(p.release('k', { session: fresh, meta: 'm', messages: 2 }), true);
    assert.deepEqual([tired.quits, fresh.quits, p.size], [1, 0, 1]);
  });

  test('RFC 5321 4.1.1.10: an idle session is closed with QUIT when the idle timeout passes', async () => {
    const { p, timer } = pool({ idleMs: 1234 });
    const s = new FakeSession('a');
    p.release('k', { session: s, meta: 'm', messages: 1 });
    assert.deepEqual(
      [...timer.pending.values()].map((t) => t.ms),
      [1234],
    );
    timer.fireAll();
    assert.deepEqual([s.quits, p.size], [1, 0]);
    assert.equal(await p.acquire('k'), undefined);
  });

  test('taking a session cancels its idle timer', async () => {
    const { p, timer } = pool();
    const s = new FakeSession('a');
    p.release('k', { session: s, meta: 'm', messages: 1 });
    await p.acquire('k');
    assert.equal(timer.pending.size, 0);
  });

  test('max pooled connections: the oldest idle session is retired to make room', () => {
    const { p, timer } = pool({ maxConnections: 2 });
    const [a, b, c] = [new FakeSession('a'), new FakeSession('b'), new FakeSession('c')];
    p.release('k1', { session: a, meta: 'm', messages: 1 });
    p.release('k2', { session: b, meta: 'm', messages: 1 });
    p.release('k3', { session: c, meta: 'm', messages: 1 });
    assert.deepEqual([a.quits, b.quits, c.quits, p.size, timer.pending.size], [1, 0, 0, 2, 2]);
  });

  test('maxConnections 0 keeps nothing', () => {
    const { p } = pool({ maxConnections: 0 });
    const s = new FakeSession('a');
    assert.equal(p.release('k', { session: s, meta: 'm', messages: 1 }), false);
    assert.equal(s.quits, 1);
  });

  test('limits are read at every release, so a reload applies to the next connection', () => {
    let limits: PoolLimits = { ...DEFAULT_POOL_LIMITS, maxMessages: 10 };
    const p = new ConnectionPool<FakeSession, string>({
      limits: () => limits,
      timer: new ManualTimer(),
    });
    assert.equal(p.release('k', { session: new FakeSession('a'), meta: 'm', messages: 5 }), true);
    limits = { ...limits, maxMessages: 5 };
    assert.equal(p.release('k', { session: new FakeSession('b'), meta: 'm', messages: 5 }), false);
  });

  test('close QUITs every idle session; sessions released afterwards are retired at once', async () => {
    const { p, timer } = pool();
    const [a, b] = [new FakeSession('a'), new FakeSession('b')];
    p.release('k1', { session: a, meta: 'm', messages: 1 });
    p.release('k2', { session: b, meta: 'm', messages: 1 });
    await p.close();
    assert.deepEqual([a.quits, b.quits, p.size, timer.pending.size], [1, 1, 0, 0]);
    const late = new FakeSession('late');
    assert.equal(p.release('k1', { session: late, meta: 'm', messages: 1 }), false);
    assert.equal(late.quits, 1);
    assert.equal(await p.acquire('k1'), undefined);
  });
});

const RECORD = { usage: 3, selector: 1, matchingType: 1, data: new Uint8Array([1, 2, 3]) };
const OTHER_RECORD = { usage: 2, selector: 0, matchingType: 1, data: new Uint8Array([9, 9]) };
const TRUST = {};

function dane(usable: TlsaRecord[], referenceNames: string[]): Authentication {
  return {
    kind: 'dane',
    plan: { kind: 'authenticate', usable, referenceNames, policyStrings: [] },
  };
}

function keyInput(over: Partial<PoolKeyInput> = {}): PoolKeyInput {
  return {
    mxHost: 'mx.example.test',
    ip: '192.0.2.1',
    port: 25,
    strategy: 'default',
    plan: {
      kind: 'connect',
      tls: 'required',
      authentication: dane([RECORD, OTHER_RECORD], ['mx.example.test']),
      sts: 'off',
      reasons: ['ignored'],
    },
    mtaSts: { kind: 'disabled' },
    ehloName: 'client.test',
    timeouts: DEFAULT_SMTP_TIMEOUTS,
    trust: TRUST,
    ...over,
  };
}

const enforce = (patterns: string[]) => ({
  kind: 'enforce' as const,
  patterns,
  report: {
    policyType: 'sts' as const,
    policyDomain: 'example.test',
    policyText: '',
    mxPatterns: patterns,
  },
});

describe('poolKey', () => {
  const base = poolKey(keyInput());

  test('equal inputs give equal keys; reasons, host name case and record order do not matter', () => {
    const plan = {
      kind: 'connect' as const,
      tls: 'required' as const,
      authentication: dane([OTHER_RECORD, RECORD], ['MX.example.test']),
      sts: 'off' as const,
      reasons: [],
    };
    assert.equal(poolKey(keyInput({ mxHost: 'MX.Example.Test', plan })), base);
  });

  test('another host name, address, port or strategy name is another key', () => {
    for (const over of [
      { mxHost: 'mx2.example.test' },
      { ip: '192.0.2.2' },
      { port: 2525 },
      { strategy: 'invalid-tls' },
    ]) {
      assert.notEqual(poolKey(keyInput(over)), base, JSON.stringify(over));
    }
  });

  test('RFC 7672 2.2: other TLSA records or reference names are another key', () => {
    const plan = keyInput().plan;
    assert.notEqual(
      poolKey(keyInput({ plan: { ...plan, authentication: dane([RECORD], ['mx.example.test']) } })),
      base,
    );
    assert.notEqual(
      poolKey(
        keyInput({
          plan: {
            ...plan,
            authentication: dane([RECORD, OTHER_RECORD], ['mx.example.test', 'example.test']),
          },
        }),
      ),
      base,
    );
  });

  test('a different TLS requirement or authentication kind is another key', () => {
    const plan = keyInput().plan;
    assert.notEqual(poolKey(keyInput({ plan: { ...plan, tls: 'opportunistic' } })), base);
    assert.notEqual(
      poolKey(keyInput({ plan: { ...plan, authentication: { kind: 'pkix' } } })),
      poolKey(keyInput({ plan: { ...plan, authentication: { kind: 'none' } } })),
    );
  });

  test('RFC 8461 4.1: other MTA-STS patterns or mode are another key; pattern order is not', () => {
    const sts = poolKey(keyInput({ mtaSts: enforce(['mx.example.test', '*.example.test']) }));
    assert.notEqual(sts, base);
    assert.equal(
      poolKey(keyInput({ mtaSts: enforce(['*.example.test', 'mx.example.test']) })),
      sts,
    );
    assert.notEqual(poolKey(keyInput({ mtaSts: enforce(['mx.example.test']) })), sts);
    assert.notEqual(
      poolKey(
        keyInput({
          mtaSts: { ...enforce(['mx.example.test', '*.example.test']), kind: 'testing' },
        }),
      ),
      sts,
    );
  });

  test('another trust store (a reload), EHLO name or timeouts is another key', () => {
    assert.notEqual(poolKey(keyInput({ trust: {} })), base);
    assert.equal(poolKey(keyInput({ trust: TRUST })), base);
    assert.notEqual(poolKey(keyInput({ ehloName: 'other.test' })), base);
    assert.notEqual(poolKey(keyInput({ timeouts: { ...DEFAULT_SMTP_TIMEOUTS, data: 1 } })), base);
  });
});
