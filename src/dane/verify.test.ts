import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import type { TlsaRecord } from '../dns/types.js';
import type { TestCa, TestCert } from '../../test/support/pki.js';
import { createTestCa } from '../../test/support/pki.js';
import { verifyDane } from './verify.js';
import type { DaneVerdict } from './verify.js';

const DAY = 86_400_000;
const now = new Date();
const MX = 'mx.example.test';
const DOMAIN = 'example.test';

function sha(bits: 256 | 512, data: Uint8Array): Uint8Array {
  return new Uint8Array(createHash(`sha${bits}`).update(data).digest());
}

function tlsa(usage: number, selector: number, matchingType: number, cert: TestCert): TlsaRecord {
  const selected = selector === 0 ? cert.der : cert.spkiDer;
  const data = matchingType === 0 ? selected : sha(matchingType === 1 ? 256 : 512, selected);
  return { usage, selector, matchingType, data };
}

function verify(
  records: TlsaRecord[],
  chain: Uint8Array[],
  referenceNames: string[] = [MX],
): DaneVerdict {
  return verifyDane({ records, chain, referenceNames, now });
}

function failure(verdict: DaneVerdict): string {
  return verdict.ok ? `ok ${verdict.usage}` : verdict.reason;
}

let root: TestCa;
let intermediate: TestCa;
let leaf: TestCert;
let direct: TestCert;
let expiredWrongName: TestCert;

before(async () => {
  root = await createTestCa({ commonName: 'mxsec Test CA' });
  intermediate = await root.issueCa();
  leaf = await intermediate.issue({ dnsNames: [MX] });
  direct = await root.issue({ dnsNames: [MX] });
  expiredWrongName = await root.issue({
    dnsNames: ['wrong.example.net'],
    notBefore: new Date(now.getTime() - 30 * DAY),
    notAfter: new Date(now.getTime() - DAY),
  });
});

describe('DANE-EE(3): the leaf alone is pinned', () => {
  for (const [selector, matching] of [
    [1, 1],
    [0, 1],
    [1, 2],
    [0, 0],
    [1, 0],
    [0, 2],
  ] as const) {
    test(`RFC 7671 5.1: 3 ${selector} ${matching} matches an expired leaf with the wrong name`, () => {
      const record = tlsa(3, selector, matching, expiredWrongName);
      const verdict = verify([record], [expiredWrongName.der]);
      assert.deepEqual(verdict, { ok: true, matched: record, usage: 'DANE-EE' });
    });
  }

  test('RFC 7672 3.1.3: a DANE-EE record for another key does not match', () => {
    const verdict = verify([tlsa(3, 1, 1, direct)], [leaf.der, intermediate.der]);
    assert.equal(failure(verdict), 'no-match');
  });

  test('RFC 7671 5.1: DANE-EE ignores the extended key usage of the leaf', async () => {
    const clientOnly = await root.issue({ dnsNames: [MX], extKeyUsage: ['clientAuth'] });
    assert.equal(failure(verify([tlsa(3, 1, 1, clientOnly)], [clientOnly.der])), 'ok DANE-EE');
  });

  test('RFC 7672 3.1.3: any one matching record is enough', () => {
    const verdict = verify(
      [tlsa(3, 1, 1, direct), tlsa(3, 1, 1, leaf)],
      [leaf.der, intermediate.der],
    );
    assert.equal(failure(verdict), 'ok DANE-EE');
  });
});

describe('DANE-TA(2): the leaf is validated up to a pinned issuer', () => {
  test('RFC 7672 3.2.2: 2 0 1 with the CA in the chain and the leaf named after the MX host', () => {
    const record = tlsa(2, 0, 1, intermediate);
    assert.deepEqual(verify([record], [leaf.der, intermediate.der]), {
      ok: true,
      matched: record,
      usage: 'DANE-TA',
    });
  });

  test('RFC 7672 3.2.2: the next-hop (recipient) domain is accepted as a reference identifier', async () => {
    const domainLeaf = await intermediate.issue({ dnsNames: [DOMAIN] });
    const verdict = verify(
      [tlsa(2, 0, 1, intermediate)],
      [domainLeaf.der, intermediate.der],
      [MX, DOMAIN],
    );
    assert.equal(failure(verdict), 'ok DANE-TA');
  });

  test('RFC 7672 3.2.2: a leaf naming neither the MX host nor the domain is a name-mismatch', async () => {
    const other = await intermediate.issue({ dnsNames: ['mx.attacker.test'] });
    assert.equal(
      failure(verify([tlsa(2, 0, 1, intermediate)], [other.der, intermediate.der], [MX, DOMAIN])),
      'name-mismatch',
    );
  });

  test('RFC 7671 5.2: an expired leaf under DANE-TA is refused as expired', async () => {
    const old = await intermediate.issue({
      dnsNames: [MX],
      notBefore: new Date(now.getTime() - 30 * DAY),
      notAfter: new Date(now.getTime() - DAY),
    });
    assert.equal(
      failure(verify([tlsa(2, 0, 1, intermediate)], [old.der, intermediate.der])),
      'expired',
    );
  });

  test('RFC 7671 5.2: a leaf not yet valid under DANE-TA is refused', async () => {
    const future = await intermediate.issue({
      dnsNames: [MX],
      notBefore: new Date(now.getTime() + DAY),
      notAfter: new Date(now.getTime() + 30 * DAY),
    });
    assert.equal(
      failure(verify([tlsa(2, 0, 1, intermediate)], [future.der, intermediate.der])),
      'not-yet-valid',
    );
  });

  test('RFC 7671 5.2: an expired intermediate below the anchor is refused', async () => {
    const oldCa = await root.issueCa({
      notBefore: new Date(now.getTime() - 30 * DAY),
      notAfter: new Date(now.getTime() - DAY),
    });
    const under = await oldCa.issue({ dnsNames: [MX] });
    assert.equal(
      failure(verify([tlsa(2, 0, 1, root)], [under.der, oldCa.der, root.der])),
      'expired',
    );
  });

  test('RFC 7671 5.2.2: a 2 1 0 record carries the anchor key, so the server need not send it', () => {
    const record = tlsa(2, 1, 0, root);
    assert.deepEqual(verify([record], [direct.der]), {
      ok: true,
      matched: record,
      usage: 'DANE-TA',
    });
  });

  test('RFC 7671 5.2.2: a 2 0 0 record carries the anchor certificate; the path may pass an intermediate', () => {
    assert.equal(
      failure(verify([tlsa(2, 0, 0, root)], [leaf.der, intermediate.der])),
      'ok DANE-TA',
    );
  });

  test('RFC 7671 5.2.2: a digest record needs its anchor in the chain, otherwise no-match', () => {
    assert.equal(failure(verify([tlsa(2, 0, 1, root)], [leaf.der, intermediate.der])), 'no-match');
    assert.equal(failure(verify([tlsa(2, 1, 2, root)], [direct.der])), 'no-match');
  });

  test('RFC 7671 5.2: an intermediate may be the trust anchor (2 1 1 of its key)', () => {
    assert.equal(
      failure(verify([tlsa(2, 1, 1, intermediate)], [leaf.der, intermediate.der, root.der])),
      'ok DANE-TA',
    );
  });

  test('RFC 7671 5.2: the chain may be sent out of order', () => {
    assert.equal(
      failure(verify([tlsa(2, 0, 1, root)], [leaf.der, root.der, intermediate.der])),
      'ok DANE-TA',
    );
  });

  test('RFC 7672 3.2.3: the subject CN is ignored, so a leaf without SAN fails under DANE-TA', async () => {
    const cnOnly = await root.issue({ commonName: MX });
    assert.equal(failure(verify([tlsa(2, 1, 0, root)], [cnOnly.der])), 'name-mismatch');
  });

  test('RFC 7672 3.2.3: a wildcard SAN matches exactly one leftmost label', async () => {
    const wild = await root.issue({ dnsNames: ['*.example.test'] });
    const record = tlsa(2, 1, 0, root);
    assert.equal(failure(verify([record], [wild.der], ['mx.example.test'])), 'ok DANE-TA');
    assert.equal(failure(verify([record], [wild.der], ['a.mx.example.test'])), 'name-mismatch');
    assert.equal(failure(verify([record], [wild.der], ['example.test'])), 'name-mismatch');
  });

  test('RFC 7671 5.2.2: a leaf whose EKU lacks serverAuth is refused under DANE-TA', async () => {
    const clientOnly = await root.issue({ dnsNames: [MX], extKeyUsage: ['clientAuth'] });
    assert.equal(failure(verify([tlsa(2, 1, 0, root)], [clientOnly.der])), 'no-server-auth');
  });

  test('RFC 7671 5.2: a leaf without any EKU extension is accepted', async () => {
    const noEku = await root.issue({ dnsNames: [MX], extKeyUsage: [] });
    assert.equal(failure(verify([tlsa(2, 1, 0, root)], [noEku.der])), 'ok DANE-TA');
  });

  test('RFC 7671 5.2: a DANE-TA record matching the leaf itself is not a trust anchor', () => {
    assert.equal(failure(verify([tlsa(2, 0, 1, direct)], [direct.der])), 'no-match');
  });

  /**
   * Attack: a forger creates its own CA with the same subject name as the pinned CA and issues a leaf
   * for the MX host. The names chain, the signatures do not.
   */
  test('RFC 7671 5.2: a look-alike CA with the pinned name but another key does not chain', async () => {
    const forger = await createTestCa({ commonName: 'mxsec Test CA' });
    const forged = await forger.issue({ dnsNames: [MX] });
    assert.equal(failure(verify([tlsa(2, 0, 0, root)], [forged.der])), 'bad-chain');
    assert.equal(failure(verify([tlsa(2, 1, 0, root)], [forged.der, forger.der])), 'bad-chain');
  });
});

describe('malformed input never throws', () => {
  test('RFC 7671 5: a malformed leaf is bad-chain', () => {
    assert.equal(
      failure(verify([tlsa(3, 1, 1, direct)], [Uint8Array.from([0x30, 0x03, 0x01, 0x02])])),
      'bad-chain',
    );
  });

  test('RFC 7671 5: an empty chain is no-certificate', () => {
    assert.equal(failure(verify([tlsa(3, 1, 1, direct)], [])), 'no-certificate');
  });

  test('RFC 7671 5.2: a malformed intermediate is skipped, not fatal', () => {
    assert.equal(
      failure(verify([tlsa(2, 1, 0, root)], [direct.der, Uint8Array.from([1, 2, 3])])),
      'ok DANE-TA',
    );
  });

  test('RFC 7671 5.2.2: a 2 0 0 record whose data is not a certificate is bad-chain', () => {
    const record: TlsaRecord = {
      usage: 2,
      selector: 0,
      matchingType: 0,
      data: Uint8Array.from([0x30, 0x00]),
    };
    assert.equal(failure(verify([record], [direct.der])), 'bad-chain');
  });

  test('RFC 7672 3.1.3: PKIX-EE records that match the leaf are unusable, so nothing matches', () => {
    const verdict = verify([tlsa(1, 1, 1, direct), tlsa(0, 0, 1, root)], [direct.der, root.der]);
    assert.equal(failure(verdict), 'no-match');
  });
});
