/**
 * One SMTP session to one address of one MX host under a decided host plan: connect, greeting, EHLO,
 * the STARTTLS decision, the handshake and its judgement, EHLO again, and (unless `probeOnly`) the mail
 * transaction. Every outcome is a value: either a transaction outcome with the security level reached,
 * or a classified failure saying whether the next address or host may be tried.
 *
 * Reuse (RFC 5321 4.1.1.5): with `keep`, a session whose transaction ended cleanly is not closed but
 * handed back as `kept` with the facts it proved (`SessionFacts`), for the caller to pool. `sendReused`
 * carries the next message over such a session (the pool already sent RSET) and reports the original
 * session's TLS facts and security again, noting "reused connection". When the reused session turns out
 * to be dead before the server could have taken the message, the result is `stale` and the caller
 * opens a fresh connection: a stale session never fails a message.
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
  readonly message?: SessionMessage;
  /** Keep the session open after a transaction that ended cleanly and return it as `kept`. */
  readonly keep?: boolean;
}

export interface SessionMessage {
  readonly from: string;
  readonly recipients: readonly string[];
  readonly body: Uint8Array;
  readonly smtputf8: boolean;
  readonly eightBit: boolean;
}

/** What a session proved when it was opened; reported again for every message it carries. */
export interface SessionFacts {
  readonly tls: TlsFacts | null;
  readonly security: SecurityLevel | null;
  readonly starttlsOffered: boolean | null;
  readonly notes: readonly string[];
  readonly reportOnly?: MtaStsFailure;
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
  /** With `keep`: the live session after a clean transaction; the caller pools it or QUITs it. */
  readonly kept?: SmtpSession;
}

/**
 * True when the transaction left the session idle in a known state: a 2yz reply after the message
 * data, or 250 to the RSET that cleared a failed transaction. Anything else is not reused.
 */
export function endedCleanly(outcome: TransactionOutcome): boolean {
  if (outcome.data.status === 'accepted') return outcome.data.reply.code >= 200 && outcome.data.reply.code < 300;
  return outcome.rset?.code === 250;
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
  const live: { session?: SmtpSession; kept?: boolean } = {};
  const done = (extra: { failure?: DeliveryFailure; outcome?: TransactionOutcome; kept?: SmtpSession }): SessionResult => {
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
        const upgraded = await session.startTls<TlsUpgradeResult>((raw) => startTlsClient(raw, { servername: input.mxHost, trust: input.trust, timeoutMs: input.tlsTimeoutMs, dane: input.plan.authentication === 'dane' }), input.tlsTimeoutMs);
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
    if (input.keep !== true || !endedCleanly(sent.outcome)) return done({ outcome: sent.outcome });
    live.kept = true;
    return done({ outcome: sent.outcome, kept: session });
  } finally {
    if (live.kept !== true) await session.quit();
  }
}

/** The facts of a finished session, as the pool keeps them. */
export function factsOf(result: SessionResult): SessionFacts {
  return {
    tls: result.tls, security: result.security, starttlsOffered: result.starttlsOffered, notes: result.notes,
    ...(result.reportOnly === undefined ? {} : { reportOnly: result.reportOnly }),
  };
}

export type ReusedResult =
  /** Nothing of this message can have been accepted and the session is dead: open a fresh one. */
  | { readonly kind: 'stale' }
  | { readonly kind: 'done'; readonly result: SessionResult };

/**
 * Sends `message` over a pooled session on which RSET just succeeded. The result repeats the facts the
 * session proved when it was opened, plus a note. TLS-RPT counts sessions (RFC 8460 4.4), so a reused
 * connection reports no second `success`. With `keep`, a clean transaction hands the session back as
 * `kept`; otherwise the session is closed with QUIT before returning.
 */
export async function sendReused(session: SmtpSession, facts: SessionFacts, messageNumber: number, message: SessionMessage, keep: boolean): Promise<ReusedResult> {
  const sent = await session.send({ ...message });
  // The connection died before any reply to this transaction's MAIL or RCPT: the server never got
  // the data, so a fresh connection may carry the message without risk of a duplicate.
  if (!sent.ok && sent.failure.kind === 'closed' && (sent.failure.phase === 'mail-from' || sent.failure.phase === 'rcpt-to')) {
    await session.quit();
    return { kind: 'stale' };
  }
  const base: SessionResult = {
    ...facts,
    notes: [...facts.notes, `reused connection (message ${messageNumber} on it, after RSET)`],
    transcript: session.transcript(),
  };
  if (!sent.ok) {
    await session.quit();
    return { kind: 'done', result: { ...base, failure: classify({ kind: 'smtp', failure: sent.failure }) } };
  }
  if (keep && endedCleanly(sent.outcome)) return { kind: 'done', result: { ...base, outcome: sent.outcome, kept: session } };
  await session.quit();
  return { kind: 'done', result: { ...base, outcome: sent.outcome } };
}
