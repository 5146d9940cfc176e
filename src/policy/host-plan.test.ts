/**
 * The precedence golden table of `planHost` (Postfix's `tls_policy.ref` idea): every strategy the
 * configuration accepts (starttls x allow-invalid-certs x dane x mta-sts, without the contradictions
 * `starttls = "disable"` + `require`) crossed with every DANE plan and MTA-STS plan its modes can
 * produce, one line per row in `test/fixtures/golden/host-plan.txt`. `MXSEC_UPDATE_GOLDEN=1` rewrites
 * the file; a changed row is then a reviewed diff. The property tests below check the README rules on
 * every row, so the golden file cannot silently bless a downgrade.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import type { TlsStrategy } from '../config/types.js';
import type { Mode } from '../core/outcome.js';
import type { DanePlan } from '../dane/requirement.js';
import type { MtaStsPlan } from '../mtasts/requirement.js';
import { planHost } from './host-plan.js';
import type { HostPlan } from './host-plan.js';
import { fixture } from '../../test/support/paths.js';

// From the repository, whether the test runs from src/ or from dist/.
const GOLDEN = fixture('golden', 'host-plan.txt');
const MX = 'mx1.example.test';
const MODES: readonly Mode[] = ['optional', 'require', 'disable'];

type DaneKind =
  'authenticate' | 'tls-unauthenticated' | 'none' | 'fail-temporary' | 'fail-permanent';
type StsKind =
  | 'disabled'
  | 'none'
  | 'enforce-match'
  | 'enforce-nomatch'
  | 'testing-match'
  | 'testing-nomatch'
  | 'failed-temporary'
  | 'failed-permanent';

/** The DANE plans `daneRequirement` can return for each mode (see src/dane/requirement.ts). */
const DANE_KINDS: Readonly<Record<Mode, readonly DaneKind[]>> = {
  disable: ['none'],
  // Under `optional` every failure is temporary: bogus or failed lookups are never a downgrade.
  optional: ['authenticate', 'tls-unauthenticated', 'none', 'fail-temporary'],
  // `require` turns "no DANE" and "only unusable records" into permanent failures.
  require: ['authenticate', 'fail-temporary', 'fail-permanent'],
};

/** The MTA-STS plans `planMtaSts` (with `authorizeMx` for the MX match) can give for each mode. */
const STS_KINDS: Readonly<Record<Mode, readonly StsKind[]>> = {
  disable: ['disabled'],
  optional: ['none', 'enforce-match', 'enforce-nomatch', 'testing-match', 'testing-nomatch'],
  require: ['enforce-match', 'enforce-nomatch', 'failed-temporary', 'failed-permanent'],
};

const EE_RECORD = { usage: 3, selector: 1, matchingType: 1, data: new Uint8Array(32).fill(7) };

function danePlan(kind: DaneKind): DanePlan {
  switch (kind) {
    case 'authenticate':
      return { kind, usable: [EE_RECORD], referenceNames: [MX], policyStrings: ['3 1 1 0707'] };
    case 'tls-unauthenticated':
      return { kind, reason: `no TLSA record of ${MX} is usable`, policyStrings: ['1 1 1 0707'] };
    case 'none':
      return { kind, reason: 'no TLSA records (validated denial)' };
    case 'fail-temporary':
      return {
        kind: 'fail',
        failure: { reason: 'tlsa-bogus', message: 'DNSSEC validation failed' },
        policyStrings: [],
      };
    case 'fail-permanent':
      return {
        kind: 'fail',
        failure: {
          reason: 'dane-required',
          message: 'DANE required but the TLSA answer is not signed',
        },
        policyStrings: [],
      };
  }
}

function stsPlan(kind: StsKind): MtaStsPlan {
  const report = (patterns: string[]) => ({
    policyType: 'sts' as const,
    policyDomain: 'example.test',
    policyText: 'version: STSv1',
    mxPatterns: patterns,
  });
  const matching = ['*.example.test'];
  const other = ['mx.elsewhere.test'];
  switch (kind) {
    case 'disabled':
      return { kind: 'disabled' };
    case 'none':
      return {
        kind: 'none',
        reason: 'no-policy',
        message: 'no _mta-sts record',
        report: { policyType: 'no-policy-found', policyDomain: 'example.test' },
      };
    case 'enforce-match':
      return { kind: 'enforce', patterns: matching, report: report(matching) };
    case 'enforce-nomatch':
      return { kind: 'enforce', patterns: other, report: report(other) };
    case 'testing-match':
      return { kind: 'testing', patterns: matching, report: report(matching) };
    case 'testing-nomatch':
      return { kind: 'testing', patterns: other, report: report(other) };
    case 'failed-temporary':
      return {
        kind: 'failed',
        failure: { reason: 'fetch-failed', message: 'policy fetch failed', policyFetch: 'status' },
      };
    case 'failed-permanent':
      return {
        kind: 'failed',
        failure: { reason: 'no-record', message: 'MTA-STS required: no _mta-sts record' },
      };
  }
}

function strategy(
  starttls: Mode,
  allowInvalidCerts: boolean,
  dane: Mode,
  mtaSts: Mode,
): TlsStrategy {
  return {
    id: 'x',
    starttls,
    allowInvalidCerts,
    dane,
    mtaSts,
    timeoutTlsMs: 30_000,
    timeoutMtaStsMs: 60_000,
    builtIn: false,
  };
}

interface Row {
  readonly strategy: TlsStrategy;
  readonly daneKind: DaneKind;
  readonly stsKind: StsKind;
  readonly plan: HostPlan;
  readonly line: string;
}

function render(s: TlsStrategy, daneKind: DaneKind, stsKind: StsKind, plan: HostPlan): string {
  const inputs = `starttls=${s.starttls} allow-invalid-certs=${String(s.allowInvalidCerts)} dane=${s.dane} mta-sts=${s.mtaSts} | dane-plan=${daneKind} mta-sts-plan=${stsKind}`;
  const outcome =
    plan.kind === 'skip'
      ? `skip ${plan.failure.lastError} ${plan.failure.severity} ${plan.failure.status}`
      : `connect tls=${plan.tls} auth=${plan.authentication.kind} sts-testing=${String(plan.sts !== 'off')}`;
  return `${inputs} -> ${outcome}`;
}

function allRows(): Row[] {
  const rows: Row[] = [];
  for (const starttls of MODES) {
    for (const aic of [false, true]) {
      for (const dane of MODES) {
        for (const mtaSts of MODES) {
          // The configuration rejects these (src/config/tls-strategies.ts): both mechanisms need TLS.
          if (starttls === 'disable' && (dane === 'require' || mtaSts === 'require')) continue;
          const s = strategy(starttls, aic, dane, mtaSts);
          for (const daneKind of DANE_KINDS[dane]) {
            for (const stsKind of STS_KINDS[mtaSts]) {
              const plan = planHost({
                strategyName: 'x',
                strategy: s,
                mxHost: MX,
                dane: danePlan(daneKind),
                mtaSts: stsPlan(stsKind),
              });
              rows.push({
                strategy: s,
                daneKind,
                stsKind,
                plan,
                line: render(s, daneKind, stsKind, plan),
              });
            }
          }
        }
      }
    }
  }
  return rows;
}

const ROWS = allRows();

function connectPlan(row: Row): Extract<HostPlan, { kind: 'connect' }> {
  assert.equal(row.plan.kind, 'connect', row.line);
  if (row.plan.kind !== 'connect') throw new Error('unreachable');
  return row.plan;
}

describe('planHost golden table', () => {
  test('every precedence combination matches test/fixtures/golden/host-plan.txt', () => {
    const text = `${ROWS.map((r) => r.line).join('\n')}\n`;
    if (process.env['MXSEC_UPDATE_GOLDEN'] === '1') writeFileSync(GOLDEN, text);
    const expected = readFileSync(GOLDEN, 'utf8').split('\n');
    const actual = text.split('\n');
    // Row by row, so a failure names the first combination whose outcome changed.
    for (let i = 0; i < Math.max(expected.length, actual.length); i += 1)
      assert.equal(actual[i], expected[i], `row ${i + 1}`);
  });

  test('the table covers 44 accepted strategies and 380 combinations', () => {
    assert.equal(
      new Set(
        ROWS.map(
          (r) =>
            `${r.strategy.starttls}${String(r.strategy.allowInvalidCerts)}${r.strategy.dane}${r.strategy.mtaSts}`,
        ),
      ).size,
      44,
    );
    assert.equal(ROWS.length, 380);
  });
});

describe('planHost precedence properties over every row', () => {
  test('RFC 7672 2.2: DANE authenticate => TLS required, authenticated by DANE (whatever starttls, allow-invalid-certs, MTA-STS say)', () => {
    for (const row of ROWS.filter((r) => r.daneKind === 'authenticate')) {
      const plan = connectPlan(row);
      assert.deepEqual(
        [plan.tls, plan.authentication.kind, plan.sts !== 'off'],
        ['required', 'dane', false],
        row.line,
      );
      assert.deepEqual(
        plan.authentication.kind === 'dane' ? plan.authentication.plan.usable : undefined,
        [EE_RECORD],
        row.line,
      );
    }
  });

  test('RFC 8461 5: MTA-STS enforce with the MX matching and no DANE authentication => TLS required, auth mta-sts', () => {
    for (const row of ROWS.filter(
      (r) =>
        r.stsKind === 'enforce-match' &&
        (r.daneKind === 'none' || r.daneKind === 'tls-unauthenticated'),
    )) {
      const plan = connectPlan(row);
      assert.deepEqual([plan.tls, plan.authentication.kind], ['required', 'mta-sts'], row.line);
    }
  });

  test('RFC 8461 4.1: MTA-STS enforce with the MX not matching and no DANE authentication => temporary skip (4.7.5)', () => {
    for (const row of ROWS.filter(
      (r) =>
        r.stsKind === 'enforce-nomatch' &&
        (r.daneKind === 'none' || r.daneKind === 'tls-unauthenticated'),
    )) {
      assert.equal(row.plan.kind, 'skip', row.line);
      if (row.plan.kind !== 'skip') continue;
      assert.deepEqual(
        [row.plan.failure.lastError, row.plan.failure.severity, row.plan.failure.status],
        ['mta-sts', 'temporary', '4.7.5'],
        row.line,
      );
    }
  });

  test('allow-invalid-certs never weakens DANE or MTA-STS enforce: no such row has auth none', () => {
    const protectedRows = ROWS.filter(
      (r) =>
        r.strategy.allowInvalidCerts &&
        (r.daneKind === 'authenticate' ||
          r.stsKind === 'enforce-match' ||
          r.stsKind === 'enforce-nomatch'),
    );
    assert.ok(protectedRows.length > 0);
    for (const row of protectedRows) {
      assert.ok(row.plan.kind === 'skip' || row.plan.authentication.kind !== 'none', row.line);
    }
  });

  test('RFC 7672 2.2: a failing DANE plan never connects; DNSSEC-bogus stays temporary', () => {
    for (const row of ROWS.filter(
      (r) => r.daneKind === 'fail-temporary' || r.daneKind === 'fail-permanent',
    )) {
      assert.equal(row.plan.kind, 'skip', row.line);
      if (row.plan.kind !== 'skip') continue;
      assert.equal(row.plan.failure.lastError, 'dane', row.line);
      assert.equal(
        row.plan.failure.severity,
        row.daneKind === 'fail-temporary' ? 'temporary' : 'permanent',
        row.line,
      );
      assert.equal(
        row.plan.failure.tlsRpt,
        row.daneKind === 'fail-temporary' ? 'dnssec-invalid' : 'dane-required',
        row.line,
      );
    }
  });

  test('a required MTA-STS policy that failed never connects, unless DANE authenticates the host', () => {
    for (const row of ROWS.filter(
      (r) => r.stsKind.startsWith('failed-') && r.daneKind !== 'authenticate',
    )) {
      assert.equal(row.plan.kind, 'skip', row.line);
      if (row.plan.kind !== 'skip') continue;
      assert.equal(
        row.plan.failure.lastError,
        row.daneKind.startsWith('fail-') ? 'dane' : 'mta-sts',
        row.line,
      );
    }
  });

  test('a required or published policy never falls back to plaintext: only rows with nothing enforced may have TLS below required', () => {
    for (const row of ROWS) {
      if (row.plan.kind !== 'connect' || row.plan.tls === 'required') continue;
      assert.equal(row.daneKind, 'none', row.line);
      assert.ok(
        ['disabled', 'none', 'testing-match', 'testing-nomatch'].includes(row.stsKind),
        row.line,
      );
      assert.ok(row.strategy.dane !== 'require' && row.strategy.mtaSts !== 'require', row.line);
      assert.notEqual(row.strategy.starttls, 'require', row.line);
    }
  });

  test('RFC 7672 2.2: usable-less TLSA records make TLS mandatory even under starttls = "disable"', () => {
    for (const row of ROWS.filter(
      (r) => r.daneKind === 'tls-unauthenticated' && r.plan.kind === 'connect',
    )) {
      assert.equal(connectPlan(row).tls, 'required', row.line);
    }
  });

  test('starttls = "disable" is overridden by DANE / MTA-STS enforce and is obeyed otherwise', () => {
    for (const row of ROWS.filter(
      (r) => r.strategy.starttls === 'disable' && r.plan.kind === 'connect',
    )) {
      const plan = connectPlan(row);
      const published = row.daneKind !== 'none' || row.stsKind === 'enforce-match';
      assert.equal(plan.tls, published ? 'required' : 'disabled', row.line);
      if (published)
        assert.ok(
          plan.reasons.some((reason) => /overridden|raised to required/.test(reason)),
          row.line,
        );
    }
  });

  test('with neither mechanism imposing anything, the strategy decides: starttls and allow-invalid-certs map one to one', () => {
    for (const row of ROWS.filter(
      (r) =>
        r.daneKind === 'none' &&
        ['disabled', 'none', 'testing-match', 'testing-nomatch'].includes(r.stsKind),
    )) {
      const plan = connectPlan(row);
      const tls = { optional: 'opportunistic', require: 'required', disable: 'disabled' }[
        row.strategy.starttls
      ];
      assert.deepEqual(
        [plan.tls, plan.authentication.kind],
        [tls, row.strategy.allowInvalidCerts ? 'none' : 'pkix'],
        row.line,
      );
    }
  });

  test('RFC 8461 5: a testing policy is never enforced; a non-matching MX is kept as a report-only failure', () => {
    for (const row of ROWS.filter(
      (r) => r.stsKind.startsWith('testing-') && !r.daneKind.startsWith('fail-'),
    )) {
      const plan = connectPlan(row);
      assert.equal(plan.sts !== 'off', row.daneKind !== 'authenticate', row.line);
      const expectReport = row.stsKind === 'testing-nomatch' && row.daneKind !== 'authenticate';
      assert.equal(
        plan.sts === 'off' ? undefined : plan.sts.reportOnly?.reason,
        expectReport ? 'mx-not-in-policy' : undefined,
        row.line,
      );
    }
  });

  test('every plan explains itself: the first reason names the strategy and its settings', () => {
    for (const row of ROWS)
      assert.match(
        row.plan.reasons[0] ?? '',
        /^strategy 'x': starttls \w+, dane \w+, mta-sts \w+, allow-invalid-certs (true|false)$/,
        row.line,
      );
  });
});
