/**
 * A bounded transcript of one SMTP session for diagnostics: `C:` lines the client wrote, `S:` lines it
 * read, `*` notes from the driver. Message data is never recorded, only its size, and AUTH is not used by
 * this client, so a transcript holds no secrets beyond envelope addresses. Keeps the last `limit` lines.
 */

export class Transcript {
  private readonly limit: number;
  private readonly lines: string[] = [];
  private dropped = 0;

  constructor(limit = 200) {
    this.limit = Math.max(1, limit);
  }

  /** Records the command lines of one write (several when pipelining). */
  client(text: string): void {
    for (const line of text.split('\r\n')) if (line !== '') this.add(`C: ${line}`);
  }

  /** Records a reply as the server sent it, one line per reply line. */
  server(code: number, lines: readonly string[]): void {
    lines.forEach((line, i) =>
      this.add(`S: ${code}${i === lines.length - 1 ? ' ' : '-'}${line}`.trimEnd()),
    );
  }

  /** Message data is elided: its size is what matters when debugging. */
  body(size: number): void {
    this.add(`C: <message data, ${size} octets>`);
  }

  note(text: string): void {
    this.add(`* ${text}`);
  }

  /** The retained lines, oldest first; a marker says how many earlier lines were dropped. */
  toLines(): readonly string[] {
    return this.dropped === 0
      ? [...this.lines]
      : [`* ${this.dropped} earlier lines dropped`, ...this.lines];
  }

  private add(line: string): void {
    // Control characters from a hostile peer must not corrupt a terminal or a log line.
    this.lines.push(printable(line.slice(0, 1000)));
    if (this.lines.length > this.limit) {
      this.lines.shift();
      this.dropped += 1;
    }
  }
}

/** Replaces C0 controls and DEL with `?`. */
function printable(text: string): string {
  let out = '';
  for (const ch of text) {
    const code = ch.codePointAt(0) ?? 0;
    out += code < 0x20 || code === 0x7f ? '?' : ch;
  }
  return out;
}
