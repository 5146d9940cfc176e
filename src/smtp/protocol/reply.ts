/**
 * Incremental SMTP reply parser (RFC 5321 section 4.2). Fed raw bytes in whatever chunks the transport
 * delivers, it yields complete replies; a multi-line reply (`250-...` then `250 ...`) becomes one value.
 *
 * Contract: `push` never throws. Once it reports a protocol error the parser is dead: every later call
 * reports the same error and yields nothing, because a reply stream that lost its framing cannot be
 * trusted again (the driver destroys the connection). Replies completed before the error in the same
 * chunk are still returned, in order, so the caller can decide what to do with them.
 *
 * Limits (chosen, not from the RFC): RFC 5321 4.5.3.1.5 sets 512 octets for a reply line, but real
 * servers exceed it in EHLO and rejection texts, so a line may carry up to 4096 octets including CRLF.
 * A whole reply may hold at most 128 lines and 64 KiB: enough for any honest EHLO, small enough that a
 * hostile peer cannot make the client buffer without bound.
 *
 * The RFC 3463 enhanced status code syntax is read here too, because building a reply means recognising
 * the code its first line starts with; what a code means for delivery is `enhanced.ts`'s business.
 */

/** One complete reply. `lines` hold the text after `NNN-`/`NNN `, enhanced code included. */
export interface SmtpReply {
  readonly code: number;
  /** RFC 3463 `class.subject.detail`, when the first line plainly starts with one of the reply's class. */
  readonly enhanced?: string;
  readonly lines: readonly string[];
}

export type ReplyProtocolErrorKind =
  'line-too-long' | 'reply-too-large' | 'too-many-lines' | 'malformed' | 'inconsistent-code';

export interface ReplyProtocolError {
  readonly kind: ReplyProtocolErrorKind;
  readonly message: string;
}

export interface ReplyLimits {
  /** Octets per line including CRLF. */
  readonly maxLineLength: number;
  readonly maxReplySize: number;
  readonly maxLines: number;
}

export const DEFAULT_REPLY_LIMITS: ReplyLimits = {
  maxLineLength: 4096,
  maxReplySize: 65_536,
  maxLines: 128,
};

export interface PushResult {
  readonly replies: readonly SmtpReply[];
  readonly error?: ReplyProtocolError;
}

const LF = 0x0a;
const CR = 0x0d;
const decoder = new TextDecoder('utf-8');

// RFC 5321 4.2: the first digit is 2-5, the second 0-5; anything else is not a reply code.
const LINE = /^([2-5][0-5][0-9])(?:([ -])(.*))?$/s;

/** Reassembles replies from a byte stream. One instance per connection (and a new one after STARTTLS). */
export class ReplyParser {
  private readonly limits: ReplyLimits;
  private partial: Uint8Array[] = [];
  private partialLength = 0;
  private lines: string[] = [];
  private code: number | undefined;
  private replySize = 0;
  private failed: ReplyProtocolError | undefined;

  constructor(limits: ReplyLimits = DEFAULT_REPLY_LIMITS) {
    this.limits = limits;
  }

  /** Bytes received that are not yet part of a returned reply (a partial line or a partial reply). */
  get buffered(): number {
    return this.partialLength + this.replySize;
  }

  /** The sticky error, if the stream has been declared broken. */
  get error(): ReplyProtocolError | undefined {
    return this.failed;
  }

  push(chunk: Uint8Array): PushResult {
    if (this.failed !== undefined) return { replies: [], error: this.failed };
    const replies: SmtpReply[] = [];
    let start = 0;
    while (start < chunk.length) {
      const lf = chunk.indexOf(LF, start);
      const end = lf === -1 ? chunk.length : lf + 1;
      if (this.partialLength + (end - start) > this.limits.maxLineLength) {
        return this.fail(
          replies,
          'line-too-long',
          `reply line longer than ${this.limits.maxLineLength} octets`,
        );
      }
      this.partial.push(chunk.subarray(start, end));
      this.partialLength += end - start;
      start = end;
      if (lf === -1) break;
      const line = this.takeLine();
      const error = this.acceptLine(line, replies);
      if (error !== undefined) return this.fail(replies, error.kind, error.message);
    }
    return { replies };
  }

  private takeLine(): Uint8Array {
    const line =
      this.partial.length === 1 ? this.partial[0]! : concat(this.partial, this.partialLength);
    this.partial = [];
    this.partialLength = 0;
    return line;
  }

  private acceptLine(raw: Uint8Array, replies: SmtpReply[]): ReplyProtocolError | undefined {
    this.replySize += raw.length;
    if (this.replySize > this.limits.maxReplySize) {
      return {
        kind: 'reply-too-large',
        message: `reply larger than ${this.limits.maxReplySize} octets`,
      };
    }
    if (this.lines.length + 1 > this.limits.maxLines) {
      return {
        kind: 'too-many-lines',
        message: `reply with more than ${this.limits.maxLines} lines`,
      };
    }
    // Tolerate a bare LF terminator: it carries no ambiguity in a reply, unlike in message data.
    const stripped =
      raw.length >= 2 && raw[raw.length - 2] === CR
        ? raw.subarray(0, raw.length - 2)
        : raw.subarray(0, raw.length - 1);
    const text = decoder.decode(stripped);
    const match = LINE.exec(text);
    if (match === null || /[\r\n\0]/.test(text)) {
      return {
        kind: 'malformed',
        message: `malformed reply line: ${JSON.stringify(text.slice(0, 80))}`,
      };
    }
    const code = Number(match[1]);
    if (this.code !== undefined && this.code !== code) {
      return {
        kind: 'inconsistent-code',
        message: `reply line code ${code} inside a ${this.code} reply`,
      };
    }
    this.code = code;
    this.lines.push(match[3] ?? '');
    if (match[2] === '-') return undefined;
    replies.push(makeReply(code, this.lines));
    this.lines = [];
    this.code = undefined;
    this.replySize = 0;
    return undefined;
  }

  private fail(replies: SmtpReply[], kind: ReplyProtocolErrorKind, message: string): PushResult {
    this.failed = { kind, message };
    this.partial = [];
    this.partialLength = 0;
    return { replies, error: this.failed };
  }
}

export interface EnhancedCode {
  /** 2 success, 4 persistent transient failure, 5 permanent failure (RFC 3463 section 3.1). */
  readonly class: 2 | 4 | 5;
  readonly subject: number;
  readonly detail: number;
  /** Canonical text, e.g. `5.1.1`. */
  readonly text: string;
}

// RFC 3463 section 2: subject and detail are 1 to 3 digits without superfluous leading zeros.
const CODE = /^([245])\.(0|[1-9]\d{0,2})\.(0|[1-9]\d{0,2})$/;

/** RFC 3463 2: parses `5.1.1`. Returns undefined for anything else, including `5.01.1` and `3.0.0`. */
export function parseEnhancedCode(text: string): EnhancedCode | undefined {
  const match = CODE.exec(text);
  if (match === null) return undefined;
  const cls = Number(match[1]) as 2 | 4 | 5;
  const subject = Number(match[2]);
  const detail = Number(match[3]);
  return { class: cls, subject, detail, text: `${cls}.${subject}.${detail}` };
}

/** Builds a reply value, extracting the enhanced code when the first line starts with one of the same class. */
export function makeReply(code: number, lines: readonly string[]): SmtpReply {
  const first = lines[0] ?? '';
  const token = first.split(' ', 1)[0] ?? '';
  const enhanced = parseEnhancedCode(token);
  if (enhanced !== undefined && enhanced.class === Math.floor(code / 100)) {
    return { code, enhanced: enhanced.text, lines: [...lines] };
  }
  return { code, lines: [...lines] };
}

/** The reply as one line for logs and bounce texts: `550 5.1.1 no such user`. */
export function formatReply(reply: SmtpReply): string {
  return `${reply.code} ${reply.lines.join(' / ')}`.trim();
}

function concat(parts: readonly Uint8Array[], length: number): Uint8Array {
  const out = new Uint8Array(length);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}
