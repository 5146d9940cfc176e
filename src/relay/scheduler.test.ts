/**
 * The scheduler's lease heartbeat, with a fake clock and a fake timer: a delivery that runs longer than
 * its lease keeps the lease (nobody else can claim the work meanwhile), the heartbeat stops when the
 * delivery ends, and the lease of an owner whose heartbeat stopped (a dead process) is free once it ends.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_WORKER } from '../config/schedule.js';
import type { Timer } from '../core/ports.js';
import type { Claim } from '../queue/model.js';
import { MemoryStore } from '../queue/memory-store.js';
import { Scheduler } from './scheduler.js';

const T0 = Date.UTC(2026, 0, 1);
const LEASE = 60_000;

/** Timers fire only when the test moves the clock. */
class FakeTime implements Timer {
  now = T0;
  private timers: { at: number; fn: () => void; id: number }[] = [];
  private next = 1;

  set(fn: () => void, ms: number): unknown {
    const id = this.next++;
    this.timers.push({ at: this.now + ms, fn, id });
    return id;
  }

  clear(handle: unknown): void {
    this.timers = this.timers.filter((t) => t.id !== handle);
  }

  get pending(): number {
    return this.timers.length;
  }

  /** Moves the clock in steps, firing due timers and letting their promises settle. */
  async advance(ms: number, step = 1_000): Promise<void> {
    const end = this.now + ms;
    while (this.now < end) {
      this.now = Math.min(end, this.now + step);
      for (const t of this.timers.filter((x) => x.at <= this.now)) {
        this.clear(t.id);
        t.fn();
      }
      await new Promise((resolve) => setImmediate(resolve));
    }
  }
}

const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined };

async function setup(): Promise<{ store: MemoryStore; time: FakeTime; id: string }> {
  const store = new MemoryStore();
  const time = new FakeTime();
  const queued = await store.enqueue({
    returnPath: 'sender@example.org',
    recipients: [{ address: 'a@example.com' }],
    body: new TextEncoder().encode('Subject: t\r\n\r\nhi\r\n'),
    createdAt: T0,
    expiresAt: T0 + 86_400_000,
  });
  assert.ok(queued.ok);
  return { store, time, id: queued.value };
}

function scheduler(
  store: MemoryStore,
  time: FakeTime,
  run: (claim: Claim) => Promise<void>,
): Scheduler {
  return new Scheduler({
    store,
    // No polls during the test: a poll would re-claim expired work and hide a missing heartbeat.
    worker: () => ({ ...DEFAULT_WORKER, leaseMs: LEASE, pollIntervalMs: 86_400_000 }),
    owner: 'relay-a',
    now: () => time.now,
    timer: time,
    logger: quiet,
    run,
  });
}

test('a delivery that outlasts its lease renews it, so the work is never handed out twice', async () => {
  const { store, time } = await setup();
  let finish: () => void = () => undefined;
  const running = new Promise<void>((resolve) => (finish = resolve));
  const relay = scheduler(store, time, () => running);
  relay.start();
  await time.advance(0);
  assert.equal(relay.active, 1);
  // Five leases long: without the heartbeat another owner could claim after the first.
  for (let i = 0; i < 5; i++) {
    await time.advance(LEASE);
    const other = await store.claimDue(time.now, 10, LEASE, 'relay-b');
    assert.deepEqual(other.ok ? other.value : other.error, [], `after ${i + 1} lease(s)`);
  }
  finish();
  await relay.idle();
  await relay.stop(0);
});

test("the heartbeat stops with the delivery; a dead owner's lease is free once it ends", async () => {
  const { store, time, id } = await setup();
  let finish: () => void = () => undefined;
  const running = new Promise<void>((resolve) => (finish = resolve));
  // The delivery ends without recording anything, as when the process dies after it.
  const relay = scheduler(store, time, () => running);
  relay.start();
  await time.advance(LEASE);
  const leased = await store.get(id);
  assert.ok(leased.ok);
  const until = leased.value.recipients[0]?.lease?.until ?? 0;
  assert.ok(until > T0 + LEASE, 'renewed while the delivery ran');
  finish();
  await relay.idle();
  await relay.stop(0);
  await time.advance(LEASE);
  const after = await store.get(id);
  assert.ok(after.ok);
  assert.equal(
    after.value.recipients[0]?.lease?.until,
    until,
    'not renewed after the delivery ended',
  );
  const early = await store.claimDue(until - 1, 10, LEASE, 'relay-b');
  assert.equal(early.ok ? early.value.length : -1, 0);
  const other = await store.claimDue(until, 10, LEASE, 'relay-b');
  assert.equal(other.ok ? other.value.length : -1, 1, 'free once the last renewed lease ends');
});
