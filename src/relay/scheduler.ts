/**
 * The relay's delivery loop. It claims due work from the queue store under a lease owned by this
 * process, runs each claim through the concurrency gate (`[queue.worker]` concurrency and
 * concurrency-per-domain), and claims again when slots free up, when `wake()` is called (a message was
 * enqueued) or when the poll interval passes (retries that fell due, and other writers of the store).
 * The clock and the timer are inputs, so tests drive it with `drain()` and a fixed `now`.
 *
 * While a delivery runs, its lease is renewed every third of the lease (`heartbeat`), so it is never
 * handed out again mid-delivery however long it takes. Stopping stops claiming, waits for deliveries in
 * flight up to a grace period, and abandons the rest: their heartbeats stop, and the recipients are
 * claimed again later (recovered at once by this node's next start, or by another after the lease), so
 * nothing is lost; at worst a message whose transaction finished but was not recorded is
 * delivered twice. Claims that waited for a domain slot are dropped the same way. A claim for work this
 * process is still running (its lease expired mid-delivery and the store handed it out again) is
 * ignored, so one process never delivers the same recipients twice at once. Never throws: store errors
 * and unexpected delivery errors are logged and retried on the next poll.
 */
import type { WorkerConfig } from '../config/types.js';
import type { Claim } from '../queue/model.js';
import type { QueueStore } from '../queue/store.js';
import { ConcurrencyGate } from './gate.js';
import type { Clock, Logger, Timer } from '../core/ports.js';

export const NODE_TIMER: Timer = {
  set: (fn, ms) => setTimeout(fn, ms),
  clear: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

export interface SchedulerOptions {
  readonly store: QueueStore;
  readonly worker: () => WorkerConfig;
  readonly owner: string;
  readonly now: Clock;
  readonly timer?: Timer;
  readonly logger: Logger;
  /** Delivers one claim; rejections are logged, never propagated. */
  readonly run: (claim: Claim) => Promise<void>;
}

export interface StopResult {
  /** Deliveries still running when the grace period ended. */
  readonly abandoned: number;
  /** Claims that had not started; their leases will expire. */
  readonly dropped: number;
}

const keyOf = (claim: Claim): string => `${claim.message.id}\u0000${claim.domain}`;

export class Scheduler {
  private readonly timer: Timer;
  private readonly gate: ConcurrencyGate<Claim>;
  /** Claims this process holds, running or waiting: a second claim of one of them is ignored. */
  private readonly inFlight = new Set<string>();
  /** Claims whose delivery is running. */
  private readonly running = new Set<string>();
  private readonly idleWaiters: Array<() => void> = [];
  private pollHandle: unknown = undefined;
  private pumping: Promise<number> | undefined;
  private again = false;
  private stopping = false;
  private started = false;

  constructor(private readonly options: SchedulerOptions) {
    this.timer = options.timer ?? NODE_TIMER;
    const worker = options.worker();
    this.gate = new ConcurrencyGate<Claim>(
      { global: worker.concurrency, perDomain: worker.concurrencyPerDomain },
      (claim, done) => this.execute(claim, done),
    );
  }

  /** Deliveries running now. */
  get active(): number {
    return this.gate.active;
  }

  /** Starts the loop: claims now, then on every wake-up and poll. */
  start(): void {
    if (this.started || this.stopping) return;
    this.started = true;
    this.wake();
  }

  /** Claims now instead of at the next poll (new mail, a freed slot, a reload). Ignored before `start()`. */
  wake(): void {
    if (!this.started || this.stopping) return;
    void this.pump();
  }

  /** Applies changed `[queue.worker]` limits. */
  reconfigure(): void {
    const worker = this.options.worker();
    this.gate.setLimits({ global: worker.concurrency, perDomain: worker.concurrencyPerDomain });
    this.wake();
  }

  /**
   * For tests and benchmarks: claims and delivers until nothing is due at `now()`, then resolves with the
   * number of claims run. Do not mix with `start()`.
   */
  async drain(): Promise<number> {
    let total = 0;
    for (;;) {
      await this.pumping;
      const claimed = await this.pump();
      await this.idle();
      total += claimed;
      if (claimed === 0) return total;
    }
  }

  /** Resolves when no delivery is running or waiting. */
  idle(): Promise<void> {
    if (this.gate.active === 0 && this.gate.waiting === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Stops claiming; waits up to `graceMs` for running deliveries, then abandons them to their leases. */
  async stop(graceMs: number): Promise<StopResult> {
    this.stopping = true;
    if (this.pollHandle !== undefined) this.timer.clear(this.pollHandle);
    this.pollHandle = undefined;
    await this.pumping;
    const dropped = this.gate.clearWaiting().length;
    for (const key of [...this.inFlight]) if (!this.isRunningKey(key)) this.inFlight.delete(key);
    this.notifyIdle();
    let graceHandle: unknown;
    const graceOver = new Promise<void>(
      (resolve) => (graceHandle = this.timer.set(resolve, graceMs)),
    );
    await Promise.race([this.idle(), graceOver]);
    this.timer.clear(graceHandle);
    return { abandoned: this.gate.active, dropped };
  }

  private isRunningKey(key: string): boolean {
    return this.running.has(key);
  }

  /** One claim round, serialised: a wake-up during a round runs one more round after it. */
  private pump(): Promise<number> {
    if (this.pumping !== undefined) {
      this.again = true;
      return this.pumping.then(() => 0);
    }
    this.pumping = this.claimRounds().finally(() => {
      this.pumping = undefined;
      if (this.again && !this.stopping) {
        this.again = false;
        void this.pump();
      }
    });
    return this.pumping;
  }

  private async claimRounds(): Promise<number> {
    let total = 0;
    const worker = this.options.worker();
    while (!this.stopping) {
      // Claim only what can start, and stop while as much leased work waits for a domain slot as can run.
      const limit = Math.min(this.gate.free, worker.concurrency - this.gate.waiting);
      if (limit <= 0) break;
      const claimed = await this.options.store.claimDue(
        this.options.now(),
        limit,
        worker.leaseMs,
        this.options.owner,
      );
      if (!claimed.ok) {
        this.options.logger.error(
          { event: 'claim-failed', error: claimed.error },
          'could not claim due work',
        );
        break;
      }
      for (const claim of claimed.value) {
        const key = keyOf(claim);
        if (this.inFlight.has(key)) continue;
        this.inFlight.add(key);
        this.gate.submit(claim.domain, claim);
        total++;
      }
      if (claimed.value.length < limit) break;
    }
    this.schedulePoll(worker.pollIntervalMs);
    return total;
  }

  private schedulePoll(ms: number): void {
    if (!this.started || this.stopping) return;
    if (this.pollHandle !== undefined) this.timer.clear(this.pollHandle);
    this.pollHandle = this.timer.set(() => {
      this.pollHandle = undefined;
      this.wake();
    }, ms);
  }

  /**
   * The heartbeat of a running delivery: every third of the lease, the lease is moved to a full lease
   * from now, so a long delivery is never handed out again while it runs and the lease itself can stay
   * short (it only bounds how long a dead process's work waits when nothing recovers it earlier).
   */
  private heartbeat(claim: Claim): () => void {
    let handle: unknown;
    let beating = true;
    const beat = (): void => {
      handle = this.timer.set(
        () => {
          const leaseMs = this.options.worker().leaseMs;
          void this.options.store
            .renewLease(claim.message.id, claim.domain, claim.owner, this.options.now() + leaseMs)
            .then((renewed) => {
              if (!renewed.ok || renewed.value === 0) {
                this.options.logger.warn(
                  {
                    event: 'lease-renewal-failed',
                    id: claim.message.id,
                    domain: claim.domain,
                    ...(renewed.ok ? { lost: true } : { error: renewed.error }),
                  },
                  'the lease of a running delivery could not be renewed',
                );
              }
              if (beating) beat();
            });
        },
        Math.max(1, Math.floor(this.options.worker().leaseMs / 3)),
      );
    };
    beat();
    return () => {
      beating = false;
      this.timer.clear(handle);
    };
  }

  private execute(claim: Claim, done: () => void): void {
    const key = keyOf(claim);
    this.running.add(key);
    const stopBeating = this.heartbeat(claim);
    this.options
      .run(claim)
      .catch((error: unknown) => {
        this.options.logger.error(
          {
            event: 'delivery-crashed',
            id: claim.message.id,
            domain: claim.domain,
            error: String((error as Error)?.stack ?? error),
          },
          'delivery failed unexpectedly; its lease will expire and it will be retried',
        );
      })
      .finally(() => {
        stopBeating();
        this.running.delete(key);
        this.inFlight.delete(key);
        done();
        this.notifyIdle();
        // A freed slot may let more due work start.
        if (this.started && !this.stopping) this.wake();
      });
  }

  private notifyIdle(): void {
    if (this.gate.active !== 0 || this.gate.waiting !== 0) return;
    for (const resolve of this.idleWaiters.splice(0)) resolve();
  }
}
