/**
 * One SMTP session to one address of one MX host under a decided host plan: connect, greeting, EHLO,
 * the STARTTLS decision, the handshake and its judgement, EHLO again, and (unless `probeOnly`) the mail
 * transaction. Every outcome is a value: either a transaction outcome with the security level reached,
 * or a classified failure saying whether the next address or host may be tried.
 */
import type { SecurityLevel, TlsRptResult } from '../core/outcome.js';
import type { MtaStsFailure } from '../mtasts/requirement.js';
import { classify } from '../policy/failure.js';
import type { DeliveryFailure } from '../policy/failure.js';
import { decideStarttls, judgeTls } from '../policy/verdict.js';
import type { ConnectPlan } from '../policy/verdict.js';
import { connectSmtp } from '../smtp/connect.js';
import type { SmtpSession } from '../smtp/session.js';
import type { TransactionOutcome } from '../smtp/protocol/transaction.js';
import type { SmtpTimeouts } from '../smtp/timeouts.js';
import { startTlsClient } from '../tls/handshake.js';
import type { TlsUpgradeResult } from '../tls/handshake.js';
import type { TrustStore } from '../tls/trust-store.js';
import type { TlsFacts } from '../tls/types.js';

export interface SessionInput {
  readonly ip: string;
  readonly port: number;
  readonly mxHost: string;
  readonly plan: ConnectPlan;
  readonly ehloName: string;
  readonly timeouts: SmtpTimeouts;
  readonly tlsTimeoutMs: number;
  readonly trust: TrustStore;
  readonly now: () => Date;
  /** The message to send; absent for `mxsec check`, which stops after TLS. */
  readonly message?: { readonly from: string; readonly recipients: readonly string[]; readonly body: Uint8Array; readonly smtputf8: boolean; readonly eightBit: boolean };
}

export interface SessionResult {
  readonly tls: TlsFacts | null;
  readonly security: SecurityLevel | null;
  readonly starttlsOffered: boolean | null;
  readonly notes: readonly string[];
  readonly reportOnly?: MtaStsFailure;
  readonly tlsRpt?: TlsRptResult;
  readonly transcript: readonly string[];
  /** Set when the session failed before or during the transaction. */
  readonly failure?: DeliveryFailure;
  /** Set when a transaction ran (recipients may still have been refused one by one). */
  readonly outcome?: TransactionOutcome;
}

function needsSmtputf8(addresses: readonly string[]): boolean {
  return addresses.some((a) => /[^\p{ASCII}]/u.test(a));
}

export { needsSmtputf8 };

/** Runs one session; never throws for network or protocol problems. */
export async function runSession(input: SessionInput): Promise<SessionResult> {
  const notes: string[] = [];
  let tls: TlsFacts | null = null;
  let security: SecurityLevel | null = null;
  let offered: boolean | null = null;
  let reportOnly: MtaStsFailure | undefined = input.plan.stsReportOnly;
  // Set once connected; `done` reads the transcript from it.
  const live: { session?: SmtpSession } = {};
  const done = (extra: { failure?: DeliveryFailure; outcome?: TransactionOutcome }): SessionResult => {
    const transcript = live.session?.transcript() ?? [];
    const tlsRpt: TlsRptResult | undefined = extra.failure?.tlsRpt ?? (security !== null && security !== 'none' ? 'success' : undefined);
    return {
      tls, security, starttlsOffered: offered, notes, transcript,
      ...(reportOnly === undefined ? {} : { reportOnly }),
      ...(tlsRpt === undefined ? {} : { tlsRpt }),
      ...extra,
    };
  };

  const connected = await connectSmtp({ host: input.ip, port: input.port, timeouts: input.timeouts });
  if (!connected.ok) return done({ failure: classify({ kind: 'smtp', failure: connected.failure }) });
  const session = connected.session;
  live.session = session;
  try {
    const greeting = await session.greeting();
    if (!greeting.ok) return done({ failure: classify({ kind: 'smtp', failure: greeting.failure }) });
    let ehlo = await session.ehlo(input.ehloName);
    if (!ehlo.ok) return done({ failure: classify({ kind: 'smtp', failure: ehlo.failure }) });
    offered = ehlo.capabilities.startTls;

    const decision = decideStarttls(input.plan, ehlo.capabilities.startTls, input.mxHost);
    switch (decision.kind) {
      case 'fail':
        return done({ failure: decision.failure });
      case 'plaintext':
        notes.push(decision.note);
        if (decision.stsReportOnly !== undefined) reportOnly = decision.stsReportOnly;
        security = 'none';
        break;
      case 'starttls': {
        // `timeout.tls` bounds both the STARTTLS exchange and the handshake.
        const upgraded = await session.startTls<TlsUpgradeResult>((raw) => startTlsClient(raw, { servername: input.mxHost, trust: input.trust, timeoutMs: input.tlsTimeoutMs }), input.tlsTimeoutMs);
        if (!upgraded.ok) {
          const failure = upgraded.upgrade !== undefined && !upgraded.upgrade.ok
            ? classify({ kind: 'tls-handshake', failure: upgraded.upgrade.failure })
            : classify({ kind: 'smtp', failure: upgraded.failure });
          // A refused or broken STARTTLS is a TLS failure whatever the reply said (Stalwart's `tls` class).
          return done({ failure: { ...failure, lastError: 'tls' } });
        }
        tls = upgraded.upgrade.facts;
        const verdict = judgeTls(input.plan, tls, input.now());
        if (verdict.kind === 'fail') return done({ failure: verdict.failure });
        security = verdict.level;
        notes.push(verdict.note);
        if (verdict.stsReportOnly !== undefined) reportOnly = verdict.stsReportOnly;
        ehlo = await session.ehlo(input.ehloName);
        if (!ehlo.ok) return done({ failure: classify({ kind: 'smtp', failure: ehlo.failure }) });
        break;
      }
    }
    if (input.message === undefined) return done({});
    const sent = await session.send({ ...input.message });
    if (!sent.ok) return done({ failure: classify({ kind: 'smtp', failure: sent.failure }) });
    return done({ outcome: sent.outcome });
  } finally {
    await session.quit();
  }
}
