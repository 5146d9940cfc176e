/**
 * The boundary between what asks for mail to be delivered (`mxsec send`, the relay, `mxsec check`) and
 * the delivery itself. A `Deliverer` owns what every delivery shares: the completion of the strategy
 * context with the envelope (`completeContext`), the choice of the connection strategy (the one place
 * `queue.strategy.connection` is evaluated, with its fallback reported), and the pool of idle sessions
 * (used while `[queue.worker] connection-reuse` is on, read at every delivery so a reload applies).
 * Callers pass envelope and queue facts in and get outcomes back; they never see the pool or the
 * adapters. Never throws for remote or DNS problems; `close` QUITs the pooled sessions.
 */
import type { ConnectionStrategy, MxsecConfig } from '../config/types.js';
import type { Timer } from '../core/ports.js';
import type { EvalContext } from '../expr/index.js';
import { reportFallback, selectStrategy } from '../policy/select.js';
import type { DeliveryDeps, SessionPool } from './deps.js';
import { attemptDomain, completeContext, deliverToDomain } from './domain.js';
import type { DomainEvent } from './domain.js';
import { ConnectionPool } from './pool.js';
import type { DeliveryRequest, DomainDelivery } from './types.js';

export interface DelivererOptions {
  /** The configuration in effect; read at every delivery. */
  readonly config: () => MxsecConfig;
  /** The adapters for a delivery under the chosen connection strategy (EHLO name, timeouts). */
  readonly deps: (connection: ConnectionStrategy) => DeliveryDeps;
  /** Keep idle sessions between deliveries (the relay); a one-shot command opens one per delivery. */
  readonly reuse: boolean;
  /** Expires idle pooled sessions; default unreferenced Node timers. */
  readonly poolTimer?: Timer;
}

export interface Deliverer {
  /** Delivers one message to the recipients of one domain (RFC 5321 section 5.1). */
  deliver(request: DeliveryRequest): Promise<DomainDelivery>;
  /** Walks a domain without sending (`mxsec check`): every host and address, stopping before MAIL FROM. */
  probe(domain: string, context: EvalContext): AsyncGenerator<DomainEvent, void, undefined>;
  /** QUITs every pooled session; sessions released later are closed at once. */
  close(): Promise<void>;
}

export function createDeliverer(options: DelivererOptions): Deliverer {
  const pool: SessionPool | undefined = options.reuse
    ? new ConnectionPool({
        limits: () => options.config().worker.connectionReuse,
        ...(options.poolTimer === undefined ? {} : { timer: options.poolTimer }),
      })
    : undefined;
  const depsFor = (context: EvalContext): DeliveryDeps => {
    const config = options.config();
    const selection = selectStrategy(
      config.connection.selector,
      config.connection.strategies,
      context,
    );
    reportFallback(selection, config.connection.selector.key);
    return options.deps(selection.strategy);
  };
  return {
    deliver(request) {
      const deps = depsFor(completeContext(request, request.domain.toLowerCase()));
      const reusing = pool !== undefined && options.config().worker.connectionReuse.enabled;
      return deliverToDomain(reusing ? { ...deps, pool } : deps, request);
    },
    probe(domain, context) {
      const complete = { ...context, rcpt_domain: domain };
      return attemptDomain(depsFor(complete), { domain, context: complete });
    },
    close: () => pool?.close() ?? Promise.resolve(),
  };
}
