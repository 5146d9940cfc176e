/**
 * Terminal output helpers: colour only when writing to a terminal (and NO_COLOR is unset), so piped
 * output and logs stay plain text.
 */
import type { Writable } from 'node:stream';

export interface Out {
  readonly stdout: Writable & { isTTY?: boolean };
  readonly stderr: Writable & { isTTY?: boolean };
}

export const processOut: Out = { stdout: process.stdout, stderr: process.stderr };

const CODES = { red: 31, green: 32, yellow: 33, bold: 1, dim: 2 } as const;
export type Colour = keyof typeof CODES;

export function paint(stream: { isTTY?: boolean }, colour: Colour, text: string): string {
  if (stream.isTTY !== true || process.env['NO_COLOR'] !== undefined) return text;
  return `\u001b[${CODES[colour]}m${text}\u001b[0m`;
}

export function line(stream: Writable, text = ''): void {
  stream.write(`${text}\n`);
}
