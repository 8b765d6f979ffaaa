// Chat users' passwords: scrypt (node:crypto) with OWASP's parameters, N = 2^17, r = 8, p = 1
// (128 MiB and ~0.3 s per hash on a small machine), a 16-byte random salt and a 32-byte key.
// Unlike API keys (governance/keys.ts), passwords are chosen by people and low in entropy, so a
// leaked table must be slow to guess from. A hash is stored as one string that carries its
// parameters, `scrypt$17$8$1$<salt base64>$<key base64>`, so raising them later only needs
// needsRehash() on the next sign-in, never a migration. Passwords are NFC-normalized before hashing,
// so the same password typed on two systems that compose accents differently matches.
//
// TETRA_SCRYPT_LOG2N (10..17) lowers N for tests only: suites that create many users (and the
// browser tests) would otherwise spend a third of a second per hash. Production leaves it unset.
import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';

export const MIN_PASSWORD_CHARS = 8;
export const MAX_PASSWORD_CHARS = 1024;

const LOG2N = 17;
const MIN_LOG2N = 10;
const R = 8;
const P = 1;
const SALT_BYTES = 16;
const KEY_BYTES = 32;
const MAXMEM = 256 * 1024 * 1024;
const FORMAT = /^scrypt\$(\d{1,2})\$(\d{1,2})\$(\d{1,2})\$([A-Za-z0-9+/]+={0,2})\$([A-Za-z0-9+/]+={0,2})$/;

export interface ScryptParams {
  log2n: number;
  r: number;
  p: number;
}

/** The parameters new hashes get: OWASP's, or N from TETRA_SCRYPT_LOG2N (tests). */
export function scryptParams(env: NodeJS.ProcessEnv = process.env): ScryptParams {
  const v = env.TETRA_SCRYPT_LOG2N;
  if (v === undefined || v === '') return { log2n: LOG2N, r: R, p: P };
  const n = Number(v);
  if (!Number.isInteger(n) || n < MIN_LOG2N || n > LOG2N) {
    throw new Error(`TETRA_SCRYPT_LOG2N must be an integer in [${MIN_LOG2N}, ${LOG2N}], got '${v}'`);
  }
  return { log2n: n, r: R, p: P };
}

/** Throws unless the password has 8..1024 characters (code points). */
export function checkPassword(password: unknown): asserts password is string {
  if (typeof password !== 'string') throw new Error('password must be a string');
  const n = [...password].length;
  if (n < MIN_PASSWORD_CHARS || n > MAX_PASSWORD_CHARS) {
    throw new Error(`password must have ${MIN_PASSWORD_CHARS} to ${MAX_PASSWORD_CHARS} characters, got ${n}`);
  }
}

function derive(password: string, salt: Buffer, params: ScryptParams): Promise<Buffer> {
  const N = 2 ** params.log2n;
  // scrypt needs 128 * N * r bytes; maxmem is OWASP's 256 MiB unless a stored hash asks for more.
  const opts: ScryptOptions = { N, r: params.r, p: params.p, maxmem: Math.max(MAXMEM, 2 * 128 * N * params.r) };
  return new Promise((resolve, reject) => {
    scrypt(password.normalize('NFC'), salt, KEY_BYTES, opts, (err, key) => (err ? reject(err) : resolve(key)));
  });
}

interface Parsed extends ScryptParams {
  salt: Buffer;
  key: Buffer;
}

/** A stored hash's parts, or null when it is not one this file wrote (or its parameters are out of range). */
function parse(stored: string): Parsed | null {
  const m = FORMAT.exec(stored);
  if (!m) return null;
  const [log2n, r, p] = [Number(m[1]), Number(m[2]), Number(m[3])];
  // Bounds keep a corrupted row from asking for gigabytes or minutes.
  if (log2n < MIN_LOG2N || log2n > 20 || r < 1 || r > 32 || p < 1 || p > 16) return null;
  const salt = Buffer.from(m[4], 'base64');
  const key = Buffer.from(m[5], 'base64');
  if (salt.length < SALT_BYTES || key.length !== KEY_BYTES) return null;
  return { log2n, r, p, salt, key };
}

/** `scrypt$log2N$r$p$salt$key` for a new random salt. Throws on a password outside 8..1024 characters. */
export async function hashPassword(password: string): Promise<string> {
  checkPassword(password);
  const params = scryptParams();
  const salt = randomBytes(SALT_BYTES);
  const key = await derive(password, salt, params);
  return `scrypt$${params.log2n}$${params.r}$${params.p}$${salt.toString('base64')}$${key.toString('base64')}`;
}

/**
 * Whether `password` is the one `stored` was made from, compared in constant time. A malformed
 * stored hash, or a password outside the length limits, is simply false.
 */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const parsed = parse(stored);
  if (!parsed || typeof password !== 'string') return false;
  const n = [...password].length;
  if (n < MIN_PASSWORD_CHARS || n > MAX_PASSWORD_CHARS) return false;
  const key = await derive(password, parsed.salt, parsed);
  return timingSafeEqual(key, parsed.key);
}

/** True when `stored` was made with other parameters than new hashes get (or cannot be read). */
export function needsRehash(stored: string): boolean {
  const parsed = parse(stored);
  if (!parsed) return true;
  const want = scryptParams();
  return parsed.log2n !== want.log2n || parsed.r !== want.r || parsed.p !== want.p || parsed.salt.length !== SALT_BYTES;
}
