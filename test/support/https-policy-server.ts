/**
 * An in-process HTTPS server that plays the MTA-STS policy hosts of several test domains at once
 * (RFC 8461 section 3.3), for loopback tests only. Each site is `mta-sts.<domain>`: the server presents
 * that site's certificate when the client's SNI names it, and answers `GET /.well-known/mta-sts.txt`
 * with the site's response (a policy text served as `200 text/plain`, or any status, type and body).
 * Unknown SNI names get no certificate, so the handshake fails as it would against a wrong host; any
 * other path is a 404. Sites may be replaced while the server runs (`set`), so a test can change a
 * policy between steps. Every request is logged. `close()` drops every connection and the listener.
 */
import https from 'node:https';
import tls from 'node:tls';
import type { AddressInfo } from 'node:net';
import type { TestCert } from './pki.js';

export const POLICY_PATH = '/.well-known/mta-sts.txt';

/** What the policy URL answers; a plain string is a `200 text/plain` policy. */
export type PolicyResponse =
  string | { readonly status: number; readonly contentType?: string; readonly body?: string };

export interface PolicySite {
  /** Certificate and key the server presents for `mta-sts.<domain>` (chain without the root). */
  readonly cert: Pick<TestCert, 'chainPem' | 'keyPem'>;
  readonly response: PolicyResponse;
}

export interface PolicyServerOptions {
  /** Sites by policy domain (the recipient domain, not the `mta-sts.` host). */
  readonly sites: Readonly<Record<string, PolicySite>>;
  /** Loopback address to listen on; default 127.0.0.1. */
  readonly address?: string;
  /** Default 0 (ephemeral). Delivery tests pass the port their SMTP servers share. */
  readonly port?: number;
}

export interface PolicyRequest {
  /** Lower-case SNI name the connection asked for. */
  readonly servername: string;
  readonly host: string;
  readonly path: string;
}

export interface TestPolicyServer {
  readonly address: string;
  readonly port: number;
  readonly requests: readonly PolicyRequest[];
  /** How many requests reached the policy URL of `domain`. */
  fetches(domain: string): number;
  /** Adds or replaces the site of `domain`. */
  set(domain: string, site: PolicySite): void;
  close(): Promise<void>;
}

/** Builds a policy document (RFC 8461 section 3.2) with CRLF line endings. */
export function policyText(
  mode: 'enforce' | 'testing' | 'none',
  mx: readonly string[],
  maxAge = 86_400,
): string {
  return [
    'version: STSv1',
    `mode: ${mode}`,
    ...mx.map((m) => `mx: ${m}`),
    `max_age: ${maxAge}`,
    '',
  ].join('\r\n');
}

const hostOf = (domain: string): string => `mta-sts.${domain.toLowerCase().replace(/\.$/, '')}`;

/** Starts the server; resolves once it listens. */
export async function startPolicyServer(options: PolicyServerOptions): Promise<TestPolicyServer> {
  const sites = new Map<string, { site: PolicySite; context: tls.SecureContext }>();
  const set = (domain: string, site: PolicySite): void => {
    sites.set(hostOf(domain), {
      site,
      context: tls.createSecureContext({ cert: site.cert.chainPem, key: site.cert.keyPem }),
    });
  };
  for (const [domain, site] of Object.entries(options.sites)) set(domain, site);
  const requests: PolicyRequest[] = [];

  const server = https.createServer(
    {
      SNICallback: (name, callback) => {
        const entry = sites.get(name.toLowerCase());
        if (entry === undefined) callback(new Error(`no policy site for ${name}`));
        else callback(null, entry.context);
      },
    },
    (request, response) => {
      // Node sets `servername` on server-side TLS sockets; its type declarations omit it.
      const sni = (request.socket as tls.TLSSocket & { servername?: string | false }).servername;
      const servername = typeof sni === 'string' ? sni.toLowerCase() : '';
      const path = request.url ?? '';
      requests.push({ servername, host: request.headers.host ?? '', path });
      const entry = sites.get(servername);
      if (entry === undefined || path !== POLICY_PATH) {
        response.writeHead(404, { 'content-type': 'text/plain' });
        response.end('not found\n');
        return;
      }
      const answer = entry.site.response;
      const { status, contentType, body } =
        typeof answer === 'string'
          ? { status: 200, contentType: 'text/plain', body: answer }
          : answer;
      response.writeHead(status, contentType === undefined ? {} : { 'content-type': contentType });
      response.end(body ?? '');
    },
  );
  server.on('tlsClientError', () => {
    /* a refused handshake is an expected test outcome */
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.address ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const bound = server.address() as AddressInfo;
  return {
    address: bound.address,
    port: bound.port,
    requests,
    fetches: (domain) =>
      requests.filter((r) => r.servername === hostOf(domain) && r.path === POLICY_PATH).length,
    set,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
