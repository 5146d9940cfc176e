import { test } from 'node:test';
import assert from 'node:assert/strict';
import type {
  DnsFailureKind,
  DnsResult,
  DnssecStatus,
  RecordType,
  Resolver,
  TlsaRecord,
} from '../dns/types.js';
import { lookupTlsa, tlsaQueryName } from './lookup.js';
import type { MxHostFacts } from './lookup.js';

/** An in-memory Resolver: answers TLSA queries from a table and records every name asked. */
class TableResolver implements Resolver {
  readonly asked: string[] = [];
  constructor(private readonly table: ReadonlyMap<string, DnsResult<'TLSA'>>) {}
  query<T extends RecordType>(name: string, type: T): Promise<DnsResult<T>> {
    this.asked.push(`${name} ${type}`);
    const result = type === 'TLSA' ? this.table.get(name) : undefined;
    if (result === undefined) throw new Error(`fixture has no answer for ${name} ${type}`);
    return Promise.resolve(result as DnsResult<T>);
  }
}

const EE: TlsaRecord = { usage: 3, selector: 1, matchingType: 1, data: new Uint8Array(32).fill(7) };
const PKIX: TlsaRecord = {
  usage: 1,
  selector: 1,
  matchingType: 1,
  data: new Uint8Array(32).fill(8),
};

function answer(
  name: string,
  dnssec: DnssecStatus,
  records: TlsaRecord[],
  rcode: 'NOERROR' | 'NXDOMAIN' = 'NOERROR',
): DnsResult<'TLSA'> {
  return {
    ok: true,
    answer: {
      name,
      type: 'TLSA',
      canonicalName: name,
      cnameChain: [],
      rcode,
      ad: dnssec === 'secure',
      dnssec,
      records,
      ttl: 300,
    },
  };
}

function failed(name: string, kind: DnsFailureKind): DnsResult<'TLSA'> {
  return { ok: false, failure: { kind, name, type: 'TLSA', message: `${kind} from fixture` } };
}

const Q = '_25._tcp.mx.example.test';
const secureMx: MxHostFacts = {
  name: 'mx.example.test',
  mxDnssec: 'secure',
  addressDnssec: 'secure',
};

async function run(
  entries: [string, DnsResult<'TLSA'>][],
  mx: MxHostFacts = secureMx,
): Promise<{ result: Awaited<ReturnType<typeof lookupTlsa>>; asked: string[] }> {
  const resolver = new TableResolver(new Map(entries));
  const result = await lookupTlsa(resolver, mx);
  return { result, asked: resolver.asked };
}

test('RFC 7672 2.2: TLSA records are looked up at _25._tcp.<MX host>', () => {
  assert.equal(tlsaQueryName('MX.Example.Test.'), Q);
  assert.equal(tlsaQueryName('mx.example.test', 465), '_465._tcp.mx.example.test');
});

test('RFC 7672 2.2: a secure RRset yields its records, the usable subset and the reference names', async () => {
  const { result, asked } = await run([[Q, answer(Q, 'secure', [PKIX, EE])]], {
    ...secureMx,
    name: 'MX.example.test.',
    nextHop: 'Example.Test',
  });
  assert.deepEqual(asked, [`${Q} TLSA`]);
  assert.deepEqual(result, {
    kind: 'secure',
    records: [PKIX, EE],
    usable: [EE],
    baseName: 'mx.example.test',
    referenceNames: ['mx.example.test', 'example.test'],
    ttl: 300,
  });
});

test('RFC 7672 2.2: a secure RRset of only unusable records is still secure, with nothing usable', async () => {
  const { result } = await run([[Q, answer(Q, 'secure', [PKIX])]]);
  assert.equal(result.kind, 'secure');
  assert.deepEqual(result.kind === 'secure' ? result.usable : undefined, []);
});

test('RFC 7672 2.2: secure NXDOMAIN and secure NODATA are a validated denial', async () => {
  assert.deepEqual((await run([[Q, answer(Q, 'secure', [], 'NXDOMAIN')]])).result, {
    kind: 'secure-none',
    name: Q,
  });
  assert.deepEqual((await run([[Q, answer(Q, 'secure', [])]])).result, {
    kind: 'secure-none',
    name: Q,
  });
});

test('RFC 7672 2.2: an unsigned TLSA answer is insecure, even with records in it', async () => {
  assert.deepEqual((await run([[Q, answer(Q, 'insecure', [EE])]])).result, {
    kind: 'insecure',
    name: Q,
  });
});

test('RFC 7672 2.2: a bogus answer, or a SERVFAIL explained by validation, is bogus', async () => {
  assert.equal((await run([[Q, answer(Q, 'bogus', [EE])]])).result.kind, 'bogus');
  assert.equal((await run([[Q, failed(Q, 'bogus')]])).result.kind, 'bogus');
});

test('RFC 7672 2.2: SERVFAIL and timeout are lookup errors, not a denial', async () => {
  for (const kind of ['servfail', 'timeout'] as const) {
    const { result } = await run([[Q, failed(Q, kind)]]);
    assert.equal(result.kind, 'error');
    assert.equal(result.kind === 'error' ? result.failure.kind : undefined, kind);
  }
});

test('RFC 7672 2.2.1: no TLSA lookup when the MX RRset is insecure or bogus', async () => {
  const insecure = await run([], { ...secureMx, mxDnssec: 'insecure' });
  assert.deepEqual(insecure, {
    result: { kind: 'not-applicable', reason: 'mx-insecure' },
    asked: [],
  });
  assert.deepEqual((await run([], { ...secureMx, mxDnssec: 'bogus' })).result, {
    kind: 'not-applicable',
    reason: 'mx-bogus',
  });
});

test('RFC 7672 2.2.2: no TLSA lookup when the MX host address records are insecure', async () => {
  assert.deepEqual(await run([], { ...secureMx, addressDnssec: 'insecure' }), {
    result: { kind: 'not-applicable', reason: 'address-insecure' },
    asked: [],
  });
});

test('RFC 7672 2.2.1: for an implicit MX only the address records need to be secure', async () => {
  const { result } = await run([[Q, answer(Q, 'secure', [EE])]], {
    ...secureMx,
    mxDnssec: 'insecure',
    implicitMx: true,
  });
  assert.equal(result.kind, 'secure');
});

const EXPANDED = '_25._tcp.mx.hosting.test';
const cnameMx: MxHostFacts = {
  ...secureMx,
  cnameChain: ['mx.example.test -> edge.hosting.test', 'edge.hosting.test -> mx.hosting.test'],
};

test('RFC 7672 2.2.2: with a secure CNAME chain the fully expanded name is tried first', async () => {
  const { result, asked } = await run(
    [
      [EXPANDED, answer(EXPANDED, 'secure', [EE])],
      [Q, answer(Q, 'secure', [PKIX])],
    ],
    cnameMx,
  );
  assert.deepEqual(asked, [`${EXPANDED} TLSA`]);
  assert.equal(result.kind === 'secure' ? result.baseName : result.kind, 'mx.hosting.test');
  assert.deepEqual(result.kind === 'secure' ? result.referenceNames : undefined, [
    'mx.hosting.test',
    'mx.example.test',
  ]);
});

test('RFC 7672 2.2.2: a validated denial at the expanded name falls back to the initial name', async () => {
  const { result, asked } = await run(
    [
      [EXPANDED, answer(EXPANDED, 'secure', [], 'NXDOMAIN')],
      [Q, answer(Q, 'secure', [EE])],
    ],
    cnameMx,
  );
  assert.deepEqual(asked, [`${EXPANDED} TLSA`, `${Q} TLSA`]);
  assert.equal(result.kind === 'secure' ? result.baseName : result.kind, 'mx.example.test');
  assert.deepEqual(result.kind === 'secure' ? result.referenceNames : undefined, [
    'mx.example.test',
    'mx.hosting.test',
  ]);
});

test('RFC 7672 2.2.2: a bogus or failed answer at the expanded name is final, never a fallback', async () => {
  for (const bad of [answer(EXPANDED, 'bogus', []), failed(EXPANDED, 'servfail')]) {
    const { result, asked } = await run(
      [
        [EXPANDED, bad],
        [Q, answer(Q, 'secure', [], 'NXDOMAIN')],
      ],
      cnameMx,
    );
    assert.deepEqual(asked, [`${EXPANDED} TLSA`]);
    assert.notEqual(result.kind, 'secure-none');
  }
});

test('RFC 7672 2.2.2: denial at both names is a validated denial', async () => {
  const { result, asked } = await run(
    [
      [EXPANDED, answer(EXPANDED, 'secure', [])],
      [Q, answer(Q, 'secure', [], 'NXDOMAIN')],
    ],
    cnameMx,
  );
  assert.equal(asked.length, 2);
  assert.equal(result.kind, 'secure-none');
});
