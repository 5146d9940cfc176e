import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Mode } from '../core/outcome.js';
import type { DnssecStatus, TlsaRecord } from '../dns/types.js';
import type { TlsaLookup } from './lookup.js';
import type { DanePlan } from './requirement.js';
import { daneRequirement, judgeDane } from './requirement.js';
import { classify } from '../policy/failure.js';
import type { DaneFailure } from './requirement.js';

/** What the failure table makes of a DANE failure: [severity, last_error, TLS-RPT type]. */
function row(failure: DaneFailure): unknown[] {
  const f = classify(failure);
  return [f.severity, f.lastError, f.tlsRpt];
}

const EE: TlsaRecord = {
  usage: 3,
  selector: 1,
  matchingType: 1,
  data: new Uint8Array(32).fill(0xab),
};
const PKIX: TlsaRecord = {
  usage: 1,
  selector: 1,
  matchingType: 1,
  data: new Uint8Array(32).fill(0xcd),
};
const Q = '_25._tcp.mx.example.test';

const LOOKUPS = {
  usable: {
    kind: 'secure',
    records: [PKIX, EE],
    usable: [EE],
    baseName: 'mx.example.test',
    referenceNames: ['mx.example.test'],
    ttl: 60,
  },
  unusable: {
    kind: 'secure',
    records: [PKIX],
    usable: [],
    baseName: 'mx.example.test',
    referenceNames: ['mx.example.test'],
    ttl: 60,
  },
  denial: { kind: 'secure-none', name: Q },
  insecure: { kind: 'insecure', name: Q },
  bogus: { kind: 'bogus', name: Q, message: 'RRSIG expired' },
  servfail: {
    kind: 'error',
    failure: { kind: 'servfail', name: Q, type: 'TLSA', message: 'SERVFAIL' },
  },
  timeout: {
    kind: 'error',
    failure: { kind: 'timeout', name: Q, type: 'TLSA', message: 'no answer' },
  },
  addressInsecure: { kind: 'not-applicable', reason: 'address-insecure' },
  addressBogus: { kind: 'not-applicable', reason: 'address-bogus' },
} satisfies Record<string, TlsaLookup>;

/** A plan in one word, so the table below reads like the one in the design notes. */
function summary(plan: DanePlan): string {
  switch (plan.kind) {
    case 'authenticate':
      return 'authenticate';
    case 'tls-unauthenticated':
      return 'tls-mandatory';
    case 'none':
      return 'none';
    case 'fail': {
      const f = classify(plan.failure);
      return `${f.severity} ${f.lastError} ${f.tlsRpt ?? ''}`;
    }
  }
}

type Row = readonly [
  section: string,
  mx: DnssecStatus | 'error',
  tlsa: keyof typeof LOOKUPS,
  optional: string,
  require: string,
];

const TEMP_DANE = 'temporary dane dnssec-invalid';
const TEMP_DNS = 'temporary dns dnssec-invalid';
const PERM_REQUIRED = 'permanent dane dane-required';

/** The golden truth table of the `dane` setting (RFC 7672 section 2.2). `disable` is always `none`. */
const TABLE: readonly Row[] = [
  ['RFC 7672 2.2.3', 'secure', 'usable', 'authenticate', 'authenticate'],
  ['RFC 7672 2.2', 'secure', 'unusable', 'tls-mandatory', 'permanent dane tlsa-invalid'],
  ['RFC 7672 2.2', 'secure', 'denial', 'none', PERM_REQUIRED],
  ['RFC 7672 2.2', 'secure', 'insecure', 'none', PERM_REQUIRED],
  ['RFC 7672 2.2', 'secure', 'bogus', TEMP_DANE, TEMP_DANE],
  ['RFC 7672 2.2', 'secure', 'servfail', TEMP_DNS, TEMP_DNS],
  ['RFC 7672 2.2', 'secure', 'timeout', TEMP_DNS, TEMP_DNS],
  ['RFC 7672 2.2.2', 'secure', 'addressInsecure', 'none', PERM_REQUIRED],
  ['RFC 7672 2.2.2', 'secure', 'addressBogus', TEMP_DANE, TEMP_DANE],
  ['RFC 7672 2.2.1', 'bogus', 'usable', TEMP_DANE, TEMP_DANE],
  ['RFC 7672 2.2.1', 'bogus', 'denial', TEMP_DANE, TEMP_DANE],
  ['RFC 7672 2.2.1', 'insecure', 'usable', 'none', PERM_REQUIRED],
  ['RFC 7672 2.2.1', 'insecure', 'denial', 'none', PERM_REQUIRED],
  ['RFC 7672 2.2.1', 'error', 'usable', TEMP_DNS, TEMP_DNS],
];

describe('the dane setting: golden truth table', () => {
  for (const [section, mx, tlsa, optional, require] of TABLE) {
    const expected: Record<Mode, string> = { optional, require, disable: 'none' };
    for (const mode of ['optional', 'require', 'disable'] as const) {
      test(`${section}: MX ${mx}, TLSA ${tlsa}, dane=${mode} -> ${expected[mode]}`, () => {
        assert.equal(
          summary(daneRequirement({ mode, mxDnssec: mx, tlsa: LOOKUPS[tlsa] })),
          expected[mode],
        );
      });
    }
  }
});

test('RFC 8460 4.3: an authenticate plan carries the usable records, names and every policy string', () => {
  const plan = daneRequirement({ mode: 'optional', mxDnssec: 'secure', tlsa: LOOKUPS.usable });
  assert.deepEqual(plan, {
    kind: 'authenticate',
    usable: [EE],
    referenceNames: ['mx.example.test'],
    policyStrings: [`1 1 1 ${'CD'.repeat(32)}`, `3 1 1 ${'AB'.repeat(32)}`],
  });
});

test('RFC 8460 4.3: a tlsa-invalid failure reports the offending records', () => {
  const plan = daneRequirement({ mode: 'require', mxDnssec: 'secure', tlsa: LOOKUPS.unusable });
  assert.deepEqual(plan.kind === 'fail' ? plan.policyStrings : undefined, [
    `1 1 1 ${'CD'.repeat(32)}`,
  ]);
});

describe('judgeDane: the observed handshake against the plan', () => {
  const authenticate = daneRequirement({
    mode: 'optional',
    mxDnssec: 'secure',
    tlsa: LOOKUPS.usable,
  });
  const mandatory = daneRequirement({
    mode: 'optional',
    mxDnssec: 'secure',
    tlsa: LOOKUPS.unusable,
  });

  test('RFC 7672 3.1: a matching record authenticates the host', () => {
    assert.deepEqual(judgeDane(authenticate, { ok: true, matched: EE, usage: 'DANE-EE' }), {
      kind: 'authenticated',
      usage: 'DANE-EE',
      matched: EE,
    });
  });

  test('RFC 7672 2.2: a DANE mismatch fails the host temporarily (next MX, message deferred)', () => {
    const judged = judgeDane(authenticate, {
      ok: false,
      reason: 'no-match',
      message: 'nothing matched',
    });
    assert.equal(judged.kind, 'failure');
    assert.deepEqual(judged.kind === 'failure' ? row(judged.failure) : [], [
      'temporary',
      'dane',
      'validation-failure',
    ]);
  });

  test('RFC 7672 2.2: no STARTTLS at a host with TLSA records is starttls-not-supported', () => {
    for (const plan of [authenticate, mandatory]) {
      const judged = judgeDane(plan, 'no-starttls');
      assert.deepEqual(
        judged.kind === 'failure' ? row(judged.failure).filter((_, i) => i !== 1) : judged.kind,
        ['temporary', 'starttls-not-supported'],
      );
    }
  });

  test('RFC 7672 2.2: with only unusable records any TLS session is accepted unauthenticated', () => {
    assert.deepEqual(
      judgeDane(mandatory, { ok: false, reason: 'no-match', message: 'no usable TLSA record' }),
      { kind: 'unauthenticated' },
    );
  });

  test('RFC 7672 2.2: a host without DANE is left to the other mechanisms', () => {
    const none = daneRequirement({ mode: 'optional', mxDnssec: 'secure', tlsa: LOOKUPS.denial });
    assert.deepEqual(judgeDane(none, 'no-starttls'), { kind: 'not-applicable' });
  });

  test('RFC 7672 2.2: a plan that already failed stays failed', () => {
    const failed = daneRequirement({ mode: 'require', mxDnssec: 'insecure', tlsa: LOOKUPS.usable });
    const judged = judgeDane(failed, { ok: true, matched: EE, usage: 'DANE-EE' });
    assert.deepEqual(
      judged.kind === 'failure' ? row(judged.failure).filter((_, i) => i !== 1) : judged.kind,
      ['permanent', 'dane-required'],
    );
  });
});
