/**
 * Queue ids: 12 hex digits of the creation time in milliseconds followed by 10 hex digits of randomness,
 * so ids sort by creation time as plain strings (in SQL as well as in JavaScript) and two nodes sharing
 * one queue do not collide (40 random bits per millisecond). Pure: the caller supplies time and bytes.
 */

const TIME_DIGITS = 12;
const RANDOM_BYTES = 5;

/** Builds an id from `now` (epoch ms) and at least 5 random bytes. Throws only on misuse. */
export function makeQueueId(now: number, random: Uint8Array): string {
  if (!Number.isSafeInteger(now) || now < 0)
    throw new RangeError(`queue id time must be a non-negative integer, got ${now}`);
  if (random.length < RANDOM_BYTES)
    throw new RangeError(`queue id needs ${RANDOM_BYTES} random bytes`);
  let tail = '';
  for (let i = 0; i < RANDOM_BYTES; i++) tail += (random[i] ?? 0).toString(16).padStart(2, '0');
  return now.toString(16).padStart(TIME_DIGITS, '0') + tail;
}

/** The creation time encoded in an id, or undefined when `id` is not a queue id. */
export function queueIdTime(id: string): number | undefined {
  if (!/^[0-9a-f]{22}$/.test(id)) return undefined;
  return parseInt(id.slice(0, TIME_DIGITS), 16);
}
