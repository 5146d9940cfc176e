/**
 * Retry, delay-notification and expiry rules of a `queue.schedule.<id>` (Stalwart's settings: `retry`,
 * `notify`, `expire` or `max-attempts`, `queue-name`), as pure functions of the settings, the
 * recipient's counters and an injected `now`. The configuration loader parses TOML into
 * `ScheduleSettings` and reports `checkSchedule` problems; these functions assume checked settings
 * and never throw.
 *
 * Delay DSNs (RFC 3464 action `delayed`) are counted from the time the message entered the queue:
 * `notify = [1d, 3d]` means one day and three days after arrival. (Stalwart counts each interval from
 * the previous notification; mxsec's reading matches its documentation's wording and makes the
 * schedule a pure function of `createdAt`.)
 */
import { formatDuration } from '../core/duration.js';

/** How a schedule gives up: after a time in the queue, or after a number of attempts. */
export type Expiry =
  | { readonly kind: 'ttl'; readonly ttl: number }
  | { readonly kind: 'attempts'; readonly maxAttempts: number };

export interface ScheduleSettings {
  /** The virtual queue whose workers deliver recipients on this schedule. */
  readonly queueName: string;
  /** Waits after the 1st, 2nd, ... failed attempt; the last one repeats. Never empty. */
  readonly retry: readonly number[];
  /** Times after arrival at which a delay DSN is sent, ascending; empty for none. */
  readonly notify: readonly number[];
  readonly expire: Expiry;
}

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

const INTERACTIVE_RETRY = [
  2 * MINUTE,
  5 * MINUTE,
  10 * MINUTE,
  15 * MINUTE,
  30 * MINUTE,
  HOUR,
  2 * HOUR,
];

/**
 * Stalwart's built-in schedules. DSNs and reports get no delay notifications: a DSN is sent with the
 * null reverse-path, and RFC 5321 section 4.5.5 rules out notifications about it; a report nobody asked about is
 * dropped after a bounded number of attempts instead of lingering for days.
 */
export const DEFAULT_SCHEDULES = {
  local: {
    queueName: 'local',
    retry: INTERACTIVE_RETRY,
    notify: [DAY, 3 * DAY],
    expire: { kind: 'ttl', ttl: 3 * DAY },
  },
  remote: {
    queueName: 'remote',
    retry: INTERACTIVE_RETRY,
    notify: [DAY, 3 * DAY],
    expire: { kind: 'ttl', ttl: 3 * DAY },
  },
  dsn: {
    queueName: 'dsn',
    retry: [15 * MINUTE, 30 * MINUTE, HOUR, 2 * HOUR],
    notify: [],
    expire: { kind: 'attempts', maxAttempts: 10 },
  },
  report: {
    queueName: 'report',
    retry: [30 * MINUTE, HOUR, 2 * HOUR],
    notify: [],
    expire: { kind: 'attempts', maxAttempts: 8 },
  },
} as const satisfies Readonly<Record<string, ScheduleSettings>>;

export type DefaultScheduleId = keyof typeof DEFAULT_SCHEDULES;

/**
 * When to try again after a failed attempt. `retryNum` is the `retry_num` of the attempt that failed
 * (0 for the first), so the first failure waits `retry[0]` and failures beyond the list wait its last
 * entry.
 */
export function nextRetryAt(settings: ScheduleSettings, retryNum: number, now: number): number {
  const waits = settings.retry;
  const wait = waits[Math.min(Math.max(0, retryNum), waits.length - 1)] ?? 0;
  return now + wait;
}

/** When a time-limited schedule expires a message created at `createdAt`; null when attempt-limited. */
export function expiresAtFor(settings: ScheduleSettings, createdAt: number): number | null {
  return settings.expire.kind === 'ttl' ? createdAt + settings.expire.ttl : null;
}

/**
 * True when no further attempt may be made: the message has been queued for `ttl` or more, or
 * `attemptsMade` attempts have reached `max-attempts`. The caller then fails the recipient with a
 * permanent DSN (RFC 3463 4.4.7 "delivery time expired", reported as action `failed`).
 */
export function isExpired(
  settings: ScheduleSettings,
  message: { readonly createdAt: number },
  attemptsMade: number,
  now: number,
): boolean {
  switch (settings.expire.kind) {
    case 'ttl':
      return now >= message.createdAt + settings.expire.ttl;
    case 'attempts':
      return attemptsMade >= settings.expire.maxAttempts;
  }
}

/**
 * When the next delay DSN is due after `notifyNum` have been sent, or null when none remains. A notice
 * that would fall at or after a time-limited expiry is dropped: the failure DSN sent then says more.
 */
export function nextNotifyAt(
  settings: ScheduleSettings,
  notifyNum: number,
  createdAt: number,
): number | null {
  const after = settings.notify[Math.max(0, notifyNum)];
  if (after === undefined) return null;
  const at = createdAt + after;
  const expires = expiresAtFor(settings, createdAt);
  return expires !== null && at >= expires ? null : at;
}

/** True when a delay DSN should be sent now (RFC 3464 section 2.3.3 action `delayed`). */
export function notifyDue(
  settings: ScheduleSettings,
  notifyNum: number,
  createdAt: number,
  now: number,
): boolean {
  const at = nextNotifyAt(settings, notifyNum, createdAt);
  return at !== null && now >= at;
}

/** Problems with settings parsed from `queue.schedule.<id>`, as messages for the configuration loader. */
export function checkSchedule(settings: ScheduleSettings): string[] {
  const problems: string[] = [];
  const positive = (ms: number): boolean => Number.isSafeInteger(ms) && ms > 0;
  if (settings.queueName === '') problems.push('queue-name must not be empty');
  if (settings.retry.length === 0) problems.push('retry needs at least one duration');
  for (const ms of settings.retry)
    if (!positive(ms)) problems.push(`retry duration ${ms} ms is not positive`);
  settings.notify.forEach((ms, i) => {
    if (!positive(ms)) problems.push(`notify duration ${ms} ms is not positive`);
    const previous = settings.notify[i - 1];
    if (previous !== undefined && ms <= previous) {
      problems.push(
        `notify durations count from arrival and must increase: ${formatDuration(ms)} after ${formatDuration(previous)}`,
      );
    }
  });
  if (settings.expire.kind === 'ttl' && !positive(settings.expire.ttl))
    problems.push('expire must be a positive duration');
  if (
    settings.expire.kind === 'attempts' &&
    !(Number.isSafeInteger(settings.expire.maxAttempts) && settings.expire.maxAttempts >= 1)
  ) {
    problems.push('max-attempts must be an integer of at least 1');
  }
  return problems;
}
