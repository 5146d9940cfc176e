/**
 * Loading the trust store from files: Node's roots, NODE_EXTRA_CA_CERTS and a `ca-file` with several
 * certificates, each of which must really be trusted in a handshake (not just the first of the file);
 * and the typed errors for a missing, unreadable or non-PEM file. Files live in a temp directory that
 * is removed in `after`; the one server is closed in `finally`.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { createTestCa } from '../support/pki.js';
import { sha256Hex } from '../../src/tls/certificate.js';
import { startTlsClient } from '../../src/tls/handshake.js';
import { describeTrustStoreError, loadTrustStore } from '../../src/tls/trust-store.js';
import type { TrustStore } from '../../src/tls/trust-store.js';

let dir: string;

before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'mxsec-trust-'));
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function file(name: string, text: string): Promise<string> {
  const full = path.join(dir, name);
  await writeFile(full, text);
  return full;
}

/** Handshakes with a loopback server presenting the certificate `issue` makes; returns the PKIX verdict. */
async function verdict(
  trust: TrustStore,
  issue: () => Promise<{ keyPem: string; chainPem: string }>,
): Promise<string> {
  const leaf = await issue();
  const server = tls.createServer({ key: leaf.keyPem, cert: leaf.chainPem }, (socket) =>
    socket.on('error', () => undefined),
  );
  server.on('tlsClientError', () => undefined);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  try {
    const socket = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
    await once(socket, 'connect');
    const result = await startTlsClient(socket, {
      servername: 'mx.example.test',
      trust,
      timeoutMs: 30_000,
    });
    assert.ok(result.ok);
    result.socket.destroy();
    return result.facts.pkix.valid ? 'valid' : result.facts.pkix.reason;
  } finally {
    server.close();
    await once(server, 'close');
  }
}

test("a ca-file with several certificates trusts each of them, after Node's own roots", async () => {
  const first = await createTestCa({ commonName: 'First CA' });
  const second = await createTestCa({ commonName: 'Second CA' });
  const caFile = await file('several.pem', `# two CAs\n${first.certPem}${second.certPem}`);
  const loaded = await loadTrustStore({ caFile, env: {} });
  assert.ok(loaded.ok);
  const store = loaded.store;
  assert.deepEqual(store.sources, [
    { kind: 'node-roots', count: tls.rootCertificates.length },
    { kind: 'ca-file', file: caFile, count: 2 },
  ]);
  assert.ok(
    store.anchorsSha256.has(sha256Hex(first.der)) && store.anchorsSha256.has(sha256Hex(second.der)),
  );
  assert.ok(store.certificates.length >= tls.rootCertificates.length + 2);
  assert.equal(
    await verdict(store, () => second.issue({ dnsNames: ['mx.example.test'] })),
    'valid',
  );
  assert.equal(await verdict(store, () => first.issue({ dnsNames: ['mx.example.test'] })), 'valid');
});

test('NODE_EXTRA_CA_CERTS is added too, since passing `ca` drops what Node added from it', async () => {
  const extra = await createTestCa({ commonName: 'Extra CA' });
  const extraFile = await file('extra.pem', extra.certPem);
  const loaded = await loadTrustStore({
    env: { NODE_EXTRA_CA_CERTS: extraFile },
    nodeRoots: false,
  });
  assert.ok(loaded.ok);
  assert.deepEqual(loaded.store.sources, [
    { kind: 'NODE_EXTRA_CA_CERTS', file: extraFile, count: 1 },
  ]);
  assert.equal(
    await verdict(loaded.store, () => extra.issue({ dnsNames: ['mx.example.test'] })),
    'valid',
  );
});

test('a certificate present in two sources is kept once', async () => {
  const ca = await createTestCa();
  const a = await file('dup-a.pem', ca.certPem);
  const b = await file('dup-b.pem', ca.certPem + ca.certPem);
  const loaded = await loadTrustStore({
    caFile: b,
    env: { NODE_EXTRA_CA_CERTS: a },
    nodeRoots: false,
  });
  assert.ok(loaded.ok);
  assert.equal(loaded.store.certificates.length, 1);
});

test('a missing ca-file is an unreadable error naming the file', async () => {
  const missing = path.join(dir, 'missing.pem');
  const loaded = await loadTrustStore({ caFile: missing, env: {} });
  assert.equal(loaded.ok, false);
  if (loaded.ok) return;
  assert.equal(loaded.error.kind, 'unreadable');
  assert.equal(loaded.error.source, 'ca-file');
  assert.equal(loaded.error.file, missing);
  assert.match(loaded.error.message, /ENOENT/);
  assert.equal(
    describeTrustStoreError(loaded.error),
    `ca-file ${missing} is unreadable: ${loaded.error.message}`,
  );
});

test('a ca-file that is a directory is unreadable', async () => {
  const loaded = await loadTrustStore({ caFile: dir, env: {} });
  assert.equal(loaded.ok ? 'ok' : loaded.error.kind, 'unreadable');
});

test('a ca-file that holds no PEM certificate is an invalid error naming the file', async () => {
  const junk = await file('junk.pem', 'this is not a certificate\n');
  const loaded = await loadTrustStore({ caFile: junk, env: {} });
  assert.equal(loaded.ok, false);
  if (loaded.ok) return;
  assert.deepEqual(
    { kind: loaded.error.kind, file: loaded.error.file },
    { kind: 'invalid', file: junk },
  );
});

test('an unreadable NODE_EXTRA_CA_CERTS is an error too, naming that source', async () => {
  const missing = path.join(dir, 'no-extra.pem');
  const loaded = await loadTrustStore({ env: { NODE_EXTRA_CA_CERTS: missing } });
  assert.equal(
    loaded.ok ? 'ok' : `${loaded.error.source} ${loaded.error.kind} ${loaded.error.file}`,
    `NODE_EXTRA_CA_CERTS unreadable ${missing}`,
  );
});
