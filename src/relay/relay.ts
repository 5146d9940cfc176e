/**
 * Assembles the relay from its parts: a queue store that wakes the delivery loop whenever a message is
 * enqueued (by the submission listener or as a DSN), the scheduler, and the per-claim delivery. What it
 * needs from outside (configuration, delivery dependencies, clock, timer, logger) is passed in, so
 * `mxsec serve`, the integration tests and the benchmark build the same relay. Its deliverer owns a pool of
 * idle SMTP sessions (connection reuse, limits from `[queue.worker]`, read at every release);
 * `close()` QUITs them and must follow `scheduler.stop()`. Never throws.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { ConnectionStrategy, MxsecConfig } from '../config/types.js';
import { createDeliverer } from '../delivery/deliverer.js';
import type { Deliverer } from '../delivery/deliverer.js';
import type { DeliveryDeps } from '../delivery/deps.js';
import type { QueueStore } from '../queue/store.js';
import { runClaim } from './attempt.js';
import { Scheduler } from './scheduler.js';
import type { Clock, Logger, Timer } from '../core/ports.js';

export interface RelayOptions {
  readonly store: QueueStore;
  /** The configuration in effect; read at every claim, so a reload applies to the next attempt. */
  readonly config: () => MxsecConfig;
  /** Delivery adapters under the connection strategy the deliverer chose. */
  readonly delivery: (connection: ConnectionStrategy) => DeliveryDeps;
  readonly logger: Logger;
  /** Default `Date.now`. */
  readonly now?: Clock;
  readonly timer?: Timer;
  /** Lease owner id; default host name, pid and a random suffix (unique per process start). */
  readonly owner?: string;
  /** Host name in DSNs; default the `default` connection strategy's EHLO name. */
  readonly reportingMta?: string;
  /** Randomness for DSN boundaries; default `crypto.randomBytes`. */
  readonly unique?: () => string;
  /** Expires idle pooled connections; default unreferenced Node timers. */
  readonly poolTimer?: Timer;
}

export interface Relay {
  /** The store to hand to enqueuers: its successful `enqueue` wakes the loop. */
  readonly store: QueueStore;
  readonly scheduler: Scheduler;
  readonly owner: string;
  /** Delivers for the claims; owns the idle SMTP sessions kept for the next message to the same host. */
  readonly deliverer: Deliverer;
  /** QUITs every pooled session; later deliveries close their sessions at once. Call after `scheduler.stop()`. */
  close(): Promise<void>;
}

/** A store whose successful enqueues call `onEnqueued`; every other method is the inner store's. */
export function wakingStore(inner: QueueStore, onEnqueued: () => void): QueueStore {
  return new Proxy(inner, {
    get(target, property, receiver) {
      if (property === 'enqueue') {
        return async (...args: Parameters<QueueStore['enqueue']>) => {
          const result = await target.enqueue(...args);
          if (result.ok) onEnqueued();
          return result;
        };
      }
      const value: unknown = Reflect.get(target, property, receiver);
      return typeof value === 'function'
        ? (value as (...a: unknown[]) => unknown).bind(target)
        : value;
    },
  });
}

export function createRelay(options: RelayOptions): Relay {
  const now = options.now ?? Date.now;
  const owner = options.owner ?? `${hostname()}/${process.pid}/${randomBytes(4).toString('hex')}`;
  // `wake` is only called after construction (an enqueue or a DSN), when `scheduler` is set.
  const wake = (): void => scheduler.wake();
  const store = wakingStore(options.store, wake);
  const deliverer = createDeliverer({
    config: options.config,
    deps: options.delivery,
    reuse: true,
    ...(options.poolTimer === undefined ? {} : { poolTimer: options.poolTimer }),
  });
  const scheduler: Scheduler = new Scheduler({
    store,
    worker: () => options.config().worker,
    owner,
    now,
    ...(options.timer === undefined ? {} : { timer: options.timer }),
    logger: options.logger,
    run: (claim) =>
      runClaim(
        {
          store: options.store,
          config: options.config,
          deliverer,
          now,
          logger: options.logger,
          owner,
          reportingMta:
            options.reportingMta ??
            options.config().connection.strategies.get('default')?.ehloHostname ??
            hostname(),
          unique: options.unique ?? (() => randomBytes(8).toString('hex')),
          onEnqueued: wake,
        },
        claim,
      ),
  });
  return { store, scheduler, owner, deliverer, close: () => deliverer.close() };
}
