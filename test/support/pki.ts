/**
 * A throw-away public key infrastructure for tests: a root CA, intermediates, server certificates with any
 * names and validity dates (expired, not yet valid), self-signed certificates. Everything is generated in
 * memory with WebCrypto through @peculiar/x509, so tests need no openssl binary and no committed keys that
 * could expire. Used by TLS, SMTP, DANE and MTA-STS tests; never by production code.
 */
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;

export type KeyType = 'ec' | 'rsa';

export interface IssueOptions {
  readonly commonName?: string;
  /** subjectAltName dNSName entries. */
  readonly dnsNames?: readonly string[];
  readonly notBefore?: Date;
  readonly notAfter?: Date;
  readonly keyType?: KeyType;
  /** Extended key usage; default serverAuth. An empty list omits the extension. */
  readonly extKeyUsage?: readonly ('serverAuth' | 'clientAuth')[];
}

export interface TestCert {
  readonly certPem: string;
  readonly keyPem: string;
  /** DER of the certificate. */
  readonly der: Uint8Array;
  /** DER SubjectPublicKeyInfo of the certificate's key. */
  readonly spkiDer: Uint8Array;
  /** This certificate followed by its issuers up to, but excluding, the root: what a server sends. */
  readonly chainPem: string;
}

export interface TestCa extends TestCert {
  /** Issues an end-entity certificate signed by this CA. */
  issue(options: IssueOptions): Promise<TestCert>;
  /** Issues an intermediate CA signed by this CA. */
  issueCa(options?: IssueOptions): Promise<TestCa>;
}

const DAY = 86_400_000;
let serial = 1;

function nextSerial(): string {
  serial += 1;
  return (Date.now().toString(16) + serial.toString(16).padStart(4, '0')).replace(/^0+/, '1');
}

function algorithm(type: KeyType): webcrypto.RsaHashedKeyGenParams | webcrypto.EcKeyGenParams {
  return type === 'rsa'
    ? {
        name: 'RSASSA-PKCS1-v1_5',
        hash: 'SHA-256',
        publicExponent: new Uint8Array([1, 0, 1]),
        modulusLength: 2048,
      }
    : { name: 'ECDSA', namedCurve: 'P-256' };
}

function signingAlgorithm(type: KeyType): webcrypto.Algorithm | webcrypto.EcdsaParams {
  return type === 'rsa' ? { name: 'RSASSA-PKCS1-v1_5' } : { name: 'ECDSA', hash: 'SHA-256' };
}

async function generateKeys(type: KeyType): Promise<CryptoKeyPair> {
  return await webcrypto.subtle.generateKey(algorithm(type) as webcrypto.EcKeyGenParams, true, [
    'sign',
    'verify',
  ]);
}

async function keyPem(key: CryptoKey): Promise<string> {
  const der = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', key));
  const lines = der.toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN PRIVATE KEY-----\n${lines.join('\n')}\n-----END PRIVATE KEY-----\n`;
}

function dn(commonName: string): string {
  return `CN=${commonName.replace(/[,=+<>#;"\\]/g, '\\$&')}`;
}

interface Signer {
  readonly name: string;
  readonly keys: CryptoKeyPair;
  readonly keyType: KeyType;
  readonly chain: readonly string[];
}

async function build(
  options: IssueOptions,
  isCa: boolean,
  signer: Signer | undefined,
): Promise<{ cert: TestCert; self: Signer }> {
  const keyType = options.keyType ?? 'ec';
  const keys = await generateKeys(keyType);
  const commonName =
    options.commonName ?? options.dnsNames?.[0] ?? (isCa ? 'mxsec Test CA' : 'localhost');
  const extensions: x509.Extension[] = [new x509.BasicConstraintsExtension(isCa, undefined, true)];
  if (isCa) {
    extensions.push(
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign,
        true,
      ),
    );
  } else {
    extensions.push(
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment,
        true,
      ),
    );
    const eku = options.extKeyUsage ?? ['serverAuth'];
    if (eku.length > 0) {
      extensions.push(
        new x509.ExtendedKeyUsageExtension(
          eku.map((u) =>
            u === 'serverAuth'
              ? x509.ExtendedKeyUsage.serverAuth
              : x509.ExtendedKeyUsage.clientAuth,
          ),
        ),
      );
    }
  }
  if (options.dnsNames !== undefined && options.dnsNames.length > 0) {
    extensions.push(
      new x509.SubjectAlternativeNameExtension(
        options.dnsNames.map((value) => ({ type: 'dns' as const, value })),
      ),
    );
  }
  extensions.push(await x509.SubjectKeyIdentifierExtension.create(keys.publicKey));
  if (signer !== undefined)
    extensions.push(await x509.AuthorityKeyIdentifierExtension.create(signer.keys.publicKey));
  const issuerKeys = signer?.keys ?? keys;
  const certificate = await x509.X509CertificateGenerator.create({
    serialNumber: nextSerial(),
    subject: dn(commonName),
    issuer: signer?.name ?? dn(commonName),
    notBefore: options.notBefore ?? new Date(Date.now() - DAY),
    notAfter: options.notAfter ?? new Date(Date.now() + 365 * DAY),
    signingAlgorithm: signingAlgorithm(signer?.keyType ?? keyType),
    publicKey: keys.publicKey,
    signingKey: issuerKeys.privateKey,
    extensions,
  });
  const certPem = certificate.toString('pem') + '\n';
  const chain = signer === undefined ? [] : signer.chain;
  const cert: TestCert = {
    certPem,
    keyPem: await keyPem(keys.privateKey),
    der: new Uint8Array(certificate.rawData),
    spkiDer: new Uint8Array(certificate.publicKey.rawData),
    chainPem: [certPem, ...chain].join(''),
  };
  // A root's own certificate is not part of the chains it signs; an intermediate's is.
  const self: Signer = {
    name: dn(commonName),
    keys,
    keyType,
    chain: signer === undefined ? [] : [certPem, ...chain],
  };
  return { cert, self };
}

function asCa(cert: TestCert, self: Signer): TestCa {
  return {
    ...cert,
    issue: async (options) => (await build(options, false, self)).cert,
    issueCa: async (options = {}) => {
      const built = await build({ commonName: 'mxsec Test Intermediate', ...options }, true, self);
      return asCa(built.cert, built.self);
    },
  };
}

/** Creates a self-signed root CA. */
export async function createTestCa(options: IssueOptions = {}): Promise<TestCa> {
  const built = await build(options, true, undefined);
  return asCa(built.cert, built.self);
}

/** Creates a self-signed end-entity certificate (not a CA). */
export async function createSelfSigned(options: IssueOptions): Promise<TestCert> {
  return (await build(options, false, undefined)).cert;
}
