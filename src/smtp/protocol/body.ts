/**
 * Message data encoding for the DATA command (RFC 5321 4.5.2 and 2.3.8): every line ending becomes CRLF
 * (a bare LF or a bare CR would otherwise be interpreted differently by different servers, the root of
 * SMTP smuggling), a line starting with `.` gets a second `.`, and the data ends with `CRLF.CRLF`.
 *
 * Streaming: `DataEncoder` takes chunks of any size and is correct across chunk boundaries (a CR at the
 * end of one chunk followed by LF at the start of the next is one line ending). It keeps one byte of
 * state (the pending CR) and a flag for "at start of line". Pure; never throws.
 */

const CR = 0x0d;
const LF = 0x0a;
const DOT = 0x2e;
const TERMINATOR_AFTER_EOL = new Uint8Array([DOT, CR, LF]);

/** Encodes message data chunk by chunk into the wire form of the DATA phase. */
export class DataEncoder {
  private atLineStart = true;
  private pendingCr = false;

  /** Encodes one chunk. The output may lag the input by one pending CR. */
  write(chunk: Uint8Array): Uint8Array {
    // Worst case every byte becomes two (LF -> CRLF, or dot-stuffing), plus a pending CR.
    const out = new Uint8Array(chunk.length * 2 + 2);
    let n = 0;
    for (const byte of chunk) {
      if (this.pendingCr) {
        this.pendingCr = false;
        out[n++] = CR;
        out[n++] = LF;
        this.atLineStart = true;
        if (byte === LF) continue; // the CRLF we just wrote was this pair
      }
      if (byte === CR) {
        this.pendingCr = true;
        continue;
      }
      if (byte === LF) {
        out[n++] = CR;
        out[n++] = LF;
        this.atLineStart = true;
        continue;
      }
      if (this.atLineStart && byte === DOT) out[n++] = DOT;
      out[n++] = byte;
      this.atLineStart = false;
    }
    return out.subarray(0, n);
  }

  /** Flushes state and returns the terminator: adds the missing final CRLF, then `.CRLF`. */
  end(): Uint8Array {
    const parts: number[] = [];
    if (this.pendingCr) {
      parts.push(CR, LF);
      this.atLineStart = true;
      this.pendingCr = false;
    }
    if (!this.atLineStart) parts.push(CR, LF);
    this.atLineStart = true;
    return Uint8Array.from([...parts, ...TERMINATOR_AFTER_EOL]);
  }
}

/** Encodes a whole message at once. */
export function encodeData(body: Uint8Array): Uint8Array {
  const encoder = new DataEncoder();
  const head = encoder.write(body);
  const tail = encoder.end();
  const out = new Uint8Array(head.length + tail.length);
  out.set(head, 0);
  out.set(tail, head.length);
  return out;
}

/**
 * The message size as RFC 1870 section 3 wants it for `SIZE=`: octets with CRLF line endings, before
 * dot-stuffing and without the terminator. Computed without allocating.
 */
export function messageSize(body: Uint8Array): number {
  let size = 0;
  let pendingCr = false;
  let atLineStart = true;
  for (const byte of body) {
    if (pendingCr) {
      pendingCr = false;
      size += 2;
      atLineStart = true;
      if (byte === LF) continue;
    }
    if (byte === CR) {
      pendingCr = true;
    } else if (byte === LF) {
      size += 2;
      atLineStart = true;
    } else {
      size += 1;
      atLineStart = false;
    }
  }
  if (pendingCr) size += 2;
  else if (!atLineStart) size += 2;
  return size;
}
