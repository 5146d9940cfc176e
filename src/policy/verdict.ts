/**
 * Judges what a server actually offered against the host plan: first whether to send STARTTLS (given
 * whether the EHLO reply offered it), then whether the completed handshake meets the plan's
 * authentication requirement. Pure: the handshake facts and `now` are inputs. The security level
 * reached is the strongest thing that was verified, never what was merely hoped for.
 */
import type { SecurityLevel } from '../core/outcome.js';
import { judgeDane } from '../dane/requirement.js';
import { verifyDane } from '../dane/verify.js';
import { stsHandshakeFailure } from '../mtasts/requirement.js';
import type { MtaStsFailure } from '../mtasts/requirement.js';
import type { TlsFacts } from '../tls/types.js';
import { classify } from './failure.js';
import type { DeliveryFailure } from './failure.js';
import type { HostPlan } from './host-plan.js';

export type ConnectPlan = Extract<HostPlan, { kind: 'connect' }>;

export type StarttlsDecision =
  | { readonly kind: 'starttls' }
  | { readonly kind: 'plaintext'; readonly note: string; readonly stsReportOnly?: MtaStsFailure }
  | { readonly kind: 'fail'; readonly failure: DeliveryFailure };

/** After EHLO: send STARTTLS, continue in plaintext, or give up on this host. */
export function decideStarttls(plan: ConnectPlan, offered: boolean, mxHost: string): StarttlsDecision {
  if (plan.tls === 'disabled') return { kind: 'plaintext', note: 'STARTTLS disabled by the strategy' };
  if (offered) return { kind: 'starttls' };
  switch (plan.authentication) {
    case 'dane': {
      const judged = judgeDane({ kind: 'authenticate', usable: plan.dane?.usable ?? [], referenceNames: plan.dane?.referenceNames ?? [], policyStrings: [] }, 'no-starttls');
      if (judged.kind === 'failure') return { kind: 'fail', failure: classify({ kind: 'dane', severity: judged.severity, lastError: judged.lastError, tlsRpt: judged.tlsRpt, message: judged.message }) };
      break;
    }
    case 'mta-sts':
      return { kind: 'fail', failure: classify({ kind: 'mta-sts', failure: stsNoStarttls(mxHost) }) };
    case 'pkix':
    case 'none':
      break;
  }
  if (plan.tls === 'required') return { kind: 'fail', failure: classify({ kind: 'starttls-not-offered', host: mxHost }) };
  const stsReportOnly = plan.stsTesting ? stsNoStarttls(mxHost) : undefined;
  return { kind: 'plaintext', note: 'STARTTLS not offered; delivering in plaintext (opportunistic TLS)', ...(stsReportOnly === undefined ? {} : { stsReportOnly }) };
}

/** The MTA-STS failure of a host that does not offer STARTTLS, naming the host. */
function stsNoStarttls(mxHost: string): MtaStsFailure {
  const failure = stsHandshakeFailure('no-starttls');
  if (failure === undefined) throw new Error('a missing STARTTLS always fails an MTA-STS policy');
  return { ...failure, message: `${mxHost}: ${failure.message}` };
}

export type TlsVerdict =
  | { readonly kind: 'secure'; readonly level: SecurityLevel; readonly note: string; readonly stsReportOnly?: MtaStsFailure }
  | { readonly kind: 'fail'; readonly failure: DeliveryFailure };

/** After the handshake: does the peer meet the plan's authentication requirement? */
export function judgeTls(plan: ConnectPlan, facts: TlsFacts, now: Date): TlsVerdict {
  const pkix = facts.pkix;
  switch (plan.authentication) {
    case 'dane': {
      const verdict = verifyDane({ records: plan.dane?.usable ?? [], chain: facts.chain.map((c) => c.der), referenceNames: plan.dane?.referenceNames ?? [], now });
      if (verdict.ok) return { kind: 'secure', level: 'dane', note: `DANE ${verdict.usage} matched` };
      const judged = judgeDane({ kind: 'authenticate', usable: plan.dane?.usable ?? [], referenceNames: plan.dane?.referenceNames ?? [], policyStrings: [] }, verdict);
      if (judged.kind === 'failure') return { kind: 'fail', failure: classify({ kind: 'dane', severity: judged.severity, lastError: judged.lastError, tlsRpt: judged.tlsRpt, message: judged.message }) };
      return { kind: 'fail', failure: classify({ kind: 'local', message: 'DANE verification returned no verdict' }) };
    }
    case 'mta-sts':
    {
      const failure = stsHandshakeFailure({ pkix });
      if (failure === undefined) return { kind: 'secure', level: 'mta-sts', note: 'certificate valid for the MX host under the MTA-STS enforce policy' };
      return { kind: 'fail', failure: classify({ kind: 'mta-sts', failure }) };
    }
    case 'pkix':
      if (pkix.valid) return { kind: 'secure', level: 'pkix', note: 'certificate valid', ...testingReport(plan, facts) };
      return { kind: 'fail', failure: classify({ kind: 'certificate', pkix }) };
    case 'none':
      if (pkix.valid) return { kind: 'secure', level: 'pkix', note: 'certificate valid', ...testingReport(plan, facts) };
      return { kind: 'secure', level: 'unverified', note: `certificate not verified (${pkix.reason}: ${pkix.message}); accepted because allow-invalid-certs = true`, ...testingReport(plan, facts) };
  }
}

/** Under an MTA-STS testing policy, an invalid certificate is reported but not enforced. */
function testingReport(plan: ConnectPlan, facts: TlsFacts): { stsReportOnly?: MtaStsFailure } {
  if (plan.stsReportOnly !== undefined) return { stsReportOnly: plan.stsReportOnly };
  const failure = plan.stsTesting ? stsHandshakeFailure({ pkix: facts.pkix }) : undefined;
  return failure === undefined ? {} : { stsReportOnly: failure };
}
