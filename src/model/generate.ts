// Text generation with a KV cache, batched over several sequences: prefill each prompt, then
// decode all unfinished sequences together one token per step. Yields each token as it is
// chosen (for streaming) and returns the finished generations.
import { Rng, type Backend } from '../tensor/index.ts';
import type { GPT } from './gpt.ts';
import { KVCache, step, type StepInput } from './kvcache.ts';
import type { ImageInput } from './vision.ts';
import { logSoftmax, sample, topLogprobs, validateSampling, type SamplingOptions, type TokenLogprob } from './sampling.ts';

export interface GenerateOptions extends SamplingOptions {
  maxTokens: number;
  seed?: number;
  /** Token ids that end a sequence (not included in its output), e.g. end of turn. */
  stopTokens?: readonly number[];
  /** Strings that end a sequence; the text is cut before the first one. Needs decode. */
  stopStrings?: readonly string[];
  decode?: (ids: number[]) => string;
  /** Report each chosen token's logprob and this many top alternatives (0 = just the chosen one). */
  logprobs?: number;
  /** Edits a sequence's logits in place before sampling (penalties, logit bias, masks). */
  processLogits?: (seq: number, logits: Float32Array, generated: readonly number[]) => void;
  /** Per prompt, the images among its tokens (`at`: first slot in the prompt), for a vision model. */
  images?: readonly (ImageInput | undefined)[];
}

export interface GeneratedToken {
  seq: number;
  token: number;
  logprob?: number;
  top?: TokenLogprob[];
}

export interface Generation {
  tokens: number[];
  logprobs: { logprob: number; top: TokenLogprob[] }[] | null;
  /** 'stop': a stop token or string; 'length': maxTokens or the context window ran out. */
  finishReason: 'stop' | 'length';
  /** The decoded completion (cut before a stop string), when decode was given. */
  text?: string;
}

/**
 * One batch of sequences being generated, as a state machine: `inputs()` is what the next model
 * step must read (each prompt first, then one token per live sequence), `accept(logits)` takes
 * that step's last-position logits (one row per input, in order) and returns the tokens chosen.
 * generateStream drives it with its own steps; the builtin engine's StepBatcher steps several
 * Decodings of concurrent requests together in one call.
 */
export class Decoding {
  private readonly seqs: {
    cache: KVCache;
    next: Int32Array;
    images?: ImageInput;
    rng: Rng;
    out: Generation;
    done: boolean;
  }[];
  private readonly stopTokens: Set<number>;
  private readonly vocabSize: number;
  private live: number[] = [];

  constructor(
    model: GPT,
    prompts: Int32Array[],
    private readonly o: GenerateOptions,
  ) {
    validateSampling(o);
    if (!Number.isInteger(o.maxTokens) || o.maxTokens < 0) throw new Error(`maxTokens must be a non-negative integer, got ${o.maxTokens}`);
    if (o.stopStrings?.length && !o.decode) throw new Error('stopStrings need a decode function');
    const ctx = model.config.contextLength;
    prompts.forEach((p, i) => {
      if (p.length === 0) throw new Error(`prompt ${i} is empty`);
      if (p.length > ctx) throw new Error(`prompt ${i} has ${p.length} tokens; the model's context length is ${ctx}`);
    });
    this.stopTokens = new Set(o.stopTokens ?? []);
    this.vocabSize = model.config.vocabSize;
    this.seqs = prompts.map((p, i) => ({
      cache: new KVCache(model.config),
      next: p,
      images: o.images?.[i],
      rng: new Rng((o.seed ?? Date.now()) + i * 0x9e3779b9),
      out: { tokens: [], logprobs: o.logprobs === undefined ? null : [], finishReason: 'length' } as Generation,
      done: o.maxTokens === 0,
    }));
  }

  /** True when every sequence has finished. */
  get done(): boolean {
    return this.seqs.every((s) => s.done);
  }

  /** The next step's inputs: one per unfinished sequence. */
  inputs(): StepInput[] {
    this.live = [];
    const out: StepInput[] = [];
    this.seqs.forEach((s, i) => {
      if (s.done) return;
      this.live.push(i);
      out.push({ cache: s.cache, tokens: s.next, images: s.cache.length ? undefined : s.images });
    });
    return out;
  }

  /** Takes the step's logits (rows in inputs() order, vocabSize each); returns the tokens chosen, in order. */
  accept(logits: Float32Array): GeneratedToken[] {
    const o = this.o,
      vocabSize = this.vocabSize,
      events: GeneratedToken[] = [];
    for (let j = 0; j < this.live.length; j++) {
      const i = this.live[j],
        s = this.seqs[i];
      const row = logits.subarray(j * vocabSize, (j + 1) * vocabSize);
      o.processLogits?.(i, row, s.out.tokens);
      const token = sample(row, o, s.rng);
      if (this.stopTokens.has(token)) {
        s.done = true;
        s.out.finishReason = 'stop';
        continue;
      }
      const event: GeneratedToken = { seq: i, token };
      if (s.out.logprobs) {
        const lp = logSoftmax(row);
        event.logprob = lp[token];
        event.top = topLogprobs(lp, o.logprobs!);
        s.out.logprobs.push({ logprob: event.logprob, top: event.top });
      }
      s.out.tokens.push(token);
      events.push(event);
      if (o.stopStrings?.length) {
        const text = o.decode!(s.out.tokens);
        const cut = Math.min(
          ...o.stopStrings.map((st) => {
            const k = text.indexOf(st);
            return k < 0 ? Infinity : k;
          }),
        );
        if (cut !== Infinity) {
          s.done = true;
          s.out.finishReason = 'stop';
          s.out.text = text.slice(0, cut);
          continue;
        }
      }
      if (s.out.tokens.length >= o.maxTokens || s.cache.length >= s.cache.capacity) {
        s.done = true;
        continue;
      }
      s.next = Int32Array.of(token);
    }
    this.live = [];
    return events;
  }

  /** The finished generations (decoded when the options have decode). */
  result(): Generation[] {
    for (const s of this.seqs) if (this.o.decode && s.out.text === undefined) s.out.text = this.o.decode(s.out.tokens);
    return this.seqs.map((s) => s.out);
  }
}

export function* generateStream(
  model: GPT,
  backend: Backend<Float32Array>,
  prompts: Int32Array[],
  o: GenerateOptions,
): Generator<GeneratedToken, Generation[]> {
  const d = new Decoding(model, prompts, o);
  // One logits buffer for the whole generation: each step's rows are used before the next step.
  const logitsBuf = new Float32Array(prompts.length * model.config.vocabSize);
  while (!d.done) yield* d.accept(step(model, backend, d.inputs(), false, logitsBuf));
  return d.result();
}

/** generateStream run to the end. */
export function generate(model: GPT, backend: Backend<Float32Array>, prompts: Int32Array[], o: GenerateOptions): Generation[] {
  const it = generateStream(model, backend, prompts, o);
  for (;;) {
    const r = it.next();
    if (r.done) return r.value;
  }
}

/**
 * Log-likelihood of a continuation given a context (lm-evaluation-harness' loglikelihood): the
 * sum of log p(cont_i | context, cont_<i), and whether greedy decoding would have produced the
 * continuation. When context + continuation exceed the window, the context is cut on the left.
 */
export function scoreContinuation(
  model: GPT,
  backend: Backend<Float32Array>,
  context: ArrayLike<number>,
  continuation: ArrayLike<number>,
): { logprob: number; greedy: boolean; tokens: TokenLogprob[] } {
  if (continuation.length === 0) throw new Error('scoreContinuation: continuation is empty');
  const all = Int32Array.from([...Array.from(context), ...Array.from(continuation)]);
  const ctx = model.config.contextLength;
  if (continuation.length > ctx)
    throw new Error(`scoreContinuation: continuation has ${continuation.length} tokens; the context length is ${ctx}`);
  // Predicting token i needs tokens 0..i-1, so the input is all but the last token, at most ctx long.
  const input = all.subarray(Math.max(0, all.length - 1 - ctx), all.length - 1);
  if (input.length === 0) throw new Error('scoreContinuation: context is empty (a continuation needs at least one token before it)');
  const logits = step(model, backend, [{ cache: new KVCache(model.config), tokens: input }], true);
  const V = model.config.vocabSize;
  let logprob = 0,
    greedy = true;
  const tokens: TokenLogprob[] = [];
  for (let j = 0; j < continuation.length; j++) {
    const row = input.length - continuation.length + j;
    const lp = logSoftmax(logits.subarray(row * V, (row + 1) * V));
    const tok = continuation[j];
    logprob += lp[tok];
    tokens.push({ token: tok, logprob: lp[tok] });
    let best = 0;
    for (let v = 1; v < V; v++) if (lp[v] > lp[best]) best = v;
    if (best !== tok) greedy = false;
  }
  return { logprob, greedy, tokens };
}
