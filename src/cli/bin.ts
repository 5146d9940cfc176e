#!/usr/bin/env node
/** The executable entry point: runs `main` with the process arguments and sets the exit code. */
import { EXIT } from './exit-codes.js';
import { main } from './main.js';

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(
      `mxsec: internal error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exitCode = EXIT.software;
  },
);
