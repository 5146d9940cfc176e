/**
 * The mail transaction as a pure state machine (RFC 5321 3.3, RFC 2920). The driver feeds it replies;
 * it answers with the next thing to write and, at the end, the outcome: one result per recipient and the
 * result of the DATA phase.
 *
 * With PIPELINING the whole group MAIL, RCPT..., DATA is written at once and replies are matched to
 * commands through a FIFO of expected replies (RFC 2920 section 3.1: each command still gets exactly one
 * reply, in order). Without it, each command waits for its reply. Rules encoded here:
 * - MAIL rejected: no transaction exists; every recipient carries the MAIL reply; no DATA, no RSET.
 * - no recipient accepted: no message is sent; RSET clears the transaction (RFC 5321 4.1.1.5).
 * - pipelined DATA answered 354 although no recipient was accepted: RFC 2920 3.1 says send a lone dot.
 * - DATA refused while MAIL stood: RSET, so the session can carry the next message.
 * The machine never throws on a reply; `onReply` without an outstanding command is a driver bug (throws).
 */
import type { SmtpReply } from './reply.js';

export type Expected =
  | { readonly kind: 'mail' }
  | { readonly kind: 'rcpt'; readonly index: number }
  | { readonly kind: 'data' }
  | { readonly kind: 'body' }
  | { readonly kind: 'rset' };

export type TransactionStep =
  /** Write `text` (one or more command lines) in one go, then read replies. */
  | { readonly type: 'write'; readonly text: string }
  /** Write the encoded message data, then read the final reply. */
  | { readonly type: 'write-data' }
  /** Read the next reply; more are outstanding from the pipelined group. */
  | { readonly type: 'read' }
  | { readonly type: 'done'; readonly outcome: TransactionOutcome };

export interface RecipientResult {
  readonly address: string;
  /** The server accepted this RCPT (delivery still depends on `data`). */
  readonly accepted: boolean;
  /** The RCPT reply, or the MAIL reply when MAIL was rejected. */
  readonly reply: SmtpReply;
}

export type DataResult =
  | { readonly status: 'not-sent'; readonly reason: 'mail-rejected' | 'no-recipients' }
  /** The DATA command itself was refused. */
  | { readonly status: 'rejected'; readonly reply: SmtpReply }
  /** The message was sent; the final reply was negative. */
  | { readonly status: 'failed'; readonly reply: SmtpReply }
  /** The final reply was 2yz: the server took responsibility for the accepted recipients. */
  | { readonly status: 'accepted'; readonly reply: SmtpReply };

export interface TransactionOutcome {
  readonly mail: SmtpReply;
  readonly recipients: readonly RecipientResult[];
  readonly data: DataResult;
  /** Reply to the RSET sent to clear a failed transaction, when one was sent. */
  readonly rset?: SmtpReply;
}

export interface TransactionPlan {
  /** Formatted `MAIL FROM:` line, CRLF included. */
  readonly mailLine: string;
  readonly recipients: readonly { readonly address: string; readonly line: string }[];
  readonly pipelining: boolean;
}

const isSuccess = (reply: SmtpReply): boolean => reply.code >= 200 && reply.code < 300;

/** One transaction. Create, call `start()`, then `onReply()` for every reply until `done`. */
export class Transaction {
  private readonly plan: TransactionPlan;
  private readonly fifo: Expected[] = [];
  private mail: SmtpReply | undefined;
  private readonly rcpt: (SmtpReply | undefined)[];
  private dataReply: SmtpReply | undefined;
  private finalReply: SmtpReply | undefined;
  private rsetReply: SmtpReply | undefined;

  constructor(plan: TransactionPlan) {
    if (plan.recipients.length === 0)
      throw new RangeError('a transaction needs at least one recipient');
    this.plan = plan;
    this.rcpt = plan.recipients.map(() => undefined);
  }

  /** The reply the next `onReply` call will be matched to, for choosing the phase and its timeout. */
  get expected(): Expected | undefined {
    return this.fifo[0];
  }

  start(): TransactionStep {
    if (!this.plan.pipelining) return this.send({ kind: 'mail' }, this.plan.mailLine);
    this.fifo.push({ kind: 'mail' });
    this.plan.recipients.forEach((_, index) => this.fifo.push({ kind: 'rcpt', index }));
    this.fifo.push({ kind: 'data' });
    return {
      type: 'write',
      text: this.plan.mailLine + this.plan.recipients.map((r) => r.line).join('') + 'DATA\r\n',
    };
  }

  /** The data has been written: the next reply is the final one. */
  dataWritten(): void {
    this.fifo.push({ kind: 'body' });
  }

  onReply(reply: SmtpReply): TransactionStep {
    const head = this.fifo.shift();
    if (head === undefined)
      throw new Error('transaction received a reply with no command outstanding');
    switch (head.kind) {
      case 'mail':
        this.mail = reply;
        if (this.plan.pipelining) return { type: 'read' };
        return isSuccess(reply) ? this.sendRcpt(0) : this.finish();
      case 'rcpt':
        this.rcpt[head.index] = reply;
        if (this.plan.pipelining) return { type: 'read' };
        if (head.index + 1 < this.plan.recipients.length) return this.sendRcpt(head.index + 1);
        return this.acceptedCount() > 0
          ? this.send({ kind: 'data' }, 'DATA\r\n')
          : this.send({ kind: 'rset' }, 'RSET\r\n');
      case 'data':
        return this.afterData(reply);
      case 'body':
        this.finalReply = reply;
        return this.finish();
      case 'rset':
        this.rsetReply = reply;
        return this.finish();
    }
  }

  private afterData(reply: SmtpReply): TransactionStep {
    this.dataReply = reply;
    const mailAccepted = this.mail !== undefined && isSuccess(this.mail);
    if (reply.code === 354) {
      if (mailAccepted && this.acceptedCount() > 0) return { type: 'write-data' };
      // RFC 2920 3.1: the server opened DATA with nobody to deliver to; end it with a lone dot.
      return this.send({ kind: 'body' }, '.\r\n');
    }
    return mailAccepted ? this.send({ kind: 'rset' }, 'RSET\r\n') : this.finish();
  }

  private sendRcpt(index: number): TransactionStep {
    return this.send({ kind: 'rcpt', index }, this.plan.recipients[index]!.line);
  }

  private send(expected: Expected, text: string): TransactionStep {
    this.fifo.push(expected);
    return { type: 'write', text };
  }

  private acceptedCount(): number {
    return this.rcpt.filter((r) => r !== undefined && isSuccess(r)).length;
  }

  private finish(): TransactionStep {
    const mail = this.mail!;
    const mailAccepted = isSuccess(mail);
    const recipients = this.plan.recipients.map((r, i): RecipientResult => {
      const reply = this.rcpt[i];
      // Unreachable with a reply missing once MAIL stood, but a refused MAIL is every recipient's answer.
      if (!mailAccepted || reply === undefined)
        return { address: r.address, accepted: false, reply: mail };
      return { address: r.address, accepted: isSuccess(reply), reply };
    });
    const outcome: TransactionOutcome = {
      mail,
      recipients,
      data: this.dataResult(mailAccepted, recipients),
      ...(this.rsetReply === undefined ? {} : { rset: this.rsetReply }),
    };
    return { type: 'done', outcome };
  }

  private dataResult(mailAccepted: boolean, recipients: readonly RecipientResult[]): DataResult {
    if (!mailAccepted) return { status: 'not-sent', reason: 'mail-rejected' };
    if (!recipients.some((r) => r.accepted)) return { status: 'not-sent', reason: 'no-recipients' };
    if (this.dataReply === undefined || this.dataReply.code !== 354) {
      return this.dataReply === undefined
        ? { status: 'not-sent', reason: 'no-recipients' }
        : { status: 'rejected', reply: this.dataReply };
    }
    const final = this.finalReply!;
    return isSuccess(final)
      ? { status: 'accepted', reply: final }
      : { status: 'failed', reply: final };
  }
}

/**
 * The reply that decided each recipient's fate: its RCPT (or MAIL) reply when refused there, otherwise the
 * DATA or final reply. A recipient is delivered when that reply is 2yz.
 */
export function recipientVerdicts(
  outcome: TransactionOutcome,
): readonly { readonly address: string; readonly delivered: boolean; readonly reply: SmtpReply }[] {
  return outcome.recipients.map((r) => {
    if (!r.accepted) return { address: r.address, delivered: false, reply: r.reply };
    const data = outcome.data;
    if (data.status === 'not-sent') return { address: r.address, delivered: false, reply: r.reply };
    return { address: r.address, delivered: data.status === 'accepted', reply: data.reply };
  });
}
