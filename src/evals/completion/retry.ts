// Bounded retries with backoff for HTTP completion functions. openai/evals retries forever
// (exponential backoff capped at 60 s, no limit on tries), which is why a dead endpoint makes
// oaieval hang; here a call is retried at most maxRetries times, only for errors that can pass
// (429, 408, 409, 5xx, a dropped connection), and a server's retry-after is honoured.

export interface RetryOptions {
  /** Retries after the first attempt (default 5). */
  maxRetries?: number;
  /** First backoff delay; doubled per retry (default 500 ms). */
  baseDelayMs?: number;
  /** Longest computed backoff (default 30 s). */
  maxDelayMs?: number;
  /** Longest retry-after honoured; a server asking for more fails the call (default 120 s). */
  maxRetryAfterMs?: number;
  signal?: AbortSignal;
  /** Told before each wait (for logs and tests). */
  onRetry?: (info: { attempt: number; delayMs: number; status?: number; reason: string }) => void;
  /** Deterministic jitter for tests; default Math.random. */
  random?: () => number;
}

export class RetriesExhaustedError extends Error {
  constructor(readonly attempts: number, readonly last: unknown) {
    super(`gave up after ${attempts} attempts: ${(last as Error)?.message ?? last}`);
  }
}

interface HttpishError { status?: number; headers?: Headers | Record<string, string | undefined>; name?: string; message?: string }

function header(e: HttpishError, name: string): string | undefined {
  const h = e.headers;
  if (!h) return undefined;
  if (typeof (h as Headers).get === 'function') return (h as Headers).get(name) ?? undefined;
  return (h as Record<string, string | undefined>)[name];
}

/** Whether an error may pass on its own: rate limits, overload, server errors, dropped connections. */
export function isRetryable(err: unknown): boolean {
  const e = err as HttpishError;
  if (!e || typeof e !== 'object') return false;
  if (e.name === 'AbortError' || e.name === 'APIUserAbortError') return false;
  if (typeof e.status === 'number') return e.status === 408 || e.status === 409 || e.status === 429 || e.status >= 500;
  return e.name === 'APIConnectionError' || e.name === 'APIConnectionTimeoutError' || /ECONNRESET|ECONNREFUSED|socket hang up|fetch failed/i.test(e.message ?? '');
}

/** The delay a server asked for: retry-after-ms, or retry-after in seconds or as an HTTP date. */
export function retryAfterMs(err: unknown, now = Date.now()): number | undefined {
  const e = err as HttpishError;
  const ms = header(e, 'retry-after-ms');
  if (ms !== undefined && Number.isFinite(Number(ms))) return Math.max(0, Number(ms));
  const ra = header(e, 'retry-after');
  if (ra === undefined) return undefined;
  if (/^\s*\d+(\.\d+)?\s*$/.test(ra)) return Math.max(0, Number(ra) * 1000);
  const at = Date.parse(ra);
  return Number.isFinite(at) ? Math.max(0, at - now) : undefined;
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((res, rej) => {
    if (signal?.aborted) return rej(signal.reason ?? new Error('aborted'));
    const t = setTimeout(() => { signal?.removeEventListener('abort', onAbort); res(); }, ms);
    const onAbort = () => { clearTimeout(t); rej(signal!.reason ?? new Error('aborted')); };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

export async function withRetries<T>(call: (attempt: number) => Promise<T>, o: RetryOptions = {}): Promise<T> {
  const maxRetries = o.maxRetries ?? 5, base = o.baseDelayMs ?? 500, cap = o.maxDelayMs ?? 30_000, raCap = o.maxRetryAfterMs ?? 120_000;
  const rnd = o.random ?? Math.random;
  for (let attempt = 0; ; attempt++) {
    try {
      return await call(attempt);
    } catch (err) {
      if (!isRetryable(err)) throw err;
      if (attempt >= maxRetries) throw new RetriesExhaustedError(attempt + 1, err);
      const asked = retryAfterMs(err);
      if (asked !== undefined && asked > raCap) throw new RetriesExhaustedError(attempt + 1, new Error(`server asked to retry after ${Math.round(asked / 1000)} s, more than the ${raCap / 1000} s allowed: ${(err as Error).message}`));
      // Jitter (half to full delay) spreads concurrent retries so they do not hit the server together.
      const delayMs = asked ?? Math.min(cap, base * 2 ** attempt) * (0.5 + 0.5 * rnd());
      o.onRetry?.({ attempt: attempt + 1, delayMs, status: (err as HttpishError).status, reason: (err as Error).message ?? String(err) });
      await sleep(delayMs, o.signal);
    }
  }
}
