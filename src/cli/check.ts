/**
 * `mxsec check DOMAIN [--config F] [--var name=value ...] [--json]`, in the spirit of Postfix's
 * posttls-finger: for each MX host, the addresses, the strategy that would be selected and why, what
 * DANE and MTA-STS require, whether STARTTLS is offered, the negotiated TLS and certificate chain with
 * its validation result, what an MTA-STS testing policy would have refused (reported, not enforced), and
 * the verdict: the security level a delivery would reach, or why it would be refused. It stops after
 * TLS (QUIT) and never sends MAIL FROM.
 * DANE detail per host (RFC 7672): the DNSSEC status of the MX RRset and of the host's addresses, the TLSA
 * records found with their RFC 7218 names and whether each is usable, and after the handshake which
 * record matched or why none did (recomputed with `verifyDane` from the TLS facts). MTA-STS detail for
 * the domain (RFC 8461): the TXT record, the policy, its cache state and which MX hosts it authorizes.
 * Every DNS question is asked once (`rememberingResolver`), so the detail shown is what was decided on.
 * Exit 0 when every host would accept delivery, 75 when some would not, 69 when the domain takes no mail.
 */
import { classify, noAddressCause, tlsRptOf } from '../policy/failure.js';
import type { DeliveryFailure } from '../policy/failure.js';
import { tlsaQueryName } from '../dane/lookup.js';
import type { NotApplicableReason, TlsaLookup } from '../dane/lookup.js';
import { describeRecord, policyString, unusableReason, usageName } from '../dane/records.js';
import type { UnusableReason } from '../dane/records.js';
import type { DaneVerdict } from '../dane/verify.js';
import { createDeliverer } from '../delivery/deliverer.js';
import type { DeliveryDeps } from '../delivery/deps.js';
import type { ConnectionStrategy } from '../config/types.js';
import type { HostDecision, HostRoute } from '../delivery/host-facts.js';
import type { SessionResult } from '../delivery/session.js';
import type { DnsResult, TlsaRecord } from '../dns/types.js';
import { findMatchingPattern } from '../mtasts/match.js';
import { resolveMtaSts } from '../mtasts/resolve.js';
import type { MtaStsLookup } from '../mtasts/resolve.js';
import { describeTlsFacts } from '../tls/describe.js';
import {
  CONFIG_OPTION,
  UsageError,
  contextFromVars,
  loadForCommand,
  parse,
  runtimeForCommand,
} from './common.js';
import type { Command } from './common.js';
import { EXIT } from './exit-codes.js';
import { tlsJson } from './json.js';
import {
  describePolicy,
  describeTxt,
  policyJson,
  problemJson,
  rememberingResolver,
  txtJson,
} from './mta-sts.js';
import { line, paint } from './output.js';
import type { Out } from './output.js';

/** What the probe saw of one host: the decision, why it was not probed (`failure`), or its sessions. */
interface HostProbe {
  readonly decision: HostDecision;
  readonly failure?: DeliveryFailure;
  readonly sessions: { readonly ip: string; readonly result: SessionResult }[];
}

interface HostReport extends HostProbe {
  readonly verdict:
    | { readonly deliver: true; readonly security: string }
    | { readonly deliver: false; readonly failure: DeliveryFailure };
}

function verdictOf(
  decision: HostDecision,
  failure: DeliveryFailure | undefined,
  sessions: HostReport['sessions'],
): HostReport['verdict'] {
  if (failure !== undefined) return { deliver: false, failure };
  for (const s of sessions)
    if (s.result.kind !== 'failed')
      return {
        deliver: true,
        security: s.result.kind === 'probed' ? s.result.verdict.level : 'none',
      };
  const last = sessions.at(-1)?.result;
  const host = decision.facts.host;
  return {
    deliver: false,
    failure:
      last?.kind === 'failed'
        ? last.failure
        : classify(noAddressCause(host.name, host.addressError)),
  };
}

const SELECTOR = ['Cert', 'SPKI'] as const;
const MATCHING = ['Full', 'SHA2-256', 'SHA2-512'] as const;

/** Why RFC 7672 section 3.1.3 makes a record unusable, in words. */
function unusableText(reason: UnusableReason): string {
  switch (reason) {
    case 'pkix-usage':
      return 'PKIX-TA/PKIX-EE are not used for SMTP (RFC 7672 3.1.3)';
    case 'unknown-usage':
      return 'unknown certificate usage';
    case 'unknown-selector':
      return 'unknown selector';
    case 'unknown-matching-type':
      return 'unknown matching type';
    case 'bad-digest-length':
      return 'digest length does not fit the matching type';
    case 'empty-data':
      return 'no certificate association data';
  }
}

function tlsaRecordJson(record: TlsaRecord): unknown {
  const reason = unusableReason(record);
  return {
    record: policyString(record),
    usage: record.usage,
    usage_name: usageName(record.usage) ?? null,
    selector: record.selector,
    selector_name: SELECTOR[record.selector] ?? null,
    matching_type: record.matchingType,
    matching_name: MATCHING[record.matchingType] ?? null,
    usable: reason === undefined,
    unusable_reason: reason ?? null,
  };
}

/** The TLSA owner name a lookup concerns. */
function tlsaName(tlsa: TlsaLookup, host: string): string {
  switch (tlsa.kind) {
    case 'secure':
      return tlsaQueryName(tlsa.baseName);
    case 'error':
      return tlsa.failure.name;
    case 'not-applicable':
      return tlsaQueryName(host);
    case 'secure-none':
    case 'insecure':
    case 'bogus':
      return tlsa.name;
  }
}

/** Why RFC 7672 2.2.1 skips the TLSA lookup, in words. */
const NOT_LOOKED_UP = {
  'mx-insecure': 'the MX RRset is not DNSSEC-signed',
  'mx-bogus': 'the MX RRset is DNSSEC-bogus',
  'address-insecure': 'the address records are not DNSSEC-signed',
  'address-bogus': 'the address records are DNSSEC-bogus',
} as const satisfies Record<NotApplicableReason, string>;

function describeTlsa(tlsa: TlsaLookup): string {
  switch (tlsa.kind) {
    case 'secure':
      return `${tlsa.records.length} record(s), DNSSEC secure, ${tlsa.usable.length} usable`;
    case 'secure-none':
      return 'no TLSA records (validated denial)';
    case 'insecure':
      return 'answer not DNSSEC-signed: DANE does not apply';
    case 'bogus':
      return `DNSSEC bogus: ${tlsa.message}`;
    case 'error':
      return `lookup failed: ${tlsa.failure.kind}: ${tlsa.failure.message}`;
    case 'not-applicable':
      return `not looked up: ${NOT_LOOKED_UP[tlsa.reason]}`;
  }
}

function daneJson(verdict: DaneVerdict | undefined, decision: HostDecision): unknown {
  if (verdict === undefined) return null;
  const enforced = decision.dane.kind === 'authenticate';
  return verdict.ok
    ? { matched: true, usage: verdict.usage, record: policyString(verdict.matched), enforced }
    : { matched: false, reason: verdict.reason, message: verdict.message, enforced };
}

function describeDane(verdict: DaneVerdict, decision: HostDecision): string {
  const note =
    decision.dane.kind === 'authenticate'
      ? ''
      : ` (not enforced: ${decision.dane.kind === 'none' ? decision.dane.reason : decision.dane.kind})`;
  return verdict.ok
    ? `DANE: ${verdict.usage} matched ${describeRecord(verdict.matched)}${note}`
    : `DANE: no TLSA record matched (${verdict.reason}): ${verdict.message}${note}`;
}

function mxDnssecOf(route: HostRoute): string {
  return route.implicit ? 'implicit' : route.mxDnssec;
}

/** The domain's MTA-STS facts (RFC 8461): TXT record, policy, cache state, the MX hosts it authorizes. */
function stsJson(
  lookup: MtaStsLookup,
  txt: DnsResult<'TXT'> | undefined,
  hosts: readonly string[],
  now: number,
): unknown {
  const policy = lookup.kind === 'policy' ? lookup : undefined;
  return {
    txt: txtJson(txt),
    result: lookup.kind,
    cache: policy === undefined ? null : policy.source === 'fetched' ? 'fetched' : 'cache',
    refresh_error: policy?.refreshError === undefined ? null : problemJson(policy.refreshError),
    policy: policy === undefined ? null : policyJson(policy, now),
    error:
      lookup.kind === 'error'
        ? problemJson(lookup.problem)
        : lookup.kind === 'none'
          ? { stage: 'txt', kind: lookup.reason, message: lookup.message, tlsrpt: null }
          : null,
    authorized:
      policy === undefined
        ? []
        : hosts.map((mx) => ({ mx, pattern: findMatchingPattern(mx, policy.policy.mx) ?? null })),
  };
}

function printSts(
  out: Out,
  domain: string,
  lookup: MtaStsLookup,
  txt: DnsResult<'TXT'> | undefined,
  hosts: readonly string[],
): void {
  const o = out.stdout;
  line(o, `MTA-STS: ${describeTxt(domain, txt)}`);
  if (lookup.kind === 'none') line(o, `  no policy: ${lookup.message}`);
  if (lookup.kind === 'error')
    line(o, paint(o, 'yellow', `  no policy could be obtained: ${lookup.problem.message}`));
  if (lookup.kind !== 'policy') return;
  const state =
    lookup.source === 'fetched'
      ? 'fetched now'
      : lookup.refreshError === undefined
        ? 'from cache'
        : `from cache; refresh failed: ${lookup.refreshError.message}`;
  line(o, `  policy ${describePolicy(lookup)} (${state})`);
  for (const mx of hosts) {
    const pattern = findMatchingPattern(mx, lookup.policy.mx);
    line(
      o,
      pattern === undefined
        ? paint(o, 'yellow', `  ${mx}: not authorized by the policy`)
        : `  ${mx}: authorized by '${pattern}'`,
    );
  }
}

/** The TLSA lookup of a probe: always asked (see `gatherHostFacts`). */
function tlsaOf(decision: HostDecision): TlsaLookup {
  const tlsa = decision.facts.tlsa;
  if (tlsa === undefined) throw new Error('a probe always looks TLSA up');
  return tlsa;
}

function sessionSecurity(result: SessionResult): string | null {
  return result.kind === 'probed' ? result.verdict.level : null;
}

function hostJson(r: HostReport, route: HostRoute): unknown {
  const d = r.decision;
  const { host, selection } = d.facts;
  const tlsa = tlsaOf(d);
  return {
    mx: host.name,
    preference: host.preference,
    addresses: host.addresses,
    dnssec: host.dnssec,
    dnssec_mx: mxDnssecOf(route),
    tlsa: {
      name: tlsaName(tlsa, host.name),
      result: tlsa.kind,
      message: describeTlsa(tlsa),
      records: tlsa.kind === 'secure' ? tlsa.records.map(tlsaRecordJson) : [],
    },
    strategy: selection.name,
    rule: selection.rule,
    dane: d.dane.kind,
    mta_sts: d.mtaSts.kind,
    reasons: d.plan.reasons,
    sessions: r.sessions.map((s) => ({
      ip: s.ip,
      starttls_offered: s.result.starttlsOffered,
      tls: tlsJson(s.result.tls),
      security: sessionSecurity(s.result),
      dane: daneJson(s.result.dane, d),
      // What an MTA-STS testing policy would have refused (RFC 8461 section 5): delivered, but reported.
      report_only:
        s.result.reportOnly === undefined
          ? null
          : {
              reason: s.result.reportOnly.reason,
              tlsrpt: tlsRptOf(s.result.reportOnly) ?? null,
              message: s.result.reportOnly.message,
            },
      error:
        s.result.kind !== 'failed'
          ? null
          : {
              class: s.result.failure.lastError,
              code: s.result.failure.status,
              message: s.result.failure.message,
            },
    })),
    verdict: r.verdict.deliver
      ? { deliver: true, security: r.verdict.security }
      : {
          deliver: false,
          class: r.verdict.failure.lastError,
          severity: r.verdict.failure.severity,
          code: r.verdict.failure.status,
          message: r.verdict.failure.message,
        },
  };
}

export const checkCommand: Command = async (argv, out) => {
  const { values, positionals } = parse(
    argv,
    { ...CONFIG_OPTION, var: { type: 'string', multiple: true }, json: { type: 'boolean' } },
    true,
  );
  if (positionals.length !== 1) throw new UsageError('check takes exactly one DOMAIN');
  const domain = (positionals[0] ?? '').toLowerCase().replace(/\.$/, '');
  const context = { ...contextFromVars(values.var), rcpt_domain: domain };
  const { config } = await loadForCommand(values.config, out);
  if (config === undefined) return EXIT.config;
  const runtime = await runtimeForCommand(config, out);
  if (runtime === undefined) return EXIT.config;
  try {
    const resolver = rememberingResolver(runtime.resolver);
    const lookups = new Map<string, Promise<MtaStsLookup>>();
    // Asked once per domain, so the policy shown below is the one the hosts were decided on.
    const mtaSts = (name: string, timeoutMs: number): Promise<MtaStsLookup> => {
      const known =
        lookups.get(name) ??
        resolveMtaSts({ ...runtime.mtaStsDeps, resolver }, name, { timeoutMs });
      lookups.set(name, known);
      return known;
    };
    const deps = (connection: ConnectionStrategy): DeliveryDeps => ({
      ...runtime.deps(connection),
      resolver,
      mtaSts,
    });
    const deliverer = createDeliverer({ config: () => config, deps, reuse: false });
    const o = out.stdout;
    const probes: HostProbe[] = [];
    let route: HostRoute | undefined;
    for await (const event of deliverer.probe(domain, context)) {
      if (event.kind === 'route') {
        route = event.route;
        continue;
      }
      if (event.kind === 'no-route') {
        const { failure } = event;
        if (values.json === true)
          line(
            o,
            JSON.stringify(
              {
                domain,
                route: event.route.kind,
                verdict: {
                  deliver: false,
                  class: failure.lastError,
                  severity: failure.severity,
                  code: failure.status,
                  message: failure.message,
                },
              },
              null,
              2,
            ),
          );
        else
          line(
            o,
            paint(
              o,
              'red',
              `${domain}: ${failure.message} (${failure.severity} ${failure.status})`,
            ),
          );
        return failure.severity === 'permanent' ? EXIT.unavailable : EXIT.tempfail;
      }
      if (event.kind === 'host')
        probes.push({
          decision: event.decision,
          sessions: [],
          ...(event.failure === undefined ? {} : { failure: event.failure }),
        });
      else probes.at(-1)?.sessions.push({ ip: event.ip, result: event.session });
    }
    if (route === undefined) return EXIT.software;
    const judged: HostReport[] = probes.map((r) => ({
      ...r,
      verdict: verdictOf(r.decision, r.failure, r.sessions),
    }));
    // The domain's policy is shown even when every strategy disables MTA-STS (then it is looked up only here).
    const sts = await mtaSts(
      domain,
      config.tls.strategies.get('default')?.timeoutMtaStsMs ?? 60_000,
    );
    const txt = await resolver.query(`_mta-sts.${domain}`, 'TXT');
    const mxNames = route.hosts.map((h) => h.name);
    if (values.json === true) {
      line(
        o,
        JSON.stringify(
          {
            domain,
            route: 'hosts',
            mx_dnssec: route.mxDnssec,
            implicit_mx: route.implicit,
            mta_sts: stsJson(sts, txt, mxNames, Date.now()),
            hosts: judged.map((r) => hostJson(r, route)),
          },
          null,
          2,
        ),
      );
    } else {
      line(
        o,
        `${paint(o, 'bold', domain)}: ${route.implicit ? 'no MX records, the domain is its own mail host' : `${route.hosts.length} MX host(s)`}, MX DNSSEC ${route.mxDnssec}`,
      );
      printSts(out, domain, sts, txt, mxNames);
      for (const r of judged) {
        const d = r.decision;
        const { host, selection } = d.facts;
        const tlsa = tlsaOf(d);
        line(
          o,
          `\n${paint(o, 'bold', host.name)} (preference ${host.preference}, ${host.addresses.join(', ') || 'no address'}, DNSSEC ${host.dnssec})`,
        );
        line(o, `  DNSSEC: MX RRset ${mxDnssecOf(route)}, addresses ${host.dnssec}`);
        line(o, `  TLSA ${tlsaName(tlsa, host.name)}: ${describeTlsa(tlsa)}`);
        if (tlsa.kind === 'secure') {
          for (const record of tlsa.records) {
            const reason = unusableReason(record);
            const text = policyString(record);
            line(
              o,
              `    ${text.length > 80 ? `${text.slice(0, 77)}...` : text} (${describeRecord(record).replace(/^\S+ \S+ \S+ \(|\)$/g, '')}): ${reason === undefined ? 'usable' : `unusable, ${unusableText(reason)}`}`,
            );
          }
        }
        line(
          o,
          `  strategy '${selection.name}' by rule #${selection.rule.index + 1}${selection.rule.condition === undefined ? ' (else)' : `: ${selection.rule.condition}`}`,
        );
        for (const reason of d.plan.reasons) line(o, paint(o, 'dim', `  - ${reason}`));
        for (const s of r.sessions) {
          line(
            o,
            `  ${s.ip}: STARTTLS ${s.result.starttlsOffered === null ? 'unknown' : s.result.starttlsOffered ? 'offered' : 'not offered'}`,
          );
          if (s.result.tls !== null) {
            line(o, `    ${describeTlsFacts(s.result.tls)}`);
            for (const c of s.result.tls.chain)
              line(
                o,
                paint(
                  o,
                  'dim',
                  `    cert: ${c.subject} (issuer ${c.issuer}; DNS ${c.dnsNames.join(', ') || '-'}; ${c.notBefore} to ${c.notAfter}; SPKI SHA-256 ${c.spkiSha256})`,
                ),
              );
          }
          if (s.result.dane !== undefined)
            line(
              o,
              paint(o, s.result.dane.ok ? 'green' : 'red', `    ${describeDane(s.result.dane, d)}`),
            );
          if (s.result.reportOnly !== undefined)
            line(
              o,
              paint(
                o,
                'yellow',
                `    MTA-STS testing (reported only): ${s.result.reportOnly.message}`,
              ),
            );
          if (s.result.kind === 'failed')
            line(o, paint(o, 'red', `    ${s.result.failure.message}`));
        }
        line(
          o,
          r.verdict.deliver
            ? paint(o, 'green', `  verdict: would deliver at security level ${r.verdict.security}`)
            : paint(
                o,
                'red',
                `  verdict: would refuse (${r.verdict.failure.severity} ${r.verdict.failure.status} [${r.verdict.failure.lastError}]): ${r.verdict.failure.message}`,
              ),
        );
      }
    }
    return judged.every((r) => r.verdict.deliver) ? EXIT.ok : EXIT.tempfail;
  } finally {
    runtime.close();
  }
};
