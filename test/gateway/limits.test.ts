import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GovernanceError, type Plan, type Principal } from '../../src/gateway/governance/contract.ts';
import { formatDuration, MemoryLimits } from '../../src/gateway/governance/limits.ts';
import { DEFAULT_PLAN } from '../../src/gateway/governance/plans.ts';
import { chatBody, fixtureServerPath, post, startServer, stop } from './fixtures/processes.ts';

const plan = (p: Partial<Plan> = {}): Plan => ({ ...DEFAULT_PLAN, models: ['*'], ...p });
const who = (p: Plan, id = 'key_test'): Principal => ({ key: { id, prefix: 'sk-tetra-test', plan: p.name, createdAt: '' }, plan: p });
const is429 = (code: string, re?: RegExp) => (e: unknown) =>
  e instanceof GovernanceError && e.status === 429 && e.code === code && (!re || re.test(e.message));

/** A clock tests move by hand. */
function clock(start = 1_700_000_000_000) {
  let t = start;
  return {
    now: () => t,
    advance: (ms: number) => {
      t += ms;
    },
  };
}

async function settleAll(limits: MemoryLimits, p: Principal, n: number, est: number) {
  const results = await Promise.allSettled(Array.from({ length: n }, () => limits.admit(p, est)));
  const admitted = results.filter((r) => r.status === 'fulfilled').length;
  for (const r of results) if (r.status === 'rejected') assert.ok(r.reason instanceof GovernanceError, String(r.reason));
  return admitted;
}

describe('in-process limits', () => {
  it('admit exactly M of N concurrent requests against an RPM limit of M', async () => {
    const c = clock();
    const limits = new MemoryLimits(c.now);
    assert.equal(await settleAll(limits, who(plan({ rpm: 137 })), 1000, 1), 137);
  });

  it('admit exactly floor(TPM / estimate) concurrent requests against a token limit', async () => {
    const c = clock();
    const limits = new MemoryLimits(c.now);
    assert.equal(await settleAll(limits, who(plan({ rpm: 10_000, tpm: 10_000 })), 200, 300), 33);
  });

  it('send OpenAI headers: limits, remaining, and reset as durations', async () => {
    const c = clock();
    const limits = new MemoryLimits(c.now);
    const a = await limits.admit(who(plan()), 1000);
    assert.deepEqual(a.headers, {
      'x-ratelimit-limit-requests': '200',
      'x-ratelimit-remaining-requests': '199',
      'x-ratelimit-reset-requests': '300ms',
      'x-ratelimit-limit-tokens': '40000',
      'x-ratelimit-remaining-tokens': '39000',
      'x-ratelimit-reset-tokens': '1.5s',
    });
  });

  it('format durations the way OpenAI (Go) does', () => {
    assert.deepEqual([0, 0.2, 300, 999.5, 1000, 1500, 17_280, 59_999, 60_000, 360_000, 3_723_500].map(formatDuration), [
      '0s',
      '1ms',
      '300ms',
      '1s',
      '1s',
      '1.5s',
      '17.28s',
      '59.999s',
      '1m0s',
      '6m0s',
      '1h2m3.5s',
    ]);
  });

  it('refill continuously: a drained 200 RPM bucket admits one more after 300 ms, not before', async () => {
    const c = clock();
    const limits = new MemoryLimits(c.now);
    const p = who(plan({ rpm: 200 }));
    assert.equal(await settleAll(limits, p, 201, 1), 200);
    c.advance(299);
    await assert.rejects(
      limits.admit(p, 1),
      is429('rate_limit_exceeded', /requests .* Limit 200 \/ min, Remaining 0\. Please try again in 1ms/),
    );
    c.advance(1);
    const a = await limits.admit(p, 1);
    assert.equal(a.headers['x-ratelimit-remaining-requests'], '0');
    assert.equal(a.headers['x-ratelimit-reset-requests'], '1m0s');
  });

  it('reserve the estimate at admission and refund the unused part at settle', async () => {
    const c = clock();
    const limits = new MemoryLimits(c.now);
    const p = who(plan({ tpm: 1000 }));
    const a = await limits.admit(p, 1000);
    await assert.rejects(limits.admit(p, 1), is429('rate_limit_exceeded', /tokens .* Remaining 0, Requested 1/));
    await a.settle(100);
    await a.settle(0); // a second settle is ignored
    const b = await limits.admit(p, 900);
    assert.equal(b.headers['x-ratelimit-remaining-tokens'], '0');
  });

  it('charge the shortfall when a request used more than its estimate', async () => {
    const c = clock();
    const limits = new MemoryLimits(c.now);
    const p = who(plan({ tpm: 1000 }));
    const a = await limits.admit(p, 100);
    await a.settle(600);
    await assert.rejects(limits.admit(p, 401), is429('rate_limit_exceeded'));
    assert.equal((await limits.admit(p, 400)).headers['x-ratelimit-remaining-tokens'], '0');
  });

  it('refuse a request larger than the whole TPM limit, saying so', async () => {
    const limits = new MemoryLimits(clock().now);
    await assert.rejects(
      limits.admit(who(plan({ tpm: 8000 })), 9000),
      is429('rate_limit_exceeded', /Request too large .* 9000 tokens .* limit of 8000/),
    );
  });

  it('carry the headers on a 429 so clients know when to retry', async () => {
    const limits = new MemoryLimits(clock().now);
    const p = who(plan({ rpm: 1 }));
    await limits.admit(p, 1);
    const e = await limits.admit(p, 1).catch((x: GovernanceError) => x);
    assert.ok(e instanceof GovernanceError);
    assert.equal(e.type, 'requests');
    assert.equal(e.headers['x-ratelimit-remaining-requests'], '0');
    assert.equal(e.headers['x-ratelimit-reset-requests'], '1m0s');
  });

  it('report the usage-cap window without taking from it (what the chat app shows)', async () => {
    const c = clock();
    const limits = new MemoryLimits(c.now);
    assert.equal(await limits.capUsage(who(plan())), null, 'no cap, nothing to report');
    const p = who(plan({ usageCap: { messages: 3, windowHours: 4 } }));
    assert.deepEqual(await limits.capUsage(p), { used: 0, oldestMs: null });
    const first = c.now();
    await limits.admit(p, 1);
    c.advance(60_000);
    await limits.admit(p, 1);
    for (let i = 0; i < 5; i++) assert.deepEqual(await limits.capUsage(p), { used: 2, oldestMs: first });
    c.advance(4 * 3_600_000 - 60_000);
    assert.deepEqual(await limits.capUsage(p), { used: 1, oldestMs: first + 60_000 }, 'the oldest left the window');
  });

  it('enforce a usage cap of N messages per window and free it a window after the oldest', async () => {
    const c = clock();
    const limits = new MemoryLimits(c.now);
    const p = who(plan({ usageCap: { messages: 3, windowHours: 4 } }));
    for (let i = 0; i < 3; i++) {
      await limits.admit(p, 1);
      c.advance(60_000);
    }
    await assert.rejects(limits.admit(p, 1), is429('usage_cap_exceeded', /at most 3 messages per 4 hours\. Please try again in 3h57m0s/));
    c.advance(4 * 3_600_000 - 3 * 60_000);
    await limits.admit(p, 1);
    await assert.rejects(limits.admit(p, 1), is429('usage_cap_exceeded'));
  });

  it('keep separate buckets per key, and refuse without taking anything', async () => {
    const limits = new MemoryLimits(clock().now);
    const p = plan({ rpm: 2, tpm: 100 });
    await limits.admit(who(p, 'a'), 60);
    await assert.rejects(limits.admit(who(p, 'a'), 60), is429('rate_limit_exceeded'));
    // the refused token request took no request: one is still left for key a
    assert.equal((await limits.admit(who(p, 'a'), 40)).headers['x-ratelimit-remaining-requests'], '0');
    assert.equal((await limits.admit(who(p, 'b'), 100)).headers['x-ratelimit-remaining-tokens'], '0');
  });

  it('hold exactly over real sockets: 300 parallel HTTP requests against 50 RPM get exactly 50 answers of 200', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tetra-limits-http-'));
    const srv = await startServer(fixtureServerPath, {
      TETRA_DB: join(dir, 'tetra.db'),
      TETRA_PLANS: JSON.stringify({ plans: { default: { rpm: 50 } } }),
      TETRA_FROZEN_CLOCK: '1',
    });
    try {
      const replies = await Promise.all(Array.from({ length: 300 }, (_, _i) => post(srv.port, '/v1/chat/completions', chatBody())));
      const by = new Map<number, number>();
      for (const r of replies) by.set(r.status, (by.get(r.status) ?? 0) + 1);
      assert.deepEqual(Object.fromEntries(by), { 200: 50, 429: 250 });
      const refused = replies.find((r) => r.status === 429)!;
      assert.equal(JSON.parse(refused.body).error.code, 'rate_limit_exceeded');
      assert.equal(refused.headers['x-ratelimit-remaining-requests'], '0');
    } finally {
      await stop(srv);
    }
  });
});
