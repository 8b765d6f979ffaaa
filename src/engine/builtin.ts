// The builtin ChatEngine: tetra's own model from a checkpoint directory. Chat renders with the
// tokenizer's chat format; n choices decode as one batch (a Decoding); text streams through a
// StreamDecoder with the tail that could still become a stop string held back, so a client
// never sees text that a stop string later removes. Up to MAX_ACTIVE requests generate at once,
// their steps batched together (batcher.ts: continuous batching); more wait in the fair queue
// (round-robin across clients) and leave it when their client does.
import {
  type GPT,
  type ImageInput,
  Decoding,
  imageSlots,
  packImages,
  KVCache,
  logSoftmax,
  sample,
  step,
  topLogprobs,
  type GeneratedToken,
  type Generation,
} from '../model/index.ts';
import { defaultBackend, Rng, type Backend } from '../tensor/index.ts';
import { constraintFor, JsonSchemaError, pickConstrained, tokenBytesOf } from './json-constraint.ts';
import { StepBatcher } from './batcher.ts';
import { FairQueue, QueueAbortedError } from './queue.ts';
import { ContextOverflowError, renderPrompt, StreamDecoder, type ChatMessage, type Tokenizer } from '../tokenizer/index.ts';
import { openCheckpoint } from '../model/index.ts';
import { decodeImage, ImageDecodeError } from '../vision/index.ts';
import { EngineError } from './types.ts';
import type { ChatEngine, ChatRequest, CompletionRequest, EngineCapabilities, EngineEvent, EngineMessage } from './types.ts';
import type { SamplingParams, TokenLogprobInfo } from './types.ts';

const yieldToLoop = () => new Promise<void>((r) => setImmediate(r));

/** Requests generating at once (their steps share one batch); more wait in the fair queue. */
export const MAX_ACTIVE = 32;

/** Longest suffix of text that is a proper prefix of some stop string (that much must be held back). */
function heldBack(text: string, stops: readonly string[]): number {
  let keep = 0;
  for (const s of stops) {
    for (let k = Math.min(s.length - 1, text.length); k > keep; k--) {
      if (text.endsWith(s.slice(0, k))) {
        keep = k;
        break;
      }
    }
  }
  return keep;
}

interface Choice {
  decoder: StreamDecoder;
  text: string;
  emitted: number;
  pending: { info: TokenLogprobInfo; start: number }[];
  done: boolean;
}

export class BuiltinEngine implements ChatEngine {
  readonly kind = 'builtin';
  readonly capabilities: EngineCapabilities;
  private readonly queue: FairQueue;
  private readonly batcher: StepBatcher;
  private readonly stopIds: number[];
  private readonly tokenBytes: (id: number) => Uint8Array | null;
  private readonly utf8 = new TextDecoder();

  constructor(
    readonly model: GPT,
    readonly tok: Tokenizer,
    readonly backend: Backend<Float32Array> = defaultBackend(),
    opts: { maxActive?: number } = {},
  ) {
    this.queue = new FairQueue(opts.maxActive ?? MAX_ACTIVE);
    if (tok.idLimit > model.config.vocabSize) {
      throw new Error(
        `the tokenizer produces ids up to ${tok.idLimit - 1} but the model's vocabulary has ${model.config.vocabSize} rows: this ` +
          `checkpoint was trained with another tokenizer`,
      );
    }
    this.capabilities = { imageInput: !!model.config.vision, logprobs: true, jsonSchema: true, completions: true };
    this.batcher = new StepBatcher(model, backend);
    // Every special token ends a reply: <|end|> closes the turn, the others never belong in text.
    this.stopIds = Object.values(tok.specials);
    this.tokenBytes = tokenBytesOf(tok);
  }

  contextWindow(): number {
    return this.model.config.contextLength;
  }
  queueDepth(): number {
    return this.queue.queueDepth();
  }
  async close(): Promise<void> {}

  async countChatTokens(messages: EngineMessage[]): Promise<number> {
    return this.render(messages).ids.length;
  }
  async countTextTokens(text: string): Promise<number> {
    return this.tok.encode(text).length;
  }

  /** The prompt's ids; each image part renders as the model's image slots (decoded later, in images()). */
  private render(messages: EngineMessage[]): { ids: number[]; imagePositions: number[] } {
    const vision = this.model.config.vision;
    if (!vision)
      for (const m of messages) {
        if (typeof m.content !== 'string' && m.content.some((p) => p.type === 'image')) {
          throw new EngineError(
            'This model does not accept image input (its checkpoint has no vision weights); send text only.',
            400,
            'unsupported_capability',
            'messages',
          );
        }
      }
    try {
      if (!vision) return renderPrompt(this.tok, messages as ChatMessage[]);
      return renderPrompt(this.tok, imagesFirst(messages) as ChatMessage[], { imageSlots: imageSlots(vision) });
    } catch (e) {
      if (e instanceof ContextOverflowError) throw new EngineError(e.message, 400, 'context_length_exceeded', 'messages');
      throw new EngineError(`The messages could not be rendered: ${(e as Error).message}`, 400, 'invalid_request', 'messages');
    }
  }

  /**
   * The prompt's images decoded to the model's input (sharp, with limits; src/vision), in
   * message order; a bad image is a 400 that names its message and part.
   */
  private async images(messages: EngineMessage[], at: number[]): Promise<ImageInput | undefined> {
    const vision = this.model.config.vision;
    if (!vision || !at.length) return undefined;
    const pixels: Float32Array[] = [];
    for (const [i, m] of messages.entries()) {
      if (typeof m.content === 'string') continue;
      for (const [j, p] of m.content.entries()) {
        if (p.type !== 'image') continue;
        try {
          pixels.push((await decodeImage(p.data, { size: vision.imageSize, mime: p.mime })).pixels);
        } catch (e) {
          if (!(e instanceof ImageDecodeError)) throw e;
          const param = `messages[${i}].content[${j}].image_url.url`;
          throw new EngineError(`${param}: ${e.message}`, 400, 'invalid_request', param);
        }
      }
    }
    return packImages(pixels, at);
  }

  private tokenInfo(id: number, logprob: number, top: { token: number; logprob: number }[]): TokenLogprobInfo {
    const text = (t: number) => {
      const b = this.tok.tokenBytes(t);
      return { token: this.utf8.decode(b), bytes: Array.from(b) };
    };
    return { ...text(id), logprob, top: top.map((t) => ({ ...text(t.token), logprob: t.logprob })) };
  }

  private checkWindow(prompt: number, maxTokens: number | undefined, what: string): number {
    const ctx = this.contextWindow();
    const budget = maxTokens ?? ctx - prompt;
    if (prompt + Math.max(budget, 1) > ctx && !(maxTokens === 0 && prompt <= ctx)) {
      throw new EngineError(
        `This model's maximum context length is ${ctx} tokens. However, you requested ${prompt + budget} tokens (${prompt} in the ` +
          `${what}, ${budget} in the completion). Please reduce the length of the ${what} or completion.`,
        400,
        'context_length_exceeded',
        what,
      );
    }
    return budget;
  }

  // ------------------------------------------------------------------------------------ queue

  /**
   * Waits for the model (one request generates at a time; waiting requests are served
   * round-robin across clients by the shared FairQueue). Returns the release function, or null
   * when the client went away while waiting.
   */
  private async acquire(client: string | undefined, signal: AbortSignal): Promise<(() => void) | null> {
    try {
      return await this.queue.acquire(client ?? '', signal);
    } catch (e) {
      if (e instanceof QueueAbortedError) return null;
      throw e;
    }
  }

  // ------------------------------------------------------------------------------- generation

  /**
   * Logit edits before sampling: ids the tokenizer cannot decode, logit_bias, presence/frequency
   * penalties, and for response_format json_* the JSON constraint. The constraint picks the token
   * itself (rejection sampling from the distribution restricted to tokens that keep the text a
   * valid JSON prefix; see json-constraint.ts) and leaves only that token's logit finite, so the
   * generator's own sampler can only take it; once the value is complete only end tokens remain.
   */
  private logitsHook(p: SamplingParams): (seq: number, logits: Float32Array, generated: readonly number[]) => void {
    const V = this.model.config.vocabSize,
      limit = this.tok.idLimit;
    const bias = Object.entries(p.logitBias)
      .map(([k, v]) => [Number(k), v] as const)
      .filter(([k]) => k < V);
    const json =
      p.responseFormat.type === 'text'
        ? null
        : {
            // At most two whitespace characters in a row: JSON mode answers compactly (a small model
            // left free pads with whitespace until it runs out of tokens).
            constraints: Array.from({ length: p.n }, () => constraintFor(p.responseFormat, { maxWhitespaceRun: 2 })!),
            pushed: new Array<number>(p.n).fill(0),
            rngs: Array.from({ length: p.n }, (_, i) => new Rng((p.seed ?? 0) + 7919 * i)),
            ends: new Set(this.stopIds),
          };
    const only = (logits: Float32Array, id: number) => {
      logits.fill(-Infinity);
      logits[id] = 0;
    };
    return (seq, logits, generated) => {
      for (let v = limit; v < V; v++) logits[v] = -Infinity;
      for (const [k, b] of bias) logits[k] += b;
      if (p.presencePenalty || p.frequencyPenalty) {
        const counts = new Map<number, number>();
        for (const t of generated) counts.set(t, (counts.get(t) ?? 0) + 1);
        for (const [t, c] of counts) logits[t] -= p.presencePenalty + p.frequencyPenalty * c;
      }
      if (!json) return;
      const c = json.constraints[seq];
      for (; json.pushed[seq] < generated.length; json.pushed[seq]++) c.push(this.tokenBytes(generated[json.pushed[seq]])!);
      if (c.done()) return only(logits, this.tok.special('<|end|>'));
      const id = pickConstrained(
        c,
        logits,
        this.tokenBytes,
        (l) => sample(l, { temperature: p.temperature, topP: p.topP || 1 }, json.rngs[seq]),
        { endTokens: json.ends },
      );
      if (id < 0)
        throw new EngineError(
          'the model cannot continue the JSON value with any token of its vocabulary',
          500,
          'engine_unavailable',
          'response_format',
        );
      only(logits, id);
    };
  }

  /** Decodes n choices from one prompt, streaming text events; ends with done per choice, returns completion tokens. */
  private async *decode(
    prompt: number[],
    p: SamplingParams,
    maxTokens: number,
    signal: AbortSignal,
    images?: ImageInput,
  ): AsyncGenerator<EngineEvent, number> {
    const stops = p.stop;
    const choices: Choice[] = Array.from({ length: p.n }, () => ({
      decoder: new StreamDecoder(this.tok),
      text: '',
      emitted: 0,
      pending: [],
      done: false,
    }));
    const decoding = new Decoding(
      this.model,
      Array.from({ length: p.n }, () => Int32Array.from(prompt)),
      {
        maxTokens,
        temperature: p.topP === 0 ? 0 : p.temperature,
        topP: p.topP === 0 ? 1 : p.topP,
        seed: p.seed ?? Math.floor(Math.random() * 2 ** 31),
        stopTokens: this.stopIds,
        ...(stops.length ? { stopStrings: stops, decode: (ids: number[]) => this.tok.decode(ids) } : {}),
        ...(p.topLogprobs === null ? {} : { logprobs: p.topLogprobs }),
        processLogits: this.logitsHook(p),
        ...(images ? { images: Array.from({ length: p.n }, () => images) } : {}),
      },
    );
    const release = (c: Choice, upTo: number, index: number): EngineEvent | null => {
      const text = c.text.slice(c.emitted, upTo);
      const logprobs =
        p.topLogprobs === null ? undefined : c.pending.filter((x) => x.start < upTo || upTo === c.text.length).map((x) => x.info);
      c.pending = p.topLogprobs === null ? [] : c.pending.filter((x) => !(x.start < upTo || upTo === c.text.length));
      c.emitted = upTo;
      if (!text && !logprobs?.length) return null;
      return { type: 'text', index, text, ...(logprobs ? { logprobs } : {}) };
    };
    const it = this.batcher.generate(decoding, signal);
    let result: IteratorResult<GeneratedToken, Generation[]>;
    while (!(result = await it.next()).done) {
      const ev = result.value,
        c = choices[ev.seq];
      if (c.done) continue;
      const start = c.text.length;
      c.text += c.decoder.push(ev.token);
      if (p.topLogprobs !== null) c.pending.push({ info: this.tokenInfo(ev.token, ev.logprob!, ev.top ?? []), start });
      let cut = -1;
      for (const s of stops) {
        const k = c.text.indexOf(s, Math.max(0, c.emitted - s.length));
        if (k >= 0 && (cut < 0 || k < cut)) cut = k;
      }
      if (cut >= 0) {
        c.pending = c.pending.filter((x) => x.start < cut);
        const e = release(c, cut, ev.seq);
        c.pending = [];
        if (e) yield e;
        c.done = true;
        yield { type: 'done', index: ev.seq, finishReason: 'stop' };
      } else {
        const e = release(c, c.text.length - heldBack(c.text, stops), ev.seq);
        if (e) yield e;
      }
      // No yield to the event loop here: every step already waits for the batcher's turn, and the
      // requests that answer within it share the next step.
      if (signal.aborted) return 0;
    }
    const gens = result.value;
    for (let i = 0; i < choices.length; i++) {
      const c = choices[i];
      if (c.done) continue;
      c.text += c.decoder.flush();
      const e = release(c, c.text.length, i);
      if (e) yield e;
      yield { type: 'done', index: i, finishReason: gens[i].finishReason };
    }
    return gens.reduce((s, g) => s + g.tokens.length, 0);
  }

  async *chat(req: ChatRequest, signal: AbortSignal): AsyncGenerator<EngineEvent> {
    if (req.responseFormat.type === 'json_schema') {
      try {
        constraintFor(req.responseFormat);
      } catch (e) {
        if (e instanceof JsonSchemaError)
          throw new EngineError(`response_format.json_schema.schema: ${e.message}`, 400, 'invalid_request', 'response_format');
        throw e;
      }
    }
    const { ids: prompt, imagePositions } = this.render(req.messages);
    const maxTokens = this.checkWindow(prompt.length, req.maxTokens, 'messages');
    const images = await this.images(req.messages, imagePositions);
    const release = await this.acquire(req.client, signal);
    if (!release) return;
    try {
      const completion = yield* this.decode(prompt, req, maxTokens, signal, images);
      if (signal.aborted) return;
      yield { type: 'usage', promptTokens: prompt.length, completionTokens: completion };
    } finally {
      release();
    }
  }

  async *complete(req: CompletionRequest, signal: AbortSignal): AsyncGenerator<EngineEvent> {
    if (req.responseFormat.type !== 'text')
      throw new EngineError('response_format is not supported on completions', 400, 'unsupported_capability', 'response_format');
    const ids = this.tok.encode(req.prompt);
    // Documents were pretrained after <|endoftext|>, so the prompt is read as the start of one;
    // it also gives the prompt's first token a real logprob.
    const context = [this.tok.special('<|endoftext|>'), ...ids];
    const maxTokens = this.checkWindow(context.length, req.maxTokens, 'prompt');
    const release = await this.acquire(req.client, signal);
    if (!release) return;
    try {
      if (req.echo) {
        let logprobs: TokenLogprobInfo[] | undefined;
        if (req.topLogprobs !== null && ids.length) {
          const V = this.model.config.vocabSize;
          const logits = step(
            this.model,
            this.backend,
            [{ cache: new KVCache(this.model.config, context.length), tokens: Int32Array.from(context) }],
            true,
          );
          logprobs = ids.map((id, j) => {
            const lp = logSoftmax(logits.subarray(j * V, (j + 1) * V));
            return this.tokenInfo(id, lp[id], topLogprobs(lp, req.topLogprobs!));
          });
          await yieldToLoop();
        }
        for (let i = 0; i < req.n; i++) yield { type: 'text', index: i, text: req.prompt, echo: true, ...(logprobs ? { logprobs } : {}) };
      }
      let completion = 0;
      if (maxTokens > 0) completion = yield* this.decode(context, req, maxTokens, signal);
      else for (let i = 0; i < req.n; i++) yield { type: 'done', index: i, finishReason: 'length' };
      if (signal.aborted) return;
      yield { type: 'usage', promptTokens: ids.length, completionTokens: completion };
    } finally {
      release();
    }
  }
}

/** Loads a checkpoint directory and its tokenizer. */
export async function openBuiltinEngine(
  dir: string,
  backend?: Backend<Float32Array>,
  opts: { maxActive?: number } = {},
): Promise<BuiltinEngine> {
  const { model, tok } = await openCheckpoint(dir, { name: 'bytes' });
  return new BuiltinEngine(model, tok, backend, opts);
}

/**
 * A message's images before its text, each kind in its order: the order tetra's vision models are
 * trained in (the image, then the question). OpenAI's examples send the text part first; asked that
 * way as it is, the shipped vision model read 7% of held-out questions right against 95%.
 */
function imagesFirst(messages: EngineMessage[]): EngineMessage[] {
  return messages.map((m) =>
    typeof m.content === 'string' || !m.content.some((p) => p.type === 'image')
      ? m
      : { ...m, content: [...m.content.filter((p) => p.type === 'image'), ...m.content.filter((p) => p.type !== 'image')] },
  );
}
