/**
 * One real Postfix instance for interop tests and benchmarks, started from its own config directory in a
 * fresh temp directory (`postfix -c DIR start`). Each requested listener is its own smtpd service in
 * master.cf, bound to `address:port` (port 25 unless given), with its own certificate and key, with
 * STARTTLS only up to TLS 1.1 (when asked, to model an outdated server), or with no STARTTLS at all.
 * As a receiver: mail for the given domains is delivered by Postfix's virtual(8) agent into one Maildir
 * that `messages()` reads back, each message with Postfix's `Received:` header stating the TLS version
 * and cipher (`smtpd_tls_received_header = yes`). As a relay (`relay`): mail for the relay domains from
 * 127.0.0.0/8 is accepted without authentication and sent by smtp(8) to one `[address]:port` (transport
 * map, no DNS), over STARTTLS at the `secure` level (the certificate must chain to the given CA and name
 * the given host), with TLS connection reuse (`smtp_tls_connection_reuse`, through tlsproxy(8)).
 *
 * Contract: `startPostfix` resolves once every listener accepts TCP connections, or rejects with an Error
 * carrying Postfix's output and maillog (and stops what it started). Several instances may run at once
 * or one after another: directories, hostnames and syslog names are unique. `stop()` stops the master
 * and every process of this instance, then deletes the directory; a process-exit hook does the same
 * if a test never calls it. Runs as root (Postfix must start as root to bind port 25).
 */
import { execFileSync } from 'node:child_process';
import {
  chownSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import {
  findBinary,
  makeTempDir,
  onProcessExit,
  runOrThrow,
  tcpAccepts,
  waitUntil,
} from './run.js';
import { instanceProcesses, killAll, masterPid } from './postfix-processes.js';

export interface PostfixTls {
  /** PEM certificate chain the listener presents (leaf first). */
  readonly certPem: string;
  readonly keyPem: string;
  /**
   * Offer only TLS 1.0 and 1.1 (OpenSSL security level 0), like an outdated server. A client with a
   * modern profile must fail the handshake.
   */
  readonly insecureLegacyTlsOnly?: boolean;
}

export interface PostfixListener {
  /** A 127.0.0.0/8 address; see addresses.ts. */
  readonly address: string;
  /** Default 25. */
  readonly port?: number;
  /** Absent: the listener does not offer STARTTLS (`smtpd_tls_security_level = none`). */
  readonly tls?: PostfixTls;
}

/** Relaying to one host over verified STARTTLS; see the module header. */
export interface PostfixRelay {
  /** Recipient domains relayed (`relay_domains`). */
  readonly domains: readonly string[];
  /** The host every relayed message goes to: `smtp:[address]:port` in the transport map. */
  readonly address: string;
  readonly port: number;
  /** PEM trust anchor for the host's certificate (`smtp_tls_CAfile`). */
  readonly caPem: string;
  /** The name the host's certificate must carry (TLS policy `secure match=<name>`). */
  readonly certName: string;
}

export interface PostfixOptions {
  /**
   * Domains whose mail is accepted and stored; mail for any other domain is refused (no relay), except
   * the `relay` domains.
   */
  readonly domains: readonly string[];
  readonly listeners: readonly PostfixListener[];
  /** `myhostname`, shown in the banner and the Received header; default unique per instance. */
  readonly hostname?: string;
  /** Extra main.cf parameters, e.g. for using this instance's smtp client as a DANE reference. */
  readonly extraMain?: Readonly<Record<string, string>>;
  readonly relay?: PostfixRelay;
}

export interface PostfixInstance {
  /** The config directory; pass as `-c` or `MAIL_CONFIG` to postfix tools (postqueue, posttls-finger). */
  readonly configDir: string;
  readonly hostname: string;
  /** Raw text of every stored message, oldest first. */
  messages(): string[];
  /** Resolves with the messages once at least `count` are stored; rejects after `timeoutMs`. */
  waitForMessages(count: number, timeoutMs?: number): Promise<string[]>;
  /** Postfix's maillog so far. */
  log(): string;
  stop(): Promise<void>;
}

let instances = 0;

/** The uid that owns delivered mail: virtual(8) refuses uids below 100 and root. */
const MAIL_UID = 65534;
const MAIL_GID = 65534;

function masterCf(listeners: readonly PostfixListener[], tlsDir: string): string {
  const lines: string[] = [];
  listeners.forEach((listener, index) => {
    lines.push(`${listener.address}:${listener.port ?? 25} inet n - n - - smtpd`);
    lines.push(`  -o syslog_name=postfix/listener-${index}`);
    if (listener.tls === undefined) {
      lines.push('  -o smtpd_tls_security_level=none');
      return;
    }
    lines.push('  -o smtpd_tls_security_level=may');
    lines.push(
      `  -o smtpd_tls_chain_files=${path.join(tlsDir, `${index}.key`)},${path.join(tlsDir, `${index}.crt`)}`,
    );
    if (listener.tls.insecureLegacyTlsOnly === true) {
      // OpenSSL 3 allows TLS < 1.2 only at security level 0; Debian's default is level 2.
      lines.push('  -o smtpd_tls_protocols=!SSLv2,!SSLv3,!TLSv1.2,!TLSv1.3');
      lines.push('  -o smtpd_tls_ciphers=medium');
      lines.push('  -o tls_medium_cipherlist=DEFAULT:@SECLEVEL=0');
    }
  });
  // Internal services, none chrooted: a chroot would need copies of /etc files in the temp dir.
  lines.push(
    'pickup    unix  n - n 60 1 pickup',
    'cleanup   unix  n - n - 0 cleanup',
    'qmgr      unix  n - n 300 1 qmgr',
    'tlsmgr    unix  - - n 1000? 1 tlsmgr',
    'tlsproxy  unix  - - n - 0 tlsproxy',
    'rewrite   unix  - - n - - trivial-rewrite',
    'bounce    unix  - - n - 0 bounce',
    'defer     unix  - - n - 0 bounce',
    'trace     unix  - - n - 0 bounce',
    'verify    unix  - - n - 1 verify',
    'flush     unix  n - n 1000? 0 flush',
    'proxymap  unix  - - n - - proxymap',
    'proxywrite unix - - n - 1 proxymap',
    'smtp      unix  - - n - - smtp',
    'relay     unix  - - n - - smtp',
    'showq     unix  n - n - - showq',
    'error     unix  - - n - - error',
    'retry     unix  - - n - - error',
    'discard   unix  - - n - - discard',
    'local     unix  - n n - - local',
    'virtual   unix  - n n - - virtual',
    'lmtp      unix  - - n - - lmtp',
    'anvil     unix  - - n - 1 anvil',
    'scache    unix  - - n - 1 scache',
    'postlog   unix-dgram n - n - 1 postlogd',
  );
  return lines.join('\n') + '\n';
}

/** The main.cf parameters and map files of a relaying instance. */
function relaySettings(
  relay: PostfixRelay,
  configDir: string,
  tlsDir: string,
): Record<string, string> {
  const nexthop = `[${relay.address}]:${relay.port}`;
  writeFileSync(
    path.join(configDir, 'transport'),
    relay.domains.map((d) => `${d} smtp:${nexthop}\n`).join(''),
  );
  // The policy table is keyed by the verbatim next hop of the transport map, brackets and port included.
  writeFileSync(path.join(configDir, 'tls_policy'), `${nexthop} secure match=${relay.certName}\n`);
  writeFileSync(path.join(tlsDir, 'relay-ca.pem'), relay.caPem, { mode: 0o644 });
  return {
    relay_domains: relay.domains.join(' '),
    transport_maps: `texthash:${path.join(configDir, 'transport')}`,
    smtp_tls_policy_maps: `texthash:${path.join(configDir, 'tls_policy')}`,
    smtp_tls_CAfile: path.join(tlsDir, 'relay-ca.pem'),
    smtp_tls_connection_reuse: 'yes',
    smtp_tls_loglevel: '1',
    // The next hop is an address literal: nothing to look up, and no resolver to ask.
    smtp_dns_support_level: 'disabled',
  };
}

function mainCf(
  dir: string,
  hostname: string,
  serial: number,
  options: PostfixOptions,
  relay: Record<string, string>,
): string {
  const settings: Record<string, string> = {
    compatibility_level: '3.6',
    queue_directory: path.join(dir, 'spool'),
    data_directory: path.join(dir, 'data'),
    // Without a maillog_file under an allowed prefix Postfix logs to a syslog that does not exist.
    maillog_file: path.join(dir, 'log', 'maillog'),
    maillog_file_prefixes: dir,
    syslog_name: `postfix-interop-${serial}`,
    myhostname: hostname,
    mydomain: 'interop.test',
    myorigin: '$myhostname',
    mydestination: '',
    relay_domains: '',
    // Ports are bound per service in master.cf; an unconfigured address here would stop Postfix.
    inet_interfaces: 'all',
    inet_protocols: 'ipv4',
    mynetworks: '127.0.0.0/8',
    alias_maps: '',
    alias_database: '',
    local_recipient_maps: '',
    // No reverse DNS for clients: the machine has no usable system resolver for 127.x names.
    smtpd_peername_lookup: 'no',
    smtpd_banner: '$myhostname ESMTP',
    smtpd_relay_restrictions: 'reject_unauth_destination',
    smtpd_tls_received_header: 'yes',
    smtpd_tls_loglevel: '1',
    smtpd_tls_security_level: 'none',
    smtp_dns_support_level: 'dnssec',
    virtual_mailbox_domains: options.domains.join(' '),
    virtual_mailbox_base: path.join(dir, 'mail'),
    // Every recipient of every domain lands in one Maildir (trailing slash = Maildir format).
    virtual_mailbox_maps: 'static:inbox/',
    virtual_uid_maps: `static:${MAIL_UID}`,
    virtual_gid_maps: `static:${MAIL_GID}`,
    biff: 'no',
    append_dot_mydomain: 'no',
    ...relay,
    ...options.extraMain,
  };
  return (
    Object.entries(settings)
      .map(([key, value]) => `${key} = ${value}`)
      .join('\n') + '\n'
  );
}

function readMaildir(dir: string): string[] {
  const inbox = path.join(dir, 'mail', 'inbox', 'new');
  if (!existsSync(inbox)) return [];
  return readdirSync(inbox)
    .map((name) => {
      const file = path.join(inbox, name);
      return { file, time: statSync(file).mtimeMs, name };
    })
    .sort((a, b) => a.time - b.time || a.name.localeCompare(b.name))
    .map(({ file }) => readFileSync(file, 'utf8'));
}

function readLog(dir: string): string {
  const file = path.join(dir, 'log', 'maillog');
  return existsSync(file) ? readFileSync(file, 'utf8') : '';
}

/** Starts one Postfix instance; see the module header for the contract. */
export async function startPostfix(options: PostfixOptions): Promise<PostfixInstance> {
  if (options.listeners.length === 0)
    throw new Error('startPostfix: at least one listener is required');
  instances += 1;
  const serial = instances;
  const hostname = options.hostname ?? `mx-${process.pid}-${serial}.interop.test`;
  const dir = makeTempDir('postfix');
  const configDir = path.join(dir, 'etc');
  const tlsDir = path.join(dir, 'tls');
  for (const sub of ['etc', 'tls', 'spool', 'data', 'log', 'mail'])
    mkdirSync(path.join(dir, sub), { mode: 0o755 });
  chownSync(path.join(dir, 'mail'), MAIL_UID, MAIL_GID);
  // The master takes its lock in data_directory after dropping to the mail_owner user.
  const owner = postfixOwner();
  chownSync(path.join(dir, 'data'), owner.uid, owner.gid);
  options.listeners.forEach((listener, index) => {
    if (listener.tls === undefined) return;
    writeFileSync(path.join(tlsDir, `${index}.crt`), listener.tls.certPem, { mode: 0o644 });
    writeFileSync(path.join(tlsDir, `${index}.key`), listener.tls.keyPem, { mode: 0o600 });
  });
  const relay = options.relay === undefined ? {} : relaySettings(options.relay, configDir, tlsDir);
  writeFileSync(path.join(configDir, 'main.cf'), mainCf(dir, hostname, serial, options, relay));
  writeFileSync(path.join(configDir, 'master.cf'), masterCf(options.listeners, tlsDir));

  let stopped = false;
  const stopSync = (): void => {
    if (stopped) return;
    stopped = true;
    const postfix = findBinary('postfix');
    if (postfix !== undefined) {
      try {
        execFileSync(postfix, ['-c', configDir, 'abort'], { stdio: 'ignore', timeout: 30_000 });
      } catch {
        // not running, or already gone
      }
    }
    killAll(instanceProcesses(configDir));
    rmSync(dir, { recursive: true, force: true });
  };
  const unhook = onProcessExit(stopSync);

  const stop = async (): Promise<void> => {
    if (stopped) return;
    unhook();
    const master = masterPid(path.join(dir, 'spool'));
    await runOrThrow('postfix', ['-c', configDir, 'stop']).catch(() => undefined);
    // `postfix stop` only signals the master; wait until it and its children are really gone so the
    // next instance can bind the same addresses.
    await waitUntil(
      'postfix stop',
      async () =>
        Promise.resolve(
          instanceProcesses(configDir).length === 0 && (master === undefined || !alive(master)),
        ),
      () => undefined,
      30_000,
    ).catch(() => undefined);
    stopSync();
  };

  try {
    await runOrThrow('postfix', ['-c', configDir, 'start']);
    for (const listener of options.listeners) {
      const port = listener.port ?? 25;
      await waitUntil(
        `postfix listener ${listener.address}:${port}`,
        () => tcpAccepts(listener.address, port),
        () => undefined,
      );
    }
  } catch (error) {
    const log = readLog(dir);
    await stop();
    throw new Error(
      `${error instanceof Error ? error.message : String(error)}\n--- maillog ---\n${log}`,
    );
  }

  return {
    configDir,
    hostname,
    messages: () => readMaildir(dir),
    waitForMessages: async (count, timeoutMs = 60_000) => {
      await waitUntil(
        `postfix ${hostname}: ${count} message(s) stored`,
        () => Promise.resolve(readMaildir(dir).length >= count),
        () => (stopped ? 'instance stopped' : undefined),
        timeoutMs,
      ).catch((error: unknown) => {
        throw new Error(
          `${error instanceof Error ? error.message : String(error)}\n--- maillog ---\n${readLog(dir)}`,
        );
      });
      return readMaildir(dir);
    },
    log: () => readLog(dir),
    stop,
  };
}

/** uid/gid of the `postfix` account (mail_owner), from /etc/passwd. */
function postfixOwner(): { uid: number; gid: number } {
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('postfix:'));
  const fields = line?.split(':') ?? [];
  const uid = Number(fields[2]);
  const gid = Number(fields[3]);
  if (!Number.isInteger(uid) || !Number.isInteger(gid))
    throw new Error('no postfix account in /etc/passwd: run .ci/install-deps.sh');
  return { uid, gid };
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The TLS facts of the first `Received:` header Postfix added, or undefined when it says no TLS. */
export function receivedTls(
  message: string,
): { readonly version: string; readonly cipher: string } | undefined {
  const header = /^Received:[^\n]*(?:\n[ \t][^\n]*)*/m.exec(message)?.[0] ?? '';
  const match = /\(using (\S+) with cipher (\S+)/.exec(header);
  if (match === null) return undefined;
  return { version: match[1] ?? '', cipher: match[2] ?? '' };
}
