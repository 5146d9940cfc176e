/**
 * The persistent MTA-STS policy cache: one SQLite file, `mta-sts.sqlite` in the data directory, in WAL
 * mode so readers never wait for the writer. Policies survive restarts, which RFC 8461 section 10.2
 * relies on: a sender that forgets its cached policies can be downgraded by blocking the next fetch.
 *
 * The table stores the policy text, not a serialized policy object: `get` re-parses it, so the text is
 * the single source of truth and a row that no longer parses (a corrupted file, an older parser bug) is
 * treated as absent rather than applied. Opening failures are returned as values; once open, a storage
 * error rejects the method's promise (see the `PolicyCache` contract).
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { normalizeName } from '../dns/names.js';
import type { PolicyCache, PolicyCacheEntry } from './cache.js';
import { parsePolicy } from './parse-policy.js';

export const POLICY_CACHE_FILE = 'mta-sts.sqlite';

interface Row {
  domain: string;
  id: string;
  policy_text: string;
  fetched_at: number;
  expires_at: number;
}

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS mta_sts_policy (
    domain      TEXT PRIMARY KEY,
    id          TEXT NOT NULL,
    policy_text TEXT NOT NULL,
    fetched_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL
  ) STRICT`;

export type OpenPolicyCache =
  | { readonly ok: true; readonly cache: SqlitePolicyCache }
  | { readonly ok: false; readonly message: string };

/** Opens (creating if needed) `<dataDir>/mta-sts.sqlite`. */
export function openSqlitePolicyCache(dataDir: string): OpenPolicyCache {
  try {
    mkdirSync(dataDir, { recursive: true });
    const db = new Database(join(dataDir, POLICY_CACHE_FILE));
    db.pragma('journal_mode = WAL');
    db.exec(SCHEMA);
    return { ok: true, cache: new SqlitePolicyCache(db) };
  } catch (error) {
    return {
      ok: false,
      message: `cannot open MTA-STS cache in ${dataDir}: ${error instanceof Error ? error.message : String(error)}`,
    };
  }
}

export class SqlitePolicyCache implements PolicyCache {
  readonly #db: Database.Database;
  readonly #select: Database.Statement<[string], Row>;
  readonly #upsert: Database.Statement<[Row]>;
  readonly #remove: Database.Statement<[string]>;
  readonly #all: Database.Statement<[], Row>;

  constructor(db: Database.Database) {
    this.#db = db;
    this.#select = db.prepare('SELECT * FROM mta_sts_policy WHERE domain = ?');
    this.#upsert =
      db.prepare(`INSERT INTO mta_sts_policy (domain, id, policy_text, fetched_at, expires_at)
      VALUES (@domain, @id, @policy_text, @fetched_at, @expires_at)
      ON CONFLICT (domain) DO UPDATE SET id = excluded.id, policy_text = excluded.policy_text,
        fetched_at = excluded.fetched_at, expires_at = excluded.expires_at`);
    this.#remove = db.prepare('DELETE FROM mta_sts_policy WHERE domain = ?');
    this.#all = db.prepare('SELECT * FROM mta_sts_policy ORDER BY domain');
  }

  get(domain: string): Promise<PolicyCacheEntry | undefined> {
    return run(() => {
      const row = this.#select.get(normalizeName(domain));
      return row === undefined ? undefined : toEntry(row);
    });
  }

  put(domain: string, entry: PolicyCacheEntry): Promise<void> {
    return run(() => {
      this.#upsert.run({
        domain: normalizeName(domain),
        id: entry.id,
        policy_text: entry.policyText,
        fetched_at: Math.trunc(entry.fetchedAt),
        expires_at: Math.trunc(entry.expiresAt),
      });
    });
  }

  delete(domain: string): Promise<void> {
    return run(() => {
      this.#remove.run(normalizeName(domain));
    });
  }

  list(): Promise<readonly PolicyCacheEntry[]> {
    return run(() => this.#all.all().flatMap((row) => toEntry(row) ?? []));
  }

  close(): void {
    this.#db.close();
  }
}

function toEntry(row: Row): PolicyCacheEntry | undefined {
  const parsed = parsePolicy(row.policy_text);
  if (!parsed.ok) return undefined;
  return {
    domain: row.domain,
    id: row.id,
    policy: parsed.policy,
    policyText: row.policy_text,
    fetchedAt: row.fetched_at,
    expiresAt: row.expires_at,
  };
}

/** better-sqlite3 is synchronous; this turns its exceptions into rejections as the contract says. */
function run<T>(work: () => T): Promise<T> {
  try {
    return Promise.resolve(work());
  } catch (error) {
    return Promise.reject(error instanceof Error ? error : new Error(String(error)));
  }
}
