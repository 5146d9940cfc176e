/**
 * Connection reuse between messages for one MX host (RFC 5321 4.1.1.5): a pool of idle SMTP sessions
 * whose last transaction ended cleanly, keyed by everything that decided how the session was secured.
 *
 * Contract. `poolKey` is pure: two deliveries share a key only when they go to the same MX host name,
 * IP address and port, under the same strategy name and an identical host plan (TLS requirement,
 * authentication kind, DANE records and reference names, MTA-STS mode and patterns), with the same EHLO
 * name, timeouts and trust store. A session judged under one plan can therefore only carry mail for a
 * delivery that would have demanded exactly what that session already proved.
 *
 * `acquire` takes the most recently released idle session for a key and sends RSET; a failed RSET or a
 * dead socket retires that session (QUIT, best effort) and the next one is tried, so a stale session
 * is never a failure, only a miss (`undefined`: open a fresh connection). `release` pools a session
 * unless its message budget is spent or the pool is closed; the oldest idle session is retired when the
 * pool is full, and an idle session is retired after the idle timeout. `close` retires everything and
 * resolves when every QUIT has finished; sessions released afterwards are retired at once. Nothing
 * here throws. The clock is an injected timer, so tests expire sessions without waiting.
 */
import type { SmtpTimeouts } from '../smtp/timeouts.js';
import type { MtaStsPlan } from '../mtasts/requirement.js';
import type { ConnectPlan } from '../policy/host-plan.js';
import type { Timer } from '../core/ports.js';
import { DEFAULT_CONNECTION_REUSE } from '../config/schedule.js';

/** What the pool needs of a session: RSET before reuse, and a QUIT that never fails when retiring it. */
export interface Reusable {
  rset(): Promise<{ readonly ok: boolean }>;
  quit(): Promise<void>;
}

export interface PoolLimits {
  /** Transactions one connection may carry before it is retired (the first one included). */
  readonly maxMessages: number;
  /** How long a connection may wait idle for the next message before QUIT. */
  readonly idleMs: number;
  /** Idle connections kept at once, all hosts together; 0 keeps none. */
  readonly maxConnections: number;
}

/** `[queue.worker] connection-reuse`'s defaults, so a pool built without limits behaves like the relay's. */
export const DEFAULT_POOL_LIMITS: PoolLimits = limitsOf(DEFAULT_CONNECTION_REUSE);

function limitsOf({ maxMessages, idleMs, maxConnections }: PoolLimits): PoolLimits {
  return { maxMessages, idleMs, maxConnections };
}

/** Unreferenced timers: an idle connection must not keep the process alive by itself. */
const NODE_TIMER: Timer = {
  set: (fn, ms) => setTimeout(fn, ms).unref(),
  clear: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

/** A session taken from the pool (after a successful RSET) or handed back to it. */
export interface Pooled<S, M> {
  readonly session: S;
  /** What the caller recorded when the session was opened (TLS facts, security level, notes). */
  readonly meta: M;
  /** Transactions this connection has carried so far. */
  readonly messages: number;
}

interface Entry<S, M> extends Pooled<S, M> {
  readonly key: string;
  timer: unknown;
}

export interface PoolOptions {
  /** Read at every release, so a configuration reload applies to the next connection pooled. */
  readonly limits?: () => PoolLimits;
  readonly timer?: Timer;
}

export class ConnectionPool<S extends Reusable, M> {
  private readonly limits: () => PoolLimits;
  private readonly timer: Timer;
  /** Oldest release first: eviction takes from the front, `acquire` from the back. */
  private readonly idle: Entry<S, M>[] = [];
  private readonly retiring = new Set<Promise<void>>();
  private closed = false;

  constructor(options: PoolOptions = {}) {
    this.limits = options.limits ?? (() => DEFAULT_POOL_LIMITS);
    this.timer = options.timer ?? NODE_TIMER;
  }

  /** Idle connections held now. */
  get size(): number {
    return this.idle.length;
  }

  /** Idle connections held for `key`. */
  sizeOf(key: string): number {
    return this.idle.filter((e) => e.key === key).length;
  }

  /**
   * A live idle session for `key` on which RSET just succeeded, or `undefined` when there is none (the
   * caller opens a fresh connection). Sessions that fail RSET are retired, never returned.
   */
  async acquire(key: string): Promise<Pooled<S, M> | undefined> {
    for (;;) {
      if (this.closed) return undefined;
      const index = this.idle.findLastIndex((e) => e.key === key);
      if (index < 0) return undefined;
      // Taken out before the await, so two concurrent deliveries never share one session.
      const [entry] = this.idle.splice(index, 1);
      if (entry === undefined) return undefined;
      this.timer.clear(entry.timer);
      const reset = await entry.session.rset();
      if (reset.ok && !this.closed)
        return { session: entry.session, meta: entry.meta, messages: entry.messages };
      this.retire(entry.session);
    }
  }

  /**
   * Hands a session back after a transaction that ended cleanly. Returns false when it was retired
   * instead (message budget spent, pool closed or keeping none).
   */
  release(key: string, pooled: Pooled<S, M>): boolean {
    const limits = this.limits();
    if (this.closed || pooled.messages >= limits.maxMessages || limits.maxConnections <= 0) {
      this.retire(pooled.session);
      return false;
    }
    while (this.idle.length >= limits.maxConnections) {
      const oldest = this.idle.shift();
      if (oldest === undefined) break;
      this.timer.clear(oldest.timer);
      this.retire(oldest.session);
    }
    const entry: Entry<S, M> = { ...pooled, key, timer: undefined };
    entry.timer = this.timer.set(() => {
      const index = this.idle.indexOf(entry);
      if (index < 0) return;
      this.idle.splice(index, 1);
      this.retire(entry.session);
    }, limits.idleMs);
    this.idle.push(entry);
    return true;
  }

  /** Retires every idle session (QUIT) and refuses new ones; resolves when the QUITs are done. */
  async close(): Promise<void> {
    this.closed = true;
    for (const entry of this.idle.splice(0)) {
      this.timer.clear(entry.timer);
      this.retire(entry.session);
    }
    while (this.retiring.size > 0) await Promise.all([...this.retiring]);
  }

  private retire(session: S): void {
    const done: Promise<void> = session
      .quit()
      .catch(() => undefined)
      .finally(() => this.retiring.delete(done));
    this.retiring.add(done);
  }
}

export interface PoolKeyInput {
  readonly mxHost: string;
  readonly ip: string;
  readonly port: number;
  /** The selected TLS strategy's name. */
  readonly strategy: string;
  readonly plan: ConnectPlan;
  readonly mtaSts: MtaStsPlan;
  readonly ehloName: string;
  readonly timeouts: SmtpTimeouts;
  /** The trust store the certificate was judged against; compared by identity (a reload makes a new one). */
  readonly trust: object;
}

const identities = new WeakMap<object, number>();
let nextIdentity = 1;

function identityOf(value: object): number {
  let id = identities.get(value);
  if (id === undefined) {
    id = nextIdentity++;
    identities.set(value, id);
  }
  return id;
}

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');

/**
 * The reuse key of a session. Record sets and pattern lists are sorted: they are sets, and DNS may
 * return them in any order, which must not matter for equality (but could only cost a miss if it did).
 */
export function poolKey(input: PoolKeyInput): string {
  const { plan, mtaSts } = input;
  const auth = plan.authentication;
  const dane =
    auth.kind !== 'dane'
      ? null
      : {
          records: auth.plan.usable
            .map((r) => `${r.usage} ${r.selector} ${r.matchingType} ${hex(r.data)}`)
            .sort(),
          names: [...auth.plan.referenceNames].map((n) => n.toLowerCase()).sort(),
        };
  const sts =
    mtaSts.kind === 'enforce' || mtaSts.kind === 'testing'
      ? { mode: mtaSts.kind, patterns: [...mtaSts.patterns].map((p) => p.toLowerCase()).sort() }
      : { mode: mtaSts.kind };
  return JSON.stringify([
    input.mxHost.toLowerCase(),
    input.ip,
    input.port,
    input.strategy,
    plan.tls,
    auth.kind,
    plan.sts !== 'off',
    dane,
    sts,
    input.ehloName,
    input.timeouts,
    identityOf(input.trust),
  ]);
}
