/**
 * Zone files for the interop DNS: renders record lists as RFC 1035 master files and signs them with the
 * ldns tools (ECDSA P-256, RFC 6605: a KSK and a ZSK per zone, NSEC denial), optionally on purpose
 * wrongly: signatures that expired a week ago, or RRSIGs whose signature bytes were altered. Either
 * makes a validating resolver answer SERVFAIL for the zone's data (RFC 4035 section 5.5) while a query
 * with CD set still gets it.
 *
 * Contract: `writeZone` resolves with the file nsd should load and, for a signed zone, the DS record the
 * parent must publish (RFC 4034 section 5, SHA-256 digest); it rejects with the ldns tool's output when
 * a tool fails (for example a record in bad presentation format).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { runOrThrow } from './run.js';

/** One resource record. `data` is the RDATA in presentation format, e.g. `10 mx.example.test.`. */
export interface ZoneRecord {
  /** `@` for the apex, a name relative to the zone (`mx`, `_25._tcp.mx`), or absolute with a final dot. */
  readonly name: string;
  readonly type:
    'A' | 'AAAA' | 'MX' | 'TXT' | 'TLSA' | 'CNAME' | 'NS' | 'DS' | 'SRV' | 'CAA' | 'PTR';
  readonly data: string;
  readonly ttl?: number;
}

/**
 * How the zone is published: `signed` (DS in the parent: secure), `unsigned` (no DS: an insecure
 * delegation), or signed with a DS but deliberately broken so that it validates as bogus.
 */
export type ZoneSecurity =
  'signed' | 'unsigned' | 'bogus-expired-signatures' | 'bogus-altered-signatures';

export interface ZoneSpec {
  /** Fully qualified, without the final dot, e.g. `example.test`. */
  readonly name: string;
  /** Default `signed`. */
  readonly security?: ZoneSecurity;
  readonly records: readonly ZoneRecord[];
}

export interface WrittenZone {
  /** The file nsd loads (signed or not), inside the directory given to `writeZone`. */
  readonly file: string;
  /** DS records for the parent; empty for an unsigned zone. */
  readonly ds: readonly string[];
}

/** The TTL of every record that does not set one: short, as tests never wait for caches. */
export const DEFAULT_TTL = 300;
const DAY_S = 86_400;

/** TXT RDATA for `text`: quoted, escaped, split into strings of at most 255 octets (RFC 1035 3.3.14). */
export function txtData(text: string): string {
  const bytes = Buffer.from(text, 'utf8');
  const parts: string[] = [];
  for (let offset = 0; offset < bytes.length || parts.length === 0; offset += 255) {
    const chunk = bytes.subarray(offset, offset + 255);
    let escaped = '';
    for (const byte of chunk) {
      escaped +=
        byte === 0x22 || byte === 0x5c
          ? `\\${String.fromCharCode(byte)}`
          : byte < 0x20 || byte > 0x7e
            ? `\\${byte.toString().padStart(3, '0')}`
            : String.fromCharCode(byte);
    }
    parts.push(`"${escaped}"`);
  }
  return parts.join(' ');
}

/** The master file text: $ORIGIN, SOA, the given records (NS and glue come from the caller). */
export function renderZone(name: string, records: readonly ZoneRecord[], serial: number): string {
  const origin = `${name}.`;
  const lines = [
    `$ORIGIN ${origin}`,
    `$TTL ${DEFAULT_TTL}`,
    `@ ${DEFAULT_TTL} IN SOA ns.test. hostmaster.test. ${serial} 3600 600 86400 ${DEFAULT_TTL}`,
    ...records.map((r) => `${r.name} ${r.ttl ?? DEFAULT_TTL} IN ${r.type} ${r.data}`),
  ];
  return lines.join('\n') + '\n';
}

/** Generates a key in `dir` and returns its base name (K<zone>+013+<tag>). */
async function keygen(dir: string, zone: string, ksk: boolean): Promise<string> {
  const args = ['-a', 'ECDSAP256SHA256', ...(ksk ? ['-k'] : []), `${zone}.`];
  return (await runOrThrow('ldns-keygen', args, { cwd: dir })).trim();
}

/**
 * Alters one base64 character in the signature of every RRSIG except those over DNSKEY, so the key set
 * still validates from the parent's DS and every answer from the zone is bogus.
 */
function alterSignatures(zoneText: string): string {
  return zoneText
    .split('\n')
    .map((line) => {
      const fields = line.trim().split(/\s+/);
      if (fields[3] !== 'RRSIG' || fields[4] === 'DNSKEY') return line;
      const signature = fields[fields.length - 1] ?? '';
      const at = Math.floor(signature.length / 3);
      const flipped =
        signature.slice(0, at) + (signature[at] === 'A' ? 'B' : 'A') + signature.slice(at + 1);
      return [...fields.slice(0, -1), flipped].join('\t');
    })
    .join('\n');
}

/**
 * Writes `zone` (its records plus `extra`, e.g. NS and delegations) into `dir` and signs it as its
 * `security` asks, with signature times relative to `now`.
 */
export async function writeZone(
  dir: string,
  zone: ZoneSpec,
  extra: readonly ZoneRecord[],
  now: Date,
): Promise<WrittenZone> {
  const nowS = Math.floor(now.getTime() / 1000);
  const file = path.join(dir, `${zone.name}.zone`);
  writeFileSync(file, renderZone(zone.name, [...extra, ...zone.records], nowS));
  const security = zone.security ?? 'signed';
  if (security === 'unsigned') return { file, ds: [] };

  const ksk = await keygen(dir, zone.name, true);
  const zsk = await keygen(dir, zone.name, false);
  // Expired well beyond unbound's allowed clock skew (at most a day) so the zone is bogus, not lenient.
  const [inception, expiration] =
    security === 'bogus-expired-signatures'
      ? [nowS - 30 * DAY_S, nowS - 7 * DAY_S]
      : [nowS - 3600, nowS + 30 * DAY_S];
  const signed = `${file}.signed`;
  await runOrThrow(
    'ldns-signzone',
    ['-i', String(inception), '-e', String(expiration), '-f', signed, file, ksk, zsk],
    { cwd: dir },
  );
  if (security === 'bogus-altered-signatures')
    writeFileSync(signed, alterSignatures(readFileSync(signed, 'utf8')));
  const ds = (await runOrThrow('ldns-key2ds', ['-n', '-2', `${ksk}.key`], { cwd: dir }))
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '');
  return { file: signed, ds };
}
