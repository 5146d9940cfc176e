/**
 * Runs CLI commands in-process with captured output, so command tests assert on exactly what a user
 * would see and on the exit code without spawning processes. Standard input is the given bytes (empty
 * by default), never the test runner's own stdin, so a command that reads it cannot hang a test.
 */
import { Readable, Writable } from 'node:stream';
import { main } from '../../src/cli/main.js';

export interface Captured {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

function sink(chunks: string[]): Writable {
  return new Writable({
    write(chunk: Buffer | string, _encoding, callback) {
      chunks.push(chunk.toString());
      callback();
    },
  });
}

/** Runs `mxsec <argv>`; `input` is what the command reads from standard input. */
export async function runCli(
  argv: readonly string[],
  input: string | Uint8Array = '',
): Promise<Captured> {
  const out: string[] = [];
  const err: string[] = [];
  const stdin = Readable.from([Buffer.from(input)]);
  const code = await main(argv, { stdin, stdout: sink(out), stderr: sink(err) });
  return { code, stdout: out.join(''), stderr: err.join('') };
}
