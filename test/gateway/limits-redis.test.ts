import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { GovernanceError, type Plan, type Principal } from '../../src/gateway/governance/contract.ts';
import { createLimits, MemoryLimits } from '../../src/gateway/governance/limits.ts';
import { RedisLimits } from '../../src/gateway/governance/limits-redis.ts';
import { DEFAULT_PLAN } from '../../src/gateway/governance/plans.ts';
import { chatBody, fixtureServerPath, post, startServer, stop } from './fixtures/processes.ts';
import { redisSkipReason, startRedis, type RedisServer } from './fixtures/redis.ts';

const skip = redisSkipReason();
const plan = (p: Partial<Plan> = {}): Plan => ({ ...DEFAULT_PLAN, models: ['*'], ...p });
let seq = 0;
/** A fresh key id per test, so tests sharing the Redis never share a bucket. */
const who = (p: Plan): Principal => ({
  key: { id: `key_t${++seq}_${process.pid}`, prefix: 'sk-tetra-t', plan: p.name, createdAt: '' },
  plan: p,
});
const is429 = (code: string, re?: RegExp) => (e: unknown) =>
  e instanceof GovernanceError && e.status === 429 && e.code === code && (!re || re.test(e.message));

describe('Redis limits', { skip }, () => {
  let redis: RedisServer;
  const opened: RedisLimits[] = [];
  const open = () => {
    const l = RedisLimits.fromUrl(redis.url, { namespace: 'unit' });
    opened.push(l);
    return l;
  };

  before(async () => {
    redis = await startRedis();
  });
  after(async () => {
    await Promise.all(opened.map((l) => l.close()));
    await redis?.stop();
  });

  it('two processes firing 300 admits each against 200 RPM admit exactly 200 between them', async () => {
    // Both pass the same fixed clock, so no refill happens however long the burst takes: any
    // count above 200 would be a lost update between the processes.
    const env = {
      ...process.env,
      REDIS_URL: redis.url,
      N: '300',
      RPM: '200',
      TPM: '1000000',
      EST: '1',
      NAMESPACE: 'two-proc',
      FROZEN_NOW: String(Date.now()),
    };
    const kids = [0, 1].map(() =>
      spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'fixtures/redis-admitter.ts')], {
        env,
        stdio: ['pipe', 'pipe', 'inherit'],
      }),
    );
    const lines = kids.map((k) => createInterface({ input: k.stdout! })[Symbol.asyncIterator]());
    for (const l of lines) assert.equal((await l.next()).value, 'ready');
    for (const k of kids) k.stdin!.write('go\n');
    const results = await Promise.all(
      lines.map(async (l) => JSON.parse((await l.next()).value as string) as { admitted: number; refused: number; odd: string[] }),
    );
    for (const r of results) assert.deepEqual(r.odd, []);
    assert.ok(
      results.every((r) => r.admitted > 0),
      `both processes got admissions: ${JSON.stringify(results)}`,
    );
    assert.equal(results[0].admitted + results[1].admitted, 200, JSON.stringify(results));
    for (const k of kids) k.stdin!.end();
  });

  it('two server instances sharing Redis (on its own clock) answer exactly 20 of 200 parallel requests with 200 at 20 RPM', async () => {
    // 20 RPM refills one request every 3 s; the burst takes far less, so more than 20 would be
    // a lost update, not a refill.
    const dir = mkdtempSync(join(tmpdir(), 'tetra-redis-http-'));
    const env = { TETRA_DB: join(dir, 'tetra.db'), TETRA_PLANS: JSON.stringify({ plans: { default: { rpm: 20 } } }), REDIS_URL: redis.url };
    const servers = await Promise.all([startServer(fixtureServerPath, env), startServer(fixtureServerPath, env)]);
    try {
      const t0 = performance.now();
      // One request to each instance first, so both are shown to admit (in the burst alone, one
      // instance may take all 20 before the other's requests arrive), then the other 198 at once.
      const first = [
        await post(servers[0].port, '/v1/chat/completions', chatBody()),
        await post(servers[1].port, '/v1/chat/completions', chatBody()),
      ];
      assert.deepEqual(
        first.map((r) => r.status),
        [200, 200],
        'both instances admit',
      );
      const replies = await Promise.all(
        Array.from({ length: 198 }, (_, i) => post(servers[i % 2].port, '/v1/chat/completions', chatBody())),
      );
      const elapsed = performance.now() - t0;
      const ok = replies.filter((r) => r.status === 200).length;
      assert.ok(elapsed < 3000 || ok === 18, `burst took ${elapsed.toFixed(0)} ms`);
      assert.equal(2 + ok, 20, `statuses: ${replies.map((r) => r.status).join(',')}`);
      assert.ok(replies.filter((r) => r.status !== 200).every((r) => r.status === 429));
    } finally {
      await Promise.all(servers.map(stop));
    }
  });

  it('take tokens exactly too: 200 concurrent estimates of 300 against 10,000 TPM admit 33', async () => {
    const a = open(),
      b = open();
    const p = who(plan({ rpm: 100_000, tpm: 10_000 }));
    const results = await Promise.allSettled(Array.from({ length: 200 }, (_, i) => (i % 2 ? a : b).admit(p, 300)));
    assert.equal(results.filter((r) => r.status === 'fulfilled').length, 33);
  });

  it('send the same headers as the in-process limits', async () => {
    const p = plan();
    const r = await open().admit(who(p), 1000);
    const m = await new MemoryLimits().admit(who(p), 1000);
    assert.deepEqual(r.headers, m.headers);
  });

  it('refund at settle across instances: one admits, another settles, a third sees the refund', async () => {
    const a = open(),
      b = open();
    const p = who(plan({ tpm: 1000 }));
    const adm = await a.admit(p, 1000);
    await assert.rejects(b.admit(p, 1), is429('rate_limit_exceeded', /Remaining 0, Requested 1/));
    await adm.settle(100);
    // Redis time moves on between calls, so the bucket may have refilled a token or two.
    const next = await b.admit(p, 900);
    assert.ok(Number(next.headers['x-ratelimit-remaining-tokens']) <= 5, JSON.stringify(next.headers));
  });

  it('refuse oversized requests and enforce the usage cap with the same messages', async () => {
    const l = open();
    await assert.rejects(l.admit(who(plan({ tpm: 8000 })), 9000), is429('rate_limit_exceeded', /Request too large/));
    const p = who(plan({ usageCap: { messages: 3, windowHours: 4 } }));
    for (let i = 0; i < 3; i++) await l.admit(p, 1);
    await assert.rejects(l.admit(p, 1), is429('usage_cap_exceeded', /at most 3 messages per 4 hours\. Please try again in (3h59m|4h0m0s)/));
  });

  it('report the usage-cap window as the in-process limits do, without taking from it', async () => {
    let t = 1_000_000_000_000;
    const l = RedisLimits.fromUrl(redis.url, { namespace: 'unit', now: () => t });
    opened.push(l);
    const p = who(plan({ usageCap: { messages: 3, windowHours: 4 } }));
    assert.deepEqual(await l.capUsage(p), { used: 0, oldestMs: null });
    await l.admit(p, 1);
    t += 60_000;
    await l.admit(p, 1);
    for (let i = 0; i < 3; i++) assert.deepEqual(await l.capUsage(p), { used: 2, oldestMs: 1_000_000_000_000 });
    t += 4 * 3_600_000 - 60_000;
    assert.deepEqual(await l.capUsage(p), { used: 1, oldestMs: 1_000_000_000_000 + 60_000 });
    assert.equal(await l.capUsage(who(plan())), null);
  });

  it('fail closed with 503 when Redis is unreachable, instead of admitting or hanging', async () => {
    const l = RedisLimits.fromUrl('redis://127.0.0.1:1');
    const t0 = performance.now();
    await assert.rejects(
      l.admit(who(plan()), 1),
      (e: unknown) => e instanceof GovernanceError && e.status === 503 && e.code === 'rate_limiter_unavailable',
    );
    assert.ok(performance.now() - t0 < 10_000);
    l.disconnectNow();
  });

  it('are what createLimits gives when REDIS_URL is set (in-process otherwise)', async () => {
    const l = await createLimits({ REDIS_URL: redis.url });
    assert.ok(l instanceof RedisLimits);
    assert.match(l.describe, /Redis at redis:\/\/127\.0\.0\.1/);
    await l.close();
    assert.ok((await createLimits({})) instanceof MemoryLimits);
  });
});
