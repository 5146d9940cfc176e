/**
 * A TTL cache of complete DNS answers keyed by (name, type), with an injected clock. Positive answers live
 * for their smallest record TTL (RFC 1035 section 3.2.1), negative ones for the RFC 2308 negative TTL that
 * `packet.ts` computed. Answers with TTL 0 are not stored. Failures are never stored here: a transient
 * SERVFAIL must not outlive the outage. Bounded: the oldest entry is evicted when full.
 */
import type { DnsAnswer, RecordType } from './types.js';

interface Entry {
  readonly answer: DnsAnswer<RecordType>;
  /** Clock value (ms) at which the entry stops being served. */
  readonly expires: number;
}

export interface AnswerCacheOptions {
  readonly now: () => number;
  /** Upper bound on stored answers; default 10000. */
  readonly maxEntries?: number;
}

export class AnswerCache {
  private readonly entries = new Map<string, Entry>();
  private readonly now: () => number;
  private readonly maxEntries: number;

  constructor(options: AnswerCacheOptions) {
    this.now = options.now;
    this.maxEntries = options.maxEntries ?? 10_000;
  }

  /**
   * The stored answer with its TTL counted down to what remains (RFC 1035 section 4.1.3: a cached
   * record's TTL is its remaining lifetime), or undefined when absent or expired.
   */
  get<T extends RecordType>(name: string, type: T): DnsAnswer<T> | undefined {
    const key = cacheKey(name, type);
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    const remainingMs = entry.expires - this.now();
    if (remainingMs <= 0) {
      this.entries.delete(key);
      return undefined;
    }
    return { ...(entry.answer as DnsAnswer<T>), ttl: Math.ceil(remainingMs / 1000) };
  }

  /** Stores an answer under the name and type it was asked for; TTL 0 answers are not stored. */
  set<T extends RecordType>(answer: DnsAnswer<T>): void {
    if (answer.ttl <= 0) return;
    const key = cacheKey(answer.name, answer.type);
    this.entries.delete(key);
    if (this.entries.size >= this.maxEntries) {
      const oldest = this.entries.keys().next();
      if (oldest.done !== true) this.entries.delete(oldest.value);
    }
    this.entries.set(key, { answer, expires: this.now() + answer.ttl * 1000 });
  }

  get size(): number {
    return this.entries.size;
  }

  clear(): void {
    this.entries.clear();
  }
}

function cacheKey(name: string, type: RecordType): string {
  return `${type} ${name}`;
}
