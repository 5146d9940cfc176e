/**
 * The HTTPS adapter of MTA-STS: GET `https://mta-sts.<domain>/.well-known/mta-sts.txt` the way RFC 8461
 * section 3.3 demands, and hand the body to the pure parser. Never throws and never rejects: every
 * failure is a `PolicyFetchError` value (see `fetch-result.ts`).
 *
 * What makes this fetch strict, and why:
 * - The host name is resolved through mxsec's own `Resolver` (A and AAAA) and handed to Node through the
 *   `lookup` option, so the OS resolver is never consulted and DNS behaves as for every other mechanism.
 * - The certificate must chain to the given trust store (`ca`, PEM) and be valid for `mta-sts.<domain>`;
 *   no other roots are used, and no agent is shared, so no session or socket outlives this fetch.
 * - 3xx is an error, not followed; only 200 is a policy; the media type must be `text/plain`
 *   (parameters such as charset are allowed); the body is capped (64 KiB by default, the RFC's
 *   suggestion) and the download is aborted as soon as it exceeds the cap.
 * - One timer bounds everything from the DNS query to the last body byte, so a server that trickles its
 *   body cannot hold a delivery worker.
 */
import https from 'node:https';
import type { ClientRequest, IncomingMessage } from 'node:http';
import type { LookupAddress, LookupOptions } from 'node:dns';
import type { Resolver } from '../dns/types.js';
import { normalizeName } from '../dns/names.js';
import { parsePolicy } from './parse-policy.js';
import type {
  PolicyFetchError,
  PolicyFetcher,
  PolicyFetchResult,
  PolicyTlsReason,
} from './fetch-result.js';

/** RFC 8461 section 3.3 suggests "a maximum size of 64 kilobytes". */
export const DEFAULT_MAX_POLICY_BYTES = 64 * 1024;

export interface PolicyFetchOptions {
  readonly resolver: Resolver;
  /** Trust anchors (PEM) for the policy host's certificate; the only roots used. */
  readonly ca: readonly string[];
  readonly timeoutMs: number;
  /** 443 unless a test says otherwise. */
  readonly port?: number;
  readonly maxBytes?: number;
}

/** The URL of a domain's policy (RFC 8461 section 3.3). */
export function policyUrl(domain: string, port = 443): string {
  const host = `mta-sts.${normalizeName(domain)}`;
  return port === 443
    ? `https://${host}/.well-known/mta-sts.txt`
    : `https://${host}:${port}/.well-known/mta-sts.txt`;
}

/** Binds resolver, trust store and limits into the `PolicyFetcher` that `resolveMtaSts` uses. */
export function createPolicyFetcher(
  settings: Omit<PolicyFetchOptions, 'timeoutMs'>,
): PolicyFetcher {
  return (domain, options) => fetchPolicy(domain, { ...settings, timeoutMs: options.timeoutMs });
}

/** Fetches and parses the policy of `domain` (RFC 8461 section 3.3). */
export function fetchPolicy(
  domain: string,
  options: PolicyFetchOptions,
): Promise<PolicyFetchResult> {
  const host = `mta-sts.${normalizeName(domain)}`;
  const port = options.port ?? 443;
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_POLICY_BYTES;
  const url = policyUrl(domain, port);

  return new Promise((resolve) => {
    let settled = false;
    let request: ClientRequest | undefined;
    const finish = (result: PolicyFetchResult): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      request?.destroy();
      resolve(result);
    };
    const fail = (error: PolicyFetchError): void => finish({ ok: false, error });
    const timer = setTimeout(() => {
      fail({
        kind: 'timeout',
        timeoutMs: options.timeoutMs,
        message: `${url}: no complete answer within ${options.timeoutMs} ms`,
      });
    }, options.timeoutMs);

    resolveAddresses(options.resolver, host).then(
      (addresses) => {
        if (settled) return;
        if (!addresses.ok) return fail(addresses.error);
        request = https.request({
          host,
          port,
          path: '/.well-known/mta-sts.txt',
          method: 'GET',
          servername: host,
          ca: [...options.ca],
          rejectUnauthorized: true,
          agent: false,
          lookup: fixedLookup(addresses.list),
          // RFC 8461 section 3.3: "HTTP caching MUST NOT be used"; tell intermediaries so too.
          headers: { accept: 'text/plain', 'cache-control': 'no-cache' },
        });
        request.on('response', (response) => readResponse(response, url, maxBytes, finish));
        request.on('error', (error) => fail(classifySocketError(error, url)));
        request.end();
      },
      (error: unknown) => {
        // A resolver must not reject; if one does, it is still this fetch's DNS failure, not a crash.
        fail({ kind: 'dns', message: `${host}: resolver error: ${String(error)}` });
      },
    );
  });
}

type Addresses = { ok: true; list: LookupAddress[] } | { ok: false; error: PolicyFetchError };

async function resolveAddresses(resolver: Resolver, host: string): Promise<Addresses> {
  const [a, aaaa] = await Promise.all([resolver.query(host, 'A'), resolver.query(host, 'AAAA')]);
  const list: LookupAddress[] = [];
  if (a.ok) list.push(...a.answer.records.map((address) => ({ address, family: 4 })));
  if (aaaa.ok) list.push(...aaaa.answer.records.map((address) => ({ address, family: 6 })));
  if (list.length > 0) return { ok: true, list };
  // Prefer reporting a real failure over "no records" when one of the two queries failed.
  const failed = !a.ok ? a.failure : !aaaa.ok ? aaaa.failure : undefined;
  if (failed !== undefined) {
    return {
      ok: false,
      error: {
        kind: 'dns',
        failure: failed,
        message: `${host}: ${failed.kind}: ${failed.message}`,
      },
    };
  }
  return { ok: false, error: { kind: 'dns', message: `${host}: no A or AAAA records` } };
}

type LookupCallback = (
  error: NodeJS.ErrnoException | null,
  address: string | LookupAddress[],
  family?: number,
) => void;

/** A `lookup` for Node's socket layer that answers only with the addresses our resolver gave. */
function fixedLookup(list: LookupAddress[]) {
  return (_hostname: string, options: LookupOptions, callback: LookupCallback): void => {
    const wanted =
      options.family === 4 || options.family === 6
        ? list.filter((entry) => entry.family === options.family)
        : list;
    const first = wanted[0];
    if (first === undefined) {
      const error: NodeJS.ErrnoException = new Error(
        `no address of family ${String(options.family)}`,
      );
      error.code = 'ENOTFOUND';
      callback(error, '', 0);
      return;
    }
    if (options.all === true) callback(null, wanted);
    else callback(null, first.address, first.family);
  };
}

function readResponse(
  response: IncomingMessage,
  url: string,
  maxBytes: number,
  finish: (result: PolicyFetchResult) => void,
): void {
  const fail = (error: PolicyFetchError): void => finish({ ok: false, error });
  const status = response.statusCode ?? 0;
  if (status >= 300 && status < 400) {
    const location = response.headers.location;
    return fail({
      kind: 'redirect',
      status,
      ...(location === undefined ? {} : { location }),
      message: `${url}: HTTP ${status} redirect${location === undefined ? '' : ` to ${location}`} not followed`,
    });
  }
  if (status !== 200) return fail({ kind: 'status', status, message: `${url}: HTTP ${status}` });
  const contentType = response.headers['content-type'];
  if (!isTextPlain(contentType)) {
    return fail({
      kind: 'media-type',
      ...(contentType === undefined ? {} : { contentType }),
      message: `${url}: media type ${contentType === undefined ? 'missing' : `"${contentType}"`}, expected text/plain`,
    });
  }
  const tooLarge: PolicyFetchError = {
    kind: 'too-large',
    limit: maxBytes,
    message: `${url}: body larger than ${maxBytes} bytes`,
  };
  const declared = Number(response.headers['content-length']);
  if (Number.isFinite(declared) && declared > maxBytes) return fail(tooLarge);

  const chunks: Buffer[] = [];
  let total = 0;
  response.on('data', (chunk: Buffer) => {
    total += chunk.length;
    if (total > maxBytes) return fail(tooLarge);
    chunks.push(chunk);
  });
  response.on('error', (error) => fail(classifySocketError(error, url)));
  response.on('end', () => {
    let text: string;
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(Buffer.concat(chunks));
    } catch {
      return fail({
        kind: 'parse',
        error: { message: 'body is not UTF-8' },
        message: `${url}: body is not UTF-8`,
      });
    }
    const parsed = parsePolicy(text);
    if (!parsed.ok) {
      const where = parsed.error.line === undefined ? '' : `line ${parsed.error.line}: `;
      return fail({
        kind: 'parse',
        error: parsed.error,
        message: `${url}: invalid policy: ${where}${parsed.error.message}`,
      });
    }
    finish({ ok: true, policy: parsed.policy, text });
  });
}

/** `text/plain`, any case, optionally followed by parameters (`; charset=utf-8`). */
export function isTextPlain(contentType: string | undefined): boolean {
  if (contentType === undefined) return false;
  const essence = contentType.split(';', 1)[0] ?? '';
  return essence.trim().toLowerCase() === 'text/plain';
}

const UNTRUSTED = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'CERT_SIGNATURE_FAILURE',
  'UNABLE_TO_DECRYPT_CERT_SIGNATURE',
  'INVALID_CA',
  'CERT_REVOKED',
  'INVALID_PURPOSE',
]);
const TLS_REASONS: Readonly<Record<string, PolicyTlsReason>> = {
  ERR_TLS_CERT_ALTNAME_INVALID: 'hostname',
  CERT_HAS_EXPIRED: 'expired',
  CERT_NOT_YET_VALID: 'not-yet-valid',
};

/** Sorts a socket-level error into `tls` (with the certificate reason) or `connect`. */
function classifySocketError(error: NodeJS.ErrnoException, url: string): PolicyFetchError {
  const code = error.code ?? '';
  const message = `${url}: ${error.message}`;
  const reason = UNTRUSTED.has(code) ? 'untrusted' : TLS_REASONS[code];
  if (reason !== undefined) return { kind: 'tls', reason, message, code };
  if (code.startsWith('ERR_SSL_') || code.startsWith('ERR_TLS_') || code === 'EPROTO') {
    return { kind: 'tls', reason: 'other', message, code };
  }
  return code === '' ? { kind: 'connect', message } : { kind: 'connect', message, code };
}
