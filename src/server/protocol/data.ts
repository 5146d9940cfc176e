/**
 * Reads the message content after DATA (RFC 5321 4.1.1.4, 4.5.2): finds the end-of-data sequence across
 * chunk boundaries, removes dot-stuffing, and enforces the size and line limits.
 *
 * Decision on bare line endings (RFC 5321 2.3.8): a CR or LF that is not part of a CRLF pair makes the
 * message rejected (554 5.5.2) after its end; nothing is normalised. Only `CRLF . CRLF` ends the data:
 * `LF . CRLF`, `CR . CR`, `LF . LF` and the like are ordinary content. That is the SMTP smuggling defence:
 * a message that tries to end itself in a way another server would honour cannot end here, and since it
 * contains a bare line ending it is rejected whole, so no second message can be smuggled in.
 *
 * Contract: `push` consumes a chunk and returns `done: false` until the end-of-data line, then the
 * un-stuffed body (CRLF line endings, without the final `.` line), the first problem found if any, and
 * the bytes after the end (pipelined commands). Memory stays bounded by the size limit: after a problem
 * nothing more is kept.
 */

export type DataProblem = 'too-big' | 'line-too-long' | 'bare-line-ending';

export type DataStep =
  | { readonly done: false }
  | {
      readonly done: true;
      readonly body: Uint8Array;
      readonly problem?: DataProblem;
      readonly rest: Uint8Array;
    };

export interface DataLimits {
  /** Largest body in octets after un-stuffing. */
  readonly maxBytes: number;
  /** Longest line in octets, CRLF and any stuffing dot included. */
  readonly maxLine: number;
}

const LF = 0x0a;
const CR = 0x0d;
const DOT = 0x2e;

export class DataReader {
  private readonly parts: Uint8Array[] = [];
  private size = 0;
  /** Pieces of the current line so far, while it is within the limit. */
  private line: Uint8Array[] = [];
  private lineLength = 0;
  /** The last two bytes received, to pair a CR at the end of one chunk with an LF starting the next. */
  private last = -1;
  private beforeLast = -1;
  /** The previous line ended with CRLF (the DATA command's own CRLF counts for the first line). */
  private afterCrlf = true;
  private problem: DataProblem | undefined;

  constructor(private readonly limits: DataLimits) {}

  push(chunk: Uint8Array): DataStep {
    let pos = 0;
    while (pos < chunk.length) {
      const lf = chunk.indexOf(LF, pos);
      const piece = chunk.subarray(pos, lf < 0 ? chunk.length : lf + 1);
      this.scanBareCr(piece, lf >= 0);
      this.append(piece);
      pos += piece.length;
      if (lf >= 0 && this.endLine()) {
        const step: DataStep = {
          done: true,
          body: this.body(),
          rest: chunk.subarray(pos),
          ...(this.problem === undefined ? {} : { problem: this.problem }),
        };
        return step;
      }
    }
    return { done: false };
  }

  /** A CR is legitimate only directly before an LF; anything else is a bare CR. */
  private scanBareCr(piece: Uint8Array, endsWithLf: boolean): void {
    if (piece.length === 0) return;
    if (this.last === CR && piece[0] !== LF) this.flag('bare-line-ending');
    const limit = endsWithLf ? piece.length - 2 : piece.length - 1;
    for (let i = piece.indexOf(CR); i >= 0 && i < limit; i = piece.indexOf(CR, i + 1))
      this.flag('bare-line-ending');
    this.beforeLast = piece.length >= 2 ? piece[piece.length - 2]! : this.last;
    this.last = piece[piece.length - 1]!;
  }

  private append(piece: Uint8Array): void {
    this.lineLength += piece.length;
    if (this.lineLength > this.limits.maxLine) {
      this.flag('line-too-long');
      this.line = [];
      return;
    }
    this.line.push(piece);
  }

  /** Handles a complete line (its LF was the last byte scanned); true when it ended the data. */
  private endLine(): boolean {
    const length = this.lineLength;
    const line = length > this.limits.maxLine ? undefined : concat(this.line, length);
    this.line = [];
    this.lineLength = 0;
    const crlf = this.beforeLast === CR;
    const startsAfterCrlf = this.afterCrlf;
    this.afterCrlf = crlf;
    if (!crlf) this.flag('bare-line-ending');
    if (line === undefined) return false;
    // Only CRLF "." CRLF ends the data: the dot line must itself follow a CRLF (smuggling defence).
    if (startsAfterCrlf && crlf && length === 3 && line[0] === DOT) return true;
    // RFC 5321 4.5.2: the client doubled a leading dot; remove one.
    this.keep(line[0] === DOT ? line.subarray(1) : line);
    return false;
  }

  private keep(bytes: Uint8Array): void {
    if (this.problem !== undefined) return;
    this.size += bytes.length;
    if (this.size > this.limits.maxBytes) {
      this.flag('too-big');
      return;
    }
    this.parts.push(bytes);
  }

  private flag(problem: DataProblem): void {
    if (this.problem === undefined) this.problem = problem;
    this.parts.length = 0;
  }

  private body(): Uint8Array {
    // Always a copy: the parts are views of socket chunks.
    return this.problem === undefined ? concat(this.parts, this.size, true) : new Uint8Array(0);
  }
}

function concat(parts: readonly Uint8Array[], length: number, copy = false): Uint8Array {
  if (parts.length === 1 && !copy) return parts[0]!;
  const out = new Uint8Array(length);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
