/**
 * The result of delivering one message to the recipients of one domain: a typed outcome per recipient
 * and a record of every host attempt (which MX and address, which strategy and why, the TLS facts, the
 * security level reached, the failure). Produced by `deliverToDomain`; printed by `mxsec send`, stored
 * by the queue, logged per attempt.
 */
import type { LastError, SecurityLevel, TlsRptResult } from '../core/outcome.js';
import type { EvalContext } from '../expr/index.js';
import type { MtaStsFailure } from '../mtasts/requirement.js';
import type { DeliveryFailure } from '../policy/failure.js';
import type { ReportedPolicy } from '../tlsrpt/policy.js';
import type { TlsFacts } from '../tls/types.js';

export type RecipientStatus = 'delivered' | 'temporary' | 'permanent';

export interface RecipientOutcome {
  readonly address: string;
  readonly status: RecipientStatus;
  /** `none` when delivered. */
  readonly lastError: LastError;
  /** RFC 3463 status, e.g. `2.0.0`, `4.7.5`, `5.1.1`. */
  readonly code: string;
  /** The remote reply text (`250 2.0.0 Ok: queued`), when a server answered for this recipient. */
  readonly reply?: string;
  readonly message: string;
  /** The attempt (index into `attempts`) that decided this recipient. */
  readonly attempt?: number;
}

export interface HostAttempt {
  readonly mx: string;
  /** Undefined when the host was skipped before connecting. */
  readonly ip?: string;
  readonly strategy: string;
  readonly rule: { readonly index: number; readonly condition?: string; readonly then: string };
  /** Why the host was handled this way (policy precedence, overrides). */
  readonly reasons: readonly string[];
  readonly tls: TlsFacts | null;
  /** The security the session reached; null when it never got to send. */
  readonly security: SecurityLevel | null;
  readonly error: DeliveryFailure | null;
  /** A failure an MTA-STS testing policy would have caused (reported, not enforced). */
  readonly reportOnly?: MtaStsFailure;
  /** TLS-RPT result of the session: `success` or the failure type. */
  readonly tlsRpt?: TlsRptResult;
  /** The policy the attempt was made under, as TLS-RPT reports it (RFC 8460 4.4). */
  readonly policy: ReportedPolicy;
  readonly transcript?: readonly string[];
}

export interface DomainDelivery {
  readonly domain: string;
  readonly recipients: readonly RecipientOutcome[];
  readonly attempts: readonly HostAttempt[];
}

export interface DeliveryRequest {
  /** Reverse path; `''` is the null sender. */
  readonly from: string;
  readonly domain: string;
  readonly recipients: readonly string[];
  readonly body: Uint8Array;
  /** Values for the strategy expressions beyond those derived here (retry_num, last_error, ...). */
  readonly context: EvalContext;
  /**
   * Told the result as soon as it is known: after the final reply of the transaction, before the
   * session is QUIT or carries another message. The relay records the outcome here.
   */
  readonly settle?: (delivery: DomainDelivery) => Promise<void>;
}
