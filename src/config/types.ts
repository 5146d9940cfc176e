/**
 * The typed, validated configuration that the rest of mxsec consumes. Produced only by `load.ts`; every
 * value here has been checked, every expression compiled, so consumers never re-validate.
 */
import type { Mode } from '../core/outcome.js';
import type { CompiledExpression } from '../expr/index.js';
import type { SmtpTimeouts } from '../smtp/timeouts.js';
import type { ScheduleSettings } from '../queue/schedule.js';
import type { Position } from './diagnostics.js';
import type { ServerConfig } from './server.js';

/** `queue.tls.<id>`: how one delivery attempt must secure its connection. */
export interface TlsStrategy {
  readonly id: string;
  readonly description?: string;
  readonly dane: Mode;
  readonly mtaSts: Mode;
  readonly starttls: Mode;
  /** Weakens PKIX only: never relaxes a DANE or MTA-STS enforce policy. */
  readonly allowInvalidCerts: boolean;
  readonly timeoutTlsMs: number;
  readonly timeoutMtaStsMs: number;
  /** True for the built-in `default` and `invalid-tls` when the file does not define them. */
  readonly builtIn: boolean;
  readonly position?: Position;
}

/** One `{ if = ..., then = ... }` entry, or the final `{ else = ... }` (no condition). */
export interface Rule {
  /** 0-based position in the list. */
  readonly index: number;
  readonly condition?: CompiledExpression;
  readonly then: CompiledExpression;
  readonly position?: Position;
}

/** An ordered rule list: the first rule whose condition is true wins; the last rule has no condition. */
export interface RuleSet {
  /** Where it came from, e.g. `queue.strategy.tls`. */
  readonly key: string;
  readonly rules: readonly Rule[];
  /** True when the built-in default is in effect. */
  readonly builtIn: boolean;
}

/** The names `mxsec dns selftest` asks about (see `src/dns/selftest.ts`). */
export interface ResolverSelftestNames {
  /** A long-lived DNSSEC-signed name: a validating resolver answers it with AD. */
  readonly secureName: string;
  /** A name whose signatures are broken on purpose: a validating resolver answers SERVFAIL. */
  readonly bogusName: string;
}

export interface ResolverConfig {
  /** `host:port`; undefined means the nameservers of /etc/resolv.conf. */
  readonly nameservers?: readonly string[];
  readonly timeoutMs: number;
  readonly attempts: number;
  readonly trustAd: boolean;
  readonly selftest: ResolverSelftestNames;
}

export interface TrustConfig {
  /** Extra PEM trust anchors added to Node's roots and NODE_EXTRA_CA_CERTS. */
  readonly caFile?: string;
}

/** `queue.connection.<id>`: how outbound SMTP sessions are conducted. */
export interface ConnectionStrategy {
  readonly id: string;
  readonly description?: string;
  readonly ehloHostname: string;
  readonly timeouts: SmtpTimeouts;
  readonly builtIn: boolean;
}

/** `queue.schedule.<id>`: retry, delay-notice and expiry rules (Stalwart's keys). */
export interface Schedule extends ScheduleSettings {
  readonly id: string;
  readonly description?: string;
  /** True for the built-in schedules when the file does not define them. */
  readonly builtIn: boolean;
  readonly position?: Position;
}

/** `[queue.worker]`: how the relay's delivery loop claims and runs work. */
/** `[queue.worker]` connection reuse between messages for one host (RFC 5321 4.1.1.5). */
export interface ConnectionReuse {
  readonly enabled: boolean;
  /** Transactions per connection, the first included. */
  readonly maxMessages: number;
  /** Idle time after which a pooled connection is closed with QUIT. */
  readonly idleMs: number;
  /** Idle connections kept at once, all hosts together. */
  readonly maxConnections: number;
}

export interface WorkerConfig {
  /** Deliveries in flight at once, all domains together. */
  readonly concurrency: number;
  /** Deliveries in flight at once to one recipient domain. */
  readonly concurrencyPerDomain: number;
  /** How long claimed work stays leased; after a crash it is retried when the lease ends. */
  readonly leaseMs: number;
  /** How often the queue is polled when no new message wakes the loop. */
  readonly pollIntervalMs: number;
  /** How long a stop waits for deliveries in flight before abandoning them to their leases. */
  readonly gracePeriodMs: number;
  readonly connectionReuse: ConnectionReuse;
}

export interface StorageConfig {
  /** Directory of the queue and the MTA-STS policy cache; default `./data`. */
  readonly dataDir: string;
}

export interface MxsecConfig {
  /** The file it was loaded from, or `(built-in defaults)`. */
  readonly file: string;
  readonly tls: {
    readonly strategies: ReadonlyMap<string, TlsStrategy>;
    readonly selector: RuleSet;
  };
  readonly connection: {
    readonly strategies: ReadonlyMap<string, ConnectionStrategy>;
    readonly selector: RuleSet;
  };
  readonly resolver: ResolverConfig;
  readonly trust: TrustConfig;
  readonly storage: StorageConfig;
  /** Ports of MX hosts (25) and MTA-STS policy hosts (443); others only on test networks. */
  readonly delivery: { readonly port: number; readonly mtaStsPort: number };
  /** `queue.schedule.<id>` and `queue.strategy.schedule`. */
  readonly schedule: {
    readonly schedules: ReadonlyMap<string, Schedule>;
    readonly selector: RuleSet;
  };
  readonly worker: WorkerConfig;
  /** `[server]`: the SMTP submission listener of `mxsec serve`. */
  readonly server: ServerConfig;
}
