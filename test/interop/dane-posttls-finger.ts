/**
 * Postfix's own DANE client as a reference verdict: `posttls-finger -c -l dane DOMAIN`, which looks up
 * the MX and TLSA records through the C library's resolver, trusts the AD bit and stops after TLS.
 * The library resolver reads only /etc/resolv.conf, which must never be edited; so the command runs in
 * a private mount namespace (`unshare -m`, propagation private) where a resolv.conf naming the test's
 * validating resolver, with `options edns0 trust-ad`, is bind-mounted over it. The machine's file and
 * every other process are untouched.
 *
 * Contract: `postfixDaneVerdict` resolves with the classified verdict and posttls-finger's output; it
 * never rejects for what posttls-finger reports (that is the verdict), only when the tools cannot run.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { run } from './harness/run.js';

/** What Postfix's `dane` security level concludes about the first MX host it reaches. */
export type PostfixVerdict =
  /** A TLSA record matched (RFC 7672 section 3): Postfix would deliver. */
  | 'dane-verified'
  /** TLS up, but no TLSA record authenticates the server: Postfix would defer. */
  | 'dane-failed'
  /** The TLSA lookup failed (bogus or SERVFAIL): Postfix would defer without connecting. */
  | 'tlsa-lookup-error'
  /** Only unusable TLSA records: Postfix would deliver over unauthenticated TLS. */
  | 'unauthenticated-tls'
  | 'unclassified';

export interface PostfixDaneResult {
  readonly verdict: PostfixVerdict;
  readonly output: string;
}

function classify(output: string): PostfixVerdict {
  if (/Matched DANE (EE|TA) /.test(output) && /Verified TLS connection established/.test(output))
    return 'dane-verified';
  if (/TLSA lookup error/.test(output)) return 'tlsa-lookup-error';
  if (/all TLSA records unusable, fallback to unauthenticated TLS/.test(output))
    return 'unauthenticated-tls';
  if (
    /verification failed for .*: num=\d+:/.test(output) &&
    /Untrusted TLS connection established/.test(output)
  )
    return 'dane-failed';
  return 'unclassified';
}

/**
 * Runs posttls-finger at the `dane` level for `domain`, with `configDir` as MAIL_CONFIG (its main.cf
 * sets `smtp_dns_support_level = dnssec`) and `resolver` (an IPv4 address) as the only nameserver.
 */
export async function postfixDaneVerdict(
  configDir: string,
  resolver: string,
  domain: string,
  workDir: string,
): Promise<PostfixDaneResult> {
  const resolvConf = path.join(workDir, 'posttls-finger-resolv.conf');
  writeFileSync(resolvConf, `nameserver ${resolver}\noptions edns0 trust-ad\n`);
  const script = `mount --bind "$1" /etc/resolv.conf && exec posttls-finger -c -l dane -t 30 -T 30 "$2"`;
  const result = await run(
    'unshare',
    ['-m', '--propagation', 'private', 'sh', '-c', script, 'sh', resolvConf, domain],
    { env: { ...process.env, MAIL_CONFIG: configDir } },
  );
  const output = `${result.stdout}${result.stderr}`;
  if (/mount: |unshare: |posttls-finger: fatal:/.test(output))
    throw new Error(`posttls-finger could not run:\n${output}`);
  return { verdict: classify(output), output };
}
