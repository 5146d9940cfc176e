/**
 * Splits the client's byte stream into command lines (RFC 5321 2.3.8, 4.1.1) with a length limit, and
 * hands the unread remainder over when the stream changes meaning: to the DATA reader after 354, or to
 * nothing at all after STARTTLS (RFC 3207 6: pipelined plaintext must not survive into the TLS session).
 *
 * Contract: `push` buffers bytes; `next` returns one complete line at a time (CRLF removed, a bare LF
 * also ends a command line), `too-long` once for a line over `maxLine` octets (the line is skipped up to
 * its LF), or undefined when no complete line is buffered. Memory stays bounded by `maxLine`.
 */

export type LineEvent =
  { readonly kind: 'line'; readonly line: string } | { readonly kind: 'too-long' };

const LF = 0x0a;
const CR = 0x0d;
const decoder = new TextDecoder('utf-8');

export class LineSplitter {
  private buffer: Uint8Array = new Uint8Array(0);
  /** True while skipping the rest of an over-long line; its `too-long` event is already given. */
  private skipping = false;

  /** @param maxLine longest accepted line in octets, CRLF included. */
  constructor(private readonly maxLine: number) {}

  push(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    if (this.buffer.length === 0) {
      this.buffer = chunk;
      return;
    }
    const joined = new Uint8Array(this.buffer.length + chunk.length);
    joined.set(this.buffer, 0);
    joined.set(chunk, this.buffer.length);
    this.buffer = joined;
  }

  next(): LineEvent | undefined {
    for (;;) {
      const lf = this.buffer.indexOf(LF);
      if (this.skipping) {
        if (lf < 0) {
          this.buffer = new Uint8Array(0);
          return undefined;
        }
        this.buffer = this.buffer.subarray(lf + 1);
        this.skipping = false;
        continue;
      }
      if (lf < 0) {
        if (this.buffer.length < this.maxLine) return undefined;
        // Over the limit with no end in sight: report now so memory stays bounded, skip to the LF.
        this.skipping = true;
        return { kind: 'too-long' };
      }
      const raw = this.buffer.subarray(0, lf + 1);
      this.buffer = this.buffer.subarray(lf + 1);
      if (raw.length > this.maxLine) return { kind: 'too-long' };
      const end = raw.length >= 2 && raw[raw.length - 2] === CR ? raw.length - 2 : raw.length - 1;
      return { kind: 'line', line: decoder.decode(raw.subarray(0, end)) };
    }
  }

  /** Removes and returns every buffered byte not yet returned as a line. */
  takeRest(): Uint8Array {
    const rest = this.skipping ? new Uint8Array(0) : this.buffer;
    this.buffer = new Uint8Array(0);
    this.skipping = false;
    return rest;
  }

  get buffered(): number {
    return this.buffer.length;
  }
}
