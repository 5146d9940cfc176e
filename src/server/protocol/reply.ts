/**
 * Replies of the submission server (RFC 5321 4.2) with enhanced status codes (RFC 2034, RFC 3463).
 * Every reply a session sends is built here, so its wording and codes are in one table. Text never
 * contains CR or LF: a reply line is one line (callers pass constant text or sanitised values).
 */

export interface ServerReply {
  readonly code: number;
  /** RFC 3463 `class.subject.detail`; absent for the greeting, EHLO/HELO and 334 challenges (RFC 2034 3). */
  readonly enhanced?: string;
  readonly lines: readonly string[];
}

/** Formats a reply as it goes on the wire: `250-first`, ..., `250 last`, each with CRLF. */
export function formatServerReply(reply: ServerReply): string {
  const lines = reply.lines.length === 0 ? [''] : reply.lines;
  return lines
    .map((line, i) => {
      const sep = i === lines.length - 1 ? ' ' : '-';
      const text = reply.enhanced === undefined ? line : `${reply.enhanced} ${line}`;
      return `${reply.code}${sep}${text.replace(/[\r\n]/g, ' ')}`.trimEnd() + '\r\n';
    })
    .join('');
}

export function reply(code: number, enhanced: string | undefined, text: string): ServerReply {
  return enhanced === undefined ? { code, lines: [text] } : { code, enhanced, lines: [text] };
}

/** The fixed replies, named by what they mean. */
export const R = {
  ok: reply(250, '2.0.0', 'Ok'),
  senderOk: reply(250, '2.1.0', 'Sender ok'),
  recipientOk: reply(250, '2.1.5', 'Recipient ok'),
  startData: reply(354, undefined, 'End data with <CR><LF>.<CR><LF>'),
  readyTls: reply(220, '2.0.0', 'Ready to start TLS'),
  bye: reply(221, '2.0.0', 'Bye'),
  vrfy: reply(252, '2.5.0', 'Cannot VRFY user, but will accept message and attempt delivery'),
  authOk: reply(235, '2.7.0', 'Authentication successful'),
  // 5xx syntax and sequence (RFC 5321 4.2.4, 4.3.2)
  unknown: reply(500, '5.5.2', 'Command not recognized'),
  lineTooLong: reply(500, '5.5.2', 'Line too long'),
  authLineTooLong: reply(500, '5.5.6', 'Authentication exchange line is too long'),
  syntax: (text: string) => reply(501, '5.5.4', text),
  notImplemented: (text: string) => reply(502, '5.5.1', text),
  sequence: (text: string) => reply(503, '5.5.1', text),
  badParam: (text: string) => reply(555, '5.5.4', text),
  noRecipients: reply(554, '5.5.1', 'No valid recipients'),
  badSender: (text: string) => reply(553, '5.1.7', text),
  badRecipient: (text: string) => reply(501, '5.1.3', text),
  needUtf8: reply(553, '5.6.7', 'Non-ASCII address requires SMTPUTF8 (RFC 6531 3.5)'),
  // limits (RFC 5321 4.5.3.1.10, RFC 1870 6)
  tooManyRecipients: reply(452, '4.5.3', 'Too many recipients'),
  tooBig: (max: number) => reply(552, '5.3.4', `Message size exceeds fixed limit of ${max} octets`),
  dataLineTooLong: (max: number) =>
    reply(554, '5.5.2', `Message has a line longer than ${max} octets`),
  bareLineEnding: reply(
    554,
    '5.5.2',
    'Message contains a bare CR or LF; lines must end with CRLF (RFC 5321 2.3.8)',
  ),
  // AUTH (RFC 4954 6) and policy
  authRequired: reply(530, '5.7.0', 'Authentication required'),
  encryptionRequired: reply(
    538,
    '5.7.11',
    'Encryption required for requested authentication mechanism',
  ),
  authFailed: reply(535, '5.7.8', 'Authentication credentials invalid'),
  authCancelled: reply(501, '5.0.0', 'Authentication cancelled'),
  badBase64: reply(501, '5.5.2', 'Cannot decode response'),
  unknownMechanism: reply(504, '5.5.4', 'Unrecognized authentication type'),
  tooManyErrors: reply(421, '4.7.0', 'Too many errors, closing connection'),
  // storage (RFC 3463 4.3.x): the message is not ours, the client must retry
  queued: (id: string) => reply(250, '2.0.0', `Ok: queued as ${id}`),
  storageFailed: reply(451, '4.3.0', 'Temporary storage failure, try again later'),
  storageFull: reply(452, '4.3.1', 'Insufficient system storage, try again later'),
  timeout: reply(421, '4.4.2', 'Idle timeout, closing connection'),
  shuttingDown: reply(421, '4.3.2', 'Service shutting down, closing connection'),
  tooManyConnections: reply(421, '4.7.0', 'Too many connections, try again later'),
} as const;
