/**
 * The streams a command talks to, and terminal output helpers: colour only when writing to a terminal
 * (and NO_COLOR is unset), so piped output and logs stay plain text. Commands read and write only
 * through `Out`, so tests run them in-process with captured output and given input.
 */
import type { Writable } from 'node:stream';

export interface Out {
  /** Input for commands that read it (`mxsec send` reads the message here). */
  readonly stdin: NodeJS.ReadableStream;
  readonly stdout: Writable & { isTTY?: boolean };
  readonly stderr: Writable & { isTTY?: boolean };
}

export const processOut: Out = {
  stdin: process.stdin,
  stdout: process.stdout,
  stderr: process.stderr,
};

const CODES = { red: 31, green: 32, yellow: 33, bold: 1, dim: 2 } as const;
export type Colour = keyof typeof CODES;

export function paint(stream: { isTTY?: boolean }, colour: Colour, text: string): string {
  if (stream.isTTY !== true || process.env['NO_COLOR'] !== undefined) return text;
  return `\u001b[${CODES[colour]}m${text}\u001b[0m`;
}

export function line(stream: Writable, text = ''): void {
  stream.write(`${text}\n`);
}
