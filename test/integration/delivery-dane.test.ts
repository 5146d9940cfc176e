/**
 * DANE for SMTP (RFC 7672) end to end on loopback, through `deliverToDomain`: our DNS client asks an
 * in-process DNS server that plays a trusted validating resolver (loopback, AD bit set) for MX, A and
 * `_25._tcp.<mx>` TLSA records computed from the test certificates, then delivers to scripted SMTP
 * servers. Assertions are on what each server received (message, over TLS or not, or no connection at
 * all) as well as on the typed outcome, so a silent downgrade cannot hide behind a green result.
 *
 * The rules: a host with usable TLSA records is reached only over TLS authenticated by those records
 * (section 2.2), whatever `starttls` and `allow-invalid-certs` say, unless the strategy itself sets
 * `dane = "disable"`; a mismatch or DNSSEC failure defers the message (temporary) and tries the next
 * MX, never plaintext; `dane = "require"` bounces a domain whose DNS is not signed.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { deliverToDomain } from '../../src/delivery/domain.js';
import type { DomainDelivery } from '../../src/delivery/types.js';
import { INITIAL_CONTEXT } from '../../src/cli/context.js';
import { startDeliveryEnv } from '../support/delivery-env.js';
import type { DeliveryEnv } from '../support/delivery-env.js';
import type { TestTlsa, TestZone } from '../support/dns-server.js';
import { createSelfSigned, createTestCa } from '../support/pki.js';
import type { TestCert } from '../support/pki.js';
import type { TestSmtpServer } from '../support/smtp-server.js';

const BODY = new TextEncoder().encode(
  'From: a@sender.test\r\nTo: u@dest.test\r\nSubject: dane\r\n\r\nhello\r\n',
);
const sha256 = (data: Uint8Array): Uint8Array =>
  new Uint8Array(createHash('sha256').update(data).digest());
const ee = (cert: TestCert): TestTlsa => ({
  usage: 3,
  selector: 1,
  matchingType: 1,
  data: sha256(cert.spkiDer),
});
const ta = (cert: TestCert): TestTlsa => ({
  usage: 2,
  selector: 0,
  matchingType: 1,
  data: sha256(cert.der),
});
const taFull = (cert: TestCert): TestTlsa => ({
  usage: 2,
  selector: 0,
  matchingType: 0,
  data: cert.der,
});

/** Host name -> loopback address of its SMTP server. */
const IP = {
  'mx.ee.dane.test': '127.0.0.41',
  'mx.ta.dane.test': '127.0.0.42',
  'mx.rollover.dane.test': '127.0.0.43',
  'mx.unsigned.dane.test': '127.0.0.44',
  'mx.bogus.dane.test': '127.0.0.45',
  'mx.plain.dane.test': '127.0.0.46',
  'mx.private.dane.test': '127.0.0.47',
  'mx.rootnotsent.dane.test': '127.0.0.48',
  'mx.fullroot.dane.test': '127.0.0.49',
} as const;
type Host = keyof typeof IP;

const zone: TestZone = {};
let env: DeliveryEnv;

function domain(name: string, hosts: readonly Host[], extra: { ad?: boolean } = {}): void {
  zone[name] = {
    MX: hosts.map((exchange, i) => ({ preference: 10 * (i + 1), exchange })),
    ...extra,
  };
}
function host(
  name: Host,
  tlsa: readonly TestTlsa[] | undefined,
  extra: { ad?: boolean; bogus?: boolean } = {},
): void {
  zone[name] = { A: [IP[name]], ...(extra.ad === undefined ? {} : { ad: extra.ad }) };
  if (tlsa !== undefined) zone[`_25._tcp.${name}`] = { TLSA: tlsa, ...extra };
}

const server = (name: Host): TestSmtpServer => env.servers.get(IP[name])!;
const connections = (name: Host): number => server(name).transcripts.length;

async function send(
  to: string,
  toml = '',
  context: Record<string, string | number> = {},
): Promise<DomainDelivery> {
  return deliverToDomain(env.deps(toml), {
    from: 'sender@sender.test',
    domain: to,
    recipients: [`user@${to}`],
    body: BODY,
    context: { ...INITIAL_CONTEXT, ...context },
  });
}

function only(result: DomainDelivery) {
  assert.equal(result.recipients.length, 1);
  return result.recipients[0]!;
}

const STARTTLS_OFF =
  '[queue.strategy]\ntls = "\'plain\'"\n[queue.tls.plain]\nstarttls = "disable"\n';
const ALL_OFF =
  '[queue.strategy]\ntls = "\'plain\'"\n[queue.tls.plain]\nstarttls = "disable"\ndane = "disable"\n';
const DANE_REQUIRED = '[queue.tls.default]\ndane = "require"\n';
const INVALID_OK = '[queue.strategy]\ntls = "\'invalid-tls\'"\n';

before(async () => {
  const self = await createSelfSigned({ dnsNames: ['mx.ee.dane.test'] });
  const rolledOver = await createSelfSigned({ dnsNames: ['mx.rollover.dane.test'] });
  const newKey = await createSelfSigned({ dnsNames: ['mx.rollover.dane.test'] });
  const privateCa = await createTestCa({ commonName: 'Private DANE CA' });
  const privateLeaf = await privateCa.issue({ dnsNames: ['mx.private.dane.test'] });

  domain('ee.dane.test', ['mx.ee.dane.test']);
  host('mx.ee.dane.test', [ee(self)]);
  domain('ta.dane.test', ['mx.ta.dane.test']);
  domain('rollover.dane.test', ['mx.rollover.dane.test']);
  // The server still presents the old key; DNS already publishes only the new one.
  host('mx.rollover.dane.test', [ee(newKey)]);
  domain('backup.dane.test', ['mx.rollover.dane.test', 'mx.ee.dane.test']);
  domain('unsigned.dane.test', ['mx.unsigned.dane.test'], { ad: false });
  host('mx.unsigned.dane.test', undefined, { ad: false });
  domain('bogus.dane.test', ['mx.bogus.dane.test']);
  host('mx.bogus.dane.test', [ee(self)], { bogus: true });
  domain('plain.dane.test', ['mx.plain.dane.test']);
  host('mx.plain.dane.test', [ee(self)]);
  domain('private.dane.test', ['mx.private.dane.test']);
  host('mx.private.dane.test', [ta(privateCa)]);

  env = await startDeliveryEnv(zone, { ad: true });
  const taLeaf = await env.ca.issue({ dnsNames: ['mx.ta.dane.test'] });
  host('mx.ta.dane.test', [ta(env.ca)]);
  // The client trusts env.ca (its ca-file); these two servers send leaf + intermediate, not env.ca.
  const intermediate = await env.ca.issueCa();
  const rootNotSentLeaf = await intermediate.issue({ dnsNames: ['mx.rootnotsent.dane.test'] });
  const fullRootLeaf = await intermediate.issue({ dnsNames: ['mx.fullroot.dane.test'] });
  domain('rootnotsent.dane.test', ['mx.rootnotsent.dane.test']);
  host('mx.rootnotsent.dane.test', [ta(env.ca)]);
  domain('fullroot.dane.test', ['mx.fullroot.dane.test']);
  host('mx.fullroot.dane.test', [taFull(env.ca)]);

  await env.server(IP['mx.ee.dane.test'], { tls: { key: self.keyPem, cert: self.certPem } });
  // RFC 7671 section 5.2.2: with a digest DANE-TA record the server sends the anchor in its chain.
  await env.server(IP['mx.ta.dane.test'], {
    tls: { key: taLeaf.keyPem, cert: taLeaf.chainPem + env.ca.certPem },
  });
  await env.server(IP['mx.rollover.dane.test'], {
    tls: { key: rolledOver.keyPem, cert: rolledOver.certPem },
  });
  await env.server(IP['mx.unsigned.dane.test'], { tls: { key: self.keyPem, cert: self.certPem } });
  await env.server(IP['mx.bogus.dane.test'], { tls: { key: self.keyPem, cert: self.certPem } });
  await env.server(IP['mx.plain.dane.test'], {});
  await env.server(IP['mx.private.dane.test'], {
    tls: { key: privateLeaf.keyPem, cert: privateLeaf.chainPem + privateCa.certPem },
  });
  await env.server(IP['mx.rootnotsent.dane.test'], {
    tls: { key: rootNotSentLeaf.keyPem, cert: rootNotSentLeaf.chainPem },
  });
  await env.server(IP['mx.fullroot.dane.test'], {
    tls: { key: fullRootLeaf.keyPem, cert: fullRootLeaf.chainPem },
  });
});

after(async () => {
  await env?.close();
});

describe('DANE authenticates the host (RFC 7672 section 3.1)', () => {
  test('RFC 7671 5.1: DANE-EE 3 1 1 authenticates a self-signed certificate under the default strategy', async () => {
    const r = await send('ee.dane.test');
    assert.equal(only(r).status, 'delivered');
    assert.equal(r.attempts[0]?.security, 'dane');
    assert.equal(r.attempts[0]?.tlsRpt, 'success');
    // RFC 8460 4.4: the attempt is reported under the TLSA policy of the MX host, records as policy strings.
    const policy = r.attempts[0]?.policy;
    assert.equal(policy?.type, 'tlsa');
    assert.equal(policy?.domain, 'mx.ee.dane.test');
    assert.match(policy?.strings[0] ?? '', /^3 1 1 [0-9A-F]{64}$/);
    assert.equal(server('mx.ee.dane.test').messages.at(-1)?.tls, true);
  });

  test('RFC 7671 5.2: DANE-TA 2 0 1 of the test CA with a leaf named for the MX: delivered at security dane', async () => {
    const r = await send('ta.dane.test');
    assert.equal(only(r).status, 'delivered');
    assert.equal(r.attempts[0]?.security, 'dane');
    assert.equal(server('mx.ta.dane.test').messages.at(-1)?.tls, true);
  });

  test('RFC 7671 5.2: DANE-TA of a private CA that WebPKI does not trust: delivered at security dane', async () => {
    const r = await send('private.dane.test');
    assert.equal(only(r).status, 'delivered');
    assert.equal(r.attempts[0]?.security, 'dane');
  });

  test('RFC 7671 5.2.2: a DANE-TA 2 0 0 record carries the whole root certificate, so a server that omits the root is authenticated', async () => {
    const r = await send('fullroot.dane.test');
    assert.equal(only(r).status, 'delivered');
    assert.equal(r.attempts[0]?.security, 'dane');
    assert.equal(server('mx.fullroot.dane.test').messages.at(-1)?.tls, true);
  });
});

describe('DANE failures never downgrade (RFC 7672 section 2.2)', () => {
  /**
   * Attack (or a key rollover caught half-way): the server presents a key that the published TLSA
   * records do not pin, as a man in the middle with its own certificate would. Nothing may be sent;
   * the failure is temporary so the message waits for the records (or the server) to be fixed.
   */
  test('RFC 7672 3.1: a TLSA mismatch is a temporary dane failure and nothing is delivered', async () => {
    const r = await send('rollover.dane.test');
    const rcpt = only(r);
    assert.deepEqual([rcpt.status, rcpt.lastError, rcpt.code], ['temporary', 'dane', '4.7.5']);
    assert.equal(r.attempts[0]?.tlsRpt, 'validation-failure');
    assert.equal(server('mx.rollover.dane.test').messages.length, 0);
  });

  /**
   * RFC 7672 section 3.1 requires a server to send the DANE-TA anchor a digest record names. The root is
   * in the client's own trust store, which must not stand in for the certificate the server left out
   * (Postfix refuses it too: "Server certificate not verified").
   */
  test('RFC 7672 3.1 / RFC 7671 5.2.2: a DANE-TA 2 0 1 digest of a root the server does not send is a temporary dane failure, even when the client trusts that root', async () => {
    const r = await send('rootnotsent.dane.test');
    const rcpt = only(r);
    assert.deepEqual([rcpt.status, rcpt.lastError, rcpt.code], ['temporary', 'dane', '4.7.5']);
    assert.equal(r.attempts[0]?.tlsRpt, 'validation-failure');
    // The recorded chain is the one on the wire: leaf and intermediate, no root.
    assert.deepEqual(
      r.attempts[0]?.tls?.chain.map((c) => c.issuer),
      ['CN=mxsec Test Intermediate', 'CN=mxsec Test CA'],
    );
    assert.equal(server('mx.rootnotsent.dane.test').messages.length, 0);
  });

  test('RFC 7672 3.1: after a TLSA mismatch at the first MX, the second MX that matches delivers', async () => {
    const before = server('mx.ee.dane.test').messages.length;
    const r = await send('backup.dane.test');
    assert.equal(only(r).status, 'delivered');
    assert.deepEqual(
      r.attempts.map((a) => [a.mx, a.error?.lastError ?? null, a.security]),
      [
        ['mx.rollover.dane.test', 'dane', null],
        ['mx.ee.dane.test', null, 'dane'],
      ],
    );
    assert.equal(server('mx.ee.dane.test').messages.length, before + 1);
    assert.equal(server('mx.rollover.dane.test').messages.length, 0);
  });

  /**
   * Attack: an active attacker tampers with the TLSA answer (or strips its signatures) hoping the
   * client reads "no DANE" and falls back to unauthenticated or plaintext delivery. The validating
   * resolver reports the answer as bogus: the host must be deferred without even connecting.
   */
  test('RFC 7672 2.2: a DNSSEC-bogus TLSA answer is a temporary failure, never a plaintext fallback', async () => {
    const r = await send('bogus.dane.test');
    const rcpt = only(r);
    assert.deepEqual([rcpt.status, rcpt.lastError], ['temporary', 'dane']);
    assert.equal(r.attempts[0]?.tlsRpt, 'dnssec-invalid');
    assert.equal(r.attempts[0]?.ip, undefined);
    assert.equal(connections('mx.bogus.dane.test'), 0);
  });

  /**
   * Attack: STARTTLS stripping. A man in the middle removes STARTTLS from the EHLO reply of a host
   * that publishes TLSA records, so that the client sends the message in cleartext. The client must
   * give up on the host before MAIL FROM.
   */
  test('RFC 7672 2.2: a DANE host that does not offer STARTTLS fails temporarily and nothing is sent', async () => {
    const r = await send('plain.dane.test');
    const rcpt = only(r);
    assert.deepEqual([rcpt.status, rcpt.lastError, rcpt.code], ['temporary', 'tls', '4.7.4']);
    assert.equal(r.attempts[0]?.tlsRpt, 'starttls-not-supported');
    assert.equal(server('mx.plain.dane.test').messages.length, 0);
    assert.ok(
      !server('mx.plain.dane.test')
        .transcripts.flat()
        .some((l) => /^C: MAIL FROM/i.test(l)),
      'MAIL FROM must not be sent',
    );
  });

  /**
   * Attack on the configuration: the retry strategy that accepts invalid certificates must not let a
   * man in the middle with the wrong key through to a DANE host.
   */
  test('allow-invalid-certs = true does not accept a certificate the TLSA records do not match', async () => {
    const r = await send('rollover.dane.test', INVALID_OK);
    assert.equal(r.attempts[0]?.strategy, 'invalid-tls');
    assert.deepEqual([only(r).status, only(r).lastError], ['temporary', 'dane']);
    assert.equal(server('mx.rollover.dane.test').messages.length, 0);
  });

  test('the default retry after a tls error (invalid-tls) still refuses the TLSA mismatch', async () => {
    const r = await send('rollover.dane.test', '', { retry_num: 1, last_error: 'tls' });
    assert.equal(r.attempts[0]?.strategy, 'invalid-tls');
    assert.equal(only(r).status, 'temporary');
    assert.equal(server('mx.rollover.dane.test').messages.length, 0);
  });
});

describe('strategy settings against published DANE', () => {
  test('starttls = "disable" does not override usable TLSA records: delivered over TLS at security dane', async () => {
    const r = await send('ee.dane.test', STARTTLS_OFF);
    assert.equal(only(r).status, 'delivered');
    assert.equal(r.attempts[0]?.strategy, 'plain');
    assert.equal(r.attempts[0]?.security, 'dane');
    assert.equal(server('mx.ee.dane.test').messages.at(-1)?.tls, true);
    assert.ok(
      server('mx.ee.dane.test')
        .transcripts.at(-1)!
        .some((l) => /^C: STARTTLS/i.test(l)),
      'STARTTLS must be sent',
    );
  });

  test('starttls = "disable" with dane = "disable" in the same strategy: plaintext, as configured', async () => {
    const r = await send('ee.dane.test', ALL_OFF);
    assert.equal(only(r).status, 'delivered');
    assert.equal(r.attempts[0]?.security, 'none');
    assert.equal(server('mx.ee.dane.test').messages.at(-1)?.tls, false);
    assert.ok(
      !server('mx.ee.dane.test')
        .transcripts.at(-1)!
        .some((l) => /^C: STARTTLS/i.test(l)),
      'STARTTLS must not be sent',
    );
  });

  test('RFC 7672 2.2.1: dane = "require" to an unsigned zone is a permanent dane failure, never connected', async () => {
    const r = await send('unsigned.dane.test', DANE_REQUIRED);
    const rcpt = only(r);
    assert.deepEqual([rcpt.status, rcpt.lastError, rcpt.code], ['permanent', 'dane', '5.7.5']);
    assert.equal(r.attempts[0]?.tlsRpt, 'dane-required');
    assert.equal(connections('mx.unsigned.dane.test'), 0);
  });

  test('RFC 7672 2.2.1: the same unsigned zone under the default strategy: DANE does not apply, PKIX refuses the self-signed cert', async () => {
    const r = await send('unsigned.dane.test');
    assert.deepEqual([only(r).status, only(r).lastError], ['temporary', 'tls']);
    assert.equal(connections('mx.unsigned.dane.test'), 1);
  });
});
