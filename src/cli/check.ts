/**
 * `mxsec check DOMAIN [--config F] [--var name=value ...] [--json]`, in the spirit of Postfix's
 * posttls-finger: for each MX host, the addresses, the strategy that would be selected and why, what
 * DANE and MTA-STS require, whether STARTTLS is offered, the negotiated TLS and certificate chain with
 * its validation result, what an MTA-STS testing policy would have refused (reported, not enforced), and
 * the verdict: the security level a delivery would reach, or why it would be refused. It stops after
 * TLS (QUIT) and never sends MAIL FROM.
 * Exit 0 when every host would accept delivery, 75 when some would not, 69 when the domain takes no mail.
 */
import { classify } from '../policy/failure.js';
import type { DeliveryFailure } from '../policy/failure.js';
import { decideHost, routeFailure } from '../delivery/domain.js';
import type { HostDecision } from '../delivery/domain.js';
import { resolveRoute } from '../delivery/route.js';
import { createRuntime } from '../delivery/runtime.js';
import { runSession } from '../delivery/session.js';
import type { SessionResult } from '../delivery/session.js';
import type { MtaStsLookup } from '../mtasts/resolve.js';
import { describeTlsFacts } from '../tls/describe.js';
import { CONFIG_OPTION, contextFromVars, loadForCommand, parse, UsageError } from './common.js';
import type { Command } from './common.js';
import { EXIT } from './exit-codes.js';
import { line, paint } from './output.js';

interface HostReport {
  readonly decision: HostDecision;
  readonly sessions: { readonly ip: string; readonly result: SessionResult }[];
  readonly verdict: { readonly deliver: true; readonly security: string } | { readonly deliver: false; readonly failure: DeliveryFailure };
}

function verdictOf(decision: HostDecision, sessions: HostReport['sessions']): HostReport['verdict'] {
  if (decision.plan.kind === 'skip') return { deliver: false, failure: decision.plan.failure };
  const good = sessions.find((s) => s.result.failure === undefined);
  if (good !== undefined) return { deliver: true, security: good.result.security ?? 'none' };
  const failure = sessions.at(-1)?.result.failure ?? classify({ kind: 'no-address', host: decision.host.name, ...(decision.host.addressError === undefined ? {} : { failure: decision.host.addressError }) });
  return { deliver: false, failure };
}

function hostJson(r: HostReport): unknown {
  const d = r.decision;
  return {
    mx: d.host.name,
    preference: d.host.preference,
    addresses: d.host.addresses,
    dnssec: d.host.dnssec,
    strategy: d.selection.name,
    rule: d.selection.rule,
    dane: d.dane.kind,
    mta_sts: d.mtaSts.kind,
    reasons: d.plan.reasons,
    sessions: r.sessions.map((s) => ({
      ip: s.ip,
      starttls_offered: s.result.starttlsOffered,
      tls: s.result.tls === null ? null : { version: s.result.tls.version, cipher: s.result.tls.cipher, pkix: s.result.tls.pkix, chain: s.result.tls.chain.map((c) => ({ subject: c.subject, issuer: c.issuer, dns_names: c.dnsNames, not_before: c.notBefore, not_after: c.notAfter, spki_sha256: c.spkiSha256 })) },
      security: s.result.failure === undefined ? s.result.security : null,
      // What an MTA-STS testing policy would have refused (RFC 8461 section 5): delivered, but reported.
      report_only: s.result.reportOnly === undefined ? null : { reason: s.result.reportOnly.reason, tlsrpt: s.result.reportOnly.result ?? null, message: s.result.reportOnly.message },
      error: s.result.failure === undefined ? null : { class: s.result.failure.lastError, code: s.result.failure.status, message: s.result.failure.message },
    })),
    verdict: r.verdict.deliver ? { deliver: true, security: r.verdict.security } : { deliver: false, class: r.verdict.failure.lastError, severity: r.verdict.failure.severity, code: r.verdict.failure.status, message: r.verdict.failure.message },
  };
}

export const checkCommand: Command = async (argv, out) => {
  const { values, positionals } = parse(argv, { ...CONFIG_OPTION, var: { type: 'string', multiple: true }, json: { type: 'boolean' } }, true);
  if (positionals.length !== 1) throw new UsageError('check takes exactly one DOMAIN');
  const domain = (positionals[0] ?? '').toLowerCase().replace(/\.$/, '');
  const context = { ...contextFromVars(values.var), rcpt_domain: domain };
  const { config } = await loadForCommand(values.config, out);
  if (config === undefined) return EXIT.config;
  const made = await createRuntime(config);
  if (!made.ok) {
    line(out.stderr, `mxsec: ${made.message}`);
    return EXIT.config;
  }
  const runtime = made.runtime;
  try {
    const deps = runtime.deps(runtime.connectionFor(context));
    const route = await resolveRoute(deps.resolver, domain, { random: deps.random });
    const o = out.stdout;
    if (route.kind !== 'hosts') {
      const failure = routeFailure(route, domain);
      if (values.json === true) line(o, JSON.stringify({ domain, route: route.kind, verdict: { deliver: false, class: failure.lastError, severity: failure.severity, code: failure.status, message: failure.message } }, null, 2));
      else line(o, paint(o, 'red', `${domain}: ${failure.message} (${failure.severity} ${failure.status})`));
      return failure.severity === 'permanent' ? EXIT.unavailable : EXIT.tempfail;
    }
    let mtaSts: Promise<MtaStsLookup> | undefined;
    const stsOnce = (timeoutMs: number) => (mtaSts ??= deps.mtaSts(domain, timeoutMs));
    const reports: HostReport[] = [];
    for (const host of route.hosts) {
      const decision = await decideHost(deps, route, host, domain, context, stsOnce);
      const sessions: HostReport['sessions'] = [];
      if (decision.plan.kind === 'connect') {
        for (const ip of host.addresses) {
          const result = await runSession({ ip, port: deps.port, mxHost: host.name, plan: decision.plan, ehloName: deps.ehloName, timeouts: deps.timeouts, tlsTimeoutMs: decision.selection.strategy.timeoutTlsMs, trust: deps.trust, now: deps.now });
          sessions.push({ ip, result });
        }
      }
      reports.push({ decision, sessions, verdict: verdictOf(decision, sessions) });
    }
    if (values.json === true) {
      line(o, JSON.stringify({ domain, route: 'hosts', mx_dnssec: route.mxDnssec, implicit_mx: route.implicit, hosts: reports.map(hostJson) }, null, 2));
    } else {
      line(o, `${paint(o, 'bold', domain)}: ${route.implicit ? 'no MX records, the domain is its own mail host' : `${route.hosts.length} MX host(s)`}, MX DNSSEC ${route.mxDnssec}`);
      for (const r of reports) {
        const d = r.decision;
        line(o, `\n${paint(o, 'bold', d.host.name)} (preference ${d.host.preference}, ${d.host.addresses.join(', ') || 'no address'}, DNSSEC ${d.host.dnssec})`);
        line(o, `  strategy '${d.selection.name}' by rule #${d.selection.rule.index + 1}${d.selection.rule.condition === undefined ? ' (else)' : `: ${d.selection.rule.condition}`}`);
        for (const reason of d.plan.reasons) line(o, paint(o, 'dim', `  - ${reason}`));
        for (const s of r.sessions) {
          line(o, `  ${s.ip}: STARTTLS ${s.result.starttlsOffered === null ? 'unknown' : s.result.starttlsOffered ? 'offered' : 'not offered'}`);
          if (s.result.tls !== null) {
            line(o, `    ${describeTlsFacts(s.result.tls)}`);
            for (const c of s.result.tls.chain) line(o, paint(o, 'dim', `    cert: ${c.subject} (issuer ${c.issuer}; DNS ${c.dnsNames.join(', ') || '-'}; ${c.notBefore} to ${c.notAfter}; SPKI SHA-256 ${c.spkiSha256})`));
          }
          if (s.result.reportOnly !== undefined) line(o, paint(o, 'yellow', `    MTA-STS testing (reported only): ${s.result.reportOnly.message}`));
          if (s.result.failure !== undefined) line(o, paint(o, 'red', `    ${s.result.failure.message}`));
        }
        line(o, r.verdict.deliver
          ? paint(o, 'green', `  verdict: would deliver at security level ${r.verdict.security}`)
          : paint(o, 'red', `  verdict: would refuse (${r.verdict.failure.severity} ${r.verdict.failure.status} [${r.verdict.failure.lastError}]): ${r.verdict.failure.message}`));
      }
    }
    return reports.every((r) => r.verdict.deliver) ? EXIT.ok : EXIT.tempfail;
  } finally {
    runtime.close();
  }
};
