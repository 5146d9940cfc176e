/**
 * DANE verification of chains received in real TLS handshakes: Node TLS servers on 127.0.0.1
 * (ephemeral ports), the client upgrade of `tls/handshake.ts`, then `verifyDane` and `judgeDane` on
 * the chain as the client recorded it. The client's trust store deliberately lacks the test CA, so
 * every success here is DANE's alone, not PKIX's; except where a test hands the client a store with
 * the root, to show that a DANE handshake (`dane: true`) records the chain as sent all the same. Every
 * server and socket is closed in `finally`.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import net from 'node:net';
import tls from 'node:tls';
import { createSelfSigned, createTestCa } from '../support/pki.js';
import type { TestCa, TestCert } from '../support/pki.js';
import { startTlsClient } from '../../src/tls/handshake.js';
import { buildTrustStore, loadTrustStore } from '../../src/tls/trust-store.js';
import type { TrustStore } from '../../src/tls/trust-store.js';
import type { TlsFacts } from '../../src/tls/types.js';
import type { TlsaRecord } from '../../src/dns/types.js';
import { daneRequirement, judgeDane } from '../../src/dane/requirement.js';
import type { DaneJudgement } from '../../src/dane/requirement.js';
import { verifyDane } from '../../src/dane/verify.js';
import { classify } from '../../src/policy/failure.js';

const HOST = 'mx.example.test';
const TIMEOUT_MS = 30_000;

let root: TestCa;
let intermediate: TestCa;
let trust: TrustStore;

before(async () => {
  root = await createTestCa();
  intermediate = await root.issueCa();
  const store = await loadTrustStore({ env: {} });
  assert.ok(store.ok);
  trust = store.store;
});

function sha256(data: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha256').update(data).digest());
}

/** Serves `cert` over TLS on an ephemeral loopback port and returns what the client recorded. */
async function handshake(
  cert: TestCert,
  client: { trust?: TrustStore; dane?: boolean } = {},
): Promise<TlsFacts> {
  const server = tls.createServer({ key: cert.keyPem, cert: cert.chainPem });
  const sockets = new Set<net.Socket>();
  server.on('connection', (socket: net.Socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
  });
  server.on('tlsClientError', () => undefined);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  try {
    const socket = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
    await once(socket, 'connect');
    const result = await startTlsClient(socket, {
      servername: HOST,
      trust: client.trust ?? trust,
      timeoutMs: TIMEOUT_MS,
      dane: client.dane ?? false,
    });
    assert.ok(result.ok, result.ok ? '' : JSON.stringify(result.failure));
    result.socket.destroy();
    return result.facts;
  } finally {
    for (const socket of sockets) socket.destroy();
    server.close();
    await once(server, 'close');
  }
}

/** The whole DANE path for a host whose MX and TLSA RRsets are secure and hold `records`. */
function judge(records: TlsaRecord[], facts: TlsFacts): DaneJudgement {
  const plan = daneRequirement({
    mode: 'require',
    mxDnssec: 'secure',
    tlsa: {
      kind: 'secure',
      records,
      usable: records,
      baseName: HOST,
      referenceNames: [HOST, 'example.test'],
      ttl: 300,
    },
  });
  const verdict = verifyDane({
    records,
    chain: facts.chain.map((c) => c.der),
    referenceNames: plan.kind === 'authenticate' ? plan.referenceNames : [],
    now: new Date(),
  });
  return judgeDane(plan, verdict);
}

test('RFC 7672 3.1.1: DANE-TA 2 0 1 of the intermediate the server sends authenticates a chain PKIX rejects', async () => {
  const leaf = await intermediate.issue({ dnsNames: [HOST] });
  const facts = await handshake(leaf);
  assert.equal(facts.pkix.valid, false, 'the client does not trust the test CA');
  const record: TlsaRecord = {
    usage: 2,
    selector: 0,
    matchingType: 1,
    data: sha256(intermediate.der),
  };
  assert.deepEqual(judge([record], facts), {
    kind: 'authenticated',
    usage: 'DANE-TA',
    matched: record,
  });
});

test('RFC 7671 5.2.2: DANE-TA 2 1 0 with the root key the server never sends', async () => {
  const leaf = await intermediate.issue({ dnsNames: [HOST] });
  const facts = await handshake(leaf);
  const record: TlsaRecord = { usage: 2, selector: 1, matchingType: 0, data: root.spkiDer };
  assert.equal(judge([record], facts).kind, 'authenticated');
});

test('RFC 7672 3.1.2: DANE-EE 3 1 1 authenticates a self-signed certificate with another name', async () => {
  const cert = await createSelfSigned({ dnsNames: ['localhost'] });
  const facts = await handshake(cert);
  const record: TlsaRecord = { usage: 3, selector: 1, matchingType: 1, data: sha256(cert.spkiDer) };
  assert.deepEqual(judge([record], facts), {
    kind: 'authenticated',
    usage: 'DANE-EE',
    matched: record,
  });
});

/**
 * Rollover caught half-way: the TLSA RRset still pins the old key while the server already presents
 * a new one. The host fails temporarily (next MX, message deferred), never a bounce or a downgrade.
 */
test('RFC 7672 2.2: a DANE-EE record for a key the server no longer uses fails the host temporarily', async () => {
  const oldCert = await createSelfSigned({ dnsNames: [HOST] });
  const newCert = await createSelfSigned({ dnsNames: [HOST] });
  const facts = await handshake(newCert);
  const judged = judge(
    [{ usage: 3, selector: 1, matchingType: 1, data: sha256(oldCert.spkiDer) }],
    facts,
  );
  assert.equal(judged.kind, 'failure');
  assert.deepEqual(
    judged.kind === 'failure'
      ? ((f) => [f.severity, f.lastError, f.tlsRpt])(classify(judged.failure))
      : [],
    ['temporary', 'dane', 'validation-failure'],
  );
});

/**
 * Attack: an interceptor holds its own CA named exactly like the pinned one and presents a chain for
 * the MX host through it. The names line up, the signatures cannot.
 */
test('RFC 7671 5.2: a look-alike CA chain presented by an interceptor is refused', async () => {
  const forger = await createTestCa();
  const forgedIntermediate = await forger.issueCa();
  const forged = await forgedIntermediate.issue({ dnsNames: [HOST] });
  const facts = await handshake(forged);
  const judged = judge([{ usage: 2, selector: 0, matchingType: 0, data: root.der }], facts);
  assert.equal(judged.kind, 'failure');
  assert.match(judged.kind === 'failure' ? judged.failure.message : '', /bad-chain/);
});

/** A client whose configured trust store (its `ca-file`) holds the test root. */
function trustingRoot(): TrustStore {
  return buildTrustStore([
    { source: { kind: 'ca-file', file: 'root.pem', count: 1 }, certificates: [root.certPem] },
  ]);
}

/**
 * RFC 7672 section 3.1: a server must send the DANE-TA anchor of a digest record. A root the client
 * happens to trust must not stand in for it, as it would if the client completed the chain from its
 * trust store before matching.
 */
test('RFC 7672 3.1 / RFC 7671 5.2.2: DANE-TA 2 0 1 of a root the server does not send fails, even when the client trusts that root', async () => {
  const leaf = await root.issue({ dnsNames: [HOST] });
  const facts = await handshake(leaf, { trust: trustingRoot(), dane: true });
  assert.deepEqual(
    facts.chain.map((c) => c.subject),
    [`CN=${HOST}`],
    'the chain as sent: the leaf alone',
  );
  const judged = judge([{ usage: 2, selector: 0, matchingType: 1, data: sha256(root.der) }], facts);
  assert.equal(judged.kind, 'failure');
  assert.match(judged.kind === 'failure' ? judged.failure.message : '', /no-match/);
});

test('RFC 7671 5.2.2: DANE-TA 2 0 0 with the whole root certificate authenticates a server that does not send the root', async () => {
  const leaf = await intermediate.issue({ dnsNames: [HOST] });
  const facts = await handshake(leaf, { trust: trustingRoot(), dane: true });
  assert.equal(facts.chain.length, 2, 'leaf and intermediate, as sent');
  const record: TlsaRecord = { usage: 2, selector: 0, matchingType: 0, data: root.der };
  assert.deepEqual(judge([record], facts), {
    kind: 'authenticated',
    usage: 'DANE-TA',
    matched: record,
  });
});

/**
 * The DANE handshake has no anchors to build with, yet `pkix` still answers "does the configured trust
 * store validate this chain" (what `mxsec check` prints), here through the root the server did not send.
 */
test('a DANE handshake records the PKIX verdict of the configured trust store for the chain as sent', async () => {
  const leaf = await intermediate.issue({ dnsNames: [HOST] });
  assert.deepEqual((await handshake(leaf, { trust: trustingRoot(), dane: true })).pkix, {
    valid: true,
  });
  const untrusted = await handshake(leaf, { dane: true });
  assert.deepEqual(untrusted.pkix.valid ? '' : untrusted.pkix.reason, 'untrusted-issuer');
  const expired = await intermediate.issue({
    dnsNames: [HOST],
    notBefore: new Date(Date.now() - 3 * 86_400_000),
    notAfter: new Date(Date.now() - 86_400_000),
  });
  const late = await handshake(expired, { trust: trustingRoot(), dane: true });
  assert.deepEqual(late.pkix.valid ? '' : late.pkix.reason, 'expired');
});
