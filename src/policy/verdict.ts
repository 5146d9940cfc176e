/**
 * Judges what a server actually offered against the host plan: first whether to send STARTTLS (given
 * whether the EHLO reply offered it), then whether the completed handshake meets the plan's
 * authentication requirement. Pure: the handshake facts and `now` are inputs. The security level
 * reached is the strongest thing that was verified, never what was merely hoped for.
 *
 * The judges of the mechanisms decide: `judgeDane` for a DANE host, `judgeMtaSts` under an MTA-STS
 * policy; this module only chooses which applies. What it returns to go on with is a `PeerVerdict`,
 * a proof value in rustls's manner: only `decideStarttls` (the explicit plaintext decision) and
 * `judgeTls` can create one, and the function that sends MAIL FROM demands it, so a path that skips the
 * judgement does not compile.
 */
import type { SecurityLevel } from '../core/outcome.js';
import { judgeDane } from '../dane/requirement.js';
import { verifyDane } from '../dane/verify.js';
import type { DaneVerdict } from '../dane/verify.js';
import { judgeMtaSts } from '../mtasts/requirement.js';
import type { MtaStsFailure, MtaStsHandshake } from '../mtasts/requirement.js';
import type { TlsFacts } from '../tls/types.js';
import { classify, pkixCause } from './failure.js';
import type { DeliveryFailure } from './failure.js';
import type { ConnectPlan, DaneAuthentication } from './host-plan.js';

declare const judged: unique symbol;

/** The judged peer: the level it reached and why. Minted here only (see the module header). */
export interface PeerVerdict {
  readonly [judged]: true;
  readonly level: SecurityLevel;
  readonly note: string;
  /** What an MTA-STS testing policy would have refused (reported, not enforced). */
  readonly reportOnly?: MtaStsFailure;
}

function mint(level: SecurityLevel, note: string, reportOnly?: MtaStsFailure): PeerVerdict {
  return { level, note, ...(reportOnly === undefined ? {} : { reportOnly }) } as PeerVerdict;
}

export type StarttlsDecision =
  | { readonly kind: 'starttls' }
  | { readonly kind: 'plaintext'; readonly verdict: PeerVerdict }
  | { readonly kind: 'fail'; readonly failure: DeliveryFailure };

/** After EHLO: send STARTTLS, continue in plaintext, or give up on this host. */
export function decideStarttls(
  plan: ConnectPlan,
  offered: boolean,
  mxHost: string,
): StarttlsDecision {
  if (plan.tls === 'disabled')
    return { kind: 'plaintext', verdict: mint('none', 'STARTTLS disabled by the strategy') };
  if (offered) return { kind: 'starttls' };
  const auth = plan.authentication;
  if (auth.kind === 'dane') {
    const judgement = judgeDane(auth.plan, 'no-starttls');
    if (judgement.kind === 'failure') return { kind: 'fail', failure: classify(judgement.failure) };
  }
  if (auth.kind === 'mta-sts') {
    const judgement = judgeMtaSts('enforce', 'no-starttls');
    if (judgement.kind === 'failed')
      return { kind: 'fail', failure: classify(naming(mxHost, judgement.failure)) };
  }
  if (plan.tls === 'required')
    return {
      kind: 'fail',
      failure: classify({
        reason: 'starttls-not-offered',
        message: `TLS is required but ${mxHost} does not offer STARTTLS`,
      }),
    };
  // A testing policy always reports a missing STARTTLS, ahead of an MX name it would have refused.
  const testing = plan.sts === 'off' ? undefined : judgeMtaSts('testing', 'no-starttls');
  const reportOnly = testing?.kind === 'report-only' ? naming(mxHost, testing.failure) : undefined;
  return {
    kind: 'plaintext',
    verdict: mint(
      'none',
      'STARTTLS not offered; delivering in plaintext (opportunistic TLS)',
      reportOnly,
    ),
  };
}

/** An MTA-STS failure at a host that did not offer STARTTLS, naming the host. */
function naming(mxHost: string, failure: MtaStsFailure): MtaStsFailure {
  return { ...failure, message: `${mxHost}: ${failure.message}` };
}

export type TlsVerdict =
  | { readonly kind: 'secure'; readonly verdict: PeerVerdict; readonly dane?: DaneVerdict }
  | { readonly kind: 'fail'; readonly failure: DeliveryFailure; readonly dane?: DaneVerdict };

/** RFC 7672 3.1: which TLSA record the server's chain matched, or why none did. */
export function observeDane(plan: DaneAuthentication, facts: TlsFacts, now: Date): DaneVerdict {
  return verifyDane({
    records: plan.usable,
    chain: facts.chain.map((c) => c.der),
    referenceNames: plan.referenceNames,
    now,
  });
}

/** After the handshake: does the peer meet the plan's authentication requirement? */
export function judgeTls(plan: ConnectPlan, facts: TlsFacts, now: Date): TlsVerdict {
  const { pkix } = facts;
  const auth = plan.authentication;
  switch (auth.kind) {
    case 'dane': {
      const dane = observeDane(auth.plan, facts, now);
      const judgement = judgeDane(auth.plan, dane);
      switch (judgement.kind) {
        case 'authenticated':
          return { kind: 'secure', verdict: mint('dane', `DANE ${judgement.usage} matched`), dane };
        case 'failure':
          return { kind: 'fail', failure: classify(judgement.failure), dane };
        case 'unauthenticated':
        case 'not-applicable':
          // judgeDane gives these only for plans that are not `authenticate`.
          throw new Error(`judgeDane answered ${judgement.kind} for an authenticate plan`);
      }
      break;
    }
    case 'mta-sts': {
      const judgement = judgeMtaSts('enforce', { pkix });
      if (judgement.kind === 'failed')
        return { kind: 'fail', failure: classify(judgement.failure) };
      return {
        kind: 'secure',
        verdict: mint(
          'mta-sts',
          'certificate valid for the MX host under the MTA-STS enforce policy',
        ),
      };
    }
    case 'pkix':
      if (pkix.valid)
        return {
          kind: 'secure',
          verdict: mint('pkix', 'certificate valid', stsTesting(plan, { pkix })),
        };
      return { kind: 'fail', failure: classify(pkixCause(pkix)) };
    case 'none':
      if (pkix.valid)
        return {
          kind: 'secure',
          verdict: mint('pkix', 'certificate valid', stsTesting(plan, { pkix })),
        };
      return {
        kind: 'secure',
        verdict: mint(
          'unverified',
          `certificate not verified (${pkix.reason}: ${pkix.message}); accepted because allow-invalid-certs = true`,
          stsTesting(plan, { pkix }),
        ),
      };
  }
}

/** Under an MTA-STS testing policy, what it would have refused: the MX name first, then the certificate. */
function stsTesting(plan: ConnectPlan, handshake: MtaStsHandshake): MtaStsFailure | undefined {
  if (plan.sts === 'off') return undefined;
  if (plan.sts.reportOnly !== undefined) return plan.sts.reportOnly;
  const judgement = judgeMtaSts('testing', handshake);
  return judgement.kind === 'report-only' ? judgement.failure : undefined;
}
