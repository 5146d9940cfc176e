/**
 * One SMTP session to one address of one MX host under a decided host plan: connect, greeting, EHLO,
 * the STARTTLS decision, the handshake and its judgement, EHLO again, and (unless it is a probe without
 * a message) the mail transaction. Every outcome is a `SessionResult` value: a transaction with the
 * verdict that allowed it, a probe's verdict, or a classified failure saying whether the next address
 * or host may be tried. MAIL FROM is only sent through `transact`, which demands the verdict.
 *
 * Reuse (RFC 5321 4.1.1.5): with `keep`, a session whose transaction ran is not closed but handed back
 * as `kept` with the facts it proved (`SessionFacts`): the caller records the outcome first, then QUITs
 * the session or, when it `endedCleanly`, pools it. `sendReused`
 * carries the next message over such a session (the pool already sent RSET) and reports the original
 * session's TLS facts and security again, noting "reused connection". When the reused session turns out
 * to be dead before the server could have taken the message, the result is `stale` and the caller
 * opens a fresh connection: a stale session never fails a message.
 */
import type { TlsRptResult } from '../core/outcome.js';
import type { DaneVerdict } from '../dane/verify.js';
import type { MtaStsFailure } from '../mtasts/requirement.js';
import { classify, handshakeCause, smtpCause } from '../policy/failure.js';
import type { DeliveryFailure } from '../policy/failure.js';
import type { ConnectPlan, DaneAuthentication } from '../policy/host-plan.js';
import { decideStarttls, judgeTls, observeDane } from '../policy/verdict.js';
import type { PeerVerdict } from '../policy/verdict.js';
import { connectSmtp } from '../smtp/connect.js';
import type { SendResult, SmtpSession } from '../smtp/session.js';
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
  /** Keep the session open after a transaction and return it as `kept`, for the caller to end. */
  readonly keep?: boolean;
  /** A probe only: TLSA records to check the chain against although the plan does not enforce DANE. */
  readonly observeDane?: DaneAuthentication;
}

export interface SessionMessage {
  readonly from: string;
  readonly recipients: readonly string[];
  readonly body: Uint8Array;
  readonly smtputf8: boolean;
  readonly eightBit: boolean;
}

/** What a session observed, whatever its end. */
interface Observed {
  readonly tls: TlsFacts | null;
  readonly starttlsOffered: boolean | null;
  readonly notes: readonly string[];
  readonly transcript: readonly string[];
  /** What an MTA-STS testing policy would have refused (reported, not enforced). */
  readonly reportOnly?: MtaStsFailure;
  /** TLS-RPT result of the session (RFC 8460 4.4): `success` once TLS met the plan, or the failure's type. */
  readonly tlsRpt?: TlsRptResult;
  /** Which TLSA record the chain matched, or why none did, when TLSA records were checked. */
  readonly dane?: DaneVerdict;
}

export type SessionResult =
  /** The session failed before or during the transaction. */
  | (Observed & { readonly kind: 'failed'; readonly failure: DeliveryFailure })
  /** A probe (no message) that reached the point where MAIL FROM would be sent. */
  | (Observed & { readonly kind: 'probed'; readonly verdict: PeerVerdict })
  /** A transaction ran (recipients may still have been refused one by one). */
  | (Observed & {
      readonly kind: 'transaction';
      readonly verdict: PeerVerdict;
      readonly outcome: TransactionOutcome;
      /** With `keep`: the live session after the transaction; the caller pools it or QUITs it. */
      readonly kept?: SmtpSession;
    });

/** What a session proved when it was opened; reported again for every message it carries. */
export type SessionFacts = Pick<
  Extract<SessionResult, { kind: 'transaction' }>,
  'tls' | 'starttlsOffered' | 'notes' | 'reportOnly' | 'dane' | 'verdict'
>;

/**
 * True when the transaction left the session idle in a known state: a 2yz reply after the message
 * data, or 250 to the RSET that cleared a failed transaction. Anything else is not reused.
 */
export function endedCleanly(outcome: TransactionOutcome): boolean {
  if (outcome.data.status === 'accepted')
    return outcome.data.reply.code >= 200 && outcome.data.reply.code < 300;
  return outcome.rset?.code === 250;
}

/** RFC 6531: an address with non-ASCII characters needs SMTPUTF8. */
export function needsSmtputf8(addresses: readonly string[]): boolean {
  return addresses.some((a) => /[^\p{ASCII}]/u.test(a));
}

/**
 * The only way this module sends MAIL FROM. The verdict is demanded, not read: holding one proves the
 * peer was judged against the plan (see `PeerVerdict`), so a path that skipped the judgement cannot
 * reach the transaction.
 */
function transact(
  session: SmtpSession,
  _verdict: PeerVerdict,
  message: SessionMessage,
): Promise<SendResult> {
  return session.send({ ...message });
}

/** Runs one session; never throws for network or protocol problems. */
export async function runSession(input: SessionInput): Promise<SessionResult> {
  const notes: string[] = [];
  let tls: TlsFacts | null = null;
  let offered: boolean | null = null;
  let verdict: PeerVerdict | undefined;
  let dane: DaneVerdict | undefined;
  let reportOnly: MtaStsFailure | undefined =
    input.plan.sts === 'off' ? undefined : input.plan.sts.reportOnly;
  // Set once connected; `observed` reads the transcript from it.
  const live: { session?: SmtpSession; kept?: boolean } = {};
  const observed = (failure?: DeliveryFailure): Observed => {
    const tlsRpt: TlsRptResult | undefined =
      failure?.tlsRpt ??
      (verdict !== undefined && verdict.level !== 'none' ? 'success' : undefined);
    return {
      tls,
      starttlsOffered: offered,
      notes,
      transcript: live.session?.transcript() ?? [],
      ...(reportOnly === undefined ? {} : { reportOnly }),
      ...(tlsRpt === undefined ? {} : { tlsRpt }),
      ...(dane === undefined ? {} : { dane }),
    };
  };
  const failed = (failure: DeliveryFailure): SessionResult => ({
    ...observed(failure),
    kind: 'failed',
    failure,
  });
  const accept = (judged: PeerVerdict): PeerVerdict => {
    notes.push(judged.note);
    if (judged.reportOnly !== undefined) reportOnly = judged.reportOnly;
    return judged;
  };

  const connected = await connectSmtp({
    host: input.ip,
    port: input.port,
    timeouts: input.timeouts,
  });
  if (!connected.ok) return failed(classify(smtpCause(connected.failure)));
  const session = connected.session;
  live.session = session;
  try {
    const greeting = await session.greeting();
    if (!greeting.ok) return failed(classify(smtpCause(greeting.failure)));
    let ehlo = await session.ehlo(input.ehloName);
    if (!ehlo.ok) return failed(classify(smtpCause(ehlo.failure)));
    offered = ehlo.capabilities.startTls;

    const decision = decideStarttls(input.plan, ehlo.capabilities.startTls, input.mxHost);
    switch (decision.kind) {
      case 'fail':
        return failed(decision.failure);
      case 'plaintext':
        verdict = accept(decision.verdict);
        break;
      case 'starttls': {
        // `timeout.tls` bounds both the STARTTLS exchange and the handshake.
        const upgraded = await session.startTls<TlsUpgradeResult>(
          (raw) =>
            startTlsClient(raw, {
              servername: input.mxHost,
              trust: input.trust,
              timeoutMs: input.tlsTimeoutMs,
              dane: input.plan.authentication.kind === 'dane',
            }),
          input.tlsTimeoutMs,
        );
        if (!upgraded.ok) {
          return failed(
            classify(
              upgraded.upgrade !== undefined && !upgraded.upgrade.ok
                ? handshakeCause(upgraded.upgrade.failure)
                : smtpCause(upgraded.failure),
            ),
          );
        }
        tls = upgraded.upgrade.facts;
        const judged = judgeTls(input.plan, tls, input.now());
        dane =
          judged.dane ??
          (input.observeDane === undefined
            ? undefined
            : observeDane(input.observeDane, tls, input.now()));
        if (judged.kind === 'fail') return failed(judged.failure);
        verdict = accept(judged.verdict);
        ehlo = await session.ehlo(input.ehloName);
        if (!ehlo.ok) return failed(classify(smtpCause(ehlo.failure)));
        break;
      }
    }
    if (input.message === undefined) return { ...observed(), kind: 'probed', verdict };
    const sent = await transact(session, verdict, input.message);
    if (!sent.ok) return failed(classify(smtpCause(sent.failure)));
    if (input.keep !== true)
      return { ...observed(), kind: 'transaction', verdict, outcome: sent.outcome };
    live.kept = true;
    return { ...observed(), kind: 'transaction', verdict, outcome: sent.outcome, kept: session };
  } finally {
    if (live.kept !== true) await session.quit();
  }
}

/** The facts of a finished transaction, as the pool keeps them. */
export function factsOf(result: Extract<SessionResult, { kind: 'transaction' }>): SessionFacts {
  return {
    tls: result.tls,
    starttlsOffered: result.starttlsOffered,
    notes: result.notes,
    verdict: result.verdict,
    ...(result.reportOnly === undefined ? {} : { reportOnly: result.reportOnly }),
    ...(result.dane === undefined ? {} : { dane: result.dane }),
  };
}

export type ReusedResult =
  /** Nothing of this message can have been accepted and the session is dead: open a fresh one. */
  { readonly kind: 'stale' } | { readonly kind: 'done'; readonly result: SessionResult };

/**
 * Sends `message` over a pooled session on which RSET just succeeded. The result repeats the facts the
 * session proved when it was opened, plus a note. TLS-RPT counts sessions (RFC 8460 4.4), so a reused
 * connection reports no second `success`. A transaction that ran hands the session back as `kept`, for
 * the caller to end; after a failure the session is closed with QUIT before returning.
 */
export async function sendReused(
  session: SmtpSession,
  facts: SessionFacts,
  messageNumber: number,
  message: SessionMessage,
): Promise<ReusedResult> {
  const sent = await transact(session, facts.verdict, message);
  // The connection died before any reply to this transaction's MAIL or RCPT: the server never got
  // the data, so a fresh connection may carry the message without risk of a duplicate.
  if (
    !sent.ok &&
    sent.failure.kind === 'closed' &&
    (sent.failure.phase === 'mail-from' || sent.failure.phase === 'rcpt-to')
  ) {
    await session.quit();
    return { kind: 'stale' };
  }
  const { verdict, ...rest } = facts;
  const base: Observed = {
    ...rest,
    notes: [...facts.notes, `reused connection (message ${messageNumber} on it, after RSET)`],
    transcript: session.transcript(),
  };
  if (!sent.ok) {
    await session.quit();
    return {
      kind: 'done',
      result: { ...base, kind: 'failed', failure: classify(smtpCause(sent.failure)) },
    };
  }
  return {
    kind: 'done',
    result: { ...base, kind: 'transaction', verdict, outcome: sent.outcome, kept: session },
  };
}
