/**
 * `mxsec dns selftest [--config F] [--json]`: tells whether the configured resolver lets DANE work
 * (see `src/dns/selftest.ts`): a signed name must come back secure, a deliberately broken one as bogus,
 * and every nameserver must be trusted for AD. Asks exactly two questions through mxsec's own DNS client.
 * Exit 0 when DANE can work, 75 when it cannot (or could not be checked), 78 on configuration errors,
 * 64 on usage errors.
 */
import { createResolver } from '../dns/client.js';
import { BOGUS_PROBE_TYPE, runDnsSelftest, SECURE_PROBE_TYPE } from '../dns/selftest.js';
import type { BogusProbe, SecureProbe, SelftestFacts, SelftestVerdict } from '../dns/selftest.js';
import { systemNameservers } from '../dns/system.js';
import { CONFIG_OPTION, loadForCommand, parse, UsageError } from './common.js';
import type { Command } from './common.js';
import { EXIT } from './exit-codes.js';
import { line, paint } from './output.js';
import type { Out } from './output.js';

function describeSecure(probe: SecureProbe): string {
  switch (probe.kind) {
    case 'secure':
      return 'secure (AD set by a trusted resolver)';
    case 'ad-untrusted':
      return 'insecure (AD set, but by a nameserver that is not trusted)';
    case 'no-ad':
      return `insecure (${probe.rcode} without the AD bit)`;
    case 'failed':
      return `${probe.failure.kind} (${probe.failure.message})`;
  }
}

function describeBogus(probe: BogusProbe): string {
  switch (probe.kind) {
    case 'bogus':
      return 'bogus (SERVFAIL; answered with CD set: the resolver validates and rejects it)';
    case 'answered':
      return `answered (${probe.rcode}${probe.ad ? ', AD set' : ''}): bogus data was passed on`;
    case 'servfail':
      return 'servfail (SERVFAIL with and without CD)';
    case 'failed':
      return `${probe.failure.kind} (${probe.failure.message})`;
  }
}

function probeJson(probe: SecureProbe | BogusProbe): Record<string, unknown> {
  const failure =
    probe.kind === 'failed' || probe.kind === 'servfail'
      ? {
          kind: probe.failure.kind,
          message: probe.failure.message,
          server: probe.failure.server ?? null,
        }
      : null;
  return {
    result: probe.kind,
    ...(probe.kind === 'no-ad' || probe.kind === 'answered' ? { rcode: probe.rcode } : {}),
    ...(probe.kind === 'answered' ? { ad: probe.ad } : {}),
    error: failure,
  };
}

/** The `--json` document. */
export function selftestJson(facts: SelftestFacts, verdict: SelftestVerdict): unknown {
  return {
    nameservers: facts.nameservers.map((n) => ({
      server: n.server,
      loopback: n.loopback,
      ad_trusted: n.trusted,
    })),
    trust_ad: facts.trustAd,
    secure: { name: facts.secureName, type: SECURE_PROBE_TYPE, ...probeJson(facts.secure) },
    bogus: { name: facts.bogusName, type: BOGUS_PROBE_TYPE, ...probeJson(facts.bogus) },
    dane: verdict.dane,
    reasons: verdict.reasons,
    warnings: verdict.warnings,
  };
}

function printSelftest(facts: SelftestFacts, verdict: SelftestVerdict, out: Out): void {
  const o = out.stdout;
  for (const n of facts.nameservers) {
    const trust = n.trusted
      ? n.loopback
        ? 'loopback, AD trusted'
        : 'AD trusted by resolver.trust-ad'
      : 'not loopback, AD not trusted';
    line(o, `nameserver ${n.server}: ${paint(o, n.trusted ? 'green' : 'red', trust)}`);
  }
  line(
    o,
    `secure name ${facts.secureName} ${SECURE_PROBE_TYPE}: ${paint(o, facts.secure.kind === 'secure' ? 'green' : 'red', describeSecure(facts.secure))}`,
  );
  line(
    o,
    `bogus name ${facts.bogusName} ${BOGUS_PROBE_TYPE}: ${paint(o, facts.bogus.kind === 'bogus' ? 'green' : facts.bogus.kind === 'servfail' ? 'yellow' : 'red', describeBogus(facts.bogus))}`,
  );
  for (const warning of verdict.warnings) line(o, paint(o, 'yellow', `warning: ${warning}`));
  if (verdict.dane) {
    line(o, paint(o, 'green', 'DANE can work'));
    return;
  }
  line(o, paint(o, 'red', 'DANE cannot work because:'));
  for (const reason of verdict.reasons) line(o, paint(o, 'red', `  - ${reason}`));
}

export const dnsSelftestCommand: Command = async (argv, out) => {
  const { values, positionals } = parse(
    argv,
    { ...CONFIG_OPTION, json: { type: 'boolean' } },
    true,
  );
  if (positionals.length > 0)
    throw new UsageError(`dns selftest takes no arguments (found '${positionals.join(' ')}')`);
  const { config } = await loadForCommand(values.config, out);
  if (config === undefined) return EXIT.config;
  const nameservers = config.resolver.nameservers ?? (await systemNameservers());
  const { trustAd, timeoutMs, attempts } = config.resolver;
  const resolver = createResolver({ nameservers, timeoutMs, attempts, trustAd });
  const { facts, verdict } = await runDnsSelftest(resolver, {
    nameservers,
    trustAd,
    ...config.resolver.selftest,
  });
  if (values.json === true) line(out.stdout, JSON.stringify(selftestJson(facts, verdict), null, 2));
  else printSelftest(facts, verdict, out);
  return verdict.dane ? EXIT.ok : EXIT.tempfail;
};
