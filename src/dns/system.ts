/**
 * The adapter that reads the host's /etc/resolv.conf to build default `ResolverSettings`. When the file is
 * missing, unreadable or names no usable server, the default is the local resolver `127.0.0.1:53`, as the
 * C library does (resolv.conf(5)), which is also the only place whose AD bit we trust by default.
 */
import { readFile } from 'node:fs/promises';
import type { ResolverSettings } from './types.js';
import { readResolvConf } from './resolv-conf.js';

export const DEFAULT_RESOLV_CONF = '/etc/resolv.conf';

/** Defaults close to resolv.conf(5) (timeout 5 s, 2 attempts); AD trusted only from loopback. */
export const DEFAULT_RESOLVER_SETTINGS: Omit<ResolverSettings, 'nameservers'> = {
  timeoutMs: 5000,
  attempts: 2,
  trustAd: false,
};

/** The nameservers of resolv.conf, or `['127.0.0.1:53']` when it names none or cannot be read. */
export async function systemNameservers(path: string = DEFAULT_RESOLV_CONF): Promise<string[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    return ['127.0.0.1:53'];
  }
  const servers = readResolvConf(text);
  return servers.length > 0 ? servers : ['127.0.0.1:53'];
}

/** Resolver settings from the system configuration, with `overrides` applied on top. */
export async function systemResolverSettings(
  overrides: Partial<ResolverSettings> = {},
  path: string = DEFAULT_RESOLV_CONF,
): Promise<ResolverSettings> {
  const nameservers = overrides.nameservers ?? await systemNameservers(path);
  return { ...DEFAULT_RESOLVER_SETTINGS, ...overrides, nameservers };
}
