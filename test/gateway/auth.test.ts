import { describe, it } from 'node:test';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { KeyAuth, isLoopback } from '../../src/gateway/governance/auth.ts';
import { bearer } from '../../src/gateway/http/wire.ts';
import { GovernanceError } from '../../src/gateway/governance/contract.ts';
import { KeyStore } from '../../src/gateway/governance/keys.ts';
import { parsePlans } from '../../src/gateway/governance/plans.ts';

const plans = parsePlans({ plans: { research: { priceMultiplier: 0.5 } } });
const rejects401 = (re: RegExp) => (e: unknown) =>
  e instanceof GovernanceError && e.status === 401 && e.code === 'invalid_api_key' && re.test(e.message);

describe('auth', () => {
  it('recognises loopback addresses in every form Node reports', () => {
    for (const a of ['127.0.0.1', '127.1.2.3', '::1', '::ffff:127.0.0.1']) assert.equal(isLoopback(a), true, a);
    for (const a of ['10.0.0.1', '::ffff:10.0.0.1', '192.168.1.127', '::', '1127.0.0.1', '']) assert.equal(isLoopback(a), false, a);
  });

  it('without any key: serves loopback clients on the default plan and refuses other hosts', async () => {
    const auth = new KeyAuth(new KeyStore(':memory:'), plans);
    assert.equal(auth.mode(), 'loopback');
    const p = await auth.authenticate(null, '127.0.0.1');
    assert.deepEqual(p, { key: null, plan: plans.plans.get('default') });
    await assert.rejects(auth.authenticate(null, '10.1.2.3'), rejects401(/no API keys configured.*loopback/));
  });

  it('with keys: requires a bearer key, even from loopback, and answers with the key and its plan', async () => {
    const store = new KeyStore(':memory:');
    const { key, record } = store.create('research');
    const auth = new KeyAuth(store, plans);
    assert.equal(auth.mode(), 'keys');
    await assert.rejects(auth.authenticate(null, '127.0.0.1'), rejects401(/didn't provide an API key/));
    const p = await auth.authenticate(key, '203.0.113.9');
    assert.equal(p.key?.id, record.id);
    assert.equal(p.plan.name, 'research');
    assert.equal(p.plan.priceMultiplier, 0.5);
  });

  it('rejects wrong and revoked keys with 401, naming only the public prefix', async () => {
    const store = new KeyStore(':memory:');
    const { key, record } = store.create('default');
    const auth = new KeyAuth(store, plans);
    const wrong = key.slice(0, -4) + 'abcd';
    await assert.rejects(
      auth.authenticate(wrong, '127.0.0.1'),
      (e: unknown) => rejects401(/Incorrect API key provided: sk-tetra-\w{8}\.\.\./)(e) && !(e as Error).message.includes(wrong.slice(17)),
    );
    await assert.rejects(auth.authenticate('not-a-key', '127.0.0.1'), rejects401(/Incorrect API key/));
    store.revoke(record.id);
    await assert.rejects(auth.authenticate(key, '127.0.0.1'), rejects401(/has been revoked/));
  });

  it('sees keys created or revoked after it started (the CLI writes the same database)', async () => {
    const store = new KeyStore(':memory:');
    const auth = new KeyAuth(store, plans);
    assert.equal(auth.mode(), 'loopback');
    const { key } = store.create('default');
    await assert.rejects(auth.authenticate(null, '127.0.0.1'), rejects401(/didn't provide/));
    assert.equal((await auth.authenticate(key, '127.0.0.1')).plan.name, 'default');
  });

  it('a key revoked or created by another connection (the CLI) applies at the next request, despite the cache', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'tetra-auth-')), 'tetra.db');
    const server = new KeyStore(file),
      cli = new KeyStore(file);
    const auth = new KeyAuth(server, plans);
    const { key, record } = cli.create('default');
    for (let i = 0; i < 3; i++) assert.equal((await auth.authenticate(key, '127.0.0.1')).key?.id, record.id);
    cli.revoke(record.id);
    await assert.rejects(auth.authenticate(key, '127.0.0.1'), rejects401(/has been revoked/));
    const second = cli.create('default');
    assert.equal((await auth.authenticate(second.key, '127.0.0.1')).key?.id, second.record.id);
    server.db.close();
    cli.db.close();
  });

  it('refuses a key whose plan was removed from the config, saying which plan', async () => {
    const store = new KeyStore(':memory:');
    const { key } = store.create('gold');
    await assert.rejects(
      new KeyAuth(store, plans).authenticate(key, '127.0.0.1'),
      (e: unknown) => e instanceof GovernanceError && e.status === 403 && /plan 'gold', which is not defined/.test(e.message),
    );
  });

  it('reads the bearer token from an Authorization header', () => {
    assert.equal(bearer('Bearer sk-tetra-abc'), 'sk-tetra-abc');
    assert.equal(bearer('bearer   sk-x  '), 'sk-x');
    assert.equal(bearer('sk-bare-key'), 'sk-bare-key', 'a client that sent the key without the scheme');
    assert.equal(bearer(undefined), null);
    assert.equal(bearer(''), null);
  });
});
