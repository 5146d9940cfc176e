/** RFC 8460 4.4: the policy an attempt is reported under, with DANE taking precedence as in delivery. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { DanePlan } from '../dane/requirement.js';
import type { MtaStsPlan } from '../mtasts/requirement.js';
import { reportedPolicy } from './policy.js';

const sts: MtaStsPlan = {
  kind: 'enforce',
  patterns: ['mx.example.org'],
  report: {
    policyType: 'sts',
    policyDomain: 'example.org',
    policyText: 'version: STSv1\nmode: enforce\nmx: mx.example.org\nmax_age: 86400\n',
    mxPatterns: ['mx.example.org'],
  },
};
const noDane: DanePlan = { kind: 'none', reason: 'no TLSA' };
const dane: DanePlan = {
  kind: 'authenticate',
  usable: [],
  referenceNames: ['mx.example.org'],
  policyStrings: ['3 1 1 AB'],
};

test('RFC 8460 4.4: DANE applies -> policy type tlsa for the MX host, records as policy strings, even with an STS policy', () => {
  assert.deepEqual(reportedPolicy('example.org', 'mx.example.org', dane, sts), {
    type: 'tlsa',
    domain: 'mx.example.org',
    strings: ['3 1 1 AB'],
  });
});

test('RFC 8460 4.4: an MTA-STS policy applies -> policy type sts with its lines and MX patterns', () => {
  assert.deepEqual(reportedPolicy('example.org', 'mx.example.org', noDane, sts), {
    type: 'sts',
    domain: 'example.org',
    strings: ['version: STSv1', 'mode: enforce', 'mx: mx.example.org', 'max_age: 86400'],
    mxPatterns: ['mx.example.org'],
  });
});

test('RFC 8460 4.4: nothing applies -> no-policy-found, with the reportable discovery failure', () => {
  const none: MtaStsPlan = {
    kind: 'none',
    reason: 'lookup-failed',
    message: 'HTTP 404',
    report: {
      policyType: 'no-policy-found',
      policyDomain: 'example.org',
      failure: { reason: 'fetch-failed', message: 'HTTP 404', policyFetch: 'status' },
    },
  };
  assert.deepEqual(reportedPolicy('example.org', 'mx.example.org', noDane, none), {
    type: 'no-policy-found',
    domain: 'example.org',
    failure: { result: 'sts-policy-fetch-error', message: 'HTTP 404' },
  });
  assert.deepEqual(reportedPolicy('example.org', 'mx.example.org', noDane, { kind: 'disabled' }), {
    type: 'no-policy-found',
    domain: 'example.org',
  });
});
