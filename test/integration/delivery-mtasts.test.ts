/**
 * MTA-STS (RFC 8461) end to end on loopback: `deliverToDomain` discovers each domain's policy through
 * our DNS client (`_mta-sts.<domain>` TXT, `mta-sts.<domain>` A), fetches it over HTTPS from an
 * in-process policy server holding certificates from the test CA, and delivers to scripted SMTP
 * servers. Each domain is one scenario. The assertions are on what the SMTP servers received (or that
 * they were never contacted) as well as on the typed outcome, so a policy that was silently not applied
 * cannot hide behind a green result: a delivery that reached the MX in plaintext, or under a certificate
 * the policy forbids, fails here even if the outcome claims otherwise.
 *
 * The rules: under `enforce` only MX hosts matching the policy are used, only over TLS with a WebPKI-valid
 * certificate for the MX name (section 4.1, 4.2); `allow-invalid-certs` and `starttls = "disable"` do not
 * relax that unless the same strategy disables MTA-STS; with no qualifying host the message is deferred
 * (section 5); `testing` delivers as without a policy and records what failed (section 5); a policy
 * that cannot be fetched is no policy under `optional` (section 5.1); DANE wins for a host it
 * authenticates (RFC 8461 section 2, RFC 7672 section 2.2).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { deliverToDomain } from '../../src/delivery/domain.js';
import type { DomainDelivery } from '../../src/delivery/types.js';
import { INITIAL_CONTEXT } from '../../src/cli/context.js';
import { startDeliveryEnv } from '../support/delivery-env.js';
import type { DeliveryEnv } from '../support/delivery-env.js';
import { policyText, startPolicyServer } from '../support/https-policy-server.js';
import type { PolicySite, TestPolicyServer } from '../support/https-policy-server.js';
import { createSelfSigned } from '../support/pki.js';
import type { TestZone } from '../support/dns-server.js';
import { tlsRptOf } from '../../src/policy/failure.js';

const BODY = new TextEncoder().encode(
  'From: a@sender.test\r\nTo: u@dest.test\r\nSubject: hi\r\n\r\nhello\r\n',
);
const POLICY_HOST = '127.0.0.2';
const STS_TXT = { TXT: ['v=STSv1; id=20240101T000000;'] };

/** Scenario domain -> its MX host name(s) and the loopback address of its SMTP server. */
const MX: Record<string, { readonly hosts: readonly string[]; readonly ip: string }> = {
  'exact.sts.test': { hosts: ['mx.exact.sts.test'], ip: '127.0.0.21' },
  'wild.sts.test': { hosts: ['mail.wild.sts.test'], ip: '127.0.0.22' },
  'unlisted.sts.test': {
    hosts: ['mx.unlisted.sts.test', 'mx2.unlisted.sts.test'],
    ip: '127.0.0.23',
  },
  'self.sts.test': { hosts: ['mx.self.sts.test'], ip: '127.0.0.24' },
  'plain.sts.test': { hosts: ['mx.plain.sts.test'], ip: '127.0.0.25' },
  'testing.sts.test': { hosts: ['mx.testing.sts.test'], ip: '127.0.0.26' },
  'missing.sts.test': { hosts: ['mx.missing.sts.test'], ip: '127.0.0.27' },
  'notxt.sts.test': { hosts: ['mx.notxt.sts.test'], ip: '127.0.0.28' },
  'dane.sts.test': { hosts: ['mx.dane.sts.test'], ip: '127.0.0.29' },
};

function buildZone(): TestZone {
  const zone: TestZone = {};
  for (const [domain, { hosts, ip }] of Object.entries(MX)) {
    zone[domain] = { MX: hosts.map((exchange, i) => ({ preference: 10 * (i + 1), exchange })) };
    for (const host of hosts) zone[host] = { A: [ip] };
    if (domain !== 'notxt.sts.test') {
      zone[`_mta-sts.${domain}`] = STS_TXT;
      zone[`mta-sts.${domain}`] = { A: [POLICY_HOST] };
    }
  }
  return zone;
}

let env: DeliveryEnv;
let policies: TestPolicyServer;

async function send(
  domain: string,
  toml = '',
  context: Record<string, string | number> = {},
): Promise<DomainDelivery> {
  return deliverToDomain(env.deps(toml), {
    from: 'sender@sender.test',
    domain,
    recipients: [`user@${domain}`],
    body: BODY,
    context: { ...INITIAL_CONTEXT, ...context },
  });
}

function only(result: DomainDelivery) {
  assert.equal(result.recipients.length, 1);
  return result.recipients[0]!;
}

function server(domain: string) {
  return env.servers.get(MX[domain]!.ip)!;
}

/** True when some connection to the server got as far as a MAIL command. */
function sawMailFrom(domain: string): boolean {
  return server(domain).transcripts.some((t) => t.some((l) => /^C: MAIL FROM/i.test(l)));
}

const INVALID_TLS = '[queue.strategy]\ntls = "\'invalid-tls\'"\n';
const NO_STARTTLS =
  '[queue.strategy]\ntls = "\'plain\'"\n[queue.tls.plain]\nstarttls = "disable"\n';
const NO_STARTTLS_NO_STS =
  '[queue.strategy]\ntls = "\'plain\'"\n[queue.tls.plain]\nstarttls = "disable"\nmta-sts = "disable"\n';
const REQUIRE_STS = '[queue.tls.default]\nmta-sts = "require"\n';

before(async () => {
  env = await startDeliveryEnv(buildZone());
  const issue = async (name: string) => env.ca.issue({ dnsNames: [name] });
  const site = async (domain: string, response: PolicySite['response']): Promise<PolicySite> => ({
    cert: await issue(`mta-sts.${domain}`),
    response,
  });
  policies = await startPolicyServer({
    address: POLICY_HOST,
    port: env.port,
    sites: {
      'exact.sts.test': await site('exact.sts.test', policyText('enforce', ['mx.exact.sts.test'])),
      'wild.sts.test': await site('wild.sts.test', policyText('enforce', ['*.wild.sts.test'])),
      'unlisted.sts.test': await site(
        'unlisted.sts.test',
        policyText('enforce', ['mail.unlisted.sts.test', '*.other.sts.test']),
      ),
      'self.sts.test': await site('self.sts.test', policyText('enforce', ['mx.self.sts.test'])),
      'plain.sts.test': await site('plain.sts.test', policyText('enforce', ['mx.plain.sts.test'])),
      'testing.sts.test': await site(
        'testing.sts.test',
        policyText('testing', ['mx.testing.sts.test']),
      ),
      'missing.sts.test': await site('missing.sts.test', {
        status: 404,
        contentType: 'text/plain',
        body: 'no policy here\n',
      }),
      'dane.sts.test': await site('dane.sts.test', policyText('enforce', ['other.dane.sts.test'])),
    },
  });
  const tlsServer = async (domain: string, cert: { keyPem: string; chainPem: string }) =>
    env.server(MX[domain]!.ip, { tls: { key: cert.keyPem, cert: cert.chainPem } });
  await tlsServer('exact.sts.test', await issue('mx.exact.sts.test'));
  await tlsServer('wild.sts.test', await issue('mail.wild.sts.test'));
  await tlsServer(
    'unlisted.sts.test',
    await env.ca.issue({ dnsNames: ['mx.unlisted.sts.test', 'mx2.unlisted.sts.test'] }),
  );
  const self = await createSelfSigned({ dnsNames: ['mx.self.sts.test'] });
  await tlsServer('self.sts.test', { keyPem: self.keyPem, chainPem: self.certPem });
  await env.server(MX['plain.sts.test']!.ip, {});
  const selfTesting = await createSelfSigned({ dnsNames: ['mx.testing.sts.test'] });
  await tlsServer('testing.sts.test', {
    keyPem: selfTesting.keyPem,
    chainPem: selfTesting.certPem,
  });
  await tlsServer('missing.sts.test', await issue('mx.missing.sts.test'));
  await tlsServer('notxt.sts.test', await issue('mx.notxt.sts.test'));
  // DANE-EE 3 1 1 over a self-signed key, in a zone whose answers carry the AD bit from a loopback resolver.
  const daneCert = await createSelfSigned({ dnsNames: ['mx.dane.sts.test'] });
  await tlsServer('dane.sts.test', { keyPem: daneCert.keyPem, chainPem: daneCert.certPem });
  const zone = env.dns.zone;
  zone['dane.sts.test'] = { ...zone['dane.sts.test'], ad: true };
  zone['mx.dane.sts.test'] = { ...zone['mx.dane.sts.test'], ad: true };
  zone['_25._tcp.mx.dane.sts.test'] = {
    ad: true,
    TLSA: [
      {
        usage: 3,
        selector: 1,
        matchingType: 1,
        data: new Uint8Array(createHash('sha256').update(daneCert.spkiDer).digest()),
      },
    ],
  };
});

after(async () => {
  await policies?.close();
  await env?.close();
});

describe('RFC 8461 mode enforce', () => {
  test('RFC 8461 4.1: an MX matching the policy exactly, with a valid certificate, is delivered to with security mta-sts', async () => {
    const fetchesBefore = policies.fetches('exact.sts.test');
    const r = await send('exact.sts.test');
    assert.equal(only(r).status, 'delivered', only(r).message);
    assert.equal(r.attempts[0]?.security, 'mta-sts');
    assert.equal(r.attempts[0]?.tlsRpt, 'success');
    assert.match(r.attempts[0]?.tls?.version ?? '', /^TLSv1\.[23]$/);
    // RFC 8460 4.4: reported under the STS policy of the domain, with its text and MX patterns.
    const policy = r.attempts[0]?.policy;
    assert.deepEqual(
      policy?.type === 'sts'
        ? [policy.domain, policy.mxPatterns, policy.strings.includes('mode: enforce')]
        : policy,
      ['exact.sts.test', ['mx.exact.sts.test'], true],
    );
    assert.ok(
      r.attempts[0]?.reasons.some((x) =>
        /MTA-STS enforce: mx\.exact\.sts\.test matches 'mx\.exact\.sts\.test'/.test(x),
      ),
    );
    assert.equal(
      policies.fetches('exact.sts.test'),
      fetchesBefore + 1,
      'the policy was fetched from the policy host',
    );
    assert.equal(server('exact.sts.test').messages.at(-1)?.tls, true);
  });

  test('RFC 8461 4.1: a wildcard pattern *.domain matches an MX one label below it', async () => {
    const r = await send('wild.sts.test');
    assert.equal(only(r).status, 'delivered', only(r).message);
    assert.equal(r.attempts[0]?.security, 'mta-sts');
    assert.ok(r.attempts[0]?.reasons.some((x) => x.includes("matches '*.wild.sts.test'")));
  });

  test('RFC 8461 4.1, 5: MX hosts the policy does not list are never contacted; the message is deferred', async () => {
    const r = await send('unlisted.sts.test');
    const rcpt = only(r);
    assert.deepEqual([rcpt.status, rcpt.lastError], ['temporary', 'mta-sts']);
    assert.deepEqual(
      r.attempts.map((a) => [a.mx, a.ip, a.error?.lastError]),
      [
        ['mx.unlisted.sts.test', undefined, 'mta-sts'],
        ['mx2.unlisted.sts.test', undefined, 'mta-sts'],
      ],
    );
    assert.equal(r.attempts[0]?.tlsRpt, 'validation-failure');
    assert.equal(
      server('unlisted.sts.test').transcripts.length,
      0,
      'no connection to an unlisted MX',
    );
  });

  test('RFC 8461 4.2: allow-invalid-certs does not relax enforce; a self-signed MX is refused before MAIL FROM', async () => {
    const r = await send('self.sts.test', INVALID_TLS);
    const rcpt = only(r);
    assert.deepEqual([rcpt.status, rcpt.lastError, rcpt.code], ['temporary', 'mta-sts', '4.7.5']);
    assert.equal(r.attempts[0]?.strategy, 'invalid-tls');
    assert.equal(r.attempts[0]?.tlsRpt, 'certificate-not-trusted');
    assert.equal(server('self.sts.test').messages.length, 0);
    assert.equal(sawMailFrom('self.sts.test'), false);
  });

  test('RFC 8461 4.2: an MX without STARTTLS is refused and nothing is sent in plaintext', async () => {
    const r = await send('plain.sts.test');
    const rcpt = only(r);
    assert.deepEqual([rcpt.status, rcpt.lastError, rcpt.code], ['temporary', 'mta-sts', '4.7.4']);
    assert.equal(r.attempts[0]?.tlsRpt, 'starttls-not-supported');
    assert.equal(server('plain.sts.test').messages.length, 0);
    assert.equal(sawMailFrom('plain.sts.test'), false);
  });

  test('RFC 8461 5: starttls = "disable" does not override an enforce policy; STARTTLS is still used', async () => {
    const before = server('exact.sts.test').transcripts.length;
    const r = await send('exact.sts.test', NO_STARTTLS);
    assert.equal(only(r).status, 'delivered', only(r).message);
    assert.equal(r.attempts[0]?.strategy, 'plain');
    assert.equal(r.attempts[0]?.security, 'mta-sts');
    assert.ok(r.attempts[0]?.reasons.some((x) => x.startsWith('starttls = "disable" overridden')));
    assert.equal(server('exact.sts.test').messages.at(-1)?.tls, true);
    assert.ok(
      server('exact.sts.test')
        .transcripts.slice(before)
        .some((t) => t.includes('C: STARTTLS')),
    );
  });

  test('RFC 8461 5: a strategy with starttls and mta-sts both disabled delivers in plaintext without asking for the policy', async () => {
    const fetchesBefore = policies.fetches('exact.sts.test');
    const txtBefore = env.dns.queries.count('_mta-sts.exact.sts.test', 'TXT');
    const r = await send('exact.sts.test', NO_STARTTLS_NO_STS);
    assert.equal(only(r).status, 'delivered', only(r).message);
    assert.equal(r.attempts[0]?.security, 'none');
    assert.equal(server('exact.sts.test').messages.at(-1)?.tls, false);
    assert.equal(policies.fetches('exact.sts.test'), fetchesBefore);
    assert.equal(env.dns.queries.count('_mta-sts.exact.sts.test', 'TXT'), txtBefore);
  });
});

describe('RFC 8461 mode testing', () => {
  test('RFC 8461 5: under testing the strategy still decides: the default strategy fails the self-signed MX (tls)', async () => {
    const r = await send('testing.sts.test');
    const rcpt = only(r);
    assert.deepEqual([rcpt.status, rcpt.lastError, rcpt.code], ['temporary', 'tls', '4.7.5']);
    assert.equal(server('testing.sts.test').messages.length, 0);
  });

  test('RFC 8461 5: under testing with invalid-tls the message is delivered and the certificate failure is reported only', async () => {
    const r = await send('testing.sts.test', '', { retry_num: 1, last_error: 'tls' });
    assert.equal(only(r).status, 'delivered', only(r).message);
    const attempt = r.attempts[0];
    assert.equal(attempt?.strategy, 'invalid-tls');
    assert.equal(attempt?.security, 'unverified');
    assert.equal(attempt?.reportOnly?.reason, 'certificate');
    assert.equal(
      attempt?.reportOnly === undefined ? undefined : tlsRptOf(attempt.reportOnly),
      'certificate-not-trusted',
    );
    assert.equal(server('testing.sts.test').messages.at(-1)?.tls, true);
  });
});

describe('RFC 8461 discovery failures', () => {
  test('RFC 8461 5.1: a policy answered with 404 under mta-sts = "optional" is delivered as without a policy', async () => {
    const fetchesBefore = policies.fetches('missing.sts.test');
    const r = await send('missing.sts.test');
    assert.equal(only(r).status, 'delivered', only(r).message);
    assert.equal(r.attempts[0]?.security, 'pkix');
    assert.ok(r.attempts[0]?.reasons.some((x) => /MTA-STS: .*HTTP 404/.test(x)));
    // The 404 was really served: the failure is the policy's, not an unreachable server.
    assert.equal(policies.fetches('missing.sts.test'), fetchesBefore + 1);
  });

  test('mta-sts = "require" without a _mta-sts record: permanent no-record failure, the MX is never contacted', async () => {
    const r = await send('notxt.sts.test', REQUIRE_STS);
    const rcpt = only(r);
    assert.deepEqual([rcpt.status, rcpt.lastError, rcpt.code], ['permanent', 'mta-sts', '5.7.5']);
    assert.equal(r.attempts[0]?.ip, undefined);
    assert.match(r.attempts[0]?.error?.message ?? '', /MTA-STS required/);
    assert.equal(server('notxt.sts.test').transcripts.length, 0);
  });
});

describe('RFC 8461 2: DANE precedence', () => {
  test('RFC 7672 2.2: a host DANE authenticates is delivered to although the enforce policy does not list it', async () => {
    const r = await send('dane.sts.test');
    assert.equal(only(r).status, 'delivered', only(r).message);
    assert.equal(r.attempts[0]?.security, 'dane');
    assert.ok(
      r.attempts[0]?.reasons.some((x) => x.includes('MTA-STS does not apply to this host')),
    );
    assert.equal(server('dane.sts.test').messages.at(-1)?.tls, true);
  });
});
