/**
 * The contract suite every `QueueStore` must pass (see the guarantees in `store.ts`). Each store's test
 * file calls `runStoreContract` with a factory; optional handles (reopen, a read-only view, a second
 * connection) switch on the tests only a durable store can take. Tests use fixed clock values, so
 * nothing depends on timing.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { queueIdTime } from '../../src/queue/id.js';
import type { Claim, NewMessage, QueuedRecipient, StoreResult } from '../../src/queue/model.js';
import type { QueueStore } from '../../src/queue/store.js';

/** A store under test and what else it can do with the same data. */
export interface ContractSubject {
  readonly store: QueueStore;
  /** Closes `store` and opens the same data again (durable stores). */
  reopen?(): Promise<QueueStore>;
  /** A read-only handle on the same data. */
  readOnly?(): Promise<QueueStore>;
  /** Another writable handle on the same data, as a second process would have. */
  peer?(): Promise<QueueStore>;
  /** Closes every handle and removes any files. */
  dispose(): Promise<void>;
}

const T0 = Date.UTC(2025, 5, 1, 12);
const LEASE = 60_000;

function must<T>(result: StoreResult<T>): T {
  if (!result.ok) assert.fail(`${result.error.kind}: ${result.error.message}`);
  return result.value;
}

function message(overrides: Partial<NewMessage> = {}): NewMessage {
  return {
    returnPath: 'sender@example.org',
    recipients: [{ address: 'a@example.com' }],
    body: new TextEncoder().encode('Subject: t\r\n\r\nhi\r\n'),
    createdAt: T0,
    expiresAt: T0 + 3 * 86_400_000,
    ...overrides,
  };
}

function addresses(claims: readonly Claim[]): string[] {
  return claims.flatMap((c) => c.recipients.map((r) => `${c.message.id}/${r.address}`)).sort();
}

function rcpt(recipients: readonly QueuedRecipient[], address: string): QueuedRecipient {
  const r = recipients.find((x) => x.address === address);
  if (r === undefined) assert.fail(`no recipient ${address}`);
  return r;
}

export function runStoreContract(name: string, makeStore: () => Promise<ContractSubject>): void {
  const withStore = (
    title: string,
    body: (s: QueueStore, subject: ContractSubject) => Promise<void>,
  ): void => {
    void test(title, async () => {
      const subject = await makeStore();
      try {
        await body(subject.store, subject);
      } finally {
        await subject.dispose();
      }
    });
  };

  void describe(`QueueStore contract: ${name}`, () => {
    withStore(
      'RFC 5321 6.1: enqueue then get returns the body byte for byte and the envelope as given',
      async (s) => {
        const body = new Uint8Array(1024);
        for (let i = 0; i < body.length; i++) body[i] = (i * 7) % 256; // NUL, CR, LF, invalid UTF-8: all of them
        const id = must(
          await s.enqueue(
            message({
              returnPath: '',
              body,
              priority: 3,
              queueName: 'remote',
              source: 'submission',
              flags: ['dsn'],
              envId: 'E1',
              ret: 'hdrs',
              recipients: [
                {
                  address: 'X@Example.COM',
                  notify: ['failure', 'delay'],
                  orcpt: 'rfc822;x@example.com',
                },
                { address: 'b@example.net' },
              ],
            }),
          ),
        );
        assert.equal(queueIdTime(id), T0);
        const m = must(await s.get(id));
        assert.deepEqual(m.body, body);
        assert.equal(m.size, 1024);
        assert.deepEqual(
          [
            m.returnPath,
            m.priority,
            m.queueName,
            m.source,
            m.flags,
            m.envId,
            m.ret,
            m.held,
            m.createdAt,
            m.expiresAt,
          ],
          ['', 3, 'remote', 'submission', ['dsn'], 'E1', 'hdrs', false, T0, T0 + 3 * 86_400_000],
        );
        assert.deepEqual(m.recipients[0], {
          address: 'X@Example.COM',
          domain: 'example.com',
          state: 'pending',
          retryNum: 0,
          notifyNum: 0,
          lastError: 'none',
          lastStatus: '',
          nextAttemptAt: T0,
          lease: null,
          notify: ['failure', 'delay'],
          orcpt: 'rfc822;x@example.com',
        });
        assert.equal(m.recipients[1]?.address, 'b@example.net');
        assert.equal((await s.get('000000000000ffffffffff')).ok, false);
      },
    );

    withStore('ids sort by creation time and are unique', async (s) => {
      const ids: string[] = [];
      for (let i = 0; i < 20; i++)
        ids.push(must(await s.enqueue(message({ createdAt: T0 + Math.floor(i / 4) }))));
      assert.equal(new Set(ids).size, 20);
      assert.deepEqual(
        ids.map((id) => queueIdTime(id)),
        [...ids].sort().map((id) => queueIdTime(id)),
      );
    });

    withStore(
      'an invalid enqueue (no recipients, no domain, duplicate) is an error value and stores nothing',
      async (s) => {
        const bad = [
          message({ recipients: [] }),
          message({ recipients: [{ address: 'postmaster' }] }),
          message({ recipients: [{ address: 'a@example.com' }, { address: 'a@example.com' }] }),
          message({ recipients: [{ address: 'a@example.com', notify: ['never', 'delay'] }] }),
        ];
        for (const m of bad) {
          const r = await s.enqueue(m);
          assert.equal(r.ok ? 'ok' : r.error.kind, 'invalid');
        }
        assert.deepEqual(must(await s.list()), []);
      },
    );

    withStore(
      'claimDue respects the due time and groups recipients per message and domain',
      async (s) => {
        const id = must(
          await s.enqueue(
            message({
              firstAttemptAt: T0 + 1000,
              recipients: [
                { address: 'a@one.example' },
                { address: 'b@two.example' },
                { address: 'c@one.example' },
              ],
            }),
          ),
        );
        assert.deepEqual(must(await s.claimDue(T0 + 999, 10, LEASE, 'w1')), []);
        const claims = must(await s.claimDue(T0 + 1000, 10, LEASE, 'w1'));
        assert.deepEqual(claims.map((c) => [c.domain, c.recipients.map((r) => r.address)]).sort(), [
          ['one.example', ['a@one.example', 'c@one.example']],
          ['two.example', ['b@two.example']],
        ]);
        for (const c of claims) {
          assert.equal(c.message.id, id);
          assert.equal(c.owner, 'w1');
          assert.equal(c.leaseUntil, T0 + 1000 + LEASE);
          for (const r of c.recipients)
            assert.deepEqual(r.lease, { owner: 'w1', until: T0 + 1000 + LEASE });
        }
      },
    );

    withStore('limit counts groups; the rest stays claimable', async (s) => {
      for (let i = 0; i < 3; i++)
        must(await s.enqueue(message({ recipients: [{ address: `r${i}@d${i}.example` }] })));
      assert.equal(must(await s.claimDue(T0, 2, LEASE, 'w1')).length, 2);
      assert.equal(must(await s.claimDue(T0, 2, LEASE, 'w2')).length, 1);
      assert.equal(must(await s.claimDue(T0, 2, LEASE, 'w3')).length, 0);
    });

    withStore('held messages are never claimed until released', async (s) => {
      const id = must(await s.enqueue(message()));
      must(await s.hold(id));
      assert.equal(must(await s.get(id)).held, true);
      assert.deepEqual(must(await s.claimDue(T0, 10, LEASE, 'w1')), []);
      must(await s.release(id));
      assert.equal(must(await s.claimDue(T0, 10, LEASE, 'w1')).length, 1);
      const missing = await s.hold('000000000000ffffffffff');
      assert.equal(missing.ok ? 'ok' : missing.error.kind, 'not-found');
    });

    withStore(
      'RFC 6710 priority: higher priority first, then the longest overdue, then the oldest',
      async (s) => {
        const low = must(await s.enqueue(message({ priority: -2, createdAt: T0 })));
        const lateOld = must(
          await s.enqueue(message({ createdAt: T0 + 1, firstAttemptAt: T0 + 50 })),
        );
        const early = must(
          await s.enqueue(message({ createdAt: T0 + 2, firstAttemptAt: T0 + 10 })),
        );
        const high = must(await s.enqueue(message({ priority: 5, createdAt: T0 + 3 })));
        const claims = must(await s.claimDue(T0 + 100, 10, LEASE, 'w1'));
        assert.deepEqual(
          claims.map((c) => c.message.id),
          [high, early, lateOld, low],
        );
      },
    );

    withStore(
      'a live lease blocks other claimers; an expired lease is re-claimed and fences the old owner',
      async (s) => {
        const id = must(await s.enqueue(message()));
        assert.equal(must(await s.claimDue(T0, 10, LEASE, 'crashed')).length, 1);
        assert.deepEqual(must(await s.claimDue(T0 + LEASE - 1, 10, LEASE, 'w2')), []);
        const again = must(await s.claimDue(T0 + LEASE, 10, LEASE, 'w2'));
        assert.deepEqual(addresses(again), [`${id}/a@example.com`]);
        const late = await s.recordAttempt({
          messageId: id,
          owner: 'crashed',
          at: T0 + LEASE + 1,
          outcomes: [{ address: 'a@example.com', kind: 'delivered', status: '250 ok' }],
        });
        assert.equal(late.ok ? 'ok' : late.error.kind, 'lease-lost');
        assert.equal(rcpt(must(await s.get(id)).recipients, 'a@example.com').state, 'pending');
        must(
          await s.recordAttempt({
            messageId: id,
            owner: 'w2',
            at: T0 + LEASE + 2,
            outcomes: [{ address: 'a@example.com', kind: 'delivered', status: '250 ok' }],
          }),
        );
      },
    );

    withStore(
      'renewLease extends a live delivery; once the work is re-claimed the old owner renews nothing',
      async (s) => {
        const id = must(await s.enqueue(message()));
        assert.equal(must(await s.claimDue(T0, 10, LEASE, 'w1')).length, 1);
        assert.equal(must(await s.renewLease(id, 'example.com', 'w1', T0 + 2 * LEASE)), 1);
        assert.equal(must(await s.renewLease(id, 'other.example', 'w1', T0 + 2 * LEASE)), 0);
        assert.equal(must(await s.renewLease(id, 'example.com', 'w2', T0 + 2 * LEASE)), 0);
        // The renewed lease holds past the original end...
        assert.deepEqual(must(await s.claimDue(T0 + LEASE, 10, LEASE, 'w2')), []);
        // ...and ends when the heartbeat stops (the owner died).
        assert.equal(must(await s.claimDue(T0 + 2 * LEASE, 10, LEASE, 'w2')).length, 1);
        assert.equal(must(await s.renewLease(id, 'example.com', 'w1', T0 + 3 * LEASE)), 0);
        assert.equal(rcpt(must(await s.get(id)).recipients, 'a@example.com').lease?.owner, 'w2');
      },
    );

    withStore(
      'recoverLeases frees every lease at once: cut-off attempts are due now, retry_num unchanged',
      async (s) => {
        // A: tried once (temporary), then claimed by a process that died during its second attempt.
        const a = must(await s.enqueue(message({ recipients: [{ address: 'a@a.example' }] })));
        must(await s.claimDue(T0, 10, LEASE, 'first'));
        must(
          await s.recordAttempt({
            messageId: a,
            owner: 'first',
            at: T0 + 1,
            outcomes: [
              {
                address: 'a@a.example',
                kind: 'temporary',
                status: '451 4.4.2 timeout',
                error: 'io',
                nextAttemptAt: T0 + 100,
                notified: false,
              },
            ],
          }),
        );
        assert.equal(must(await s.claimDue(T0 + 100, 10, LEASE, 'dead')).length, 1);
        // B: not due and never leased; C: delivered, final.
        const b = must(
          await s.enqueue(
            message({ recipients: [{ address: 'b@b.example' }], firstAttemptAt: T0 + 10_000 }),
          ),
        );
        const c = must(await s.enqueue(message({ recipients: [{ address: 'c@c.example' }] })));
        must(await s.claimDue(T0 + 100, 10, LEASE, 'w0'));
        must(
          await s.recordAttempt({
            messageId: c,
            owner: 'w0',
            at: T0 + 101,
            outcomes: [{ address: 'c@c.example', kind: 'delivered', status: '250 ok' }],
          }),
        );

        assert.equal(must(await s.recoverLeases(T0 + 150)), 1);
        const recovered = rcpt(must(await s.get(a)).recipients, 'a@a.example');
        assert.deepEqual(
          [recovered.lease, recovered.retryNum, recovered.nextAttemptAt <= T0 + 150],
          [null, 1, true],
        );
        assert.equal(
          rcpt(must(await s.get(b)).recipients, 'b@b.example').nextAttemptAt,
          T0 + 10_000,
        );
        // Claimable at once, long before the dead owner's lease would have run out.
        assert.deepEqual(addresses(must(await s.claimDue(T0 + 150, 10, LEASE, 'next'))), [
          `${a}/a@a.example`,
        ]);
        const late = await s.recordAttempt({
          messageId: a,
          owner: 'dead',
          at: T0 + 151,
          outcomes: [{ address: 'a@a.example', kind: 'delivered', status: '250 ok' }],
        });
        assert.equal(late.ok ? 'ok' : late.error.kind, 'lease-lost');
        assert.equal(
          must(await s.recoverLeases(T0 + 200)),
          1,
          'the live lease of `next` is freed too',
        );
        assert.equal(must(await s.recoverLeases(T0 + 200)), 0);
      },
    );

    withStore('concurrent claimers never get the same recipient', async (s, subject) => {
      const other = subject.peer !== undefined ? await subject.peer() : s;
      for (let i = 0; i < 40; i++) {
        must(
          await s.enqueue(
            message({
              createdAt: T0 + i,
              recipients: [{ address: `a${i}@x.example` }, { address: `b${i}@y.example` }],
            }),
          ),
        );
      }
      const seen: string[] = [];
      for (let round = 0; round < 20; round++) {
        const batch = await Promise.all(
          [0, 1, 2, 3].map((w) => (w % 2 === 0 ? s : other).claimDue(T0 + 100, 3, LEASE, `w${w}`)),
        );
        for (const r of batch) seen.push(...addresses(must(r)));
      }
      assert.equal(seen.length, 80);
      assert.equal(new Set(seen).size, 80);
    });

    withStore(
      'recordAttempt: delivered, temporary, permanent and expired update state, counters and the log',
      async (s) => {
        const id = must(
          await s.enqueue(
            message({
              recipients: [
                { address: 'ok@d.example' },
                { address: 'later@d.example' },
                { address: 'bad@d.example' },
                { address: 'old@d.example' },
              ],
            }),
          ),
        );
        assert.equal(must(await s.claimDue(T0, 10, LEASE, 'w1')).length, 1);
        must(
          await s.recordAttempt({
            messageId: id,
            owner: 'w1',
            at: T0 + 5,
            host: 'mx.d.example',
            outcomes: [
              { address: 'ok@d.example', kind: 'delivered', status: '250 2.0.0 queued' },
              {
                address: 'later@d.example',
                kind: 'temporary',
                status: '451 4.7.5 TLSA mismatch',
                error: 'dane',
                nextAttemptAt: T0 + 120_000,
                notified: true,
              },
              {
                address: 'bad@d.example',
                kind: 'permanent',
                status: '550 5.1.1 no such user',
                error: 'unexpected-reply',
              },
              {
                address: 'old@d.example',
                kind: 'expired',
                status: '4.4.7 expired',
                error: 'connection',
              },
            ],
          }),
        );
        const r = must(await s.get(id)).recipients;
        assert.deepEqual(
          [
            rcpt(r, 'ok@d.example').state,
            rcpt(r, 'ok@d.example').lastError,
            rcpt(r, 'ok@d.example').lastStatus,
          ],
          ['delivered', 'none', '250 2.0.0 queued'],
        );
        const later = rcpt(r, 'later@d.example');
        assert.deepEqual(
          [
            later.state,
            later.retryNum,
            later.notifyNum,
            later.lastError,
            later.lastStatus,
            later.nextAttemptAt,
            later.lease,
          ],
          ['temporary', 1, 1, 'dane', '451 4.7.5 TLSA mismatch', T0 + 120_000, null],
        );
        assert.deepEqual(
          [rcpt(r, 'bad@d.example').state, rcpt(r, 'bad@d.example').lastError],
          ['permanent', 'unexpected-reply'],
        );
        assert.equal(rcpt(r, 'old@d.example').state, 'expired');
        assert.ok(r.every((x) => x.retryNum === 1));
        const log = must(await s.attempts(id));
        assert.deepEqual(
          log.map((e) => [e.address, e.kind, e.error, e.host, e.owner, e.at]),
          [
            ['ok@d.example', 'delivered', 'none', 'mx.d.example', 'w1', T0 + 5],
            ['later@d.example', 'temporary', 'dane', 'mx.d.example', 'w1', T0 + 5],
            ['bad@d.example', 'permanent', 'unexpected-reply', 'mx.d.example', 'w1', T0 + 5],
            ['old@d.example', 'expired', 'connection', 'mx.d.example', 'w1', T0 + 5],
          ],
        );
        assert.deepEqual(must(await s.claimDue(T0 + 119_999, 10, LEASE, 'w2')), []);
        const retry = must(await s.claimDue(T0 + 120_000, 10, LEASE, 'w2'));
        assert.deepEqual(
          retry.flatMap((c) => c.recipients.map((x) => [x.address, x.retryNum])),
          [['later@d.example', 1]],
        );
      },
    );

    withStore(
      'recordAttempt is all or nothing: one unleased recipient refuses the whole record',
      async (s) => {
        const id = must(
          await s.enqueue(
            message({ recipients: [{ address: 'a@one.example' }, { address: 'b@two.example' }] }),
          ),
        );
        const claims = must(await s.claimDue(T0, 1, LEASE, 'w1'));
        const mine = claims[0]!.recipients[0]!.address;
        const notMine = mine === 'a@one.example' ? 'b@two.example' : 'a@one.example';
        const r = await s.recordAttempt({
          messageId: id,
          owner: 'w1',
          at: T0,
          outcomes: [
            { address: mine, kind: 'delivered', status: '250' },
            { address: notMine, kind: 'delivered', status: '250' },
          ],
        });
        assert.equal(r.ok ? 'ok' : r.error.kind, 'lease-lost');
        assert.ok(
          must(await s.get(id)).recipients.every((x) => x.state === 'pending' && x.retryNum === 0),
        );
        assert.deepEqual(must(await s.attempts(id)), []);
        const unknown = await s.recordAttempt({
          messageId: id,
          owner: 'w1',
          at: T0,
          outcomes: [{ address: 'zz@one.example', kind: 'delivered', status: '250' }],
        });
        assert.equal(unknown.ok ? 'ok' : unknown.error.kind, 'not-found');
      },
    );

    withStore(
      'recordAttempt enqueues its DSN in the same transaction: both happen, or neither does',
      async (s) => {
        const id = must(await s.enqueue(message({ recipients: [{ address: 'a@d.example' }] })));
        must(await s.claimDue(T0, 10, LEASE, 'w1'));
        const bounce = {
          address: 'a@d.example',
          kind: 'permanent',
          status: '550',
          error: 'unexpected-reply',
        } as const;
        const refused = await s.recordAttempt({
          messageId: id,
          owner: 'w1',
          at: T0,
          outcomes: [bounce],
          notice: message({ returnPath: '', recipients: [] }),
        });
        assert.equal(refused.ok ? 'ok' : refused.error.kind, 'invalid');
        assert.equal(rcpt(must(await s.get(id)).recipients, 'a@d.example').state, 'pending');
        assert.deepEqual(must(await s.attempts(id)), []);
        assert.equal(must(await s.list()).length, 1);
        const noticeId = must(
          await s.recordAttempt({
            messageId: id,
            owner: 'w1',
            at: T0,
            outcomes: [bounce],
            notice: message({ returnPath: '', recipients: [{ address: 'sender@example.org' }] }),
          }),
        );
        assert.equal(typeof noticeId, 'string');
        assert.equal(rcpt(must(await s.get(id)).recipients, 'a@d.example').state, 'permanent');
        assert.equal(must(await s.get(noticeId ?? '')).returnPath, '');
        const plain = must(await s.enqueue(message()));
        must(await s.claimDue(T0, 10, LEASE, 'w1'));
        const none = await s.recordAttempt({
          messageId: plain,
          owner: 'w1',
          at: T0,
          outcomes: [{ address: 'a@example.com', kind: 'delivered', status: '250' }],
        });
        assert.deepEqual(none, { ok: true, value: null });
      },
    );

    withStore(
      'retryNow makes waiting recipients due at once and leaves final ones alone',
      async (s) => {
        const id = must(
          await s.enqueue(
            message({ recipients: [{ address: 'a@d.example' }, { address: 'b@d.example' }] }),
          ),
        );
        must(await s.claimDue(T0, 10, LEASE, 'w1'));
        must(
          await s.recordAttempt({
            messageId: id,
            owner: 'w1',
            at: T0,
            outcomes: [
              {
                address: 'a@d.example',
                kind: 'temporary',
                status: '421',
                error: 'connection',
                nextAttemptAt: T0 + 3_600_000,
              },
              { address: 'b@d.example', kind: 'delivered', status: '250' },
            ],
          }),
        );
        assert.deepEqual(must(await s.claimDue(T0 + 10, 10, LEASE, 'w2')), []);
        must(await s.retryNow(id, T0 + 10));
        assert.deepEqual(addresses(must(await s.claimDue(T0 + 10, 10, LEASE, 'w2'))), [
          `${id}/a@d.example`,
        ]);
        assert.equal(rcpt(must(await s.get(id)).recipients, 'b@d.example').state, 'delivered');
        const missing = await s.retryNow('000000000000ffffffffff', T0);
        assert.equal(missing.ok ? 'ok' : missing.error.kind, 'not-found');
      },
    );

    withStore(
      'delete removes a message and its log; removeFinished removes only all-final messages',
      async (s) => {
        const gone = must(await s.enqueue(message()));
        must(await s.delete(gone));
        assert.equal((await s.get(gone)).ok, false);
        const again = await s.delete(gone);
        assert.equal(again.ok ? 'ok' : again.error.kind, 'not-found');
        const done = must(await s.enqueue(message({ recipients: [{ address: 'a@d.example' }] })));
        const waiting = must(
          await s.enqueue(message({ createdAt: T0 + 1, recipients: [{ address: 'b@d.example' }] })),
        );
        must(await s.claimDue(T0 + 1, 10, LEASE, 'w1'));
        must(
          await s.recordAttempt({
            messageId: done,
            owner: 'w1',
            at: T0,
            outcomes: [
              {
                address: 'a@d.example',
                kind: 'permanent',
                status: '550',
                error: 'unexpected-reply',
              },
            ],
          }),
        );
        must(
          await s.recordAttempt({
            messageId: waiting,
            owner: 'w1',
            at: T0,
            outcomes: [
              {
                address: 'b@d.example',
                kind: 'temporary',
                status: '451',
                error: 'tls',
                nextAttemptAt: T0 + 1,
              },
            ],
          }),
        );
        assert.deepEqual(must(await s.removeFinished(10)), [done]);
        assert.deepEqual(must(await s.attempts(done)), []);
        assert.deepEqual(
          must(await s.list()).map((m) => m.id),
          [waiting],
        );
      },
    );

    withStore(
      'list filters by state, domain, queue, held and return path, and pages by id',
      async (s) => {
        const a = must(
          await s.enqueue(
            message({ queueName: 'remote', recipients: [{ address: 'x@a.example' }] }),
          ),
        );
        const b = must(
          await s.enqueue(
            message({
              createdAt: T0 + 1,
              returnPath: '',
              recipients: [{ address: 'y@b.example' }],
            }),
          ),
        );
        const c = must(
          await s.enqueue(message({ createdAt: T0 + 2, recipients: [{ address: 'z@a.example' }] })),
        );
        must(await s.hold(c));
        must(await s.claimDue(T0 + 5, 1, LEASE, 'w1'));
        must(
          await s.recordAttempt({
            messageId: a,
            owner: 'w1',
            at: T0,
            outcomes: [
              {
                address: 'x@a.example',
                kind: 'temporary',
                status: '451',
                error: 'dns',
                nextAttemptAt: T0 + 9,
              },
            ],
          }),
        );
        const ids = async (f: Parameters<QueueStore['list']>[0]): Promise<string[]> =>
          must(await s.list(f)).map((m) => m.id);
        assert.deepEqual(await ids({}), [a, b, c]);
        assert.deepEqual(await ids({ state: 'temporary' }), [a]);
        assert.deepEqual(await ids({ state: 'pending' }), [b, c]);
        assert.deepEqual(await ids({ domain: 'a.example' }), [a, c]);
        assert.deepEqual(await ids({ queueName: 'remote' }), [a]);
        assert.deepEqual(await ids({ held: true }), [c]);
        assert.deepEqual(await ids({ returnPath: '' }), [b]);
        assert.deepEqual(await ids({ limit: 2 }), [a, b]);
        assert.deepEqual(await ids({ afterId: b }), [c]);
        const st = must(await s.stats(T0 + 5));
        assert.deepEqual(
          [st.messages, st.held, st.leased, st.recipients.pending, st.recipients.temporary],
          [3, 1, 0, 2, 1],
        );
        assert.ok(st.bytes > 0);
      },
    );

    withStore('after close every method answers closed', async (s) => {
      await s.close();
      const r = await s.enqueue(message());
      assert.equal(r.ok ? 'ok' : r.error.kind, 'closed');
      const c = await s.claimDue(T0, 1, LEASE, 'w');
      assert.equal(c.ok ? 'ok' : c.error.kind, 'closed');
    });

    void test('durable stores: state survives close and reopen', async (t) => {
      const subject = await makeStore();
      try {
        if (subject.reopen === undefined) return t.skip('not a durable store');
        const s = subject.store;
        const id = must(
          await s.enqueue(
            message({ recipients: [{ address: 'a@d.example' }, { address: 'b@d.example' }] }),
          ),
        );
        must(await s.claimDue(T0, 10, LEASE, 'w1'));
        must(
          await s.recordAttempt({
            messageId: id,
            owner: 'w1',
            at: T0,
            outcomes: [
              {
                address: 'a@d.example',
                kind: 'temporary',
                status: '451 4.4.1',
                error: 'connection',
                nextAttemptAt: T0 + 5,
              },
            ],
          }),
        );
        const before = must(await s.get(id));
        const reopened = await subject.reopen();
        assert.deepEqual(must(await reopened.get(id)), before);
        assert.equal(must(await reopened.attempts(id)).length, 1);
        // b@ is still leased to w1 (it survived the restart) until its lease ends.
        assert.deepEqual(addresses(must(await reopened.claimDue(T0 + LEASE, 10, LEASE, 'w2'))), [
          `${id}/a@d.example`,
          `${id}/b@d.example`,
        ]);
      } finally {
        await subject.dispose();
      }
    });

    void test('a write to a read-only database is a read-only error value and changes nothing', async (t) => {
      const subject = await makeStore();
      try {
        if (subject.readOnly === undefined) return t.skip('no read-only mode');
        const id = must(await subject.store.enqueue(message()));
        const view = await subject.readOnly();
        assert.equal(must(await view.get(id)).id, id);
        const r = await view.enqueue(message({ createdAt: T0 + 1 }));
        assert.equal(r.ok ? 'ok' : r.error.kind, 'read-only');
        const c = await view.claimDue(T0, 10, LEASE, 'w');
        assert.equal(c.ok ? 'ok' : c.error.kind, 'read-only');
        assert.deepEqual(
          must(await subject.store.list()).map((m) => m.id),
          [id],
        );
        assert.equal(must(await subject.store.get(id)).recipients[0]?.lease, null);
      } finally {
        await subject.dispose();
      }
    });
  });
}
