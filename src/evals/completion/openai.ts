// A completion function for any OpenAI-compatible endpoint: chat completions for chat samples,
// text completions for raw prompts, and log-likelihoods from a completions request with echo +
// logprobs (lm-evaluation-harness' local-completions).
//
// Requests go through src/net's OpenAIHttpClient (postJson), not the official `openai` client
// (src/net/client.ts records the measured reason). The official client's types are still used
// (type-only import, nothing loaded at run time), and errors keep its names and shapes.
// withRetries owns the retries (src/net/retry.ts: bounded tries, retry-after honoured, the same
// policy as every other call), so the client itself makes none.
import type OpenAI from 'openai';
import type { Completion, CompletionFn, CompletionOptions, EvalMessage, LoglikelihoodRequest, LoglikelihoodResult } from '../types.ts';
import { OpenAIHttpClient, withRetries, type RetryOptions } from '../../net/index.ts';

export interface OpenAICompatibleOptions {
  baseURL: string;
  model: string;
  apiKey?: string;
  /**
   * Per-request deadline (default 120 s): for the answer's head after the request went out, and
   * for any silence while its body arrives; connecting gets at most 10 s of it.
   */
  timeoutMs?: number;
  retry?: Omit<RetryOptions, 'signal'>;
  /** Extra request fields sent with every call (e.g. top_p). */
  extraBody?: Record<string, unknown>;
  /**
   * Where raw string prompts go: 'chat' (default) sends them as one user message, as openai/evals
   * does for chat models; 'completions' posts them to /completions (base models).
   */
  api?: 'chat' | 'completions';
}

type Usage = { prompt_tokens?: number; completion_tokens?: number } | undefined;
const usageOf = (u: Usage) => (u ? { promptTokens: u.prompt_tokens ?? 0, completionTokens: u.completion_tokens ?? 0 } : undefined);

export class OpenAICompatible implements CompletionFn {
  readonly name: string;
  private readonly client: OpenAIHttpClient;

  constructor(readonly o: OpenAICompatibleOptions) {
    if (!o.baseURL) throw new Error('an OpenAI-compatible completion function needs a base URL (--base-url or OPENAI_BASE_URL)');
    if (!o.model) throw new Error('an OpenAI-compatible completion function needs a model name (--model)');
    this.name = `${o.model}@${o.baseURL}`;
    // Local servers often need no key; the client sends a placeholder, as the openai client would insist.
    const ms = o.timeoutMs ?? 120_000;
    this.client = new OpenAIHttpClient({
      baseURL: o.baseURL,
      apiKey: o.apiKey,
      headers: { 'user-agent': 'tetra-evals' },
      timeouts: { connectTimeoutMs: Math.min(ms, 10_000), firstByteTimeoutMs: ms, idleTimeoutMs: ms },
    });
  }

  private params(opts: CompletionOptions): Record<string, unknown> {
    const p: Record<string, unknown> = { model: this.o.model, ...this.o.extraBody };
    if (opts.temperature !== undefined) p.temperature = opts.temperature;
    if (opts.maxTokens !== undefined) p.max_tokens = opts.maxTokens;
    if (opts.n !== undefined && opts.n !== 1) p.n = opts.n;
    if (opts.seed !== undefined) p.seed = opts.seed;
    if (opts.stop?.length) p.stop = opts.stop;
    return p;
  }

  /** The answer's choices; an answer without them (a proxy's error page as 200, say) is an error that names the endpoint. */
  private choices<C>(r: { choices?: C[] }): C[] {
    if (!r || !Array.isArray(r.choices))
      throw new Error(`${this.name}: the endpoint's answer has no "choices": ${JSON.stringify(r)?.slice(0, 200)}`);
    return r.choices;
  }

  async chat(messages: EvalMessage[], opts: CompletionOptions, signal?: AbortSignal): Promise<Completion> {
    const body = {
      ...this.params(opts),
      messages: messages.map((m) => (m.name ? { role: m.role, content: m.content, name: m.name } : { role: m.role, content: m.content })),
      ...(opts.topLogprobs ? { logprobs: true, top_logprobs: opts.topLogprobs } : {}),
    } as unknown as OpenAI.Chat.ChatCompletionCreateParamsNonStreaming;
    const r = await withRetries(() => this.client.postJson<OpenAI.Chat.ChatCompletion>('/chat/completions', body, signal), {
      ...this.o.retry,
      signal,
    });
    return { texts: this.choices(r).map((c) => c.message?.content ?? ''), usage: usageOf(r.usage), model: r.model };
  }

  async complete(prompt: string, opts: CompletionOptions, signal?: AbortSignal): Promise<Completion> {
    if ((this.o.api ?? 'chat') === 'chat') return this.chat([{ role: 'user', content: prompt }], opts, signal);
    const body = { ...this.params(opts), prompt } as unknown as OpenAI.Completions.CompletionCreateParamsNonStreaming;
    const r = await withRetries(() => this.client.postJson<OpenAI.Completions.Completion>('/completions', body, signal), {
      ...this.o.retry,
      signal,
    });
    return { texts: this.choices(r).map((c) => c.text ?? ''), usage: usageOf(r.usage), model: r.model };
  }

  /**
   * One echo request per (context, continuation): the server scores context + continuation and
   * returns per-token logprobs with their text offsets. The continuation's tokens are those that
   * end after the context (offsets need no local tokenizer, unlike lm-eval's ctxlen); greedy
   * means each was the top alternative. max_tokens is 1 because some servers reject 0; the
   * generated token lies past the prompt and is ignored.
   */
  async loglikelihood(reqs: LoglikelihoodRequest[], signal?: AbortSignal): Promise<LoglikelihoodResult[]> {
    return Promise.all(
      reqs.map(async ({ context, continuation }) => {
        const prompt = context + continuation;
        const body = {
          model: this.o.model,
          prompt,
          echo: true,
          logprobs: 1,
          max_tokens: 1,
          temperature: 0,
        } as OpenAI.Completions.CompletionCreateParamsNonStreaming;
        const r = await withRetries(() => this.client.postJson<OpenAI.Completions.Completion>('/completions', body, signal), {
          ...this.o.retry,
          signal,
        });
        const lp = this.choices(r)[0]?.logprobs;
        if (!lp?.tokens || !lp.token_logprobs || !lp.text_offset)
          throw new Error(`${this.name}: the completions endpoint returned no echoed logprobs (does it support echo with logprobs?)`);
        let logprob = 0,
          greedy = true,
          tokens = 0;
        for (let i = 0; i < lp.tokens.length; i++) {
          const start = lp.text_offset[i],
            end = start + lp.tokens[i].length;
          if (end <= context.length || start >= prompt.length) continue;
          const v = lp.token_logprobs[i];
          if (v === null || v === undefined)
            throw new Error(`${this.name}: no logprob for continuation token ${JSON.stringify(lp.tokens[i])}`);
          logprob += v;
          tokens++;
          const top = lp.top_logprobs?.[i];
          if (top) {
            let best: string | null = null,
              bestLp = -Infinity;
            for (const [t, l] of Object.entries(top))
              if (l > bestLp) {
                best = t;
                bestLp = l;
              }
            if (best !== lp.tokens[i]) greedy = false;
          }
        }
        if (tokens === 0)
          throw new Error(`${this.name}: no tokens of the continuation ${JSON.stringify(continuation.slice(0, 40))} came back in the echo`);
        return { logprob, greedy, tokens };
      }),
    );
  }
}
