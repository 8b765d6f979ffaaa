// A response cache for completion functions, keyed on the function's identity (model and
// endpoint) and the whole request. openai/evals has a --cache flag that nothing reads; this one
// works. Only successful responses are stored (an error is never replayed), and requests that
// are meant to vary (temperature > 0 without a seed) bypass it, so repeated sampling stays random.
import { createHash } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import type { Completion, CompletionFn, CompletionOptions, EvalMessage, LoglikelihoodRequest, LoglikelihoodResult } from '../types.ts';

export class ResponseCache {
  private readonly db: Database.Database;
  private readonly get: Database.Statement;
  private readonly put: Database.Statement;
  hits = 0;
  misses = 0;

  constructor(readonly path: string) {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    this.db = new Database(path);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.exec(
      'CREATE TABLE IF NOT EXISTS responses (key TEXT PRIMARY KEY, fn TEXT NOT NULL, value TEXT NOT NULL, created_at TEXT NOT NULL)',
    );
    this.get = this.db.prepare('SELECT value FROM responses WHERE key = ?');
    this.put = this.db.prepare('INSERT OR REPLACE INTO responses (key, fn, value, created_at) VALUES (?, ?, ?, ?)');
  }

  static key(fn: string, kind: string, request: unknown): string {
    return createHash('sha256')
      .update(JSON.stringify([fn, kind, request]))
      .digest('hex');
  }

  lookup<T>(key: string): T | undefined {
    const row = this.get.get(key) as { value: string } | undefined;
    if (row) {
      this.hits++;
      return JSON.parse(row.value) as T;
    }
    this.misses++;
    return undefined;
  }

  store(key: string, fn: string, value: unknown): void {
    this.put.run(key, fn, JSON.stringify(value), new Date().toISOString());
  }

  close(): void {
    this.db.close();
  }
}

const cacheable = (o: CompletionOptions) => (o.temperature ?? 1) === 0 || o.seed !== undefined;

/** fn with its responses cached; `identity` must name the model and endpoint (fn.name usually does). */
export function cached(fn: CompletionFn, cache: ResponseCache, identity = fn.name): CompletionFn {
  async function through<T>(kind: string, request: unknown, use: boolean, call: () => Promise<T>): Promise<T> {
    if (!use) return call();
    const key = ResponseCache.key(identity, kind, request);
    const hit = cache.lookup<T>(key);
    if (hit !== undefined) return hit;
    const value = await call(); // a throw skips the store: errors are not cached
    cache.store(key, identity, value);
    return value;
  }
  const out: CompletionFn = {
    name: fn.name,
    chat: (messages: EvalMessage[], opts: CompletionOptions, signal?: AbortSignal): Promise<Completion> =>
      through('chat', { messages, opts }, cacheable(opts), () => fn.chat(messages, opts, signal)),
  };
  if (fn.complete)
    out.complete = (prompt: string, opts: CompletionOptions, signal?: AbortSignal) =>
      through('complete', { prompt, opts }, cacheable(opts), () => fn.complete!(prompt, opts, signal));
  if (fn.loglikelihood)
    out.loglikelihood = (reqs: LoglikelihoodRequest[], signal?: AbortSignal): Promise<LoglikelihoodResult[]> =>
      through('loglikelihood', reqs, true, () => fn.loglikelihood!(reqs, signal));
  return out;
}
