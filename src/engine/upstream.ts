// The upstream engine: any OpenAI-compatible server (vLLM, llama.cpp's llama-server, OpenAI) as a
// ChatEngine. This is how a deployment scales past one machine: the gateway keeps keys, limits
// and usage; the heavy lifting happens elsewhere.
//
// Transport: by default the lean client of src/net (OpenAIHttpClient.stream: keep-alive HTTP/1.1,
// SSE, OpenAI's error envelope; src/net/client.ts records why it is not the official client). The
// official `openai` client is the opt-in (`client: 'openai'`), for upstreams where its extras
// matter (OpenAI's own API: its telemetry headers). Both transports produce the same EngineEvents
// and the same errors (test/engine/upstream.test.ts runs every case against each), and the wire
// types are the official client's.
//
// Requests always stream from the upstream (stream: true, include_usage), and chunks are passed
// through as EngineEvents as they arrive. Aborting the request's signal aborts the HTTP request,
// so the upstream sees the connection close and can stop generating.
//
// Errors: unreachable (connection refused, DNS, connect timeout) -> 503 engine_unavailable; a
// request that went out and then hung (no answer head, or silence mid-stream) -> 504
// upstream_timeout; the upstream's own 4xx -> the same status with its message (401/403 are about
// tetra's credentials for the upstream, not the caller's, so they become 502); 5xx and broken
// streams -> 502 upstream_error.
import OpenAI from 'openai';
import { cl100k } from '../tokenizer/index.ts';
import type { Tokenizer } from '../tokenizer/index.ts';
import { APIConnectionError, APIConnectionTimeoutError, APIError, DEFAULT_HTTP1_TIMEOUTS, OpenAIHttpClient } from '../net/index.ts';
import { FairQueue } from './queue.ts';
import { EngineError } from './types.ts';
import type { ChatEngine, ChatRequest, CompletionRequest, EngineCapabilities, EngineEvent, EngineMessage } from './types.ts';
import type { SamplingParams, TokenLogprobInfo } from './types.ts';

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
  /** The HTTP client: 'http' (default) is src/net's keep-alive client; 'openai' the official SDK. */
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
  /** The client's own retries, by src/net's policy (default 0: the gateway decides). */
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
  private readonly http: OpenAIHttpClient | null;
  private readonly queue: FairQueue;
  private readonly window: number;
  private readonly timeouts: Required<Pick<UpstreamOptions, 'connectTimeoutMs' | 'firstByteTimeoutMs' | 'idleTimeoutMs'>>;
  private tokenizer: Promise<Tokenizer> | null = null;

  constructor(readonly options: UpstreamOptions) {
    if (!options.baseURL) throw new Error('upstream engine: baseURL is required, e.g. http://localhost:8000/v1');
    if (!options.model) throw new Error('upstream engine: model (the upstream model name) is required');
    if (!/^https?:\/\//i.test(options.baseURL)) throw new Error(`upstream engine: baseURL must be http(s)://..., got ${options.baseURL}`);
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
    this.client =
      options.client === 'openai'
        ? new OpenAI({ ...conn, timeout: this.timeouts.connectTimeoutMs + this.timeouts.firstByteTimeoutMs })
        : null;
    this.http =
      options.client === 'openai'
        ? null
        : new OpenAIHttpClient({
            baseURL: options.baseURL,
            apiKey: conn.apiKey,
            timeouts: this.timeouts,
            retry: { maxRetries: conn.maxRetries },
          });
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

  contextWindow(): number {
    return this.window;
  }
  queueDepth(): number {
    return this.queue.queueDepth();
  }

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
    if (req.topLogprobs !== null) {
      body.logprobs = true;
      body.top_logprobs = req.topLogprobs;
    }
    const f = req.responseFormat;
    if (f.type === 'json_object') body.response_format = { type: 'json_object' };
    else if (f.type === 'json_schema')
      body.response_format = { type: 'json_schema', json_schema: { name: f.name, schema: f.schema, strict: f.strict ?? false } };

    const usage = new UsageTracker(req.n);
    for await (const chunk of this.open<OpenAI.Chat.Completions.ChatCompletionChunk>(
      '/chat/completions',
      body,
      () => this.client!.chat.completions.create(body as never, { signal }) as never,
      signal,
    )) {
      for (const c of chunk.choices ?? []) {
        const text = c.delta?.content ?? '';
        const lps = c.logprobs?.content?.map(mapChatLogprob);
        if (text || lps?.length) {
          usage.text(c.index, text);
          yield { type: 'text', index: c.index, text, ...(lps?.length ? { logprobs: lps } : {}) };
        }
        if (c.finish_reason) {
          yield { type: 'done', index: c.index, finishReason: mapFinish(c.finish_reason) };
        }
      }
      if (chunk.usage) usage.upstream(chunk.usage);
    }
    yield* usage.finish(
      async () => this.countChatTokens(req.messages),
      (t) => this.countTextTokens(t),
    );
  }

  private async *streamCompletion(req: CompletionRequest, signal: AbortSignal): AsyncGenerator<EngineEvent> {
    if (req.responseFormat.type !== 'text') {
      throw new EngineError(
        'response_format is not available for raw completions through an upstream',
        400,
        'unsupported_capability',
        'response_format',
      );
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
    for await (const chunk of this.open<OpenAI.Completions.Completion>(
      '/completions',
      body,
      () => this.client!.completions.create(body as never, { signal }) as never,
      signal,
    )) {
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
          if (text || rest?.length) {
            usage.text(c.index, text);
            yield { type: 'text', index: c.index, text, ...(rest?.length ? { logprobs: rest } : {}) };
          }
        } else if (text || lps?.length) {
          usage.text(c.index, text);
          yield { type: 'text', index: c.index, text, ...(lps?.length ? { logprobs: lps } : {}) };
        }
        if (c.finish_reason) {
          yield { type: 'done', index: c.index, finishReason: mapFinish(c.finish_reason) };
        }
      }
      if (chunk.usage) usage.upstream(chunk.usage);
    }
    yield* usage.finish(
      () => this.countTextTokens(req.prompt),
      (t) => this.countTextTokens(t),
    );
  }

  /**
   * Opens the upstream stream and iterates it, mapping every failure to an EngineError; an abort
   * (by the signal) ends the iteration quietly. Stopping the iteration early aborts the request.
   */
  private async *open<T>(
    path: string,
    body: Record<string, unknown>,
    start: () => Promise<AsyncIterable<T> & { controller: AbortController }>,
    signal: AbortSignal,
  ): AsyncGenerator<T> {
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
    let ended = false,
      quiet = false;
    let timer: NodeJS.Timeout | undefined;
    try {
      stream = await start();
      const idle = this.timeouts.idleTimeoutMs;
      const it = stream[Symbol.asyncIterator]();
      for (;;) {
        timer = setTimeout(() => {
          quiet = true;
          stream!.controller.abort();
        }, idle);
        const r = await it.next();
        clearTimeout(timer);
        if (r.done) break;
        yield r.value;
      }
      ended = true;
    } catch (e) {
      clearTimeout(timer);
      if (quiet)
        throw new EngineError(`${this.where()} went quiet for ${this.timeouts.idleTimeoutMs} ms mid-stream`, 504, 'upstream_timeout');
      if (signal.aborted || e instanceof OpenAI.APIUserAbortError) return;
      throw this.mapError(e);
    } finally {
      // Only a stream left early needs aborting (aborting a finished one costs a DOMException).
      if (!ended) stream?.controller.abort();
    }
  }

  private where(): string {
    return `upstream ${this.options.baseURL} (model ${this.options.model})`;
  }

  private mapError(e: unknown): EngineError {
    if (e instanceof EngineError) return e;
    const where = this.where();
    // A deadline after the request went out means it hung (504); one while connecting means unreachable (503).
    if (e instanceof APIConnectionTimeoutError && e.timeout !== 'connect') {
      return new EngineError(`${where} timed out: ${e.message}`, 504, 'upstream_timeout');
    }
    if (e instanceof OpenAI.APIConnectionTimeoutError) {
      return new EngineError(`${where} timed out: no response head in time`, 504, 'upstream_timeout');
    }
    if (e instanceof APIConnectionError && e.interrupted) return new EngineError(`${where} failed: ${e.message}`, 502, 'upstream_error');
    if (e instanceof APIConnectionError || e instanceof OpenAI.APIConnectionError) {
      // The socket's code is on a cause (fetch wraps it: APIConnectionError -> TypeError('fetch failed') -> { code: 'ECONNREFUSED' })
      let why = e.message;
      for (let c = e.cause as { code?: string; message?: string; cause?: unknown } | undefined; c; c = c.cause as typeof c) {
        if (c.code) {
          why = `${c.code}${c.message ? ` (${c.message})` : ''}`;
          break;
        }
      }
      return new EngineError(`${where} is unreachable: ${why}`, 503, 'engine_unavailable');
    }
    if (e instanceof APIError || e instanceof OpenAI.APIError) {
      const inner = e.error as { message?: unknown } | undefined;
      const message = typeof inner?.message === 'string' ? inner.message : e.message;
      return statusError(where, e.status, message, e.code as string | null | undefined, e.param as string | null | undefined);
    }
    return new EngineError(`${where} failed: ${(e as Error)?.message ?? String(e)}`, 502, 'upstream_error');
  }
}

/** The upstream answered an error status (or sent an error event mid-stream: status undefined). */
function statusError(
  where: string,
  status: number | undefined,
  message: string,
  code: string | null | undefined,
  param: string | null | undefined,
): EngineError {
  if (status === 401 || status === 403)
    return new EngineError(`${where} refused tetra's credentials (${status}): ${message}`, 502, 'upstream_error');
  if (status !== undefined && status >= 400 && status < 500) {
    const c = code === 'context_length_exceeded' ? 'context_length_exceeded' : status === 429 ? 'upstream_error' : 'invalid_request';
    return new EngineError(message, status, c, param ?? null);
  }
  return new EngineError(`${where} failed${status ? ` with ${status}` : ''}: ${message}`, 502, 'upstream_error');
}

// ---------------------------------------------------------------------------------------------
// mapping

function toOpenAIMessage(m: EngineMessage): Record<string, unknown> {
  const content =
    typeof m.content === 'string'
      ? m.content
      : m.content.map((p) =>
          p.type === 'text'
            ? { type: 'text', text: p.text }
            : {
                type: 'image_url',
                image_url: {
                  url: `data:${p.mime};base64,${Buffer.from(p.data).toString('base64')}`,
                  ...(p.detail ? { detail: p.detail } : {}),
                },
              },
        );
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
  constructor(n: number) {
    this.texts = Array.from({ length: Math.max(1, n) }, () => '');
  }
  text(i: number, t: string) {
    this.texts[i] = (this.texts[i] ?? '') + t;
  }
  upstream(u: { prompt_tokens: number; completion_tokens: number }) {
    this.reported = u;
  }
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
