/**
 * The small interfaces through which the long-running parts (relay, listener, pool, policy refresh)
 * reach the clock, timers and the log, defined once so that every module takes the same shapes and
 * tests can pass fakes. Implementations live where their behaviour matters (a pool's timers must not
 * keep the process alive, the scheduler's must).
 */

/** Milliseconds since the epoch; `Date.now` in production. */
export type Clock = () => number;

/** Schedules and cancels a callback. */
export interface Timer {
  set(fn: () => void, ms: number): unknown;
  clear(handle: unknown): void;
}

/** The subset of pino's logger that mxsec writes to: a fields object first, then the message. */
export interface Logger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}
