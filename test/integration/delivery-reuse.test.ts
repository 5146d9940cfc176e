/**
 * Connection reuse between messages for one MX host (RFC 5321 4.1.1.5), end to end on loopback: our
 * DNS client, our SMTP client with STARTTLS and a validated certificate, and the scripted SMTP server,
 * whose `transcripts` has one entry per TCP connection it accepted. The assertions are on what the
 * server saw: how many connections, RSET between two transactions, TLS for every message.
 *
 * Security: a session is reused only under the same strategy and host plan, so a retry that selects a
 * weaker strategy (`invalid-tls` after a TLS error) must open its own connection; and a dead pooled
 * session must never cost a message, only a fresh connection.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { deliverToDomain } from '../../src/delivery/domain.js';
import type { SessionPool } from '../../src/delivery/deps.js';
import { ConnectionPool, DEFAULT_POOL_LIMITS } from '../../src/delivery/pool.js';
import type { PoolLimits } from '../../src/delivery/pool.js';
import type { DomainDelivery } from '../../src/delivery/types.js';
import { INITIAL_CONTEXT } from '../../src/cli/context.js';
import { MemoryStore } from '../../src/queue/memory-store.js';
import { createRelay } from '../../src/relay/relay.js';
import { mustParse, startDeliveryEnv } from '../support/delivery-env.js';
import type { DeliveryEnv } from '../support/delivery-env.js';
import type { TestSmtpServer } from '../support/smtp-server.js';

const BODY = new TextEncoder().encode(
  'From: a@sender.test\r\nTo: u@reuse.test\r\nSubject: hi\r\n\r\nhello\r\n',
);
const TIMEOUT = { timeout: 60_000 };

const zone: Record<string, Record<string, unknown>> = {};
const HOSTS = ['one', 'strategy', 'stale', 'refused', 'limit', 'relay', 'norelay'] as const;
HOSTS.forEach((name, i) => {
  zone[`${name}.test`] = { MX: [{ preference: 10, exchange: `mx.${name}.test` }] };
  zone[`mx.${name}.test`] = { A: [`127.0.0.${61 + i}`] };
});
const addressOf = (name: (typeof HOSTS)[number]): string => `127.0.0.${61 + HOSTS.indexOf(name)}`;

let env: DeliveryEnv;
let tlsOptions: { key: string; cert: string };

before(async () => {
  env = await startDeliveryEnv(zone as Parameters<typeof startDeliveryEnv>[0]);
  const names = HOSTS.map((n) => `mx.${n}.test`);
  const cert = await env.ca.issue({ dnsNames: names });
  tlsOptions = { key: cert.keyPem, cert: cert.chainPem };
});

after(async () => {
  await env.close();
});

function newPool(limits: Partial<PoolLimits> = {}): SessionPool {
  return new ConnectionPool({ limits: () => ({ ...DEFAULT_POOL_LIMITS, ...limits }) });
}

function send(
  pool: SessionPool,
  domain: string,
  n: number,
  context: Record<string, string | number> = {},
): Promise<DomainDelivery> {
  return deliverToDomain(
    { ...env.deps(), pool },
    {
      from: 'sender@sender.test',
      domain,
      recipients: [`user${n}@${domain}`],
      body: BODY,
      context: { ...INITIAL_CONTEXT, ...context },
    },
  );
}

function delivered(result: DomainDelivery): void {
  assert.deepEqual(
    result.recipients.map((r) => r.status),
    ['delivered'],
    JSON.stringify(result.recipients),
  );
}

const commands = (server: TestSmtpServer, connection: number): string[] =>
  (server.transcripts[connection] ?? [])
    .filter((l) => l.startsWith('C: '))
    .map((l) => l.slice(3).split(/[ :]/, 1)[0]!.toUpperCase());

describe('deliverToDomain with a session pool', () => {
  test(
    'RFC 5321 4.1.1.5: two messages for one host share one TLS connection with RSET between them',
    TIMEOUT,
    async () => {
      const server = await env.server(addressOf('one'), { tls: tlsOptions });
      const pool = newPool();
      try {
        const first = await send(pool, 'one.test', 1);
        const second = await send(pool, 'one.test', 2);
        delivered(first);
        delivered(second);
        assert.equal(server.transcripts.length, 1, 'one connection');
        assert.deepEqual(commands(server, 0), [
          'EHLO',
          'STARTTLS',
          'EHLO',
          'MAIL',
          'RCPT',
          'DATA',
          '<MESSAGE',
          'RSET',
          'MAIL',
          'RCPT',
          'DATA',
          '<MESSAGE',
        ]);
        assert.deepEqual(
          server.messages.map((m) => [m.recipients[0], m.tls]),
          [
            ['user1@one.test', true],
            ['user2@one.test', true],
          ],
        );
        // The second attempt reports the facts the connection proved when it was opened, and says so.
        const [a, b] = [first.attempts[0]!, second.attempts[0]!];
        assert.equal(b.security, 'pkix');
        assert.deepEqual(b.tls?.chain[0]?.spkiSha256, a.tls?.chain[0]?.spkiSha256);
        assert.ok(
          b.reasons.some((r) => r.startsWith('reused connection')),
          b.reasons.join('; '),
        );
        assert.ok(!a.reasons.some((r) => r.startsWith('reused connection')));
      } finally {
        await pool.close();
      }
      assert.equal(
        commands(server, 0).at(-1),
        'QUIT',
        'closing the pool ends the connection with QUIT',
      );
    },
  );

  test(
    'a retry that selects another strategy (invalid-tls) does not reuse the connection',
    TIMEOUT,
    async () => {
      const server = await env.server(addressOf('strategy'), { tls: tlsOptions });
      const pool = newPool();
      try {
        delivered(await send(pool, 'strategy.test', 1));
        const retry = await send(pool, 'strategy.test', 2, { retry_num: 1, last_error: 'tls' });
        delivered(retry);
        assert.equal(retry.attempts[0]?.strategy, 'invalid-tls');
        assert.equal(server.transcripts.length, 2, 'a second connection for the other strategy');
        assert.ok(
          !commands(server, 0).includes('RSET'),
          'the default-strategy session was not offered the message',
        );
        assert.ok(!retry.attempts[0].reasons.some((r) => r.startsWith('reused connection')));
        assert.equal(pool.size, 2, 'each strategy keeps its own idle session');
      } finally {
        await pool.close();
      }
    },
  );

  test(
    'a pooled connection the server closed meanwhile is replaced by a fresh one; the message is delivered',
    TIMEOUT,
    async () => {
      await env.server(addressOf('stale'), { tls: tlsOptions });
      const pool = newPool();
      try {
        delivered(await send(pool, 'stale.test', 1));
        assert.equal(pool.size, 1);
        // Replacing the server destroys every connection it held, as a server's idle timeout would.
        const restarted = await env.server(addressOf('stale'), { tls: tlsOptions });
        const second = await send(pool, 'stale.test', 2);
        delivered(second);
        assert.equal(second.attempts.length, 1, 'the stale session is not a failed attempt');
        assert.equal(restarted.transcripts.length, 1);
        assert.equal(restarted.messages[0]?.tls, true);
        assert.ok(!second.attempts[0]!.reasons.some((r) => r.startsWith('reused connection')));
      } finally {
        await pool.close();
      }
    },
  );

  test(
    'RFC 5321 4.1.1.5: an RSET answered 421 retires the connection; a fresh one carries the message',
    TIMEOUT,
    async () => {
      const server = await env.server(addressOf('refused'), {
        tls: tlsOptions,
        respond: (phase) => (phase === 'rset' ? '421 4.4.2 idle too long' : undefined),
      });
      const pool = newPool();
      try {
        delivered(await send(pool, 'refused.test', 1));
        const second = await send(pool, 'refused.test', 2);
        delivered(second);
        assert.equal(second.attempts.length, 1);
        assert.equal(server.transcripts.length, 2);
        assert.equal(server.messages.length, 2);
      } finally {
        await pool.close();
      }
      // `close` waits for every QUIT the pool sent, including the one retiring the refused session.
      assert.deepEqual(
        commands(server, 0).slice(-2),
        ['RSET', 'QUIT'],
        'the refused session is closed with QUIT',
      );
    },
  );

  test(
    'max messages per connection: with a limit of 2, three messages take two connections',
    TIMEOUT,
    async () => {
      const server = await env.server(addressOf('limit'), { tls: tlsOptions });
      const pool = newPool({ maxMessages: 2 });
      try {
        for (const n of [1, 2, 3]) delivered(await send(pool, 'limit.test', n));
        assert.equal(server.transcripts.length, 2);
        assert.equal(server.messages.length, 3);
      } finally {
        await pool.close();
      }
      assert.deepEqual(
        commands(server, 0).filter((c) => c === 'MAIL' || c === 'RSET' || c === 'QUIT'),
        ['MAIL', 'RSET', 'MAIL', 'QUIT'],
      );
    },
  );
});

describe('the relay and [queue.worker] connection-reuse', () => {
  const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined };

  async function relayRun(name: 'relay' | 'norelay', worker: string): Promise<TestSmtpServer> {
    const server = await env.server(addressOf(name), { tls: tlsOptions });
    // One delivery at a time per domain, so the second message finds the first one's idle session.
    const toml = `[queue.worker]\nconcurrency-per-domain = 1\n${worker}`;
    const config = mustParse(toml);
    const relay = createRelay({
      store: new MemoryStore(),
      config: () => config,
      delivery: () => env.deps(toml, { config }),
      logger: quiet,
    });
    try {
      for (const n of [1, 2, 3]) {
        const queued = await relay.store.enqueue({
          returnPath: 'app@sender.test',
          recipients: [{ address: `user${n}@${name}.test` }],
          body: BODY,
          createdAt: Date.now(),
          expiresAt: null,
        });
        assert.ok(queued.ok);
      }
      await relay.scheduler.drain();
      assert.equal(server.messages.length, 3);
      assert.ok(server.messages.every((m) => m.tls));
    } finally {
      await relay.scheduler.stop(1_000);
      await relay.close();
    }
    return server;
  }

  test(
    'connection-reuse = true (the default): three queued messages, one connection, QUIT on close',
    TIMEOUT,
    async () => {
      assert.equal(mustParse('').worker.connectionReuse.enabled, true);
      const server = await relayRun('relay', '');
      assert.equal(server.transcripts.length, 1);
      assert.deepEqual(
        commands(server, 0).filter((c) => c === 'RSET' || c === 'QUIT'),
        ['RSET', 'RSET', 'QUIT'],
      );
    },
  );

  test('connection-reuse = false: one connection per message', TIMEOUT, async () => {
    const config = mustParse(
      '[queue.worker]\nconnection-reuse = false\nreuse-max-messages = 5\nreuse-idle-timeout = "2s"\nreuse-max-connections = 0\n',
    );
    assert.deepEqual(config.worker.connectionReuse, {
      enabled: false,
      maxMessages: 5,
      idleMs: 2_000,
      maxConnections: 0,
    });
    const server = await relayRun('norelay', 'connection-reuse = false\n');
    assert.equal(server.transcripts.length, 3);
    assert.ok(server.transcripts.every((_, i) => !commands(server, i).includes('RSET')));
  });
});
