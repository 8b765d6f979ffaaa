// Password hashing (src/app/passwords.ts): the stored format, constant-parameter round trips,
// tampering, rehash on changed parameters, and the length limits.
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { hashPassword, needsRehash, scryptParams, verifyPassword } from '../../src/app/passwords.ts';

const FAST = '12';
process.env.TETRA_SCRYPT_LOG2N = FAST;
afterEach(() => {
  process.env.TETRA_SCRYPT_LOG2N = FAST;
});

/** Replaces field i (0 = 'scrypt') of a stored hash. */
function withField(stored: string, i: number, value: string): string {
  const f = stored.split('$');
  f[i] = value;
  return f.join('$');
}

/** Flips one base64 character of field i without changing its length. */
function flip(stored: string, i: number): string {
  const f = stored.split('$');
  const c = f[i][0];
  f[i] = (c === 'A' ? 'B' : 'A') + f[i].slice(1);
  return f.join('$');
}

describe('passwords', () => {
  it('stores scrypt$log2N$r$p$salt$key with a 16-byte salt and a 32-byte key, and verifies the password', async () => {
    const h = await hashPassword('correct horse battery');
    assert.match(h, /^scrypt\$12\$8\$1\$[A-Za-z0-9+/]{22}==\$[A-Za-z0-9+/]{43}=$/);
    assert.equal(Buffer.from(h.split('$')[4], 'base64').length, 16);
    assert.equal(Buffer.from(h.split('$')[5], 'base64').length, 32);
    assert.ok(!h.includes('horse'));
    assert.equal(await verifyPassword('correct horse battery', h), true);
    assert.notEqual(await hashPassword('correct horse battery'), h, 'a fresh salt each time');
  });

  it('rejects a wrong password, one character off, or a different case', async () => {
    const h = await hashPassword('correct horse battery');
    for (const wrong of ['correct horse batterY', 'correct horse batter', 'correct horse battery ', 'CORRECT HORSE BATTERY']) {
      assert.equal(await verifyPassword(wrong, h), false, wrong);
    }
  });

  it('uses OWASP parameters (N = 2^17, r = 8, p = 1) when TETRA_SCRYPT_LOG2N is unset, within the 256 MiB maxmem', async () => {
    delete process.env.TETRA_SCRYPT_LOG2N;
    assert.deepEqual(scryptParams(), { log2n: 17, r: 8, p: 1 });
    const h = await hashPassword('a production password');
    assert.match(h, /^scrypt\$17\$8\$1\$/);
    assert.equal(await verifyPassword('a production password', h), true);
  });

  it('refuses a TETRA_SCRYPT_LOG2N outside 10..17', async () => {
    for (const v of ['9', '18', 'abc', '12.5']) {
      process.env.TETRA_SCRYPT_LOG2N = v;
      await assert.rejects(hashPassword('long enough'), /TETRA_SCRYPT_LOG2N must be an integer in \[10, 17\]/, v);
    }
  });

  it('rejects a tampered hash, salt or parameter, and malformed stored strings', async () => {
    const h = await hashPassword('correct horse battery');
    const bad = [
      flip(h, 5),
      flip(h, 4),
      withField(h, 1, '13'),
      withField(h, 2, '9'),
      withField(h, 3, '2'),
      withField(h, 0, 'bcrypt'),
      withField(h, 1, '30'),
      withField(h, 5, Buffer.alloc(31).toString('base64')),
      withField(h, 4, Buffer.alloc(8).toString('base64')),
      h.slice(0, -2),
      '',
      'scrypt$12$8$1$abc',
    ];
    for (const s of bad) {
      assert.equal(await verifyPassword('correct horse battery', s), false, s);
    }
    for (const s of bad.slice(5)) assert.equal(needsRehash(s), true, s);
  });

  it('says a hash needs redoing when the parameters for new hashes change', async () => {
    const h = await hashPassword('correct horse battery');
    assert.equal(needsRehash(h), false);
    process.env.TETRA_SCRYPT_LOG2N = '13';
    assert.equal(needsRehash(h), true);
    assert.equal(await verifyPassword('correct horse battery', h), true, 'old hashes still verify with their own parameters');
    const h13 = await hashPassword('correct horse battery');
    assert.match(h13, /^scrypt\$13\$/);
    assert.equal(needsRehash(h13), false);
    process.env.TETRA_SCRYPT_LOG2N = FAST;
    assert.equal(needsRehash(withField(h, 2, '16')), true, 'a different r');
  });

  it('accepts 8 to 1024 characters, counting an emoji as one', async () => {
    await assert.rejects(hashPassword('1234567'), /password must have 8 to 1024 characters, got 7/);
    await assert.rejects(hashPassword(''), /got 0/);
    await assert.rejects(hashPassword('x'.repeat(1025)), /password must have 8 to 1024 characters, got 1025/);
    await assert.rejects(hashPassword(42 as unknown as string), /password must be a string/);
    const long = 'x'.repeat(1024);
    assert.equal(await verifyPassword(long, await hashPassword(long)), true);
    const emoji = '🔑'.repeat(8);
    assert.equal(await verifyPassword(emoji, await hashPassword(emoji)), true);
    await assert.rejects(hashPassword('🔑'.repeat(7)), /got 7/);
    const h = await hashPassword('12345678');
    assert.equal(await verifyPassword('1234567', h), false);
    assert.equal(await verifyPassword('x'.repeat(1025), h), false);
  });

  it('matches a password however its accents are composed (NFC)', async () => {
    const composed = 'caf\u00e9-au-lait';
    const decomposed = 'cafe\u0301-au-lait';
    assert.notEqual(composed, decomposed);
    assert.equal(await verifyPassword(decomposed, await hashPassword(composed)), true);
  });
});
