/**
 * A scriptable DNS server for tests, playing the validating recursive resolver a mail server talks to.
 * It listens on loopback UDP and TCP on the same port (ephemeral by default) and answers from a zone
 * given as data: records per name and type (A, AAAA, MX, TXT, TLSA, CNAME), NXDOMAIN for unknown names,
 * NODATA with an SOA (RFC 2308) for known names without the type. CNAMEs are followed within the answer
 * as a recursive resolver would. Per name, a test can make it misbehave: truncate UDP answers, answer
 * late, never answer, SERVFAIL, refuse, fail DNSSEC validation (`bogus`: SERVFAIL unless CD is set), send
 * spoofed decoys first, or set the AD bit. Every query is logged so tests can assert what was asked and
 * over which transport. The zone object is read live on every query: tests may change it between steps.
 * `close()` releases both sockets, every client connection and every pending delayed answer.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import dnsPacket from 'dns-packet';
import type { Answer, DecodedPacket } from 'dns-packet';
import { buildReply } from './dns-server-answer.js';
import type { TestZone } from './dns-server-answer.js';

export type { TestBehaviour, TestName, TestTlsa, TestZone } from './dns-server-answer.js';

export interface DnsServerOptions {
  readonly zone: TestZone;
  /** Loopback address to listen on; default `127.0.0.1` (`::1` for IPv6 tests). */
  readonly address?: string;
  /** Default 0: an ephemeral port shared by UDP and TCP. */
  readonly port?: number;
  /** AD bit on answers of names that do not say otherwise; default false. */
  readonly ad?: boolean;
  /** SOA MINIMUM (and SOA TTL) sent with negative answers; default 300 s. */
  readonly negativeTtl?: number;
}

export interface QueryRecord {
  /** Lower-case, no trailing dot. */
  readonly name: string;
  readonly type: string;
  readonly transport: 'udp' | 'tcp';
  /** The CD (checking disabled) bit of the query. */
  readonly cd: boolean;
  /** The EDNS DO bit of the query. */
  readonly dnssecOk: boolean;
}

export interface QueryLog {
  /** Every query received, in arrival order. */
  readonly all: readonly QueryRecord[];
  /** How many queries for `name` (any case, trailing dot optional), optionally of a type and transport. */
  count(name: string, type?: string, transport?: 'udp' | 'tcp'): number;
}

export interface TestDnsServer {
  readonly address: string;
  readonly port: number;
  /** `host:port` ready for `ResolverSettings.nameservers` (`[::1]:port` for IPv6). */
  readonly nameserver: string;
  /** The live zone: changes apply to the next query. */
  readonly zone: TestZone;
  readonly queries: QueryLog;
  close(): Promise<void>;
}

/** Starts the server; resolves once both UDP and TCP listen on the same port. */
export async function startDnsServer(options: DnsServerOptions): Promise<TestDnsServer> {
  const address = options.address ?? '127.0.0.1';
  const log: QueryRecord[] = [];
  const timers = new Set<NodeJS.Timeout>();
  const connections = new Set<net.Socket>();

  const handle = (
    packet: DecodedPacket,
    transport: 'udp' | 'tcp',
    send: (bytes: Buffer) => void,
  ): void => {
    const question = packet.questions?.[0];
    const opt = (packet.additionals ?? []).find((a: Answer) => a.type === 'OPT');
    if (question !== undefined) {
      log.push({
        name: normalize(question.name),
        type: question.type,
        transport,
        cd: packet.flag_cd,
        dnssecOk: opt !== undefined && opt.type === 'OPT' && opt.flag_do,
      });
    }
    const plan = buildReply(packet, transport, {
      zone: options.zone,
      ad: options.ad ?? false,
      negativeTtl: options.negativeTtl ?? 300,
    });
    if (plan === undefined) return;
    const deliver = (): void => {
      for (const bytes of plan.messages) send(bytes);
    };
    if (plan.delayMs <= 0) return deliver();
    const timer = setTimeout(() => {
      timers.delete(timer);
      deliver();
    }, plan.delayMs);
    timers.add(timer);
  };

  const { udp, tcp } = await listenBoth(address, options.port ?? 0);
  udp.on('message', (message, from) => {
    const packet = decodeQuery(message);
    if (packet === undefined) return;
    handle(packet, 'udp', (bytes) => udp.send(bytes, from.port, from.address));
  });
  tcp.on('connection', (socket) => {
    connections.add(socket);
    socket.on('close', () => connections.delete(socket));
    socket.on('error', () => socket.destroy());
    let buffered = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      while (buffered.length >= 2 && buffered.length >= 2 + buffered.readUInt16BE(0)) {
        const length = buffered.readUInt16BE(0);
        const packet = decodeQuery(buffered.subarray(2, 2 + length));
        buffered = buffered.subarray(2 + length);
        if (packet === undefined) continue;
        handle(packet, 'tcp', (bytes) => {
          if (socket.destroyed) return;
          const prefix = Buffer.alloc(2);
          prefix.writeUInt16BE(bytes.length, 0);
          socket.write(Buffer.concat([prefix, bytes]));
        });
      }
    });
  });

  const port = udp.address().port;
  const queries: QueryLog = {
    all: log,
    count: (name, type, transport) =>
      log.filter(
        (q) =>
          q.name === normalize(name) &&
          (type === undefined || q.type === type) &&
          (transport === undefined || q.transport === transport),
      ).length,
  };
  return {
    address,
    port,
    nameserver: address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`,
    zone: options.zone,
    queries,
    close: async () => {
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      for (const socket of connections) socket.destroy();
      await Promise.all([
        new Promise<void>((resolve) => udp.close(() => resolve())),
        new Promise<void>((resolve) => tcp.close(() => resolve())),
      ]);
    },
  };
}

function decodeQuery(bytes: Buffer): DecodedPacket | undefined {
  try {
    const packet = dnsPacket.decode(bytes);
    return packet.flag_qr ? undefined : packet;
  } catch {
    return undefined;
  }
}

function normalize(name: string): string {
  const lower = name.toLowerCase();
  return lower.endsWith('.') ? lower.slice(0, -1) : lower;
}

/**
 * Binds UDP first, then TCP on the port UDP got. With an ephemeral port the TCP port may be taken by
 * someone else; we then start over with a new UDP port, a bounded number of times.
 */
async function listenBoth(
  address: string,
  port: number,
): Promise<{ udp: dgram.Socket; tcp: net.Server }> {
  let lastError: unknown;
  for (let tries = 0; tries < (port === 0 ? 20 : 1); tries += 1) {
    const udp = dgram.createSocket(address.includes(':') ? 'udp6' : 'udp4');
    try {
      await new Promise<void>((resolve, reject) => {
        udp.once('error', reject);
        udp.bind(port, address, () => {
          udp.off('error', reject);
          resolve();
        });
      });
    } catch (error) {
      lastError = error;
      udp.close();
      continue;
    }
    const tcp = net.createServer();
    try {
      await new Promise<void>((resolve, reject) => {
        tcp.once('error', reject);
        tcp.listen(udp.address().port, address, () => {
          tcp.off('error', reject);
          resolve();
        });
      });
      return { udp, tcp };
    } catch (error) {
      lastError = error;
      udp.close();
    }
  }
  throw lastError instanceof Error ? lastError : new Error('could not bind the test DNS server');
}
