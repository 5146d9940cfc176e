/**
 * Builds a delivery status notification (RFC 3464) as message bytes ready to enqueue: a
 * `multipart/report; report-type=delivery-status` (RFC 6522) with a human-readable part that says which
 * security or delivery requirement failed, the `message/delivery-status` part (per-message fields, then
 * per-recipient fields), and the original headers (`text/rfc822-headers`), or the whole original
 * (`message/rfc822`) when the sender asked for RET=FULL on a failure.
 *
 * Pure: the clock (`now`), the boundary's randomness and the names are inputs. The caller decides
 * whether a DSN is sent at all (`dsnAction` in `policy.ts`: never to the null reverse-path).
 */
import { explainFailure } from './explain.js';
import type { FailureFacts } from './explain.js';
import { crlf, decodeXtext, field, headerSection, rfc5322Date } from './mime.js';

/**
 * RFC 3464 section 2.3.3 actions this MTA reports. Success is `relayed`, not `delivered`: the next hop
 * is not asked to return DSNs itself (RFC 3461 section 5.2.2.3).
 */
export type DsnAction = 'failed' | 'delayed' | 'relayed';

export interface DsnRecipient extends FailureFacts {
  readonly address: string;
  /** RFC 3461 ORCPT as stored (`rfc822;user@example.org`, xtext-encoded), or null. */
  readonly orcpt: string | null;
  readonly action: DsnAction;
  readonly lastAttemptAt: number;
  /** For `delayed`: when mxsec gives up (RFC 3464 section 2.3.9 Will-Retry-Until). */
  readonly willRetryUntil?: number;
  /** For `failed`: true when the cause is the queue lifetime, not a refusal. */
  readonly expired?: boolean;
}

export interface DsnInput {
  /** The reporting MTA's host name (RFC 3464 section 2.2.2). */
  readonly reportingMta: string;
  readonly now: number;
  /** Random text for the MIME boundary and Message-ID, e.g. 16 hex characters. */
  readonly unique: string;
  /** Where the DSN goes: the original reverse-path (never empty; the caller checks). */
  readonly to: string;
  readonly original: {
    readonly id: string;
    readonly arrivalAt: number;
    readonly envId: string | null;
    readonly ret: 'full' | 'hdrs' | null;
    readonly body: Uint8Array;
  };
  readonly recipients: readonly DsnRecipient[];
}

function subjectOf(actions: ReadonlySet<DsnAction>): string {
  if (actions.has('failed')) return 'Undelivered Mail Returned to Sender';
  if (actions.has('delayed')) return 'Delayed Mail (still being retried)';
  return 'Successful Mail Delivery Report';
}

function humanPart(input: DsnInput): string {
  const lines: string[] = [`This is the mail system at ${input.reportingMta}.`, ''];
  const failed = input.recipients.filter((r) => r.action === 'failed');
  const delayed = input.recipients.filter((r) => r.action === 'delayed');
  const delivered = input.recipients.filter((r) => r.action === 'relayed');
  if (failed.length > 0) {
    lines.push(
      'Your message could not be delivered to the following recipients. No further attempts will be made.',
      '',
    );
    for (const r of failed) {
      const why =
        r.expired === true
          ? `It stayed in the queue until its lifetime ran out. The last attempt failed: ${explainFailure(r)}`
          : explainFailure(r);
      lines.push(`<${r.address}>: ${why}`, '');
    }
  }
  if (delayed.length > 0) {
    lines.push(
      'Your message has not been delivered yet to the following recipients. This is a warning only; delivery will be retried.',
      '',
    );
    for (const r of delayed) {
      const until =
        r.willRetryUntil === undefined
          ? ''
          : ` Attempts continue until ${rfc5322Date(r.willRetryUntil)}.`;
      lines.push(`<${r.address}>: ${explainFailure(r)}${until}`, '');
    }
  }
  if (delivered.length > 0) {
    lines.push(
      "Your message was handed to the recipients' mail servers, as you asked to be told:",
      '',
    );
    for (const r of delivered)
      lines.push(`<${r.address}>${r.mx === undefined ? '' : ` via ${r.mx}`}`);
    lines.push('');
  }
  return lines.join('\r\n');
}

function recipientFields(r: DsnRecipient): string {
  let out = '';
  const orcpt = r.orcpt === null ? undefined : /^([^;]+);(.*)$/.exec(r.orcpt);
  if (orcpt !== undefined && orcpt !== null)
    out += field('Original-Recipient', `${orcpt[1] ?? 'rfc822'};${decodeXtext(orcpt[2] ?? '')}`);
  out += field('Final-Recipient', `rfc822;${r.address}`);
  out += field('Action', r.action);
  out += field('Status', r.code);
  if (r.mx !== undefined) out += field('Remote-MTA', `dns;${r.mx}`);
  // RFC 3464 section 2.3.6: an SMTP reply is `smtp;`; a local reason gets our own diagnostic type, as Postfix does.
  if (r.reply !== undefined) out += field('Diagnostic-Code', `smtp;${r.reply}`);
  else if (r.message !== '' && r.action !== 'relayed')
    out += field('Diagnostic-Code', `X-mxsec;${r.message}`);
  out += field('Last-Attempt-Date', rfc5322Date(r.lastAttemptAt));
  if (r.action === 'delayed' && r.willRetryUntil !== undefined)
    out += field('Will-Retry-Until', rfc5322Date(r.willRetryUntil));
  return out;
}

function statusPart(input: DsnInput): string {
  let out = field('Reporting-MTA', `dns;${input.reportingMta}`);
  if (input.original.envId !== null) out += field('Original-Envelope-Id', input.original.envId);
  out += field('X-mxsec-Queue-ID', input.original.id);
  out += field('Arrival-Date', rfc5322Date(input.original.arrivalAt));
  for (const r of input.recipients) out += `\r\n${recipientFields(r)}`;
  return out;
}

/** The DSN message (headers and body, CRLF line ends). Throws only when called with no recipients (a bug). */
export function buildDsn(input: DsnInput): Uint8Array {
  if (input.recipients.length === 0) throw new Error('buildDsn needs at least one recipient');
  const boundary = `mxsec-dsn-${input.unique}`;
  const actions = new Set(input.recipients.map((r) => r.action));
  // RFC 3461 section 4.3: RET=FULL returns the whole message, and only with a failure; otherwise headers.
  const full = input.original.ret === 'full' && actions.has('failed');
  const headers = [
    field('From', `Mail Delivery System <MAILER-DAEMON@${input.reportingMta}>`),
    field('To', `<${input.to}>`),
    field('Subject', subjectOf(actions)),
    field('Date', rfc5322Date(input.now)),
    field('Message-ID', `<${input.original.id}.${input.unique}@${input.reportingMta}>`),
    // RFC 3834 section 5: automatic replies are marked so that responders do not answer them.
    field('Auto-Submitted', 'auto-replied'),
    field('MIME-Version', '1.0'),
    field('Content-Type', `multipart/report; report-type=delivery-status; boundary="${boundary}"`),
  ].join('');
  // The original's bytes are carried unchanged (latin1 round-trips every byte); our own text is UTF-8.
  const original = full
    ? Buffer.from(`Content-Type: message/rfc822\r\n\r\n${crlf(input.original.body)}`, 'latin1')
    : Buffer.from(
        `Content-Type: text/rfc822-headers\r\n\r\n${headerSection(input.original.body)}`,
        'latin1',
      );
  const parts = [
    Buffer.from(
      `Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n${humanPart(input)}`,
      'utf8',
    ),
    Buffer.from(`Content-Type: message/delivery-status\r\n\r\n${statusPart(input)}`, 'utf8'),
    original,
  ];
  const chunks: Buffer[] = [
    Buffer.from(
      `${headers}\r\nThis is a MIME-encapsulated delivery status notification.\r\n\r\n`,
      'utf8',
    ),
  ];
  for (const part of parts)
    chunks.push(Buffer.from(`--${boundary}\r\n`), part, Buffer.from('\r\n'));
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return Buffer.concat(chunks);
}
