/**
 * A `QueueStore` held in process memory, for tests and benchmarks: same semantics as the durable
 * stores (shared rules in `transitions.ts`), no durability. Every method is synchronous inside, so
 * each call is atomic with respect to the others. Bodies are copied in and out so callers cannot
 * change stored mail. Never rejects; after `close` every method returns `closed`.
 */
import { randomBytes } from 'node:crypto';
import { makeQueueId } from './id.js';
import type {
  AttemptLogEntry,
  AttemptRecord,
  Claim,
  ListFilter,
  MessageEnvelope,
  NewMessage,
  QueuedMessage,
  QueueStats,
  RecipientState,
  StoreResult,
} from './model.js';
import { fail, isFinal, ok, RECIPIENT_STATES } from './model.js';
import type { QueueStore } from './store.js';
import {
  applyOutcome,
  checkOutcomes,
  compareGroups,
  dueGroups,
  initialRecipients,
  isDue,
  toClaim,
} from './transitions.js';

export interface MemoryStoreOptions {
  /** Source of id randomness; default `crypto.randomBytes`. */
  readonly random?: (size: number) => Uint8Array;
}

/** Keeps only the envelope fields, so listing never exposes (or copies) bodies. */
function envelopeOf(m: QueuedMessage): MessageEnvelope {
  const { body: _body, ...envelope } = m;
  return envelope;
}

export class MemoryStore implements QueueStore {
  private readonly messages = new Map<string, QueuedMessage>();
  private readonly log = new Map<string, AttemptLogEntry[]>();
  private readonly random: (size: number) => Uint8Array;
  private closed = false;

  constructor(options: MemoryStoreOptions = {}) {
    this.random = options.random ?? ((size) => randomBytes(size));
  }

  enqueue(message: NewMessage): Promise<StoreResult<string>> {
    return this.run(() => this.insert(message));
  }

  private insert(message: NewMessage): StoreResult<string> {
    const recipients = initialRecipients(message);
    if (!recipients.ok) return recipients;
    let id = makeQueueId(message.createdAt, this.random(5));
    while (this.messages.has(id)) id = makeQueueId(message.createdAt, this.random(5));
    this.messages.set(id, {
      id,
      returnPath: message.returnPath,
      recipients: recipients.value,
      body: Uint8Array.from(message.body),
      size: message.body.length,
      createdAt: message.createdAt,
      expiresAt: message.expiresAt,
      priority: message.priority ?? 0,
      queueName: message.queueName ?? 'default',
      source: message.source ?? '',
      flags: [...(message.flags ?? [])],
      held: false,
      envId: message.envId ?? null,
      ret: message.ret ?? null,
    });
    return ok(id);
  }

  get(id: string): Promise<StoreResult<QueuedMessage>> {
    return this.run(() => {
      const m = this.messages.get(id);
      return m === undefined
        ? fail('not-found', `no message ${id}`)
        : ok({ ...m, body: Uint8Array.from(m.body) });
    });
  }

  list(filter: ListFilter = {}): Promise<StoreResult<MessageEnvelope[]>> {
    return this.run(() => {
      const out: MessageEnvelope[] = [];
      for (const m of [...this.messages.values()].sort((a, b) => (a.id < b.id ? -1 : 1))) {
        if (out.length >= (filter.limit ?? 100)) break;
        if (filter.afterId !== undefined && m.id <= filter.afterId) continue;
        if (filter.queueName !== undefined && m.queueName !== filter.queueName) continue;
        if (filter.held !== undefined && m.held !== filter.held) continue;
        if (filter.returnPath !== undefined && m.returnPath !== filter.returnPath) continue;
        if (filter.state !== undefined && !m.recipients.some((r) => r.state === filter.state))
          continue;
        if (filter.domain !== undefined && !m.recipients.some((r) => r.domain === filter.domain))
          continue;
        out.push(envelopeOf(m));
      }
      return ok(out);
    });
  }

  claimDue(
    now: number,
    limit: number,
    leaseMs: number,
    owner: string,
  ): Promise<StoreResult<Claim[]>> {
    return this.run(() => {
      const groups = [...this.messages.values()]
        .flatMap((m) => dueGroups(m, now))
        .sort(compareGroups)
        .slice(0, limit);
      const lease = { owner, until: now + leaseMs };
      const claims: Claim[] = [];
      for (const g of groups) {
        const current = this.messages.get(g.message.id);
        if (current === undefined) continue;
        const recipients = current.recipients.map((r) =>
          r.domain === g.domain && isDue(r, now) ? { ...r, lease } : r,
        );
        const updated = { ...current, recipients };
        this.messages.set(current.id, updated);
        const leased = recipients.filter((r) => r.domain === g.domain && r.lease === lease);
        claims.push(
          toClaim({ ...updated, body: Uint8Array.from(updated.body) }, g.domain, leased, lease),
        );
      }
      return ok(claims);
    });
  }

  recordAttempt(record: AttemptRecord): Promise<StoreResult<string | null>> {
    return this.run(() => {
      const m = this.messages.get(record.messageId);
      if (m === undefined) return fail('not-found', `no message ${record.messageId}`);
      const checked = checkOutcomes(m.recipients, record.owner, record.outcomes);
      if (!checked.ok) return checked;
      // The notice first: if it is invalid, nothing else has changed yet.
      const notice = record.notice === undefined ? ok(null) : this.insert(record.notice);
      if (!notice.ok) return notice;
      const byAddress = new Map(record.outcomes.map((o) => [o.address, o]));
      const recipients = m.recipients.map((r) => {
        const o = byAddress.get(r.address);
        return o === undefined ? r : applyOutcome(r, o);
      });
      this.messages.set(m.id, { ...m, recipients });
      const log = this.log.get(m.id) ?? [];
      for (const o of record.outcomes) {
        log.push({
          messageId: m.id,
          address: o.address,
          at: record.at,
          owner: record.owner,
          host: record.host ?? null,
          kind: o.kind,
          status: o.status,
          error: o.kind === 'delivered' ? 'none' : o.error,
        });
      }
      this.log.set(m.id, log);
      return notice;
    });
  }

  attempts(id: string): Promise<StoreResult<AttemptLogEntry[]>> {
    return this.run(() => ok([...(this.log.get(id) ?? [])]));
  }

  hold(id: string): Promise<StoreResult<void>> {
    return this.update(id, (m) => ({ ...m, held: true }));
  }

  release(id: string): Promise<StoreResult<void>> {
    return this.update(id, (m) => ({ ...m, held: false }));
  }

  renewLease(
    messageId: string,
    domain: string,
    owner: string,
    until: number,
  ): Promise<StoreResult<number>> {
    return this.run(() => {
      const m = this.messages.get(messageId);
      if (m === undefined) return ok(0);
      let renewed = 0;
      const recipients = m.recipients.map((r) => {
        if (r.domain !== domain || r.lease?.owner !== owner) return r;
        renewed += 1;
        return { ...r, lease: { owner, until } };
      });
      this.messages.set(messageId, { ...m, recipients });
      return ok(renewed);
    });
  }

  recoverLeases(now: number): Promise<StoreResult<number>> {
    return this.run(() => {
      let recovered = 0;
      for (const [id, m] of this.messages) {
        if (!m.recipients.some((r) => r.lease !== null)) continue;
        const recipients = m.recipients.map((r) => {
          if (r.lease === null) return r;
          if (isFinal(r.state)) return { ...r, lease: null };
          recovered += 1;
          return { ...r, lease: null, nextAttemptAt: Math.min(r.nextAttemptAt, now) };
        });
        this.messages.set(id, { ...m, recipients });
      }
      return ok(recovered);
    });
  }

  retryNow(id: string, now: number): Promise<StoreResult<void>> {
    return this.update(id, (m) => ({
      ...m,
      recipients: m.recipients.map((r) =>
        isFinal(r.state) ? r : { ...r, nextAttemptAt: Math.min(r.nextAttemptAt, now) },
      ),
    }));
  }

  delete(id: string): Promise<StoreResult<void>> {
    return this.run(() => {
      if (!this.messages.delete(id)) return fail('not-found', `no message ${id}`);
      this.log.delete(id);
      return ok(undefined);
    });
  }

  removeFinished(limit: number): Promise<StoreResult<string[]>> {
    return this.run(() => {
      const done = [...this.messages.values()]
        .filter((m) => m.recipients.every((r) => isFinal(r.state)))
        .map((m) => m.id)
        .sort()
        .slice(0, limit);
      for (const id of done) {
        this.messages.delete(id);
        this.log.delete(id);
      }
      return ok(done);
    });
  }

  stats(now: number): Promise<StoreResult<QueueStats>> {
    return this.run(() => {
      const recipients = Object.fromEntries(RECIPIENT_STATES.map((s) => [s, 0])) as Record<
        RecipientState,
        number
      >;
      let held = 0;
      let bytes = 0;
      let leased = 0;
      for (const m of this.messages.values()) {
        if (m.held) held++;
        bytes += m.size;
        for (const r of m.recipients) {
          recipients[r.state]++;
          if (r.lease !== null && r.lease.until > now && !isFinal(r.state)) leased++;
        }
      }
      return ok({ messages: this.messages.size, held, bytes, recipients, leased });
    });
  }

  close(): Promise<void> {
    this.closed = true;
    return Promise.resolve();
  }

  private update(
    id: string,
    change: (m: QueuedMessage) => QueuedMessage,
  ): Promise<StoreResult<void>> {
    return this.run(() => {
      const m = this.messages.get(id);
      if (m === undefined) return fail('not-found', `no message ${id}`);
      this.messages.set(id, change(m));
      return ok(undefined);
    });
  }

  private run<T>(body: () => StoreResult<T>): Promise<StoreResult<T>> {
    return Promise.resolve(this.closed ? fail('closed', 'the queue store is closed') : body());
  }
}
