import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { KeyStore, maskKey } from '../../src/gateway/governance/keys.ts';

const tmp = () => mkdtempSync(join(tmpdir(), 'tetra-keys-'));

describe('the API key store', () => {
  it('creates sk-tetra- keys with 256 bits of secret and a public handle', () => {
    const store = new KeyStore(':memory:');
    const { key, record } = store.create('default', 'ci');
    assert.match(key, /^sk-tetra-[0-9A-Za-z]{51}$/);
    assert.equal(record.prefix, key.slice(0, 17));
    assert.equal(record.id, `key_${key.slice(9, 17)}`);
    assert.equal(record.plan, 'default');
    assert.equal(record.name, 'ci');
    const keys = new Set(Array.from({ length: 200 }, () => store.create('default').key));
    assert.equal(keys.size, 200);
  });

  it('stores only the sha256 of a key: the secret appears nowhere in the database file', () => {
    const path = join(tmp(), 'tetra.db');
    const store = new KeyStore(path);
    const { key } = store.create('default');
    store.db.pragma('wal_checkpoint(TRUNCATE)');
    const bytes = readFileSync(path);
    assert.equal(bytes.includes(Buffer.from(key.slice(17))), false, 'secret part found in the db');
    const row = store.db.prepare('SELECT hash FROM api_keys').get() as { hash: Buffer };
    assert.deepEqual(row.hash, createHash('sha256').update(key).digest());
  });

  it('verifies the exact key and rejects near misses, malformed and revoked keys', () => {
    const store = new KeyStore(':memory:');
    const { key, record } = store.create('pro');
    assert.deepEqual(store.verify(key), { ok: true, record });
    const flipped = key.slice(0, -1) + (key.at(-1) === 'a' ? 'b' : 'a');
    assert.deepEqual(store.verify(flipped), { ok: false, reason: 'unknown' });
    assert.deepEqual(store.verify('sk-tetra-short'), { ok: false, reason: 'malformed' });
    assert.deepEqual(store.verify(''), { ok: false, reason: 'malformed' });
    const otherHandle = 'sk-tetra-ZZZZZZZZ' + key.slice(17);
    assert.equal(store.verify(otherHandle).ok, false);
    const revoked = store.revoke(record.id)!;
    assert.ok(revoked.revokedAt);
    const v = store.verify(key);
    assert.equal(v.ok, false);
    assert.equal(!v.ok && v.reason, 'revoked');
  });

  it('lists keys without secrets and revokes by id or prefix (idempotently)', () => {
    const store = new KeyStore(':memory:');
    const a = store.create('default', 'a');
    const b = store.create('research', 'b');
    const listed = store.list();
    assert.equal(listed.length, 2);
    assert.ok(!JSON.stringify(listed).includes(a.key.slice(17)));
    const first = store.revoke(b.record.prefix)!;
    const again = store.revoke(b.record.id)!;
    assert.equal(first.revokedAt, again.revokedAt);
    assert.equal(store.revoke('key_nonexist'), null);
    assert.deepEqual(
      store.list().map((k) => [k.name, k.revokedAt !== undefined]),
      [
        ['a', false],
        ['b', true],
      ],
    );
  });

  it('counts revoked keys as configured, so revoking every key never opens the server', () => {
    const store = new KeyStore(':memory:');
    assert.equal(store.hasKeys(), false);
    const { record } = store.create('default');
    store.revoke(record.id);
    assert.equal(store.hasKeys(), true);
  });

  it('masks keys to their public prefix in messages', () => {
    const store = new KeyStore(':memory:');
    const { key, record } = store.create('default');
    assert.equal(maskKey(key), `${record.prefix}...`);
    assert.equal(maskKey('sk-something-else-1234'), 'sk-***1234');
  });
});

describe('tetra keys', () => {
  const bin = join(import.meta.dirname, '../../bin/tetra.js');
  const tetra = (args: string[], home: string) =>
    spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', env: { ...process.env, TETRA_HOME: home } });

  it('creates a key printed alone on stdout, lists it without the secret, and revokes it', () => {
    const home = tmp();
    const c = tetra(['keys', 'create', '--plan', 'default', '--name', 'alice'], home);
    assert.equal(c.status, 0, c.stderr);
    const key = c.stdout.trim();
    assert.match(key, /^sk-tetra-\w{51}$/);
    assert.match(c.stderr, /only time the key is shown/);
    const l = tetra(['keys', 'list'], home);
    assert.match(l.stdout, new RegExp(`key_${key.slice(9, 17)}\\s+${key.slice(0, 17)}\\.\\.\\.\\s+default\\s+alice`));
    assert.ok(!l.stdout.includes(key.slice(17)));
    assert.equal(new KeyStore(join(home, 'tetra.db')).verify(key).ok, true);
    const r = tetra(['keys', 'revoke', key.slice(0, 17)], home);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(new KeyStore(join(home, 'tetra.db')).verify(key).ok, false);
  });

  it('refuses a plan that is not in the plans file, and unknown actions, with one line and exit 2', () => {
    const home = tmp();
    const c = tetra(['keys', 'create', '--plan', 'gold'], home);
    assert.equal(c.status, 2);
    assert.equal(c.stderr.trim(), "tetra keys create: no plan 'gold' in built-in (plans: default)");
    assert.equal(tetra(['keys', 'create'], home).status, 2);
    assert.equal(tetra(['keys', 'rotate'], home).status, 2);
    const r = tetra(['keys', 'revoke', 'key_nope'], home);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /no key 'key_nope'/);
  });
});
