/**
 * The relay end to end against real receivers: mail submitted over SMTP to `mxsec serve` (a child
 * process, test/support/serve-process.ts) is delivered to a real Postfix, with DNS from a real nsd +
 * unbound pair (unsigned zone: no DANE), under Stalwart's documented "Handling TLS Errors" strategies
 * (test/fixtures/reference) with a 1 s retry. Against a Postfix listener with a self-signed certificate
 * the first attempt selects `default`, fails with `last_error = tls` and sends nothing; the retry,
 * selected with `retry_num = 1` and `last_error = tls` from the queue, uses `invalid-tls` and Postfix
 * receives the message over TLS (its own Received header says so). A listener whose certificate the
 * configured CA validates gets the message at the first attempt under `default`, at `pkix`.
 *
 * Addresses (this file only): Postfix 127.0.0.46 (self-signed) and 127.0.0.47 (CA), nsd 127.0.0.58,
 * unbound 127.0.0.59; the relay's listener is on 127.0.0.1 with an ephemeral port. Every server and
 * child process is stopped in `after`.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fixture } from '../support/paths.js';
import { createSelfSigned, createTestCa } from '../support/pki.js';
import { spawnServe, stopAllServes, submitMessage } from '../support/serve-process.js';
import type { LogLine, ServeProcess } from '../support/serve-process.js';
import { acceptedBy, everAccepted, storedMessage } from './dane-observe.js';
import { startDnssec } from './harness/dnssec.js';
import type { DnssecInstance } from './harness/dnssec.js';
import { receivedTls, startPostfix } from './harness/postfix.js';
import type { PostfixInstance } from './harness/postfix.js';
import { interopAvailable } from './harness/require.js';

const DNS = { authoritative: '127.0.0.58', resolver: '127.0.0.59' } as const;
const ZONE = 'rp.test';
/** master.cf order: listener-0 is the self-signed one, listener-1 the one with a CA certificate. */
const MX = { self: '127.0.0.46', ca: '127.0.0.47' } as const;

const attemptsFor = (serve: ServeProcess, id: string): LogLine[] =>
  serve.logs.filter((l) => l['event'] === 'delivery-attempt' && l['id'] === id);

describe(
  'mxsec serve delivers to real Postfix receivers, the retry changing the TLS strategy',
  interopAvailable(['postfix', 'nsd', 'unbound', 'ldns-keygen', 'ldns-signzone', 'ldns-key2ds']),
  () => {
    let dns: DnssecInstance | undefined;
    let postfix: PostfixInstance | undefined;
    let dir: string | undefined;
    let serve: ServeProcess | undefined;
    let port = 0;

    before(async () => {
      const ca = await createTestCa({ commonName: 'mxsec relay interop CA' });
      const caCert = await ca.issue({ dnsNames: [`mx.ca.${ZONE}`] });
      const self = await createSelfSigned({ dnsNames: [`mx.self.${ZONE}`] });
      dir = mkdtempSync(path.join(tmpdir(), 'mxsec-relay-postfix-'));
      const caFile = path.join(dir, 'ca.pem');
      writeFileSync(caFile, ca.certPem);
      const configFile = path.join(dir, 'mxsec.toml');
      writeFileSync(
        configFile,
        [
          readFileSync(fixture('reference', 'handling-tls-errors.toml'), 'utf8'),
          '[queue.schedule.remote]\nretry = ["1s"]',
          '[queue.worker]\npoll-interval = "100ms"',
          '[server.listener.test]\nbind = ["127.0.0.1:0"]',
          `[resolver]\nnameservers = ["${DNS.resolver}:53"]\ntimeout = "10s"`,
          `[tls]\nca-file = ${JSON.stringify(caFile)}`,
          `[storage]\ndata-dir = ${JSON.stringify(path.join(dir, 'data'))}`,
          '',
        ].join('\n'),
      );
      dns = await startDnssec({
        authoritativeAddress: DNS.authoritative,
        resolverAddress: DNS.resolver,
        zones: [
          {
            name: ZONE,
            security: 'unsigned',
            records: (['self', 'ca'] as const).flatMap((kind) => [
              { name: kind, type: 'MX' as const, data: `10 mx.${kind}.${ZONE}.` },
              { name: `mx.${kind}`, type: 'A' as const, data: MX[kind] },
            ]),
          },
        ],
      });
      postfix = await startPostfix({
        domains: [`self.${ZONE}`, `ca.${ZONE}`],
        listeners: [
          { address: MX.self, tls: { certPem: self.certPem, keyPem: self.keyPem } },
          { address: MX.ca, tls: { certPem: caCert.chainPem, keyPem: caCert.keyPem } },
        ],
      });
      serve = spawnServe(configFile, { cwd: dir });
      const started = await serve.started();
      assert.ok(
        started.ok,
        started.ok ? '' : `${JSON.stringify(started.exit)}\n${started.stdout}\n${started.stderr}`,
      );
      port = started.port;
    });

    after(async () => {
      await stopAllServes();
      await postfix?.stop();
      await dns?.stop();
      if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
    });

    async function submit(kind: keyof typeof MX): Promise<{ id: string; sender: string }> {
      const sender = `rp-${kind}-${randomUUID().slice(0, 8)}@sender.test`;
      const to = `user@${kind}.${ZONE}`;
      const sent = await submitMessage('127.0.0.1', port, {
        from: sender,
        to: [to],
        body: `From: ${sender}\r\nTo: ${to}\r\nSubject: relay interop ${kind}\r\n\r\nhello\r\n`,
      });
      assert.ok(sent.ok, sent.ok ? '' : sent.reason);
      return { id: sent.queueId, sender };
    }

    test(
      'RFC 3207 + "Handling TLS Errors": self-signed listener: attempt 1 default fails tls, the retry uses invalid-tls and Postfix receives over TLS',
      { timeout: 180_000 },
      async () => {
        const { id, sender } = await submit('self');
        const delivered = await serve!.waitForLog(
          `delivery of ${id}`,
          (l) => l['event'] === 'delivery-attempt' && l['id'] === id && l['result'] === 'delivered',
          120_000,
        );
        const attempts = attemptsFor(serve!, id);
        const why = JSON.stringify(attempts, null, 1);
        assert.equal(attempts.length, 2, why);
        assert.deepEqual(
          [
            attempts[0]?.['strategy'],
            attempts[0]?.['result'],
            attempts[0]?.['last_error'],
            attempts[0]?.['code'],
          ],
          ['default', 'temporary', 'tls', '4.7.5'],
          why,
        );
        assert.deepEqual(
          [delivered['strategy'], delivered['security'], delivered['mx'], delivered['ip']],
          ['invalid-tls', 'unverified', `mx.self.${ZONE}`, MX.self],
          why,
        );
        const stored = await storedMessage(postfix!, sender);
        assert.equal(await acceptedBy(postfix!, stored), 0, 'received by the self-signed listener');
        const tls = receivedTls(stored);
        assert.ok(tls !== undefined, `Postfix recorded no TLS:\n${stored}`);
        assert.match(tls.version, /^TLSv1\.[23]$/);
        assert.equal(
          postfix!.messages().filter((m) => m.includes(`Return-Path: <${sender}>`)).length,
          1,
          'the failed first attempt sent nothing',
        );
      },
    );

    test(
      'RFC 3207: a listener with a certificate from the configured CA gets the message at the first attempt, default at pkix',
      { timeout: 180_000 },
      async () => {
        const { id, sender } = await submit('ca');
        const first = await serve!.waitForLog(
          `delivery of ${id}`,
          (l) => l['event'] === 'delivery-attempt' && l['id'] === id,
          120_000,
        );
        assert.deepEqual(
          [first['strategy'], first['result'], first['security'], first['ip']],
          ['default', 'delivered', 'pkix', MX.ca],
          JSON.stringify(first),
        );
        const stored = await storedMessage(postfix!, sender);
        assert.equal(await acceptedBy(postfix!, stored), 1, 'received by the CA listener');
        assert.ok(receivedTls(stored) !== undefined, `Postfix recorded no TLS:\n${stored}`);
        assert.equal(everAccepted(postfix!, sender), true);
      },
    );
  },
);
