/**
 * Each `starttls` / `allow-invalid-certs` strategy setting against each kind of receiving server, end
 * to end on loopback: our DNS client against an in-process DNS server, our SMTP client against scripted
 * SMTP servers, certificates from a test CA. The assertions are on what the server received (or did
 * not) as well as on the typed outcome, so a plaintext fallback cannot hide behind a green result.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { deliverToDomain } from '../../src/delivery/domain.js';
import type { DomainDelivery } from '../../src/delivery/types.js';
import { INITIAL_CONTEXT } from '../../src/cli/context.js';
import { createSelfSigned } from '../support/pki.js';
import { startDeliveryEnv } from '../support/delivery-env.js';
import type { DeliveryEnv } from '../support/delivery-env.js';

const BODY = new TextEncoder().encode(
  'From: a@sender.test\r\nTo: u@dest.test\r\nSubject: hi\r\n\r\nhello\r\n',
);
const DAY = 86_400_000;

const zone = {
  'valid.test': { MX: [{ preference: 10, exchange: 'mx.valid.test' }] },
  'mx.valid.test': { A: ['127.0.0.11'] },
  'plain.test': { MX: [{ preference: 10, exchange: 'mx.plain.test' }] },
  'mx.plain.test': { A: ['127.0.0.12'] },
  'selfsigned.test': { MX: [{ preference: 10, exchange: 'mx.selfsigned.test' }] },
  'mx.selfsigned.test': { A: ['127.0.0.13'] },
  'expired.test': { MX: [{ preference: 10, exchange: 'mx.expired.test' }] },
  'mx.expired.test': { A: ['127.0.0.14'] },
  'wrongname.test': { MX: [{ preference: 10, exchange: 'mx.wrongname.test' }] },
  'mx.wrongname.test': { A: ['127.0.0.15'] },
  'refuses.test': { MX: [{ preference: 10, exchange: 'mx.refuses.test' }] },
  'mx.refuses.test': { A: ['127.0.0.16'] },
  'oldtls.test': { MX: [{ preference: 10, exchange: 'mx.oldtls.test' }] },
  'mx.oldtls.test': { A: ['127.0.0.17'] },
  'inject.test': { MX: [{ preference: 10, exchange: 'mx.inject.test' }] },
  'mx.inject.test': { A: ['127.0.0.18'] },
  'backup.test': {
    MX: [
      { preference: 10, exchange: 'mx.plain.test' },
      { preference: 20, exchange: 'mx.valid.test' },
    ],
  },
  'nullmx.test': { MX: [{ preference: 0, exchange: '.' }] },
  'implicit.test': { A: ['127.0.0.11'] },
};

let env: DeliveryEnv;

async function send(
  domain: string,
  toml = '',
  context: Record<string, string | number> = {},
  recipients = [`user@${domain}`],
): Promise<DomainDelivery> {
  return deliverToDomain(env.deps(toml), {
    from: 'sender@sender.test',
    domain,
    recipients,
    body: BODY,
    context: { ...INITIAL_CONTEXT, ...context },
  });
}

function only(result: DomainDelivery) {
  assert.equal(result.recipients.length, 1);
  return result.recipients[0]!;
}

const OPTIONAL = '';
const REQUIRE = '[queue.tls.default]\nstarttls = "require"\n';
const DISABLE = '[queue.strategy]\ntls = "\'plain\'"\n[queue.tls.plain]\nstarttls = "disable"\n';

before(async () => {
  env = await startDeliveryEnv(zone);
  const valid = await env.ca.issue({ dnsNames: ['mx.valid.test'] });
  const expired = await env.ca.issue({
    dnsNames: ['mx.expired.test'],
    notBefore: new Date(Date.now() - 30 * DAY),
    notAfter: new Date(Date.now() - DAY),
  });
  const wrong = await env.ca.issue({ dnsNames: ['other.example.test'] });
  const self = await createSelfSigned({ dnsNames: ['mx.selfsigned.test'] });
  await env.server('127.0.0.11', { tls: { key: valid.keyPem, cert: valid.chainPem } });
  await env.server('127.0.0.12', {});
  await env.server('127.0.0.13', { tls: { key: self.keyPem, cert: self.certPem } });
  await env.server('127.0.0.14', { tls: { key: expired.keyPem, cert: expired.chainPem } });
  await env.server('127.0.0.15', { tls: { key: wrong.keyPem, cert: wrong.chainPem } });
  await env.server('127.0.0.16', {
    tls: { key: valid.keyPem, cert: valid.chainPem },
    starttlsReply: '454 4.7.0 TLS not available due to temporary reason',
  });
  const old = await env.ca.issue({ dnsNames: ['mx.oldtls.test'], keyType: 'rsa' });
  await env.server('127.0.0.17', {
    tls: {
      key: old.keyPem,
      cert: old.chainPem,
      options: { minVersion: 'TLSv1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT@SECLEVEL=0' },
    },
  });
  const inject = await env.ca.issue({ dnsNames: ['mx.inject.test'] });
  await env.server('127.0.0.18', {
    tls: { key: inject.keyPem, cert: inject.chainPem },
    injectAfterStartTls: '250 injected reply\r\n',
  });
});

after(async () => {
  await env.close();
});

describe('starttls = "optional" (the built-in default strategy)', () => {
  test('valid certificate: delivered over TLS, security pkix, TLS facts recorded', async () => {
    const r = await send('valid.test', OPTIONAL);
    assert.equal(only(r).status, 'delivered');
    assert.equal(r.attempts[0]?.security, 'pkix');
    assert.match(r.attempts[0]?.tls?.version ?? '', /^TLSv1\.[23]$/);
    assert.equal(r.attempts[0]?.tls?.chain[0]?.dnsNames[0], 'mx.valid.test');
    assert.equal(r.attempts[0]?.tlsRpt, 'success');
    const received = env.servers.get('127.0.0.11')!.messages.at(-1);
    assert.equal(received?.tls, true);
  });

  test('no STARTTLS offered: delivered in plaintext and recorded as security none', async () => {
    const r = await send('plain.test', OPTIONAL);
    assert.equal(only(r).status, 'delivered');
    assert.equal(r.attempts[0]?.security, 'none');
    assert.equal(env.servers.get('127.0.0.12')!.messages.at(-1)?.tls, false);
  });

  test('self-signed certificate: the attempt fails with last_error tls (4.7.5), nothing is sent', async () => {
    const before = env.servers.get('127.0.0.13')!.messages.length;
    const r = await send('selfsigned.test', OPTIONAL);
    const rcpt = only(r);
    assert.deepEqual([rcpt.status, rcpt.lastError, rcpt.code], ['temporary', 'tls', '4.7.5']);
    assert.equal(r.attempts[0]?.tlsRpt, 'certificate-not-trusted');
    assert.equal(env.servers.get('127.0.0.13')!.messages.length, before);
  });

  test('the retry after a tls error selects invalid-tls and delivers unverified', async () => {
    const r = await send('selfsigned.test', OPTIONAL, { retry_num: 1, last_error: 'tls' });
    assert.equal(only(r).status, 'delivered');
    assert.equal(r.attempts[0]?.strategy, 'invalid-tls');
    assert.equal(r.attempts[0]?.security, 'unverified');
    assert.equal(env.servers.get('127.0.0.13')!.messages.at(-1)?.tls, true);
  });

  test('expired certificate: tls failure reported as certificate-expired', async () => {
    const r = await send('expired.test', OPTIONAL);
    assert.equal(only(r).lastError, 'tls');
    assert.equal(r.attempts[0]?.tlsRpt, 'certificate-expired');
  });

  test('certificate for another name: tls failure reported as certificate-host-mismatch', async () => {
    const r = await send('wrongname.test', OPTIONAL);
    assert.equal(only(r).lastError, 'tls');
    assert.equal(r.attempts[0]?.tlsRpt, 'certificate-host-mismatch');
  });

  test('server limited to TLS 1.0/1.1: handshake fails, connection dropped, nothing sent in plaintext', async () => {
    const r = await send('oldtls.test', OPTIONAL);
    assert.deepEqual([only(r).status, only(r).lastError], ['temporary', 'tls']);
    assert.equal(env.servers.get('127.0.0.17')!.messages.length, 0);
  });

  test('STARTTLS answered 454: tls failure, no plaintext fallback', async () => {
    const r = await send('refuses.test', OPTIONAL);
    assert.deepEqual([only(r).status, only(r).lastError], ['temporary', 'tls']);
    assert.equal(env.servers.get('127.0.0.16')!.messages.length, 0);
  });

  /**
   * Attack: STARTTLS command injection (CVE-2011-0411 class). The server (or a man in the middle) sends
   * a fake SMTP reply right after "220 ready to start TLS", hoping the client reads it after the
   * handshake as if it came over TLS. The session must fail and nothing may be delivered.
   */
  test('bytes injected after the STARTTLS 220 fail the attempt', async () => {
    const r = await send('inject.test', OPTIONAL);
    assert.deepEqual([only(r).status, only(r).lastError], ['temporary', 'tls']);
    assert.equal(env.servers.get('127.0.0.18')!.messages.length, 0);
  });
});

describe('timeout.tls', () => {
  // The EHLO timeout is ten minutes here: only `timeout.tls` can end this test within its own limit.
  test(
    'bounds the wait for the reply to STARTTLS, not only the handshake',
    { timeout: 60_000 },
    async () => {
      const stalled = await env.ca.issue({ dnsNames: ['mx.valid.test'] });
      await env.server('127.0.0.19', {
        tls: { key: stalled.keyPem, cert: stalled.chainPem },
        delays: { starttls: 'stall' },
      });
      env.dns.zone['stall.test'] = { MX: [{ preference: 10, exchange: 'mx.stall.test' }] };
      env.dns.zone['mx.stall.test'] = { A: ['127.0.0.19'] };
      const deps = env.deps('[queue.tls.default.timeout]\ntls = "1s"\n');
      const r = await deliverToDomain(
        { ...deps, timeouts: { ...deps.timeouts, ehlo: 600_000 } },
        {
          from: 'sender@sender.test',
          domain: 'stall.test',
          recipients: ['user@stall.test'],
          body: BODY,
          context: INITIAL_CONTEXT,
        },
      );
      assert.deepEqual([only(r).status, only(r).lastError], ['temporary', 'tls']);
      assert.match(r.attempts[0]?.error?.message ?? '', /starttls/i);
    },
  );
});

describe('starttls = "require"', () => {
  test('valid certificate: delivered over TLS', async () => {
    const r = await send('valid.test', REQUIRE);
    assert.equal(only(r).status, 'delivered');
    assert.equal(r.attempts[0]?.security, 'pkix');
  });

  test('no STARTTLS: the host fails with 4.7.4 and nothing is sent in plaintext', async () => {
    const before = env.servers.get('127.0.0.12')!.messages.length;
    const r = await send('plain.test', REQUIRE);
    assert.deepEqual(
      [only(r).status, only(r).lastError, only(r).code],
      ['temporary', 'tls', '4.7.4'],
    );
    assert.equal(r.attempts[0]?.tlsRpt, 'starttls-not-supported');
    assert.equal(env.servers.get('127.0.0.12')!.messages.length, before);
  });

  test('a temporary failure at the first MX moves on to the next one', async () => {
    const r = await send('backup.test', REQUIRE);
    assert.equal(only(r).status, 'delivered');
    assert.deepEqual(
      r.attempts.map((a) => a.mx),
      ['mx.plain.test', 'mx.valid.test'],
    );
    assert.equal(r.attempts[0]?.error?.status, '4.7.4');
  });
  test('regression: a temporary failure at one MX and a permanent one at the next stay temporary with a 4.x.x status', async () => {
    const toml =
      `[queue.strategy]\ntls = [ { if = "mx == 'mx.valid.test'", then = "'strict'" }, { else = "'req'" } ]\n` +
      '[queue.tls.strict]\ndane = "require"\n[queue.tls.req]\nstarttls = "require"\n';
    const r = await send('backup.test', toml);
    assert.deepEqual(
      r.attempts.map((a) => [a.mx, a.error?.severity]),
      [
        ['mx.plain.test', 'temporary'],
        ['mx.valid.test', 'permanent'],
      ],
    );
    assert.deepEqual(
      [only(r).status, only(r).code, only(r).lastError],
      ['temporary', '4.7.4', 'tls'],
    );
  });
});

describe('starttls = "disable"', () => {
  test('never sends STARTTLS, even when offered', async () => {
    const server = env.servers.get('127.0.0.11')!;
    const r = await send('valid.test', DISABLE);
    assert.equal(only(r).status, 'delivered');
    assert.equal(r.attempts[0]?.security, 'none');
    assert.equal(server.messages.at(-1)?.tls, false);
    assert.ok(
      !server.transcripts.at(-1)!.some((l) => /^C: STARTTLS/i.test(l)),
      'STARTTLS must not be sent',
    );
  });
});

describe('routing and replies', () => {
  test('null MX is a permanent failure (5.1.10, RFC 7505)', async () => {
    const rcpt = only(await send('nullmx.test'));
    assert.deepEqual([rcpt.status, rcpt.code, rcpt.lastError], ['permanent', '5.1.10', 'dns']);
  });

  test('a domain that does not exist is a permanent failure', async () => {
    const rcpt = only(await send('nonexistent.test'));
    assert.deepEqual([rcpt.status, rcpt.code], ['permanent', '5.1.2']);
  });

  test('no MX records: the domain itself is the mail host (implicit MX)', async () => {
    const r = await send('implicit.test', '[queue.strategy]\ntls = "\'invalid-tls\'"\n');
    assert.equal(only(r).status, 'delivered');
    assert.equal(r.attempts[0]?.mx, 'implicit.test');
  });

  test('a 550 for one recipient is permanent for it; the other is delivered', async () => {
    await env.server('127.0.0.12', {
      rcptReplies: { 'gone@plain.test': '550 5.1.1 no such user' },
    });
    const r = await send('plain.test', OPTIONAL, {}, ['gone@plain.test', 'here@plain.test']);
    const byAddress = Object.fromEntries(r.recipients.map((x) => [x.address, x]));
    assert.deepEqual(
      [byAddress['gone@plain.test']?.status, byAddress['gone@plain.test']?.code],
      ['permanent', '5.1.1'],
    );
    assert.equal(byAddress['here@plain.test']?.status, 'delivered');
    assert.deepEqual(env.servers.get('127.0.0.12')!.messages.at(-1)?.recipients, [
      'here@plain.test',
    ]);
  });
});
