// Rate limits per key: requests per minute, tokens per minute, and an optional usage cap
// (N requests per W hours), checked and taken together or not at all.
//
// RPM and TPM are token buckets: capacity = the per-minute limit, refilled continuously at
// limit/60 s. This is what OpenAI's headers describe: `remaining` is the bucket's level and
// `reset` is the time until it is full again (so at most 1m0s for a per-minute limit; one
// request at 200 RPM shows reset 300ms). A request takes one
// request and its *estimated* tokens (prompt + max completion) at admission; settle() then
// refunds the over-estimate (or takes the shortfall) once the real count is known, so a stream
// of requests that ask for max_tokens 4096 and use 20 is not throttled on its estimate.
// The usage cap is an exact sliding log: at most `messages` admissions in any `windowHours`.
//
// Exactness: admit() does its check-and-take synchronously (no await between reading and
// writing the state), so N concurrent admits against a limit of M admit exactly M in one
// process. limits-redis.ts does the same in one Lua script for several processes.
import {
  GovernanceError,
  type Admission,
  type CapUsage,
  type Limits,
  type Plan,
  type Principal,
  type RateLimitHeaders,
} from './contract.ts';

// ---- shared by the in-process and Redis implementations ----

/** Go-style durations, as OpenAI sends them: 300ms, 1s, 17.28s, 6m0s, 1h2m3s. */
export function formatDuration(ms: number): string {
  if (!(ms > 0)) return '0s';
  const totalMs = Math.ceil(ms);
  if (totalMs < 1000) return `${totalMs}ms`;
  const h = Math.floor(totalMs / 3_600_000);
  const m = Math.floor((totalMs % 3_600_000) / 60_000);
  const s = (totalMs % 60_000) / 1000;
  const secs = `${Number(s.toFixed(3))}s`;
  if (h > 0) return `${h}h${m}m${secs}`;
  if (m > 0) return `${m}m${secs}`;
  return secs;
}

export const perMs = (perMinute: number): number => perMinute / 60_000;

/** The bucket's level after refilling from `ts` to `now` (capacity when it has no state). */
export function refill(level: number | undefined, ts: number | undefined, capacity: number, now: number): number {
  if (level === undefined || ts === undefined) return capacity;
  return Math.min(capacity, level + Math.max(0, now - ts) * perMs(capacity));
}

export function limitHeaders(plan: Plan, reqLevel: number, tokLevel: number): RateLimitHeaders {
  return {
    'x-ratelimit-limit-requests': String(plan.rpm),
    'x-ratelimit-remaining-requests': String(Math.max(0, Math.floor(reqLevel))),
    'x-ratelimit-reset-requests': formatDuration((plan.rpm - reqLevel) / perMs(plan.rpm)),
    'x-ratelimit-limit-tokens': String(plan.tpm),
    'x-ratelimit-remaining-tokens': String(Math.max(0, Math.floor(tokLevel))),
    'x-ratelimit-reset-tokens': formatDuration((plan.tpm - tokLevel) / perMs(plan.tpm)),
  };
}

export type Refusal =
  | { kind: 'too_large' }
  | { kind: 'requests' }
  | { kind: 'tokens' }
  /** oldestMs: when the oldest admission in the window was made (the cap frees up a window later). */
  | { kind: 'usage_cap'; oldestMs: number };

/**
 * The 429 for a refused admission, with the message saying which limit and when to retry, and
 * Retry-After (whole seconds, rounded up) beside the x-ratelimit headers, since that is what
 * clients' retry logic reads. A request larger than the plan's TPM never fits: no Retry-After.
 */
export function refusalError(
  refusal: Refusal,
  who: string,
  plan: Plan,
  est: number,
  reqLevel: number,
  tokLevel: number,
  now: number,
): GovernanceError {
  const headers: Partial<RateLimitHeaders> & { 'retry-after'?: string } = limitHeaders(plan, reqLevel, tokLevel);
  const on = `on plan '${plan.name}' for ${who}`;
  const refuse = (waitMs: number | null, message: (wait: string) => string, type: string, code: string) => {
    if (waitMs !== null) headers['retry-after'] = String(Math.max(1, Math.ceil(waitMs / 1000)));
    return new GovernanceError(message(formatDuration(waitMs ?? 0)), 429, type, code, headers);
  };
  switch (refusal.kind) {
    case 'too_large':
      return refuse(
        null,
        () =>
          `Request too large ${on}: it may use ${est} tokens (prompt + max completion), more than the limit of ${plan.tpm} tokens ` +
          `per minute. Send a shorter prompt or a smaller max_tokens.`,
        'tokens',
        'rate_limit_exceeded',
      );
    case 'requests':
      return refuse(
        (1 - reqLevel) / perMs(plan.rpm),
        (wait) => `Rate limit reached for requests ${on}: Limit ${plan.rpm} / min, Remaining 0. Please try again in ${wait}.`,
        'requests',
        'rate_limit_exceeded',
      );
    case 'tokens':
      return refuse(
        (est - tokLevel) / perMs(plan.tpm),
        (wait) =>
          `Rate limit reached for tokens ${on}: Limit ${plan.tpm} / min, Remaining ${Math.max(0, Math.floor(tokLevel))}, Requested ` +
          `${est}. Please try again in ${wait}.`,
        'tokens',
        'rate_limit_exceeded',
      );
    case 'usage_cap': {
      const cap = plan.usageCap!;
      return refuse(
        refusal.oldestMs + cap.windowHours * 3_600_000 - now,
        (wait) => `Usage cap reached ${on}: at most ${cap.messages} messages per ${cap.windowHours} hours. Please try again in ${wait}.`,
        'requests',
        'usage_cap_exceeded',
      );
    }
  }
}

export function checkEstimate(est: number): void {
  if (!Number.isInteger(est) || est < 0) throw new RangeError(`limits: estimatedTokens must be a non-negative integer, got ${est}`);
}

/** The identity limits are kept under: the key's id, or one shared bucket for loopback callers. */
export const limitSubject = (p: Principal): string => p.key?.id ?? (p.user ? `user:${p.user.id}` : 'loopback');

/** Who a refusal names: the key's id (what `tetra keys list` shows), a chat user's name, or loopback. */
export const limitLabel = (p: Principal): string => p.key?.id ?? (p.user ? `user '${p.user.name}'` : 'loopback');

// ---- in-process ----

interface Bucket {
  level: number;
  ts: number;
}
interface KeyState {
  req?: Bucket;
  tok?: Bucket;
  capLog: number[];
}

/** Limits plus what a server needs to say where they live and to shut down cleanly. */
export interface ManagedLimits extends Limits {
  readonly describe: string;
  close(): Promise<void>;
}

export class MemoryLimits implements ManagedLimits {
  readonly describe = 'in-process (set REDIS_URL to share limits between instances)';
  private readonly state = new Map<string, KeyState>();

  /** `now` is injectable so tests can hold the clock still (no refill mid-test). */
  constructor(private readonly now: () => number = Date.now) {}

  async admit(principal: Principal, estimatedTokens: number): Promise<Admission> {
    return this.admitSync(principal, estimatedTokens);
  }

  async close(): Promise<void> {}

  async capUsage(principal: Principal): Promise<CapUsage | null> {
    const cap = principal.plan.usageCap;
    if (!cap) return null;
    const since = this.now() - cap.windowHours * 3_600_000;
    const log = (this.state.get(limitSubject(principal))?.capLog ?? []).filter((t) => t > since);
    return { used: log.length, oldestMs: log.length ? log[0] : null };
  }

  admitSync(principal: Principal, est: number): Admission {
    checkEstimate(est);
    const { plan } = principal;
    const subject = limitSubject(principal);
    const now = this.now();
    let st = this.state.get(subject);
    if (!st) this.state.set(subject, (st = { capLog: [] }));
    const reqLevel = refill(st.req?.level, st.req?.ts, plan.rpm, now);
    const tokLevel = refill(st.tok?.level, st.tok?.ts, plan.tpm, now);
    const cap = plan.usageCap;
    if (cap) {
      const since = now - cap.windowHours * 3_600_000;
      let drop = 0;
      while (drop < st.capLog.length && st.capLog[drop] <= since) drop++;
      if (drop) st.capLog.splice(0, drop);
    }
    let refusal: Refusal | null = null;
    if (est > plan.tpm) refusal = { kind: 'too_large' };
    else if (reqLevel < 1) refusal = { kind: 'requests' };
    else if (tokLevel < est) refusal = { kind: 'tokens' };
    else if (cap && st.capLog.length >= cap.messages) refusal = { kind: 'usage_cap', oldestMs: st.capLog[0] };
    if (refusal) throw refusalError(refusal, limitLabel(principal), plan, est, reqLevel, tokLevel, now);

    st.req = { level: reqLevel - 1, ts: now };
    st.tok = { level: tokLevel - est, ts: now };
    if (cap) st.capLog.push(now);
    const headers = limitHeaders(plan, reqLevel - 1, tokLevel - est);
    let settled = false;
    return {
      headers,
      settle: async (actual: number) => {
        if (settled) return;
        settled = true;
        checkEstimate(actual);
        const t = this.now();
        const tok = this.state.get(subject)!.tok!;
        tok.level = Math.min(plan.tpm, refill(tok.level, tok.ts, plan.tpm, t) + (est - actual));
        tok.ts = t;
      },
    };
  }
}

/**
 * Limits for this process: shared through Redis when REDIS_URL is set (every instance pointed at
 * the same Redis enforces one limit), in-process otherwise.
 */
export async function createLimits(env: NodeJS.ProcessEnv = process.env): Promise<ManagedLimits> {
  if (env.REDIS_URL) {
    const { RedisLimits } = await import('./limits-redis.ts');
    return RedisLimits.fromUrl(env.REDIS_URL, { describe: `shared through Redis at ${redactUrl(env.REDIS_URL)}` });
  }
  return new MemoryLimits();
}

function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return 'REDIS_URL';
  }
}
