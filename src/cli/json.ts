/**
 * The JSON shapes that `mxsec send --json` and `mxsec check --json` print: one definition, used by the
 * commands that produce them and by the tests that read them, so output and expectations cannot drift.
 * Keys are snake_case, absent values are `null`.
 */
import type { DomainDelivery } from '../delivery/types.js';
import { tlsRptOf } from '../policy/failure.js';
import type { PkixVerdict, TlsFacts } from '../tls/types.js';
import type { ReportedPolicy } from '../tlsrpt/policy.js';

export interface TlsJson {
  readonly version: string;
  readonly cipher: string;
  readonly pkix: PkixVerdict;
  readonly chain: readonly {
    readonly subject: string;
    readonly issuer: string;
    readonly dns_names: readonly string[];
    readonly not_before: string;
    readonly not_after: string;
    readonly spki_sha256: string;
  }[];
}

export interface RecipientJson {
  readonly address: string;
  readonly status: string;
  readonly last_error: string;
  readonly code: string;
  readonly reply: string | null;
  readonly message: string;
}

export interface AttemptJson {
  readonly domain: string;
  readonly mx: string;
  readonly ip: string | null;
  readonly strategy: string;
  readonly rule: { readonly index: number; readonly condition?: string; readonly then: string };
  readonly tls: TlsJson | null;
  readonly security: string | null;
  readonly error: {
    readonly class: string;
    readonly severity: string;
    readonly code: string;
    readonly tlsrpt: string | null;
    readonly message: string;
  } | null;
  readonly tlsrpt: string | null;
  readonly policy: ReportedPolicy;
  readonly report_only: {
    readonly reason: string;
    readonly tlsrpt: string | null;
    readonly message: string;
  } | null;
  readonly reasons: readonly string[];
}

/** What `mxsec send --json` prints. */
export interface SendJson {
  readonly recipients: readonly RecipientJson[];
  readonly attempts: readonly AttemptJson[];
}

export function tlsJson(facts: TlsFacts | null): TlsJson | null {
  if (facts === null) return null;
  return {
    version: facts.version,
    cipher: facts.cipher,
    pkix: facts.pkix,
    chain: facts.chain.map((c) => ({
      subject: c.subject,
      issuer: c.issuer,
      dns_names: c.dnsNames,
      not_before: c.notBefore,
      not_after: c.notAfter,
      spki_sha256: c.spkiSha256,
    })),
  };
}

export function deliveriesJson(deliveries: readonly DomainDelivery[]): SendJson {
  return {
    recipients: deliveries.flatMap((d) =>
      d.recipients.map((r) => ({
        address: r.address,
        status: r.status,
        last_error: r.lastError,
        code: r.code,
        reply: r.reply ?? null,
        message: r.message,
      })),
    ),
    attempts: deliveries.flatMap((d) =>
      d.attempts.map((a) => ({
        domain: d.domain,
        mx: a.mx,
        ip: a.ip ?? null,
        strategy: a.strategy,
        rule: a.rule,
        tls: tlsJson(a.tls),
        security: a.security,
        error:
          a.error === null
            ? null
            : {
                class: a.error.lastError,
                severity: a.error.severity,
                code: a.error.status,
                tlsrpt: a.error.tlsRpt ?? null,
                message: a.error.message,
              },
        tlsrpt: a.tlsRpt ?? null,
        policy: a.policy,
        report_only:
          a.reportOnly === undefined
            ? null
            : {
                reason: a.reportOnly.reason,
                tlsrpt: tlsRptOf(a.reportOnly) ?? null,
                message: a.reportOnly.message,
              },
        reasons: a.reasons,
      })),
    ),
  };
}
