/** Process exit codes, from sysexits.h where one fits, so scripts and service managers can react. */
export const EXIT = {
  ok: 0,
  /** `config check --strict` found warnings. */
  warnings: 1,
  usage: 64,
  /** All remaining recipients failed permanently. */
  unavailable: 69,
  software: 70,
  /** At least one recipient failed temporarily. */
  tempfail: 75,
  config: 78,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];
