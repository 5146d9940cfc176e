/**
 * Reads the `nameserver` lines of a resolv.conf(5) text into `host:port` strings for `ResolverSettings`.
 * Pure; lines that are not a usable IP address (hostnames, garbage) are skipped, never an error, because
 * a partly broken resolv.conf should still give us the servers it does name. The file itself is read by
 * `system.ts`.
 */
import { formatNameserver, parseNameserver } from './names.js';

/** resolv.conf(5): the resolver uses at most this many nameservers (MAXNS). */
export const MAX_NAMESERVERS = 3;

/** `nameserver 192.0.2.1` -> `192.0.2.1:53`, `nameserver ::1` -> `[::1]:53`, in file order, at most 3. */
export function readResolvConf(text: string): string[] {
  const servers: string[] = [];
  for (const rawLine of text.split(/\r?\n/)) {
    const line = rawLine.replace(/[#;].*$/, '').trim();
    const [keyword, value, ...extra] = line.split(/\s+/);
    if (keyword !== 'nameserver' || value === undefined || extra.length > 0) continue;
    // A link-local scope (`fe80::1%eth0`) cannot be written in `[host]:port` form that sockets accept
    // portably; such servers are skipped rather than half-supported.
    if (value.includes('%')) continue;
    const address = value.includes(':') ? parseNameserver(`[${value}]`) : parseNameserver(value);
    if (address === undefined) continue;
    const spelled = formatNameserver(address);
    if (!servers.includes(spelled)) servers.push(spelled);
    if (servers.length === MAX_NAMESERVERS) break;
  }
  return servers;
}
