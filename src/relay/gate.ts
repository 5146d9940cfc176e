/**
 * Concurrency limits of the delivery loop: at most `global` claims run at once, at most `perDomain` of
 * them to one recipient domain. A claim whose domain is at its limit waits in that domain's FIFO while
 * others run; `waiting` counts those so the loop can stop claiming when too much leased work waits.
 * Pure bookkeeping with no timers and no I/O; `start` callbacks run the work.
 */

export interface GateLimits {
  readonly global: number;
  readonly perDomain: number;
}

export class ConcurrencyGate<T> {
  private running = 0;
  private waitingCount = 0;
  private readonly perDomain = new Map<string, number>();
  private readonly queues = new Map<string, T[]>();

  constructor(
    private limits: GateLimits,
    private readonly start: (item: T, done: () => void) => void,
  ) {}

  get active(): number {
    return this.running;
  }

  get waiting(): number {
    return this.waitingCount;
  }

  /** Claims that could start now if there were any: the free global slots. */
  get free(): number {
    return Math.max(0, this.limits.global - this.running);
  }

  /** New limits apply to work started from now on (a reload); running work is not interrupted. */
  setLimits(limits: GateLimits): void {
    this.limits = limits;
    this.drain();
  }

  /** Runs `item` now if both limits allow, else queues it behind its domain. */
  submit(domain: string, item: T): void {
    const queue = this.queues.get(domain) ?? [];
    queue.push(item);
    this.queues.set(domain, queue);
    this.waitingCount++;
    this.drain();
  }

  /** Drops every waiting item (a stop) and returns them. Running work is unaffected. */
  clearWaiting(): T[] {
    const out = [...this.queues.values()].flat();
    this.queues.clear();
    this.waitingCount = 0;
    return out;
  }

  private drain(): void {
    for (const [domain, queue] of this.queues) {
      while (
        queue.length > 0 &&
        this.running < this.limits.global &&
        (this.perDomain.get(domain) ?? 0) < this.limits.perDomain
      ) {
        const item = queue.shift() as T;
        this.waitingCount--;
        this.running++;
        this.perDomain.set(domain, (this.perDomain.get(domain) ?? 0) + 1);
        let finished = false;
        this.start(item, () => {
          if (finished) return;
          finished = true;
          this.running--;
          const n = (this.perDomain.get(domain) ?? 1) - 1;
          if (n === 0) this.perDomain.delete(domain);
          else this.perDomain.set(domain, n);
          this.drain();
        });
      }
      if (queue.length === 0) this.queues.delete(domain);
      if (this.running >= this.limits.global) return;
    }
  }
}
