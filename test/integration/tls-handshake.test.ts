/**
 * The TLS client handshake against real Node TLS servers on 127.0.0.1 (ephemeral ports), each upgraded
 * from a plain TCP socket as after STARTTLS. Covers the PKIX verdicts (valid chain via an intermediate,
 * self-signed, expired, not yet valid, wrong name, untrusted issuer) and the handshake failures that
 * a hostile or outdated server causes: TLS 1.0/1.1 only (downgrade), CBC-only and static-RSA-only
 * suites (no forward secrecy), silence after the ClientHello, a closed connection, plaintext instead
 * of TLS. Every server and socket is closed in `after`/`finally`.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { createSelfSigned, createTestCa } from '../support/pki.js';
import type { TestCa, TestCert } from '../support/pki.js';
import { startTlsClient } from '../../src/tls/handshake.js';
import type { TlsUpgradeResult } from '../../src/tls/handshake.js';
import { CLIENT_PROFILE } from '../../src/tls/profile.js';
import { loadTrustStore } from '../../src/tls/trust-store.js';
import type { TrustStore } from '../../src/tls/trust-store.js';
import type { PkixFailureReason, TlsFacts } from '../../src/tls/types.js';

const DAY = 86_400_000;
const HOST = 'mx.example.test';
/** Generous: the machine is small and shared; no test waits for it except the timeout test. */
const TIMEOUT_MS = 30_000;

let dir: string;
let root: TestCa;
let intermediate: TestCa;
let trusted: TrustStore;
let untrusted: TrustStore;

before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'mxsec-tls-'));
  root = await createTestCa();
  intermediate = await root.issueCa();
  const caFile = path.join(dir, 'ca.pem');
  await writeFile(caFile, root.certPem);
  const withRoot = await loadTrustStore({ caFile, env: {} });
  const withoutRoot = await loadTrustStore({ env: {} });
  assert.ok(withRoot.ok && withoutRoot.ok);
  trusted = withRoot.store;
  untrusted = withoutRoot.store;
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A raw TCP server whose connections are all destroyed when it closes. */
async function listen(server: net.Server, run: (port: number) => Promise<void>): Promise<void> {
  const sockets = new Set<net.Socket>();
  server.on('connection', (socket: net.Socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.on('close', () => sockets.delete(socket));
  });
  server.on('tlsClientError', () => undefined);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  try {
    await run((server.address() as net.AddressInfo).port);
  } finally {
    for (const socket of sockets) socket.destroy();
    server.close();
    await once(server, 'close');
  }
}

/** Connects over plain TCP, then upgrades: what the SMTP session does after `220 Ready to start TLS`. */
async function upgrade(
  port: number,
  trust: TrustStore,
  servername = HOST,
  timeoutMs = TIMEOUT_MS,
): Promise<TlsUpgradeResult> {
  const socket = net.connect(port, '127.0.0.1');
  await once(socket, 'connect');
  const result = await startTlsClient(socket, { servername, trust, timeoutMs });
  if (result.ok) result.socket.destroy();
  else assert.equal(socket.destroyed, true, 'a failed upgrade destroys the TCP socket');
  return result;
}

function tlsServer(cert: TestCert, options: tls.TlsOptions = {}): tls.Server {
  return tls.createServer({ key: cert.keyPem, cert: cert.chainPem, ...options });
}

async function factsFrom(
  cert: TestCert,
  trust: TrustStore,
  options: tls.TlsOptions = {},
  servername = HOST,
): Promise<TlsFacts> {
  let facts: TlsFacts | undefined;
  await listen(tlsServer(cert, options), async (port) => {
    const result = await upgrade(port, trust, servername);
    assert.ok(result.ok, result.ok ? '' : JSON.stringify(result.failure));
    facts = result.facts;
  });
  return facts!;
}

function reasonOf(facts: TlsFacts): PkixFailureReason | 'valid' {
  return facts.pkix.valid ? 'valid' : facts.pkix.reason;
}

describe('PKIX verdicts', () => {
  test('RFC 5280 6: a chain via an intermediate to a trusted root is valid; version and cipher are recorded', async () => {
    const leaf = await intermediate.issue({ dnsNames: [HOST] });
    const facts = await factsFrom(leaf, trusted);
    assert.deepEqual(facts.pkix, { valid: true });
    assert.equal(facts.version, 'TLSv1.3');
    assert.ok(CLIENT_PROFILE.tls13CipherSuites.includes(facts.cipher), facts.cipher);
    assert.deepEqual(
      facts.chain.map((c) => c.subject),
      [`CN=${HOST}`, 'CN=mxsec Test Intermediate', 'CN=mxsec Test CA'],
    );
    assert.deepEqual(facts.chain[0]!.dnsNames, [HOST]);
    assert.deepEqual([...facts.chain[0]!.der], [...leaf.der]);
  });

  test('RFC 5246: a TLS 1.2-only server with an RSA key negotiates ECDHE-RSA with AES-GCM', async () => {
    const leaf = await intermediate.issue({ dnsNames: [HOST], keyType: 'rsa' });
    const facts = await factsFrom(leaf, trusted, { maxVersion: 'TLSv1.2' });
    assert.equal(facts.version, 'TLSv1.2');
    assert.match(facts.cipher, /^TLS_ECDHE_RSA_WITH_AES_(128|256)_GCM_SHA(256|384)$/);
    assert.equal(reasonOf(facts), 'valid');
  });

  test('RFC 5280 3.2: a self-signed certificate is self-signed', async () => {
    const cert = await createSelfSigned({ dnsNames: [HOST] });
    const facts = await factsFrom(cert, trusted);
    assert.equal(reasonOf(facts), 'self-signed');
    assert.equal(facts.chain.length, 1);
    assert.equal(facts.chain[0]!.selfSigned, true);
  });

  test('RFC 5280 4.1.2.5: an expired leaf under a trusted root is expired', async () => {
    const leaf = await intermediate.issue({
      dnsNames: [HOST],
      notBefore: new Date(Date.now() - 30 * DAY),
      notAfter: new Date(Date.now() - DAY),
    });
    assert.equal(reasonOf(await factsFrom(leaf, trusted)), 'expired');
  });

  test('RFC 5280 4.1.2.5: a leaf whose notBefore is in the future is not-yet-valid', async () => {
    const leaf = await intermediate.issue({
      dnsNames: [HOST],
      notBefore: new Date(Date.now() + DAY),
      notAfter: new Date(Date.now() + 30 * DAY),
    });
    assert.equal(reasonOf(await factsFrom(leaf, trusted)), 'not-yet-valid');
  });

  test('an expired self-signed certificate is self-signed: missing trust is the more fundamental finding', async () => {
    const cert = await createSelfSigned({
      dnsNames: [HOST],
      notBefore: new Date(Date.now() - 30 * DAY),
      notAfter: new Date(Date.now() - DAY),
    });
    assert.equal(reasonOf(await factsFrom(cert, trusted)), 'self-signed');
  });

  test('RFC 6125 6.4: a valid chain for another host name is hostname-mismatch', async () => {
    const leaf = await intermediate.issue({ dnsNames: ['other.example.test'] });
    const facts = await factsFrom(leaf, trusted);
    assert.equal(reasonOf(facts), 'hostname-mismatch');
    assert.match(facts.pkix.valid ? '' : facts.pkix.message, /other\.example\.test/);
  });

  test('RFC 5280 6.1: a chain to a root outside the trust store is untrusted-issuer', async () => {
    const leaf = await intermediate.issue({ dnsNames: [HOST] });
    assert.equal(reasonOf(await factsFrom(leaf, untrusted)), 'untrusted-issuer');
  });

  test('RFC 8460 4.3: an untrusted chain for the wrong name reports the chain, not the name', async () => {
    const leaf = await intermediate.issue({ dnsNames: ['other.example.test'] });
    assert.equal(reasonOf(await factsFrom(leaf, untrusted)), 'untrusted-issuer');
  });
});

describe('SNI', () => {
  test('RFC 6066 3: the server receives the host name as SNI, and nothing for an IP literal', async () => {
    const leaf = await intermediate.issue({ dnsNames: [HOST] });
    const server = tlsServer(leaf);
    // The server tells the client what SNI it saw, so the test waits for the server, not for time.
    server.on('secureConnection', (socket: tls.TLSSocket) => {
      socket.on('error', () => undefined);
      socket.write(String((socket as tls.TLSSocket & { servername: string | false }).servername));
    });
    const sniSeen = async (
      port: number,
      servername: string,
    ): Promise<{ sni: string; facts: TlsFacts }> => {
      const socket = net.connect(port, '127.0.0.1');
      await once(socket, 'connect');
      const result = await startTlsClient(socket, {
        servername,
        trust: trusted,
        timeoutMs: TIMEOUT_MS,
      });
      assert.ok(result.ok);
      try {
        const [chunk] = (await once(result.socket, 'data')) as [Buffer];
        return { sni: chunk.toString(), facts: result.facts };
      } finally {
        result.socket.destroy();
      }
    };
    await listen(server, async (port) => {
      const byName = await sniSeen(port, HOST);
      assert.equal(byName.sni, HOST);
      assert.equal(reasonOf(byName.facts), 'valid');
      const byAddress = await sniSeen(port, '127.0.0.1');
      assert.equal(byAddress.sni, 'false');
      assert.equal(reasonOf(byAddress.facts), 'hostname-mismatch');
    });
  });
});

describe('handshake failures', () => {
  test('RFC 8996: a server limited to TLS 1.0/1.1 fails with protocol-version (no downgrade)', async () => {
    const leaf = await intermediate.issue({ dnsNames: [HOST] });
    await listen(
      tlsServer(leaf, {
        minVersion: 'TLSv1',
        maxVersion: 'TLSv1.1',
        ciphers: 'DEFAULT@SECLEVEL=0',
      }),
      async (port) => {
        const result = await upgrade(port, trusted);
        assert.equal(result.ok ? 'ok' : result.failure.kind, 'protocol-version');
      },
    );
  });

  test('RFC 7525 4.2: a TLS 1.2 server offering only CBC suites fails with no-shared-cipher', async () => {
    const leaf = await intermediate.issue({ dnsNames: [HOST] });
    await listen(
      tlsServer(leaf, {
        maxVersion: 'TLSv1.2',
        ciphers: 'ECDHE-ECDSA-AES128-SHA256:ECDHE-ECDSA-AES256-SHA',
      }),
      async (port) => {
        const result = await upgrade(port, trusted);
        assert.equal(result.ok ? 'ok' : result.failure.kind, 'no-shared-cipher');
        assert.equal(result.ok ? '' : result.failure.alert, 'handshake_failure');
      },
    );
  });

  test('RFC 7525 4.2: a TLS 1.2 server offering only static RSA key exchange (no forward secrecy) fails', async () => {
    const leaf = await intermediate.issue({ dnsNames: [HOST], keyType: 'rsa' });
    await listen(
      tlsServer(leaf, { maxVersion: 'TLSv1.2', ciphers: 'AES128-SHA256:AES128-GCM-SHA256' }),
      async (port) => {
        const result = await upgrade(port, trusted);
        assert.equal(result.ok ? 'ok' : result.failure.kind, 'no-shared-cipher');
      },
    );
  });

  test('a server that accepts TCP but never answers the ClientHello times out and the socket is destroyed', async () => {
    await listen(net.createServer(), async (port) => {
      const result = await upgrade(port, trusted, HOST, 300);
      assert.deepEqual(result.ok ? 'ok' : result.failure, {
        kind: 'timeout',
        message: 'TLS handshake did not complete within 300 ms',
      });
    });
  });

  test('a server that closes the connection instead of answering is closed', async () => {
    await listen(
      net.createServer((socket) => socket.end()),
      async (port) => {
        const result = await upgrade(port, trusted);
        assert.equal(result.ok ? 'ok' : result.failure.kind, 'closed');
      },
    );
  });

  test('a socket that is already closed is closed, without touching the network', async () => {
    const socket = new net.Socket();
    socket.destroy();
    const result = await startTlsClient(socket, {
      servername: HOST,
      trust: trusted,
      timeoutMs: TIMEOUT_MS,
    });
    assert.equal(result.ok ? 'ok' : result.failure.kind, 'closed');
  });

  test('RFC 3207 4: a server that answers in plaintext instead of TLS is a handshake failure', async () => {
    await listen(
      net.createServer((socket) =>
        socket.once('data', () => socket.write('421 4.7.0 TLS not available after all\r\n')),
      ),
      async (port) => {
        const result = await upgrade(port, trusted);
        assert.equal(result.ok ? 'ok' : result.failure.kind, 'handshake');
      },
    );
  });
});

describe('STARTTLS', () => {
  test('a socket that is still connecting (implicit TLS, not STARTTLS) is upgraded once connected', async () => {
    const leaf = await intermediate.issue({ dnsNames: [HOST] });
    await listen(tlsServer(leaf), async (port) => {
      const result = await startTlsClient(net.connect(port, '127.0.0.1'), {
        servername: HOST,
        trust: trusted,
        timeoutMs: TIMEOUT_MS,
      });
      assert.ok(result.ok);
      result.socket.destroy();
      assert.equal(reasonOf(result.facts), 'valid');
    });
  });

  test('RFC 3207 4: after "220 Ready to start TLS" on a plaintext session the upgrade succeeds and carries data', async () => {
    const leaf = await intermediate.issue({ dnsNames: [HOST] });
    const context = tls.createSecureContext({ key: leaf.keyPem, cert: leaf.chainPem });
    const server = net.createServer((plain) => {
      plain.write('220 mx.example.test ESMTP\r\n');
      plain.once('data', () => {
        plain.write('220 2.0.0 Ready to start TLS\r\n', () => {
          const secure = new tls.TLSSocket(plain, { isServer: true, secureContext: context });
          secure.on('error', () => undefined);
          secure.once('data', (line: Buffer) =>
            secure.write(`250 got ${line.toString('latin1').trim()}\r\n`),
          );
        });
      });
    });
    await listen(server, async (port) => {
      const socket = net.connect(port, '127.0.0.1');
      // The server sends each reply only after our previous line, so one chunk is one reply.
      const reply = async (): Promise<string> =>
        String(((await once(socket, 'data')) as [Buffer])[0]);
      assert.match(await reply(), /^220 /);
      socket.write('STARTTLS\r\n');
      assert.match(await reply(), /^220 2\.0\.0/);
      // Stop reading plaintext before the handshake (RFC 3207 section 6).
      socket.pause();
      const result = await startTlsClient(socket, {
        servername: HOST,
        trust: trusted,
        timeoutMs: TIMEOUT_MS,
      });
      assert.ok(result.ok);
      try {
        assert.equal(reasonOf(result.facts), 'valid');
        result.socket.write('EHLO client.example.test\r\n');
        const [reply] = (await once(result.socket, 'data')) as [Buffer];
        assert.equal(reply.toString('latin1'), '250 got EHLO client.example.test\r\n');
      } finally {
        result.socket.destroy();
      }
    });
  });
});
