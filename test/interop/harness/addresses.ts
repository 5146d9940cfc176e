/**
 * The loopback address plan for interop tests. Every 127.x.y.z address can be bound without touching
 * `lo`, so each real server gets its own address and its real port (25 for MX hosts, 53 for DNS, 443
 * for MTA-STS policy hosts), as on the internet. Interop owns 127.0.0.20 - 127.0.0.60.
 *
 * Two blocks, so that test files never fight over an address:port:
 * - 127.0.0.20 - 127.0.0.29: the harness smoke tests, one fixed address per server. `node --test` runs
 *   files in parallel, so each smoke test file has addresses no other file uses.
 * - 127.0.0.30 - 127.0.0.60: the mxsec interop tests. They share one DNS pair and pick MX and policy
 *   hosts from the ranges below; they must therefore run one file at a time (`npm test` passes
 *   `--test-concurrency=1`) or use disjoint hosts from the ranges.
 * Starting a server on an address that is taken fails with the server's own "address in use" error.
 *
 * The end-to-end relay benchmark (bench/postfix-relay.bench.ts) has its own block, 127.0.0.70 - 127.0.0.72,
 * outside interop's and outside every integration test's addresses, so it never collides with a test.
 */

/** Addresses used only by the harness smoke tests (test/interop/*-harness.test.ts). */
export const SMOKE = {
  /** dnssec-harness.test.ts: nsd, authoritative for `test.` and its children. */
  dnsAuthoritative: '127.0.0.20',
  /** dnssec-harness.test.ts: unbound, the validating resolver. */
  dnsResolver: '127.0.0.21',
  /** postfix-harness.test.ts: listener with STARTTLS. */
  mxTls: '127.0.0.22',
  /** postfix-harness.test.ts: listener without STARTTLS. */
  mxPlain: '127.0.0.23',
  /** postfix-harness.test.ts: listener that allows only TLS 1.0/1.1. */
  mxLegacyTls: '127.0.0.24',
  /** nginx-harness.test.ts: `mta-sts.<domain>` serving a policy. */
  policyHost: '127.0.0.25',
  /** nginx-harness.test.ts: a policy host that answers with a redirect. */
  policyRedirect: '127.0.0.26',
} as const;

/** bench/postfix-relay.bench.ts: the STARTTLS sink both relays deliver to, mxsec's listener, Postfix's smtpd. */
export const BENCH = {
  sink: '127.0.0.70',
  mxsecListener: '127.0.0.71',
  postfixListener: '127.0.0.72',
} as const;

/** mxsec interop tests: the authoritative DNS server (nsd). */
export const DNS_AUTHORITATIVE = '127.0.0.30';
/** mxsec interop tests: the validating resolver (unbound) that mxsec is pointed at. */
export const DNS_RESOLVER = '127.0.0.31';

/** mxsec interop tests: MX hosts (Postfix listeners on port 25), 127.0.0.32 - 127.0.0.47. */
export const MX_HOSTS: readonly string[] = range(32, 47);

/** mxsec interop tests: MTA-STS policy hosts (nginx on port 443), 127.0.0.48 - 127.0.0.55. */
export const POLICY_HOSTS: readonly string[] = range(48, 55);

/** mxsec interop tests: addresses for mxsec itself (source address, submission listener), 127.0.0.56 - 127.0.0.60. */
export const MXSEC_HOSTS: readonly string[] = range(56, 60);

function range(first: number, last: number): string[] {
  const out: string[] = [];
  for (let i = first; i <= last; i += 1) out.push(`127.0.0.${i}`);
  return out;
}
