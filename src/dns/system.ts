/**
 * The adapter that reads the host's /etc/resolv.conf for the default nameservers. When the file is
 * missing, unreadable or names no usable server, the default is the local resolver `127.0.0.1:53`, as the
 * C library does (resolv.conf(5)), which is also the only place whose AD bit we trust by default.
 */
import { readFile } from 'node:fs/promises';
import { readResolvConf } from './resolv-conf.js';

export const DEFAULT_RESOLV_CONF = '/etc/resolv.conf';

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
