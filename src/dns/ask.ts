/**
 * Asks one question of a list of nameservers: `attempts` rounds over the list, UDP first and the same
 * question again over TCP when the UDP reply is truncated (RFC 7766 section 5). A fresh random id is used
 * for every try (RFC 5452 section 9.2). The first NOERROR or NXDOMAIN reply wins. A server that answers
 * with another rcode (SERVFAIL, REFUSED...) has spoken: it is not asked again, the next server is; if no
 * server gives a usable reply, the last such reply is returned for the caller to interpret, and only
 * when nobody replied at all is the last transport failure returned. Never rejects.
 */
import type { NameserverAddress } from './names.js';
import type { QueryMessage, Reply } from './packet.js';
import { exchangeTcp, exchangeUdp } from './transport.js';
import type { Exchange, ExchangeFailureKind, Transport } from './transport.js';

export interface AskSettings {
  readonly servers: readonly NameserverAddress[];
  readonly timeoutMs: number;
  readonly attempts: number;
  /** A 16-bit query id; must be unpredictable to an off-path attacker. */
  readonly newId: () => number;
}

export type AskResult =
  | {
      readonly ok: true;
      readonly reply: Reply;
      readonly server: NameserverAddress;
      readonly transport: Transport;
    }
  | {
      readonly ok: false;
      readonly kind: ExchangeFailureKind;
      readonly message: string;
      readonly server?: NameserverAddress;
    };

/** The two transports, replaceable for tests of this module only. */
export interface Transports {
  readonly udp: Exchange;
  readonly tcp: Exchange;
}

const REAL_TRANSPORTS: Transports = { udp: exchangeUdp, tcp: exchangeTcp };

export async function ask(
  settings: AskSettings,
  question: Omit<QueryMessage, 'id'>,
  transports: Transports = REAL_TRANSPORTS,
): Promise<AskResult> {
  if (settings.servers.length === 0)
    return { ok: false, kind: 'network', message: 'no nameserver configured' };
  let lastFailure: AskResult | undefined;
  let lastRcodeReply: AskResult | undefined;
  const spoken = new Set<NameserverAddress>();
  for (let round = 0; round < Math.max(1, settings.attempts); round += 1) {
    for (const server of settings.servers) {
      if (spoken.has(server)) continue;
      const result = await askOne(settings, question, server, transports);
      if (!result.ok) {
        lastFailure = result;
        continue;
      }
      if (result.reply.rcode === 'NOERROR' || result.reply.rcode === 'NXDOMAIN') return result;
      spoken.add(server);
      lastRcodeReply = result;
    }
    if (spoken.size === settings.servers.length) break;
  }
  return lastRcodeReply ?? lastFailure ?? { ok: false, kind: 'timeout', message: 'no reply' };
}

async function askOne(
  settings: AskSettings,
  question: Omit<QueryMessage, 'id'>,
  server: NameserverAddress,
  transports: Transports,
): Promise<AskResult> {
  const udp = await transports.udp(
    server,
    { ...question, id: settings.newId() },
    settings.timeoutMs,
  );
  if (!udp.ok) return { ...udp, server };
  if (!udp.reply.truncated) return { ok: true, reply: udp.reply, server, transport: 'udp' };
  // A truncated reply is incomplete by definition; only the TCP answer may be used.
  const tcp = await transports.tcp(
    server,
    { ...question, id: settings.newId() },
    settings.timeoutMs,
  );
  if (!tcp.ok) return { ...tcp, server };
  return { ok: true, reply: tcp.reply, server, transport: 'tcp' };
}
