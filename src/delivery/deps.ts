/**
 * What a delivery needs from outside, as one bundle of adapters and settings: configuration, the DNS
 * resolver, the trust store, MTA-STS discovery, clock and randomness, the connection strategy's EHLO
 * name and timeouts, and optionally a pool of idle sessions. Built by `runtime.ts` for the commands and
 * the relay, and by the test environment; the delivery code only reads it.
 */
import type { MxsecConfig } from '../config/types.js';
import type { Resolver } from '../dns/types.js';
import type { MtaStsLookup } from '../mtasts/resolve.js';
import type { SmtpSession } from '../smtp/session.js';
import type { SmtpTimeouts } from '../smtp/timeouts.js';
import type { TrustStore } from '../tls/trust-store.js';
import type { ConnectionPool } from './pool.js';
import type { SessionFacts } from './session.js';

export interface DeliveryDeps {
  readonly config: MxsecConfig;
  readonly resolver: Resolver;
  readonly trust: TrustStore;
  /** MTA-STS discovery for a domain, bounded by the strategy's `timeout.mta-sts`. */
  readonly mtaSts: (domain: string, timeoutMs: number) => Promise<MtaStsLookup>;
  readonly now: () => Date;
  readonly random: () => number;
  readonly ehloName: string;
  readonly timeouts: SmtpTimeouts;
  /** 25 except in tests. */
  readonly port: number;
  readonly maxMxHosts?: number;
  readonly maxAddressesPerHost?: number;
  /** Idle sessions to reuse between messages (the relay's); absent: one connection per delivery. */
  readonly pool?: SessionPool;
}

/** The pool of SMTP sessions with the facts each proved when it was opened. */
export type SessionPool = ConnectionPool<SmtpSession, SessionFacts>;
