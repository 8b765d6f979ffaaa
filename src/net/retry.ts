// The one retry policy for calls to OpenAI-compatible servers: which failures may pass on their
// own, how long to wait, and a bounded loop. openai/evals retries forever (backoff capped at 60 s,
// no limit on tries), which is why a dead endpoint makes oaieval hang; here every caller names a
// number of retries.
//
// What is retried:
//   - statuses 408, 409, 429 and 5xx (as the official client); a server's x-should-retry: true or
//     false overrides the status either way
//   - connection failures: refused, reset, DNS, a connect deadline, a body cut off mid-way
//   - NOT a request that went out and then hung (the first-byte or idle deadline passed): the
//     server may still be generating it, and a second copy would be paid for twice. A timeout
//     whose phase is unknown counts as hung.
//   - NOT an abort by the caller.
// How long to wait: the server's retry-after-ms, else retry-after (seconds or an HTTP date), else
// exponential backoff with jitter. The constants, chosen once for every caller:
export const RETRY_POLICY = {
  /** The first backoff, doubled per retry: 0.5, 1, 2, 4, 8 s before jitter (15.5 s over five retries). */
  baseDelayMs: 500,
  /** The longest computed backoff (reached at the seventh retry). */
  maxDelayMs: 30_000,
  /**
   * The longest retry-after honoured. OpenAI's limits are per minute; a server asking for more is
   * out of a daily quota or down for maintenance, and the call fails at once instead of waiting.
   */
  maxRetryAfterMs: 60_000,
  /** Retries withRetries makes when the caller names none (an eval run's sample); OpenAIHttpClient's own default is 0. */
  maxRetries: 5,
} as const;

export interface RetryOptions {
  /** Retries after the first attempt (default RETRY_POLICY.maxRetries). */
  maxRetries?: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
  maxRetryAfterMs?: number;
  signal?: AbortSignal;
  /** Told before each wait (for logs and tests). */
  onRetry?: (info: { attempt: number; delayMs: number; status?: number; reason: string }) => void;
  /** Deterministic jitter for tests; default Math.random. */
  random?: () => number;
}

export class RetriesExhaustedError extends Error {
  override name = 'RetriesExhaustedError';
  constructor(
    readonly attempts: number,
    readonly last: unknown,
  ) {
    super(`gave up after ${attempts} attempts: ${(last as Error)?.message ?? last}`);
  }
}

type HeaderBag = Headers | Record<string, string | undefined>;
interface ErrorLike {
  status?: unknown;
  headers?: HeaderBag;
  name?: string;
  message?: string;
  code?: unknown;
  timeout?: unknown;
}

function header(h: HeaderBag | undefined, name: string): string | undefined {
  if (!h) return undefined;
  if (typeof (h as Headers).get === 'function') return (h as Headers).get(name) ?? undefined;
  return (h as Record<string, string | undefined>)[name];
}

/** Whether an answer with this status may be retried; x-should-retry (true/false) overrides the status. */
export function isRetryableStatus(status: number, shouldRetry?: string): boolean {
  if (shouldRetry === 'true') return true;
  if (shouldRetry === 'false') return false;
  return status === 408 || status === 409 || status === 429 || status >= 500;
}

const CONNECTION_FAILURE = /ECONNRESET|ECONNREFUSED|EPIPE|ENOTFOUND|EAI_AGAIN|EHOSTUNREACH|ENETUNREACH|socket hang up|fetch failed/i;

/** Whether a failed call may succeed if made again (see the rules at the top of this file). */
export function isRetryable(err: unknown): boolean {
  if (!err || typeof err !== 'object') return false;
  const e = err as ErrorLike;
  if (e.name === 'AbortError' || e.name === 'APIUserAbortError') return false;
  if (typeof e.status === 'number') return isRetryableStatus(e.status, header(e.headers, 'x-should-retry'));
  if (e.timeout !== undefined || e.name === 'APIConnectionTimeoutError') return e.timeout === 'connect';
  if (e.name === 'APIConnectionError') return true;
  return (typeof e.code === 'string' && CONNECTION_FAILURE.test(e.code)) || CONNECTION_FAILURE.test(e.message ?? '');
}

/** The delay a server asked for: retry-after-ms, or retry-after in seconds or as an HTTP date (never negative). */
export function retryAfterMs(err: unknown, now = Date.now()): number | undefined {
  const h = (err as ErrorLike | undefined)?.headers;
  const ms = header(h, 'retry-after-ms');
  if (ms !== undefined && ms.trim() !== '' && Number.isFinite(Number(ms))) return Math.max(0, Number(ms));
  const after = header(h, 'retry-after');
  if (after === undefined) return undefined;
  if (/^\s*\d+(\.\d+)?\s*$/.test(after)) return Number(after) * 1000;
  const at = Date.parse(after);
  return Number.isFinite(at) ? Math.max(0, at - now) : undefined;
}

/** Exponential backoff for retry number attempt + 1, with jitter (half to full delay) so concurrent retries spread out. */
export function backoffMs(attempt: number, o: Pick<RetryOptions, 'baseDelayMs' | 'maxDelayMs' | 'random'> = {}): number {
  const base = o.baseDelayMs ?? RETRY_POLICY.baseDelayMs,
    cap = o.maxDelayMs ?? RETRY_POLICY.maxDelayMs;
  return Math.min(cap, base * 2 ** attempt) * (0.5 + 0.5 * (o.random ?? Math.random)());
}

/**
 * The wait before retrying a retryable error: the server's retry-after, else backoff; null when
 * the server asks for longer than maxRetryAfterMs (the call should fail now).
 */
type Timing = Omit<RetryOptions, 'signal' | 'onRetry' | 'maxRetries'>;

export function retryDelayMs(err: unknown, attempt: number, o: Timing = {}): number | null {
  const asked = retryAfterMs(err);
  if (asked === undefined) return backoffMs(attempt, o);
  return asked > (o.maxRetryAfterMs ?? RETRY_POLICY.maxRetryAfterMs) ? null : asked;
}

/** Resolves after ms; rejects with the signal's reason when it aborts first. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason ?? new Error('aborted'));
    const onAbort = () => {
      clearTimeout(t);
      reject(signal!.reason ?? new Error('aborted'));
    };
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Calls `call` until it succeeds, fails with an error that is not retryable (thrown as is), or
 * runs out of retries or patience (RetriesExhaustedError, with the last error).
 */
export async function withRetries<T>(call: (attempt: number) => Promise<T>, o: RetryOptions = {}): Promise<T> {
  const maxRetries = o.maxRetries ?? RETRY_POLICY.maxRetries;
  for (let attempt = 0; ; attempt++) {
    try {
      return await call(attempt);
    } catch (err) {
      if (!isRetryable(err)) throw err;
      if (attempt >= maxRetries) throw new RetriesExhaustedError(attempt + 1, err);
      const delayMs = retryDelayMs(err, attempt, o);
      if (delayMs === null) {
        const cap = o.maxRetryAfterMs ?? RETRY_POLICY.maxRetryAfterMs;
        const asked = retryAfterMs(err) ?? 0;
        const why = `server asked to retry after ${Math.round(asked / 1000)} s, more than the ${cap / 1000} s allowed`;
        throw new RetriesExhaustedError(attempt + 1, new Error(`${why}: ${(err as Error).message}`));
      }
      const status = (err as ErrorLike).status as number | undefined;
      o.onRetry?.({ attempt: attempt + 1, delayMs, status, reason: (err as Error).message ?? String(err) });
      await sleep(delayMs, o.signal);
    }
  }
}
