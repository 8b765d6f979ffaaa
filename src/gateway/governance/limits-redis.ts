// The limits of limits.ts shared by every instance pointed at one Redis: the same token buckets
// and usage-cap log, checked and taken in one Lua script, so the check and the take cannot
// interleave with another instance's (without that, 4 workers each enforcing 100 RPM admit 400).
// The clock is Redis's own (TIME), so instances with skewed clocks still share one refill rate.
// Keys carry the subject in a {hash tag}, so a Redis Cluster keeps one key's buckets together.
//
// When Redis cannot be reached the admission fails closed (503 rate_limiter_unavailable) within
// commandTimeout, instead of queueing requests behind reconnect attempts or silently admitting
// everyone.
import { createHash } from 'node:crypto';
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { GovernanceError, type Admission, type CapUsage, type Principal } from './contract.ts';
import { checkEstimate, limitHeaders, limitLabel, limitSubject, refusalError, type ManagedLimits, type Refusal } from './limits.ts';

// ARGV[1] is the time in ms to use, or '' for Redis's own clock (only tests pass a time).
const COMMON = `
local now
if ARGV[1] ~= '' then now = tonumber(ARGV[1]) else
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
end
local function level(key, cap)
  local v = redis.call('HMGET', key, 'level', 'ts')
  if not v[1] then return cap end
  local l = tonumber(v[1]) + math.max(0, now - tonumber(v[2])) * cap / 60000
  if l > cap then l = cap end
  return l
end
-- A bucket expires when it would be full again: no key and a full bucket mean the same.
local function save(key, l, cap)
  redis.call('HSET', key, 'level', string.format('%.6f', l), 'ts', string.format('%.3f', now))
  redis.call('PEXPIRE', key, math.ceil((cap - l) * 60000 / cap) + 1000)
end
`;

// KEYS: request bucket, token bucket, usage-cap log (sorted set of admission times)
// ARGV: now, rpm, tpm, estimated tokens, cap messages (0 = no cap), cap window ms, unique member
// Returns: status (0 admitted, 1 too large, 2 requests, 3 tokens, 4 usage cap), request level,
// token level, oldest admission in the cap window, now. Levels go back as strings: Redis would
// truncate Lua numbers to integers.
const ADMIT = `${COMMON}
local rpm, tpm, est = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local capN, capW = tonumber(ARGV[5]), tonumber(ARGV[6])
local rl = level(KEYS[1], rpm)
local tl = level(KEYS[2], tpm)
local count, oldest = 0, '0'
if capN > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', string.format('%.3f', now - capW))
  count = redis.call('ZCARD', KEYS[3])
  if count >= capN then oldest = redis.call('ZRANGE', KEYS[3], 0, 0, 'WITHSCORES')[2] end
end
local status = 0
if est > tpm then status = 1
elseif rl < 1 then status = 2
elseif tl < est then status = 3
elseif capN > 0 and count >= capN then status = 4
else
  rl = rl - 1
  tl = tl - est
  save(KEYS[1], rl, rpm)
  save(KEYS[2], tl, tpm)
  if capN > 0 then
    redis.call('ZADD', KEYS[3], string.format('%.3f', now), ARGV[7])
    redis.call('PEXPIRE', KEYS[3], math.ceil(capW) + 1000)
  end
end
return {status, string.format('%.6f', rl), string.format('%.6f', tl), oldest, string.format('%.3f', now)}
`;

// KEYS: token bucket. ARGV: now, tpm, estimate - actual (refund if positive, charge if negative).
const SETTLE = `${COMMON}
local tpm = tonumber(ARGV[2])
local l = level(KEYS[1], tpm) + tonumber(ARGV[3])
if l > tpm then l = tpm end
save(KEYS[1], l, tpm)
return string.format('%.6f', l)
`;

class Script {
  readonly sha: string;
  constructor(readonly source: string) {
    this.sha = createHash('sha1').update(source).digest('hex');
  }
  /** EVALSHA, loading the script on NOSCRIPT (a restarted or flushed Redis forgets scripts). */
  async run(redis: Redis, keys: string[], args: (string | number)[]): Promise<unknown> {
    try {
      return await redis.evalsha(this.sha, keys.length, ...keys, ...args);
    } catch (e) {
      if (!String((e as Error).message).startsWith('NOSCRIPT')) throw e;
      return redis.eval(this.source, keys.length, ...keys, ...args);
    }
  }
}
const admitScript = new Script(ADMIT);
const settleScript = new Script(SETTLE);

function unavailable(e: unknown): GovernanceError {
  return new GovernanceError(
    `The rate limiter (Redis) is unavailable, so the request was not admitted: ${(e as Error).message ?? e}. Please retry shortly.`,
    503,
    'server_error',
    'rate_limiter_unavailable',
  );
}

const REFUSALS: Record<number, Refusal['kind']> = { 1: 'too_large', 2: 'requests', 3: 'tokens', 4: 'usage_cap' };

export interface RedisLimitsOptions {
  describe?: string;
  /** Prefix for the keys, so several deployments (or tests) can share one Redis. */
  namespace?: string;
  /** A clock in ms instead of Redis's TIME: for tests that must not see refill mid-burst. */
  now?: () => number;
}

export class RedisLimits implements ManagedLimits {
  readonly describe: string;
  private readonly namespace: string;
  private readonly now?: () => number;

  constructor(
    private readonly redis: Redis,
    opts: RedisLimitsOptions = {},
  ) {
    this.describe = opts.describe ?? 'shared through Redis';
    this.namespace = opts.namespace ?? 'tetra:rl';
    this.now = opts.now;
  }

  static fromUrl(url: string, opts: RedisLimitsOptions = {}): RedisLimits {
    const redis = new Redis(url, { maxRetriesPerRequest: 1, commandTimeout: 2000, connectTimeout: 2000 });
    // Without a listener ioredis prints every failed reconnect; admissions report the failure.
    redis.on('error', () => {});
    return new RedisLimits(redis, opts);
  }

  private time(): string {
    return this.now ? String(this.now()) : '';
  }

  private keys(subject: string): string[] {
    const k = `${this.namespace}:{${subject}}`;
    return [`${k}:req`, `${k}:tok`, `${k}:cap`];
  }

  async admit(principal: Principal, est: number): Promise<Admission> {
    checkEstimate(est);
    const { plan } = principal;
    const subject = limitSubject(principal);
    const keys = this.keys(subject);
    const cap = plan.usageCap;
    let out: [number, string, string, string, string];
    try {
      out = (await admitScript.run(this.redis, keys, [
        this.time(),
        plan.rpm,
        plan.tpm,
        est,
        cap ? cap.messages : 0,
        cap ? cap.windowHours * 3_600_000 : 0,
        randomUUID(),
      ])) as typeof out;
    } catch (e) {
      throw unavailable(e);
    }
    const [status, rl, tl, oldest, now] = [Number(out[0]), Number(out[1]), Number(out[2]), Number(out[3]), Number(out[4])];
    if (status !== 0) {
      const kind = REFUSALS[status];
      const refusal: Refusal = kind === 'usage_cap' ? { kind, oldestMs: oldest } : ({ kind } as Refusal);
      throw refusalError(refusal, limitLabel(principal), plan, est, rl, tl, now);
    }
    let settled = false;
    return {
      headers: limitHeaders(plan, rl, tl),
      settle: async (actual: number) => {
        if (settled) return;
        settled = true;
        checkEstimate(actual);
        if (actual === est) return;
        try {
          await settleScript.run(this.redis, [keys[1]], [this.time(), plan.tpm, est - actual]);
        } catch (e) {
          throw unavailable(e);
        }
      },
    };
  }

  async capUsage(principal: Principal): Promise<CapUsage | null> {
    const cap = principal.plan.usageCap;
    if (!cap) return null;
    const key = this.keys(limitSubject(principal))[2];
    try {
      // Redis's clock, as admissions use it (unless a test injected one).
      const now = this.now ? this.now() : (([s, us]) => Number(s) * 1000 + Number(us) / 1000)(await this.redis.time());
      const since = `(${(now - cap.windowHours * 3_600_000).toFixed(3)}`;
      const [used, first] = await Promise.all([
        this.redis.zcount(key, since, '+inf'),
        this.redis.zrangebyscore(key, since, '+inf', 'WITHSCORES', 'LIMIT', 0, 1),
      ]);
      return { used, oldestMs: first.length ? Number(first[1]) : null };
    } catch (e) {
      throw unavailable(e);
    }
  }

  async close(): Promise<void> {
    await this.redis.quit().catch(() => this.redis.disconnect());
  }

  /** Drops the connection without waiting for Redis (for a Redis that is gone). */
  disconnectNow(): void {
    this.redis.disconnect();
  }
}
