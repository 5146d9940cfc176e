/**
 * Smoke test of the Postfix harness with Debian client tools only (swaks, openssl s_client) and a raw
 * socket: a STARTTLS listener presents the caller's certificate and the stored message's Received header
 * records the TLS version and cipher; a listener without STARTTLS does not advertise it (RFC 3207
 * section 4) and stores mail received in plaintext; the legacy listener speaks only TLS 1.0/1.1; mail
 * for other domains is refused; instances started one after another on one address stay apart.
 * Every instance is stopped in `after`/`finally`.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createTestCa } from '../support/pki.js';
import type { TestCa, TestCert } from '../support/pki.js';
import { SMOKE } from './harness/addresses.js';
import { receivedTls, startPostfix } from './harness/postfix.js';
import type { PostfixInstance } from './harness/postfix.js';
import { instanceProcesses } from './harness/postfix-processes.js';
import { interopAvailable } from './harness/require.js';
import { run } from './harness/run.js';
import type { RunResult } from './harness/run.js';

const DOMAIN = 'example.test';
const MX_NAME = 'mx.example.test';

/** Sends one message with swaks; `id` goes into a header so the test finds exactly its message. */
function swaks(
  server: string,
  id: string,
  extra: readonly string[] = [],
  to = `user@${DOMAIN}`,
): Promise<RunResult> {
  return run('swaks', [
    '--server',
    server,
    '--helo',
    'client.interop.test',
    '--from',
    'sender@client.interop.test',
    '--to',
    to,
    '--add-header',
    `X-Interop-Id: ${id}`,
    '--timeout',
    '60',
    ...extra,
  ]);
}

/** Reads the greeting, sends EHLO and returns the EHLO reply lines (raw socket: no client library). */
function ehlo(host: string, port: number): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port });
    let buffer = '';
    let sentEhlo = false;
    socket.setTimeout(60_000, () => socket.destroy(new Error('EHLO timed out')));
    socket.on('error', reject);
    socket.on('data', (chunk: Buffer) => {
      buffer += chunk.toString('latin1');
      const lines = buffer.split('\r\n');
      const last = lines[lines.length - 2];
      if (last === undefined || !/^\d{3} /.test(last)) return; // reply not complete yet
      if (!sentEhlo) {
        sentEhlo = true;
        buffer = '';
        socket.write('EHLO client.interop.test\r\n');
        return;
      }
      socket.end('QUIT\r\n');
      resolve(lines.slice(0, -1));
    });
  });
}

describe(
  'Postfix harness: a real receiving MTA',
  interopAvailable(['postfix', 'swaks', 'openssl']),
  () => {
    let ca: TestCa;
    let cert: TestCert;
    let dir: string;
    let caFile: string;
    let postfix: PostfixInstance | undefined;

    before(async () => {
      ca = await createTestCa();
      cert = await ca.issue({ dnsNames: [MX_NAME] });
      dir = mkdtempSync(path.join(tmpdir(), 'mxsec-postfix-smoke-'));
      caFile = path.join(dir, 'ca.pem');
      writeFileSync(caFile, ca.certPem);
      postfix = await startPostfix({
        domains: [DOMAIN],
        listeners: [
          { address: SMOKE.mxTls, tls: { certPem: cert.chainPem, keyPem: cert.keyPem } },
          { address: SMOKE.mxPlain },
          {
            address: SMOKE.mxLegacyTls,
            tls: { certPem: cert.chainPem, keyPem: cert.keyPem, insecureLegacyTlsOnly: true },
          },
        ],
      });
    });

    after(async () => {
      await postfix?.stop();
      rmSync(dir, { recursive: true, force: true });
    });

    test('RFC 3207: swaks delivers over STARTTLS and the Received header records TLS', async () => {
      const id = randomUUID();
      const sent = await swaks(`${SMOKE.mxTls}:25`, id, ['--tls']);
      assert.equal(sent.code, 0, sent.stdout + sent.stderr);
      const messages = await postfix!.waitForMessages(1);
      const mine = messages.find((m) => m.includes(`X-Interop-Id: ${id}`));
      assert.ok(mine !== undefined, `message ${id} stored`);
      const tls = receivedTls(mine);
      assert.ok(tls !== undefined, mine);
      assert.match(tls.version, /^TLSv1\.[23]$/);
      assert.match(
        mine,
        new RegExp(`by ${postfix!.hostname.replace(/\./g, '\\.')} \\(Postfix\\) with ESMTPS`),
      );
    });

    test("RFC 3207: the STARTTLS listener presents the caller's certificate, valid for the MX name", async () => {
      const result = await run('openssl', [
        's_client',
        '-connect',
        `${SMOKE.mxTls}:25`,
        '-starttls',
        'smtp',
        '-CAfile',
        caFile,
        '-verify_hostname',
        MX_NAME,
        '-verify_return_error',
        '-brief',
      ]);
      assert.equal(result.code, 0, result.stdout + result.stderr);
      assert.match(result.stderr + result.stdout, /Verification: OK/);
    });

    test('RFC 3207 4: a listener without STARTTLS does not advertise it, and stores plaintext mail', async () => {
      const tlsReply = await ehlo(SMOKE.mxTls, 25);
      assert.ok(
        tlsReply.some((l) => /^250[- ]STARTTLS$/.test(l)),
        `control: TLS listener offers STARTTLS: ${tlsReply.join(' | ')}`,
      );
      const plainReply = await ehlo(SMOKE.mxPlain, 25);
      assert.ok(
        plainReply.some((l) => l.startsWith('250')),
        plainReply.join(' | '),
      );
      assert.ok(!plainReply.some((l) => /STARTTLS/i.test(l)), plainReply.join(' | '));

      const id = randomUUID();
      const sent = await swaks(`${SMOKE.mxPlain}:25`, id);
      assert.equal(sent.code, 0, sent.stdout + sent.stderr);
      const messages = await postfix!.waitForMessages(2);
      const mine = messages.find((m) => m.includes(`X-Interop-Id: ${id}`));
      assert.ok(mine !== undefined, `message ${id} stored`);
      assert.equal(receivedTls(mine), undefined, mine);
      assert.match(mine, / with ESMTP id /);
    });

    test('the legacy listener speaks TLS 1.0 but refuses TLS 1.2', async () => {
      const modern = await run('openssl', [
        's_client',
        '-connect',
        `${SMOKE.mxLegacyTls}:25`,
        '-starttls',
        'smtp',
        '-tls1_2',
        '-brief',
      ]);
      assert.notEqual(modern.code, 0, modern.stdout + modern.stderr);
      // The client must also lower OpenSSL's security level to offer TLS 1.0 at all.
      const legacy = await run('openssl', [
        's_client',
        '-connect',
        `${SMOKE.mxLegacyTls}:25`,
        '-starttls',
        'smtp',
        '-tls1',
        '-cipher',
        'DEFAULT:@SECLEVEL=0',
        '-brief',
      ]);
      assert.equal(legacy.code, 0, legacy.stdout + legacy.stderr);
      assert.match(legacy.stderr + legacy.stdout, /Protocol version: TLSv1\b/);
    });

    test('mail for a domain the instance does not serve is refused (no open relay)', async () => {
      const sent = await swaks(`${SMOKE.mxPlain}:25`, randomUUID(), [], 'user@elsewhere.test');
      assert.notEqual(sent.code, 0);
      assert.match(sent.stdout, /554 5\.7\.1 .*Relay access denied/);
    });

    test('instances started one after another on one address are separate and fully stopped', async () => {
      const hostnames: string[] = [];
      for (let round = 0; round < 2; round += 1) {
        const instance = await startPostfix({
          domains: [DOMAIN],
          listeners: [{ address: SMOKE.mxTls, port: 2525 }],
        });
        try {
          const reply = await ehlo(SMOKE.mxTls, 2525);
          assert.ok(reply[0]?.includes(instance.hostname), reply.join(' | '));
          hostnames.push(instance.hostname);
          assert.ok(instanceProcesses(instance.configDir).length > 0, 'the instance runs');
        } finally {
          await instance.stop();
        }
        assert.deepEqual(
          instanceProcesses(instance.configDir),
          [],
          'every process of the instance ended',
        );
        assert.ok(!existsSync(instance.configDir), 'its directory was removed');
      }
      assert.notEqual(hostnames[0], hostnames[1]);
    });
  },
);
