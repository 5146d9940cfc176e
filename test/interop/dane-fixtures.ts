/**
 * The world the DANE interop tests deliver into: certificates made in memory, one signed (or deliberately
 * unsigned, or bogus) child zone below `test.` per scenario, and the Postfix listeners those zones point
 * at. Every zone's TLSA records are computed from the certificates the listeners really present, so a
 * matching record matches because the bytes agree, not because a test says so.
 *
 * Listeners (one Postfix instance, addresses from this file's block of the interop plan):
 * - `selfSigned` 127.0.0.32: a self-signed certificate, no CA will ever validate it (DANE-EE only).
 * - `caValid` 127.0.0.33: a leaf from the private test CA for every "good" MX name, chain leaf + CA, so
 *   DANE-TA `2 0 1` (anchor in the chain, RFC 7671 5.2.2) and PKIX through `tls.ca-file` both work.
 * - `wrongName` 127.0.0.34: a leaf from the same CA for a name no MX has (DANE-TA name check).
 * - `noTls` 127.0.0.35: no STARTTLS at all.
 * - `rootNotSent` 127.0.0.36: a leaf from an intermediate of the test CA, chain leaf + intermediate
 *   without the CA, so a DANE-TA `2 0 1` of the CA names a certificate the server does not send
 *   (RFC 7672 3.1), although mxsec's `tls.ca-file` trusts it.
 *
 * Contract: `buildFixtures` only computes data (no I/O); it throws only on a bug in this file.
 */
import { createHash } from 'node:crypto';
import { createSelfSigned, createTestCa } from '../support/pki.js';
import type { TestCa, TestCert } from '../support/pki.js';
import type { ZoneRecord, ZoneSpec } from './harness/dnssec.js';
import type { PostfixListener } from './harness/postfix.js';

/** The addresses this suite owns (see the task's address plan): DNS pair and MX listeners. */
export const ADDR = {
  authoritative: '127.0.0.30',
  resolver: '127.0.0.31',
  selfSigned: '127.0.0.32',
  caValid: '127.0.0.33',
  wrongName: '127.0.0.34',
  noTls: '127.0.0.35',
  rootNotSent: '127.0.0.36',
} as const;

/** Listener index in master.cf order; Postfix logs each as `postfix/listener-<index>/smtpd`. */
export const LISTENER = {
  selfSigned: 0,
  caValid: 1,
  wrongName: 2,
  noTls: 3,
  rootNotSent: 4,
} as const;

/** MX names on the CA-valid listener: DANE-TA and PKIX must both accept them. */
const CA_VALID_NAMES = [
  'mx.ta.dane.test',
  'mx2.fallback.dane.test',
  'mx.insecure.dane.test',
  'mx.pkixunusable.dane.test',
];

const hex = (data: Uint8Array): string => Buffer.from(data).toString('hex');
const sha256 = (data: Uint8Array): string => createHash('sha256').update(data).digest('hex');

/** `3 1 1`: DANE-EE, SubjectPublicKeyInfo, SHA2-256 (RFC 7671 section 5.1). */
export const eeSpkiSha256 = (cert: TestCert): string => `3 1 1 ${sha256(cert.spkiDer)}`;
/** `2 0 1`: DANE-TA, full certificate, SHA2-256 (RFC 7671 section 5.2). */
export const taCertSha256 = (ca: TestCert): string => `2 0 1 ${sha256(ca.der)}`;

export interface DaneFixtures {
  readonly ca: TestCa;
  /** The self-signed certificate at 127.0.0.32. */
  readonly selfSigned: TestCert;
  /** A key no listener has: its digest never matches. */
  readonly stranger: TestCert;
  readonly zones: readonly ZoneSpec[];
  readonly listeners: readonly PostfixListener[];
  /** Every recipient domain Postfix must accept. */
  readonly domains: readonly string[];
}

/** A zone with one MX host per entry, each with its address and optional TLSA RDATA list. */
function mxZone(
  name: string,
  hosts: readonly { label: string; address: string; tlsa?: readonly string[] }[],
  security: ZoneSpec['security'] = 'signed',
): ZoneSpec {
  const records: ZoneRecord[] = [];
  hosts.forEach((host, i) => {
    records.push({ name: '@', type: 'MX', data: `${10 * (i + 1)} ${host.label}.${name}.` });
    records.push({ name: host.label, type: 'A', data: host.address });
    for (const data of host.tlsa ?? [])
      records.push({ name: `_25._tcp.${host.label}`, type: 'TLSA', data });
  });
  return { name, security, records };
}

export async function buildFixtures(): Promise<DaneFixtures> {
  const ca = await createTestCa({ commonName: 'mxsec DANE interop CA' });
  const selfSigned = await createSelfSigned({ dnsNames: ['mx.ee.dane.test'] });
  const stranger = await createSelfSigned({ dnsNames: ['mx.ee.dane.test'] });
  const caLeaf = await ca.issue({ dnsNames: CA_VALID_NAMES });
  const wrongLeaf = await ca.issue({ dnsNames: ['unrelated.elsewhere.test'] });
  const rootNotSentLeaf = await (
    await ca.issueCa()
  ).issue({ dnsNames: ['mx.rootnotsent.dane.test'] });

  const ee = eeSpkiSha256(selfSigned);
  const ta = taCertSha256(ca);
  // RFC 7672 3.1.3: PKIX-EE is unusable for SMTP; a SHA2-256 "digest" of 20 octets is malformed.
  const unusable = [
    `1 1 1 ${sha256(selfSigned.spkiDer)}`,
    `3 1 1 ${hex(createHash('sha1').update(selfSigned.spkiDer).digest())}`,
  ];

  const zones: ZoneSpec[] = [
    mxZone('ee.dane.test', [{ label: 'mx', address: ADDR.selfSigned, tlsa: [ee] }]),
    mxZone('ta.dane.test', [{ label: 'mx', address: ADDR.caValid, tlsa: [ta] }]),
    mxZone('mismatch.dane.test', [
      { label: 'mx', address: ADDR.selfSigned, tlsa: [eeSpkiSha256(stranger)] },
    ]),
    mxZone('wrongname.dane.test', [{ label: 'mx', address: ADDR.wrongName, tlsa: [ta] }]),
    mxZone('rootnotsent.dane.test', [{ label: 'mx', address: ADDR.rootNotSent, tlsa: [ta] }]),
    mxZone('notls.dane.test', [{ label: 'mx', address: ADDR.noTls, tlsa: [ee] }]),
    mxZone('unusable.dane.test', [{ label: 'mx', address: ADDR.selfSigned, tlsa: unusable }]),
    mxZone('pkixunusable.dane.test', [{ label: 'mx', address: ADDR.caValid, tlsa: unusable }]),
    mxZone('plainunusable.dane.test', [{ label: 'mx', address: ADDR.noTls, tlsa: unusable }]),
    mxZone(
      'expired.dane.test',
      [{ label: 'mx', address: ADDR.selfSigned, tlsa: [ee] }],
      'bogus-expired-signatures',
    ),
    mxZone(
      'altered.dane.test',
      [{ label: 'mx', address: ADDR.selfSigned, tlsa: [ee] }],
      'bogus-altered-signatures',
    ),
    // The MX RRset validates, the host's address records (in the altered zone) are bogus.
    {
      name: 'addrbogus.dane.test',
      security: 'signed',
      records: [{ name: '@', type: 'MX', data: '10 mx.altered.dane.test.' }],
    },
    // MX and address records validate; only the TLSA RRset is bogus: `_tcp.mx.<zone>` is its own zone
    // whose RRSIGs were altered, delegated from a correctly signed parent (the "secure | bogus" row).
    mxZone('tlsabogus.dane.test', [{ label: 'mx', address: ADDR.selfSigned }]),
    {
      name: '_tcp.mx.tlsabogus.dane.test',
      security: 'bogus-altered-signatures',
      records: [{ name: '_25', type: 'TLSA', data: ee }],
    },
    // An insecure delegation: the (mismatching) TLSA record proves nothing and must be ignored.
    mxZone(
      'insecure.dane.test',
      [{ label: 'mx', address: ADDR.caValid, tlsa: [eeSpkiSha256(stranger)] }],
      'unsigned',
    ),
    mxZone('fallback.dane.test', [
      { label: 'mx1', address: ADDR.selfSigned, tlsa: [eeSpkiSha256(stranger)] },
      { label: 'mx2', address: ADDR.caValid, tlsa: [ta] },
    ]),
  ];
  const withCa = (leaf: TestCert): string => leaf.chainPem + ca.certPem;
  const listeners: PostfixListener[] = [
    { address: ADDR.selfSigned, tls: { certPem: selfSigned.certPem, keyPem: selfSigned.keyPem } },
    { address: ADDR.caValid, tls: { certPem: withCa(caLeaf), keyPem: caLeaf.keyPem } },
    { address: ADDR.wrongName, tls: { certPem: withCa(wrongLeaf), keyPem: wrongLeaf.keyPem } },
    { address: ADDR.noTls },
    {
      address: ADDR.rootNotSent,
      tls: { certPem: rootNotSentLeaf.chainPem, keyPem: rootNotSentLeaf.keyPem },
    },
  ];
  const domains = zones.map((z) => z.name).filter((n) => !n.startsWith('_'));
  return { ca, selfSigned, stranger, zones, listeners, domains };
}
