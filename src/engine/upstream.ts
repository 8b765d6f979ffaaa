// The upstream engine: any OpenAI-compatible server (vLLM, llama.cpp's llama-server, OpenAI) as a
// ChatEngine. This is how a deployment scales past one machine: the gateway keeps keys, limits
// and usage; the heavy lifting happens elsewhere.
//
// Transport: by default a lean client (UpstreamHttp below, over the keep-alive HTTP/1.1 client
// in http1.ts): one POST, an SSE parser, OpenAI's error envelope. The official `openai` client (over
// fetch/undici) cost about 0.3 ms of CPU per request in the gateway's profile (request-building,
// log formatting, web streams, an AbortController and a DOMException per request), more than the
// rest of the gateway together, so it is the opt-in transport (`client: 'openai'`), for upstreams
// where its extras matter (OpenAI's own API: retry-after handling, its telemetry headers). Both
// transports produce the same EngineEvents and the same errors (test/engine/upstream.test.ts
// runs every case against each), and the wire types are the official client's.
//
// Requests always stream from the upstream (stream: true, include_usage), and chunks are passed
// through as EngineEvents as they arrive. Aborting the request's signal aborts the HTTP request,
// so the upstream sees the connection close and can stop generating.
//
// Errors: unreachable (connection refused, DNS, timeout) -> 503 engine_unavailable; the upstream's
// own 4xx -> the same status with its message (401/403 are about tetra's credentials for the
// upstream, not the caller's, so they become 502); 5xx and broken streams -> 502 upstream_error.
import OpenAI from 'openai';
import { cl100k } from '../tokenizer/index.ts';
import type { Tokenizer } from '../tokenizer/index.ts';
import { DEFAULT_HTTP1_TIMEOUTS, Http1Client, Http1Error, type Http1Response } from './http1.ts';
import { FairQueue } from './queue.ts';
import {
  EngineError, type ChatEngine, type ChatRequest, type CompletionRequest, type EngineCapabilities, type EngineEvent,
  type EngineMessage, type SamplingParams, type TokenLogprobInfo,
} from './types.ts';

export interface UpstreamOptions {
  /** e.g. http://localhost:8000/v1 (vLLM), http://localhost:8080/v1 (llama-server), https://api.openai.com/v1 */
  baseURL: string;
  apiKey?: string;
  /** The upstream's model name. */
  model: string;
  /** Prompt + completion tokens the upstream model holds. Default: known GPT-4 windows, else 4096. */
  contextWindow?: number;
  /**
   * Requests sent at once; the rest wait in the fair queue. Default 256: an upstream server
   * batches and queues by itself (vLLM's default max_num_seqs is 256, llama-server has its own
   * slots), so the gateway only needs a cap that protects it from unbounded fan-out, not one far
   * below what the gateway admits (8 made 64 concurrent clients queue here behind an idle
   * backend). Lower it for an upstream that degrades under concurrency.
   */
  concurrency?: number;
  /** The HTTP client: 'http' (default) is the lean node:http keep-alive client; 'openai' the official SDK. */
  client?: 'http' | 'openai';
  /** Whether the upstream model takes image_url parts (e.g. a vision model). Default false. */
  imageInput?: boolean;
  /** Whether the upstream honours logprobs / response_format / raw completions. Default true each. */
  logprobs?: boolean;
  jsonSchema?: boolean;
  completions?: boolean;
  /**
   * The name of the completion budget field. OpenAI deprecated max_tokens for
   * max_completion_tokens; older vLLM / llama-server releases know only max_tokens. Default max_tokens.
   */
  maxTokensField?: 'max_tokens' | 'max_completion_tokens';
  /**
   * Deadlines, so a hung upstream never holds a client's request: connecting (default 10 s), the
   * first byte of the answer after the request went out (default 60 s: a long prompt's prefill),
   * and silence between streamed chunks (default 30 s). Each ends the request with 504.
   */
  connectTimeoutMs?: number;
  firstByteTimeoutMs?: number;
  idleTimeoutMs?: number;
  /** The client's own retries (default 0: the gateway decides). */
  maxRetries?: number;
}

/** GPT-4 family names whose tokens are cl100k's (gpt-4, gpt-4-32k, gpt-4-0613, gpt-3.5-turbo...). */
const CL100K_MODELS = /^(gpt-4(?!o)|gpt-3\.5|gpt-35)/i;

function defaultWindow(model: string): number {
  if (/^gpt-4-32k/i.test(model)) return 32768;
  if (/^gpt-4(-0314|-0613)?$/i.test(model)) return 8192;
  if (/^gpt-3\.5-turbo-16k/i.test(model)) return 16384;
  return 4096;
}

export class UpstreamEngine implements ChatEngine {
  readonly kind = 'upstream';
  readonly capabilities: EngineCapabilities;
  /**
   * How countChatTokens / countTextTokens count: 'cl100k' is exact text tokens for GPT-4-family
   * names (plus OpenAI's documented per-message overhead); 'estimate' is UTF-8 bytes / 4 rounded
   * up, an estimate for unknown tokenizers. Usage reported after generation is always the
   * upstream's own count when it sends one.
   */
  readonly tokenCounting: 'cl100k' | 'estimate';
  private readonly client: OpenAI | null;
  private readonly http: UpstreamHttp | null;
  private readonly queue: FairQueue;
  private readonly window: number;
  private readonly timeouts: Required<Pick<UpstreamOptions, 'connectTimeoutMs' | 'firstByteTimeoutMs' | 'idleTimeoutMs'>>;
  private tokenizer: Promise<Tokenizer> | null = null;

  constructor(readonly options: UpstreamOptions) {
    if (!options.baseURL) throw new Error('upstream engine: baseURL is required, e.g. http://localhost:8000/v1');
    if (!options.model) throw new Error('upstream engine: model (the upstream model name) is required');
    this.timeouts = {
      connectTimeoutMs: options.connectTimeoutMs ?? DEFAULT_HTTP1_TIMEOUTS.connectTimeoutMs,
      firstByteTimeoutMs: options.firstByteTimeoutMs ?? DEFAULT_HTTP1_TIMEOUTS.firstByteTimeoutMs,
      idleTimeoutMs: options.idleTimeoutMs ?? DEFAULT_HTTP1_TIMEOUTS.idleTimeoutMs,
    };
    const conn = {
      baseURL: options.baseURL,
      // llama-server and vLLM accept any key when they run without --api-key
      apiKey: options.apiKey ?? 'none',
      maxRetries: options.maxRetries ?? 0,
    };
    // The official client has one deadline, up to the response head; silence between chunks is timed in open().
    this.client = options.client === 'openai' ? new OpenAI({ ...conn, timeout: this.timeouts.connectTimeoutMs + this.timeouts.firstByteTimeoutMs }) : null;
    this.http = options.client === 'openai' ? null : new UpstreamHttp({ ...conn, timeouts: this.timeouts });
    this.queue = new FairQueue(options.concurrency ?? 256);
    this.window = options.contextWindow ?? defaultWindow(options.model);
    this.capabilities = {
      imageInput: options.imageInput ?? false,
      logprobs: options.logprobs ?? true,
      jsonSchema: options.jsonSchema ?? true,
      completions: options.completions ?? true,
    };
    this.tokenCounting = CL100K_MODELS.test(options.model) ? 'cl100k' : 'estimate';
  }

  contextWindow(): number { return this.window; }
  queueDepth(): number { return this.queue.queueDepth(); }

  async countTextTokens(text: string): Promise<number> {
    if (this.tokenCounting === 'estimate') return Math.ceil(Buffer.byteLength(text, 'utf8') / 4);
    this.tokenizer ??= cl100k();
    return (await this.tokenizer).encode(text).length;
  }

  async countChatTokens(messages: EngineMessage[]): Promise<number> {
    // OpenAI's accounting for gpt-4 / gpt-3.5-turbo-0613: 3 tokens per message (role and
    // delimiters), 1 more for a name, 3 that prime the assistant's reply. Images: 85 each, the
    // low-detail price (an estimate: high detail depends on the image size).
    let n = 3;
    for (const m of messages) {
      n += 3 + (await this.countTextTokens(m.role));
      if (m.name) n += 1 + (await this.countTextTokens(m.name));
      if (typeof m.content === 'string') n += await this.countTextTokens(m.content);
      else for (const p of m.content) n += p.type === 'text' ? await this.countTextTokens(p.text) : 85;
    }
    return n;
  }

  chat(req: ChatRequest, signal: AbortSignal): AsyncIterable<EngineEvent> {
    return this.queue.run(req.client ?? '', signal, () => this.streamChat(req, signal));
  }

  complete(req: CompletionRequest, signal: AbortSignal): AsyncIterable<EngineEvent> {
    return this.queue.run(req.client ?? '', signal, () => this.streamCompletion(req, signal));
  }

  async close(): Promise<void> {
    this.queue.rejectAll(new EngineError('the upstream engine is shutting down', 503, 'engine_unavailable'));
    this.http?.close();
  }

  // -------------------------------------------------------------------------------------------

  private sampling(p: SamplingParams): Record<string, unknown> {
    const body: Record<string, unknown> = {
      model: this.options.model,
      temperature: p.temperature,
      top_p: p.topP,
      n: p.n,
      presence_penalty: p.presencePenalty,
      frequency_penalty: p.frequencyPenalty,
      stream: true,
      stream_options: { include_usage: true },
    };
    if (p.maxTokens !== undefined) body[this.options.maxTokensField ?? 'max_tokens'] = p.maxTokens;
    if (p.stop.length) body.stop = p.stop;
    if (p.seed !== undefined) body.seed = p.seed;
    // token ids are the upstream's own: the caller chose them against the upstream's tokenizer
    if (Object.keys(p.logitBias).length) body.logit_bias = Object.fromEntries(Object.entries(p.logitBias).map(([k, v]) => [String(k), v]));
    return body;
  }

  private async *streamChat(req: ChatRequest, signal: AbortSignal): AsyncGenerator<EngineEvent> {
    const body = this.sampling(req);
    body.messages = req.messages.map(toOpenAIMessage);
    if (req.topLogprobs !== null) { body.logprobs = true; body.top_logprobs = req.topLogprobs; }
    const f = req.responseFormat;
    if (f.type === 'json_object') body.response_format = { type: 'json_object' };
    else if (f.type === 'json_schema') body.response_format = { type: 'json_schema', json_schema: { name: f.name, schema: f.schema, strict: f.strict ?? false } };

    const usage = new UsageTracker(req.n);
    for await (const chunk of this.open<OpenAI.Chat.Completions.ChatCompletionChunk>('/chat/completions', body, () => this.client!.chat.completions.create(body as never, { signal }) as never, signal)) {
      for (const c of chunk.choices ?? []) {
        const text = c.delta?.content ?? '';
        const lps = c.logprobs?.content?.map(mapChatLogprob);
        if (text || lps?.length) {
          usage.text(c.index, text);
          yield { type: 'text', index: c.index, text, ...(lps?.length ? { logprobs: lps } : {}) };
        }
        if (c.finish_reason) { yield { type: 'done', index: c.index, finishReason: mapFinish(c.finish_reason) }; }
      }
      if (chunk.usage) usage.upstream(chunk.usage);
    }
    yield* usage.finish(async () => this.countChatTokens(req.messages), (t) => this.countTextTokens(t));
  }

  private async *streamCompletion(req: CompletionRequest, signal: AbortSignal): AsyncGenerator<EngineEvent> {
    if (req.responseFormat.type !== 'text') {
      throw new EngineError('response_format is not available for raw completions through an upstream', 400, 'unsupported_capability', 'response_format');
    }
    const body = this.sampling(req);
    body.prompt = req.prompt;
    if (req.echo) body.echo = true;
    if (req.topLogprobs !== null) body.logprobs = req.topLogprobs;
    // With echo the upstream sends the prompt first; it is split off by character count and,
    // for logprobs, by text_offset.
    const promptChars = req.echo ? req.prompt.length : 0;
    const echoed = new Map<number, number>();
    const usage = new UsageTracker(req.n);
    for await (const chunk of this.open<OpenAI.Completions.Completion>('/completions', body, () => this.client!.completions.create(body as never, { signal }) as never, signal)) {
      for (const c of chunk.choices ?? []) {
        let text = c.text ?? '';
        const lps = mapCompletionLogprobs(c.logprobs);
        const seen = echoed.get(c.index) ?? 0;
        if (seen < promptChars) {
          const take = Math.min(promptChars - seen, text.length);
          echoed.set(c.index, seen + take);
          const echoLps = lps?.filter((_, i) => (c.logprobs!.text_offset?.[i] ?? Infinity) < promptChars);
          yield { type: 'text', index: c.index, text: text.slice(0, take), echo: true, ...(echoLps?.length ? { logprobs: echoLps } : {}) };
          text = text.slice(take);
          const rest = lps?.filter((_, i) => (c.logprobs!.text_offset?.[i] ?? Infinity) >= promptChars);
          if (text || rest?.length) { usage.text(c.index, text); yield { type: 'text', index: c.index, text, ...(rest?.length ? { logprobs: rest } : {}) }; }
        } else if (text || lps?.length) {
          usage.text(c.index, text);
          yield { type: 'text', index: c.index, text, ...(lps?.length ? { logprobs: lps } : {}) };
        }
        if (c.finish_reason) { yield { type: 'done', index: c.index, finishReason: mapFinish(c.finish_reason) }; }
      }
      if (chunk.usage) usage.upstream(chunk.usage);
    }
    yield* usage.finish(() => this.countTextTokens(req.prompt), (t) => this.countTextTokens(t));
  }

  /**
   * Opens the upstream stream and iterates it, mapping every failure to an EngineError; an abort
   * (by the signal) ends the iteration quietly. Stopping the iteration early aborts the request.
   */
  private async *open<T>(path: string, body: Record<string, unknown>, start: () => Promise<AsyncIterable<T> & { controller: AbortController }>, signal: AbortSignal): AsyncGenerator<T> {
    if (this.http) {
      try {
        yield* this.http.stream<T>(path, body, signal);
      } catch (e) {
        if (signal.aborted) return;
        throw this.mapError(e);
      }
      return;
    }
    let stream: (AsyncIterable<T> & { controller: AbortController }) | undefined;
    let ended = false, quiet = false;
    let timer: NodeJS.Timeout | undefined;
    try {
      stream = await start();
      const idle = this.timeouts.idleTimeoutMs;
      const it = stream[Symbol.asyncIterator]();
      for (;;) {
        timer = setTimeout(() => { quiet = true; stream!.controller.abort(); }, idle);
        const r = await it.next();
        clearTimeout(timer);
        if (r.done) break;
        yield r.value;
      }
      ended = true;
    } catch (e) {
      clearTimeout(timer);
      if (quiet) throw new EngineError(`${this.where()} went quiet for ${this.timeouts.idleTimeoutMs} ms mid-stream`, 504, 'upstream_timeout');
      if (signal.aborted || e instanceof OpenAI.APIUserAbortError) return;
      throw this.mapError(e);
    } finally {
      // Only a stream left early needs aborting (aborting a finished one costs a DOMException).
      if (!ended) stream?.controller.abort();
    }
  }

  private where(): string { return `upstream ${this.options.baseURL} (model ${this.options.model})`; }

  private mapError(e: unknown): EngineError {
    if (e instanceof EngineError) return e;
    const where = this.where();
    if (e instanceof UpstreamStatusError) return statusError(where, e.status, e.message, e.code, e.param);
    // A connect deadline means unreachable (503); a deadline after the request went out means it hung (504).
    if (e instanceof UpstreamConnectionError) {
      if (e.timeout && e.timeout !== 'connect') return new EngineError(`${where} timed out: ${e.message}`, 504, 'upstream_timeout');
      return new EngineError(`${where} is unreachable: ${e.message}`, 503, 'engine_unavailable');
    }
    if (e instanceof Http1Error && e.timeout) return new EngineError(`${where} timed out: ${e.message}`, 504, 'upstream_timeout');
    if (e instanceof OpenAI.APIConnectionTimeoutError) return new EngineError(`${where} timed out: no response head in time`, 504, 'upstream_timeout');
    if (e instanceof OpenAI.APIConnectionError) {
      // fetch wraps the socket error: APIConnectionError -> TypeError('fetch failed') -> { code: 'ECONNREFUSED' }
      let why = e instanceof OpenAI.APIConnectionTimeoutError ? 'timed out' : e.message;
      for (let c = e.cause as { code?: string; message?: string; cause?: unknown } | undefined; c; c = c.cause as typeof c) {
        if (c.code) { why = `${c.code}${c.message ? ` (${c.message})` : ''}`; break; }
      }
      return new EngineError(`${where} is unreachable: ${why}`, 503, 'engine_unavailable');
    }
    if (e instanceof OpenAI.APIError) {
      const inner = e.error as { message?: unknown } | undefined;
      const message = typeof inner?.message === 'string' ? inner.message : e.message;
      return statusError(where, e.status, message, e.code, e.param);
    }
    return new EngineError(`${where} failed: ${(e as Error)?.message ?? String(e)}`, 502, 'upstream_error');
  }
}

/** The upstream answered an error status (or sent an error event mid-stream: status undefined). */
function statusError(where: string, status: number | undefined, message: string, code: string | null | undefined, param: string | null | undefined): EngineError {
  if (status === 401 || status === 403) return new EngineError(`${where} refused tetra's credentials (${status}): ${message}`, 502, 'upstream_error');
  if (status !== undefined && status >= 400 && status < 500) {
    const c = code === 'context_length_exceeded' ? 'context_length_exceeded' : status === 429 ? 'upstream_error' : 'invalid_request';
    return new EngineError(message, status, c, param ?? null);
  }
  return new EngineError(`${where} failed${status ? ` with ${status}` : ''}: ${message}`, 502, 'upstream_error');
}

// ---------------------------------------------------------------------------------------------
// the lean HTTP transport

class UpstreamStatusError extends Error {
  constructor(readonly status: number | undefined, message: string, readonly code: string | null, readonly param: string | null) { super(message); }
}
class UpstreamConnectionError extends Error {
  constructor(message: string, readonly timeout?: Http1Error['timeout']) { super(message); }
}

interface HttpConn { baseURL: string; apiKey: string; maxRetries: number; timeouts: { connectTimeoutMs: number; firstByteTimeoutMs: number; idleTimeoutMs: number } }

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * POSTs JSON to an OpenAI-compatible server over keep-alive sockets and iterates the answer:
 * the `data:` events of an SSE stream up to [DONE], or (an upstream that ignored stream: true)
 * one whole JSON completion, shaped as a chunk. Retries as the official client does (connection
 * failures, 408/409/429/5xx, x-should-retry, retry-after) up to maxRetries, plus once at once
 * when a reused keep-alive socket turns out closed by the server before it answered.
 */
class UpstreamHttp {
  private readonly url: URL;
  private readonly client: Http1Client;
  private readonly headers: Record<string, string>;
  private readonly paths = new Map<string, string>();

  constructor(private readonly conn: HttpConn) {
    this.url = new URL(conn.baseURL.endsWith('/') ? conn.baseURL : `${conn.baseURL}/`);
    if (this.url.protocol !== 'https:' && this.url.protocol !== 'http:') throw new Error(`upstream engine: baseURL must be http(s)://..., got ${conn.baseURL}`);
    this.client = new Http1Client(this.url, conn.timeouts);
    this.headers = { 'content-type': 'application/json', accept: 'application/json, text/event-stream', authorization: `Bearer ${conn.apiKey}` };
  }

  close(): void { this.client.close(); }

  /** The request path for an API path relative to the base URL (e.g. chat/completions -> /v1/chat/completions). */
  private pathOf(path: string): string {
    let p = this.paths.get(path);
    if (p === undefined) {
      const u = new URL(path.replace(/^\//, ''), this.url);
      this.paths.set(path, (p = u.pathname + u.search));
    }
    return p;
  }

  async *stream<T>(path: string, body: unknown, signal: AbortSignal): AsyncGenerator<T> {
    const payload = Buffer.from(JSON.stringify(body));
    let res: Http1Response;
    for (let attempt = 0; ; attempt++) {
      const retriesLeft = this.conn.maxRetries - attempt;
      let sent: { res: Http1Response } | { error: Error; reused: boolean };
      try { sent = { res: await this.client.request('POST', this.pathOf(path), this.headers, payload, signal) }; } catch (e) {
        const err = e as Http1Error;
        sent = { error: new UpstreamConnectionError(err.code ? `${err.code} (${err.message})` : err.message, err.timeout), reused: err.reusedSocket === true };
      }
      if (signal.aborted) { if ('res' in sent) sent.res.destroy(); return; }
      if ('error' in sent) {
        if (sent.reused && attempt === 0) continue; // the server closed an idle socket as we reused it
        // A request that went out and then hung may be generating upstream: never sent twice.
        const hung = sent.error instanceof UpstreamConnectionError && sent.error.timeout !== undefined && sent.error.timeout !== 'connect';
        if (retriesLeft > 0 && !hung) { await sleep(this.backoff(attempt, undefined)); continue; }
        throw sent.error;
      }
      res = sent.res;
      if (res.status < 400) break;
      const text = await res.text().catch(() => '');
      if (retriesLeft > 0 && shouldRetry(res)) { await sleep(this.backoff(attempt, res)); continue; }
      throw envelopeError(res.status, text);
    }
    let done = false;
    try {
      if (!/^text\/event-stream/i.test(res.headers['content-type'] ?? '')) {
        const whole = JSON.parse(await res.text()) as Record<string, unknown>;
        if (whole.error) throw envelopeError(undefined, JSON.stringify(whole));
        yield asChunk(whole) as T;
        done = true;
        return;
      }
      const decoder = new TextDecoder('utf-8');
      let buf = '';
      for (let piece = await res.read(); piece; piece = await res.read()) {
        if (done) continue; // after [DONE]: read to the end so the socket goes back to the pool
        buf += decoder.decode(piece, { stream: true });
        for (let cut = eventEnd(buf); cut; cut = eventEnd(buf)) {
          const event = buf.slice(0, cut[0]);
          buf = buf.slice(cut[1]);
          const data = sseData(event);
          if (data === null) continue;
          if (data === '[DONE]') { done = true; break; }
          const parsed = JSON.parse(data) as Record<string, unknown>;
          if (parsed && parsed.error) throw envelopeError(undefined, data);
          yield parsed as T;
        }
      }
      done = true; // a stream that ends without [DONE] is complete too (as the official client treats it)
    } finally {
      // Left early (consumer stopped, abort, error): close the connection so the upstream stops.
      if (!done || !res.complete) res.destroy();
    }
  }

  private backoff(attempt: number, res: Http1Response | undefined): number {
    const ms = Number(res?.headers['retry-after-ms']);
    if (Number.isFinite(ms) && ms >= 0) return ms;
    const after = res?.headers['retry-after'];
    if (after) {
      const s = Number(after);
      const t = Number.isFinite(s) ? s * 1000 : Date.parse(after) - Date.now();
      if (t >= 0 && t < 60_000) return t;
    }
    return Math.min(500 * 2 ** attempt, 8000) * (1 - Math.random() * 0.25);
  }
}

function shouldRetry(res: Http1Response): boolean {
  const h = res.headers['x-should-retry'];
  if (h === 'true') return true;
  if (h === 'false') return false;
  const s = res.status;
  return s === 408 || s === 409 || s === 429 || s >= 500;
}

/** The message, code and param of OpenAI's error envelope {error: {...}} (or whatever body came). */
function envelopeError(status: number | undefined, text: string): UpstreamStatusError {
  let inner: { message?: unknown; code?: unknown; param?: unknown } | undefined;
  try {
    const j = JSON.parse(text) as { error?: unknown };
    inner = (j && typeof j === 'object' && j.error && typeof j.error === 'object' ? j.error : j) as typeof inner;
  } catch { /* not JSON */ }
  const message = typeof inner?.message === 'string' ? inner.message
    : `${status ?? ''} ${text ? text.slice(0, 500) : 'status code (no body)'}`.trim();
  return new UpstreamStatusError(status, message, typeof inner?.code === 'string' ? inner.code : null, typeof inner?.param === 'string' ? inner.param : null);
}

/** [end of the event, start of the next] for the first complete SSE event in buf (\n\n, \r\n\r\n or \r\r), or null. */
function eventEnd(buf: string): [number, number] | null {
  const i = buf.indexOf('\n\n');
  if (i >= 0) {
    const j = buf.indexOf('\r\n\r\n');
    if (j >= 0 && j < i) return [j, j + 4];
    return [i, i + 2];
  }
  const j = buf.indexOf('\r\n\r\n');
  if (j >= 0) return [j, j + 4];
  const k = buf.indexOf('\r\r');
  return k >= 0 ? [k, k + 2] : null;
}

/** The data of one SSE event (its data: lines joined by newlines), or null when it has none. */
function sseData(event: string): string | null {
  if (event.startsWith('data: ') && event.indexOf('\n') < 0 && event.indexOf('\r') < 0) return event.slice(6); // the usual one-line event
  let data: string | null = null;
  for (const line of event.split(/\r\n|\r|\n/)) {
    if (!line.startsWith('data')) continue; // comments (:), event:, id:, retry:
    const v = line.length > 4 && line[4] === ':' ? line.slice(line[5] === ' ' ? 6 : 5) : line === 'data' ? '' : null;
    if (v === null) continue;
    data = data === null ? v : `${data}\n${v}`;
  }
  return data;
}

/** A whole (non-streamed) completion as one chunk: chat's message becomes a delta; text completions already match. */
function asChunk(whole: Record<string, unknown>): Record<string, unknown> {
  const choices = (whole.choices as Record<string, unknown>[] | undefined ?? []).map((c) => {
    if (!c.message) return c;
    const { message, ...rest } = c as { message: { content?: string | null } };
    return { ...rest, delta: { content: message.content ?? '' } };
  });
  return { ...whole, choices };
}

// ---------------------------------------------------------------------------------------------
// mapping

function toOpenAIMessage(m: EngineMessage): Record<string, unknown> {
  const content = typeof m.content === 'string'
    ? m.content
    : m.content.map((p) => p.type === 'text'
      ? { type: 'text', text: p.text }
      : { type: 'image_url', image_url: { url: `data:${p.mime};base64,${Buffer.from(p.data).toString('base64')}`, ...(p.detail ? { detail: p.detail } : {}) } });
  return { role: m.role, content, ...(m.name ? { name: m.name } : {}) };
}

function mapFinish(r: string): 'stop' | 'length' | 'content_filter' {
  // tool_calls / function_call: the turn ended normally from the caller's point of view
  return r === 'length' ? 'length' : r === 'content_filter' ? 'content_filter' : 'stop';
}

const utf8 = (s: string) => [...Buffer.from(s, 'utf8')];

function mapChatLogprob(l: OpenAI.Chat.Completions.ChatCompletionTokenLogprob): TokenLogprobInfo {
  return {
    token: l.token,
    logprob: l.logprob,
    bytes: l.bytes ?? utf8(l.token),
    top: (l.top_logprobs ?? []).map((t) => ({ token: t.token, logprob: t.logprob, bytes: t.bytes ?? utf8(t.token) })),
  };
}

function mapCompletionLogprobs(l: OpenAI.Completions.CompletionChoice.Logprobs | null | undefined): TokenLogprobInfo[] | undefined {
  if (!l?.tokens) return undefined;
  return l.tokens.map((token, i) => ({
    token,
    // the first echoed prompt token has no logprob (the upstream sends null); NaN stands for that
    // null in TokenLogprobInfo.logprob (a number), for the gateway to write back as null
    logprob: l.token_logprobs?.[i] ?? NaN,
    bytes: utf8(token),
    top: Object.entries(l.top_logprobs?.[i] ?? {}).map(([t, lp]) => ({ token: t, logprob: lp, bytes: utf8(t) })),
  }));
}

/** Usage: the upstream's own counts when it sends them, else counted here (see tokenCounting). */
class UsageTracker {
  private readonly texts: string[];
  private reported: { prompt_tokens: number; completion_tokens: number } | null = null;
  constructor(n: number) { this.texts = Array.from({ length: Math.max(1, n) }, () => ''); }
  text(i: number, t: string) { this.texts[i] = (this.texts[i] ?? '') + t; }
  upstream(u: { prompt_tokens: number; completion_tokens: number }) { this.reported = u; }
  async *finish(prompt: () => Promise<number>, count: (t: string) => Promise<number>): AsyncGenerator<EngineEvent> {
    if (this.reported) {
      yield { type: 'usage', promptTokens: this.reported.prompt_tokens, completionTokens: this.reported.completion_tokens };
      return;
    }
    let completion = 0;
    for (const t of this.texts) completion += await count(t);
    yield { type: 'usage', promptTokens: await prompt(), completionTokens: completion };
  }
}
