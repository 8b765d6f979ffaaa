// API keys: `sk-tetra-<handle><secret>`. The handle (8 base62 chars) is a public lookup id; the
// secret is 43 base62 chars (256 bits). Only sha256(key) is stored, and a presented key is
// checked by looking its handle up and comparing digests with crypto.timingSafeEqual.
//
// Why sha256 and not scrypt/argon2: slow hashes exist to make guessing *low-entropy* passwords
// from a leaked table expensive. A 256-bit random secret cannot be guessed at any hash speed, so
// a slow hash would only add tens of milliseconds to every request (or force a plaintext cache).
// Why the handle: looking a key up by its digest would make the comparison a formality; looking
// it up by a non-secret handle and then comparing the whole digest in constant time leaks
// nothing about how close a guessed secret was.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { ApiKeyRecord } from './contract.ts';
import { openDb, type Db } from '../home.ts';

export const KEY_PREFIX = 'sk-tetra-';
const HANDLE_LEN = 8;
const SECRET_LEN = 43; // 43 * log2(62) = 256.1 bits
const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const KEY_RE = new RegExp(`^${KEY_PREFIX}[0-9A-Za-z]{${HANDLE_LEN + SECRET_LEN}}$`);

/** Uniform base62 characters by rejection sampling (bytes >= 248 would bias the first 8 chars). */
function randomBase62(n: number): string {
  let out = '';
  while (out.length < n) {
    for (const b of randomBytes(n * 2)) {
      if (b < 248 && out.length < n) out += BASE62[b % 62];
    }
  }
  return out;
}

function digest(key: string): Buffer {
  return createHash('sha256').update(key, 'utf8').digest();
}

/** The public part of a key: enough to find and name it, never enough to use it. */
function handleOf(key: string): string | null {
  return KEY_RE.test(key) ? key.slice(0, KEY_PREFIX.length + HANDLE_LEN) : null;
}

export interface CreatedKey {
  /** The full secret: shown once, never stored. */
  key: string;
  record: ApiKeyRecord;
}

export type VerifyResult =
  | { ok: true; record: ApiKeyRecord }
  | { ok: false; reason: 'malformed' | 'unknown' | 'revoked'; record?: ApiKeyRecord };

interface KeyRow {
  id: string;
  prefix: string;
  hash: Buffer;
  plan: string;
  name: string | null;
  created_at: string;
  revoked_at: string | null;
}

function toRecord(r: KeyRow): ApiKeyRecord {
  const rec: ApiKeyRecord = { id: r.id, prefix: r.prefix, plan: r.plan, createdAt: r.created_at };
  if (r.name !== null) rec.name = r.name;
  if (r.revoked_at !== null) rec.revokedAt = r.revoked_at;
  return rec;
}

// A digest no real key has, compared against when the handle is unknown so that the unknown and
// wrong-secret paths do the same work.
const DUMMY_DIGEST = digest('sk-tetra-dummy');

export class KeyStore {
  readonly db: Db;
  private readonly byPrefix;
  private readonly countAll;
  private readonly dataVersion;
  /**
   * Rows by prefix (null = looked up and absent) and the key count, as of `version`. SQLite's
   * data_version changes when another connection (the `tetra keys` CLI) commits; this
   * connection's own writes do not change it, so create() and revoke() clear the cache
   * themselves. Checking costs one PRAGMA (no table read) per request instead of two queries.
   */
  private cache = new Map<string, KeyRow | null>();
  private cachedCount: number | null = null;
  private version = -1;

  constructor(dbOrPath: Db | string) {
    this.db = typeof dbOrPath === 'string' ? openDb(dbOrPath) : dbOrPath;
    this.db.exec(`CREATE TABLE IF NOT EXISTS api_keys (
      id TEXT PRIMARY KEY,
      prefix TEXT NOT NULL UNIQUE,
      hash BLOB NOT NULL,
      plan TEXT NOT NULL,
      name TEXT,
      created_at TEXT NOT NULL,
      revoked_at TEXT
    )`);
    this.byPrefix = this.db.prepare<[string], KeyRow>('SELECT * FROM api_keys WHERE prefix = ?');
    this.countAll = this.db.prepare<[], { n: number }>('SELECT count(*) AS n FROM api_keys');
    this.dataVersion = this.db.prepare<[], number>('PRAGMA data_version').pluck();
  }

  /** Drops the cache when the database changed under it (another connection committed). */
  private fresh(): void {
    // One check per synchronous run: authenticating asks hasKeys() and then row(), back to back.
    if (this.checked) return;
    this.checked = true;
    queueMicrotask(this.uncheck);
    const v = this.dataVersion.get()!;
    if (v !== this.version) {
      this.version = v;
      this.invalidate();
    }
  }

  private checked = false;
  private readonly uncheck = () => {
    this.checked = false;
  };

  private invalidate(): void {
    this.cache.clear();
    this.cachedCount = null;
  }

  private row(prefix: string): KeyRow | undefined {
    this.fresh();
    let r = this.cache.get(prefix);
    if (r === undefined) {
      r = this.byPrefix.get(prefix) ?? null;
      // Unknown prefixes are not cached: a flood of random keys must not grow the map.
      if (r) this.cache.set(prefix, r);
    }
    return r ?? undefined;
  }

  create(plan: string, name?: string, now = new Date()): CreatedKey {
    if (!plan) throw new Error('keys: a key needs a plan name');
    for (;;) {
      const handle = randomBase62(HANDLE_LEN);
      const key = `${KEY_PREFIX}${handle}${randomBase62(SECRET_LEN)}`;
      const prefix = KEY_PREFIX + handle;
      const row: KeyRow = {
        id: `key_${handle}`,
        prefix,
        hash: digest(key),
        plan,
        name: name ?? null,
        created_at: now.toISOString(),
        revoked_at: null,
      };
      try {
        this.db
          .prepare(
            'INSERT INTO api_keys (id, prefix, hash, plan, name, created_at, revoked_at) VALUES (@id, @prefix, @hash, @plan, @name, ' +
              '@created_at, @revoked_at)',
          )
          .run(row);
        this.invalidate();
      } catch (e) {
        // A handle collision (62^8 space) is astronomically rare; draw again rather than fail.
        if (
          (e as { code?: string }).code === 'SQLITE_CONSTRAINT_PRIMARYKEY' ||
          (e as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE'
        )
          continue;
        throw e;
      }
      return { key, record: toRecord(row) };
    }
  }

  list(): ApiKeyRecord[] {
    return this.db.prepare<[], KeyRow>('SELECT * FROM api_keys ORDER BY rowid').all().map(toRecord);
  }

  /** Revokes by id (`key_...`) or prefix (`sk-tetra-...`); returns the record, or null if no such key. */
  revoke(idOrPrefix: string, now = new Date()): ApiKeyRecord | null {
    const row = this.db.prepare<[string, string], KeyRow>('SELECT * FROM api_keys WHERE id = ? OR prefix = ?').get(idOrPrefix, idOrPrefix);
    if (!row) return null;
    if (row.revoked_at === null) {
      row.revoked_at = now.toISOString();
      this.db.prepare('UPDATE api_keys SET revoked_at = ? WHERE id = ?').run(row.revoked_at, row.id);
      this.invalidate();
    }
    return toRecord(row);
  }

  /** True once any key has been created (revoked ones count: revoking every key must not open the server). */
  hasKeys(): boolean {
    this.fresh();
    this.cachedCount ??= this.countAll.get()!.n;
    return this.cachedCount > 0;
  }

  verify(key: string): VerifyResult {
    const prefix = handleOf(key);
    const row = prefix ? this.row(prefix) : undefined;
    const presented = digest(key);
    const match = timingSafeEqual(presented, row ? row.hash : DUMMY_DIGEST);
    if (!prefix) return { ok: false, reason: 'malformed' };
    if (!row || !match) return { ok: false, reason: 'unknown' };
    const record = toRecord(row);
    if (row.revoked_at !== null) return { ok: false, reason: 'revoked', record };
    return { ok: true, record };
  }
}

/** How a key is shown in errors and listings: its public prefix, then an ellipsis. */
export function maskKey(key: string): string {
  const prefix = handleOf(key);
  if (prefix) return `${prefix}...`;
  return key.length <= 8 ? '***' : `${key.slice(0, 3)}***${key.slice(-4)}`;
}
