/**
 * Writes the mxsec configuration files an interop test runs `mxsec` with: one file per variant, each
 * pointing at the test's validating resolver, trusting the test CA (`tls.ca-file`) and keeping its data
 * directory inside `dir`, followed by the variant's own TOML lines (which start with a table header).
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';

export function writeMxsecConfigs<V extends string>(
  dir: string,
  setup: { readonly resolver: string; readonly caPem: string },
  variants: Readonly<Record<V, readonly string[]>>,
): Map<V, string> {
  const caFile = path.join(dir, 'ca.pem');
  writeFileSync(caFile, setup.caPem);
  const base = [
    '[resolver]',
    `nameservers = ["${setup.resolver}:53"]`,
    'timeout = "10s"',
    '[tls]',
    `ca-file = ${JSON.stringify(caFile)}`,
    '[storage]',
    `data-dir = ${JSON.stringify(path.join(dir, 'data'))}`,
  ];
  const files = new Map<V, string>();
  for (const [name, lines] of Object.entries(variants) as [V, readonly string[]][]) {
    const file = path.join(dir, `${name}.toml`);
    writeFileSync(file, [...base, ...lines, ''].join('\n'));
    files.set(name, file);
  }
  return files;
}
