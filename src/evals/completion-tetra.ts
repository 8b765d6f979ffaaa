// A CompletionFn over a tetra model held in this process: chat through the tokenizer's chat
// format and src/model generate, raw prompts after <|endoftext|> (as pretraining saw them), and
// log-likelihoods for multiple choice through scoreContinuation. Generation is synchronous CPU
// work, so concurrency does not speed it up. completion/checkpoint.ts loads a checkpoint into it.
import { generate, imageSlots, packImages, scoreContinuation, type GPT, type ImageInput } from '../model/index.ts';
import { decodeImage } from '../vision/index.ts';
import { defaultBackend, type Backend } from '../tensor/index.ts';
import { renderPrompt, type ChatMessage, type Tokenizer } from '../tokenizer/index.ts';
import type { Completion, CompletionFn, CompletionOptions, EvalMessage, LoglikelihoodRequest, LoglikelihoodResult } from './types.ts';

export interface TetraCompletionOptions {
  model: GPT;
  tokenizer: Tokenizer;
  name?: string;
  backend?: Backend<Float32Array>;
  /**
   * Ids put before a raw prompt or a log-likelihood context. Default: <|endoftext|>, because
   * pretraining documents follow one (a document start is what the model has seen).
   */
  prefix?: number[];
}

/**
 * openai/evals few-shot messages (system named example_user/example_assistant) as real turns;
 * image_url parts become image parts that keep their url (chat() decodes them).
 */
export function toChatTurns(messages: EvalMessage[]): ChatMessage[] {
  return messages.map((m) => {
    const content =
      typeof m.content === 'string'
        ? m.content
        : m.content.map((p) => (p.type === 'text' ? p : { type: 'image' as const, url: p.image_url.url }));
    if (m.role === 'system' && m.name === 'example_user') return { role: 'user', content };
    if (m.role === 'system' && m.name === 'example_assistant') return { role: 'assistant', content };
    // tetra's chat format has no developer role; it is a system message by another name.
    return { role: m.role === 'developer' ? 'system' : m.role, content };
  });
}

/** Decodes the turns' image parts (data URLs: evals run offline) to the model's pixels, in order. */
async function imagePixels(turns: ChatMessage[], size: number): Promise<Float32Array[]> {
  const out: Float32Array[] = [];
  for (const m of turns)
    for (const p of typeof m.content === 'string' ? [] : m.content) {
      if (p.type !== 'image') continue;
      const url = String(p.url);
      const comma = url.indexOf(',');
      if (!url.startsWith('data:') || !/;base64$/i.test(url.slice(0, comma)))
        throw new Error(`image parts must be base64 data URLs here (evals run offline), got ${url.slice(0, 40)}...`);
      out.push((await decodeImage(new Uint8Array(Buffer.from(url.slice(comma + 1), 'base64')), { size })).pixels);
    }
  return out;
}

export function tetraCompletionFn(o: TetraCompletionOptions): CompletionFn {
  const { model, tokenizer: tok } = o;
  const name = o.name ?? 'tetra';
  const backend = o.backend ?? defaultBackend();
  const eot = tok.special('<|endoftext|>');
  const prefix = o.prefix ?? [eot];
  const ctxLen = model.config.contextLength;
  if (tok.idLimit > model.config.vocabSize)
    throw new Error(
      `tokenizer ids reach ${tok.idLimit} but the model's vocabulary has ${model.config.vocabSize} rows: pass the tokenizer the ` +
        `model was trained with`,
    );

  const sampleFrom = (ids: number[], opts: CompletionOptions, stopTokens: number[], images?: ImageInput): Completion => {
    if (ids.length >= ctxLen) throw new Error(`prompt has ${ids.length} tokens; the model's context length is ${ctxLen}`);
    const n = opts.n ?? 1;
    const gens = generate(
      model,
      backend,
      Array.from({ length: n }, () => Int32Array.from(ids)),
      {
        maxTokens: Math.min(opts.maxTokens ?? 256, ctxLen - ids.length),
        temperature: opts.temperature ?? 1,
        seed: opts.seed ?? 1,
        stopTokens,
        stopStrings: opts.stop,
        decode: (t) => tok.decode(t),
        ...(images ? { images: Array.from({ length: n }, () => images) } : {}),
      },
    );
    return {
      texts: gens.map((g) => g.text ?? ''),
      usage: { promptTokens: ids.length, completionTokens: gens.reduce((s, g) => s + g.tokens.length, 0) },
      model: name,
    };
  };

  return {
    name,
    async chat(messages: EvalMessage[], opts: CompletionOptions): Promise<Completion> {
      const turns = toChatTurns(messages);
      const vision = model.config.vision;
      const hasImages = turns.some((m) => typeof m.content !== 'string' && m.content.some((p) => p.type === 'image'));
      if (hasImages && !vision) throw new Error(`${name} has no image input; this eval's samples carry images`);
      const r = renderPrompt(tok, turns, vision ? { imageSlots: imageSlots(vision) } : {});
      const images = hasImages ? packImages(await imagePixels(turns, vision!.imageSize), r.imagePositions) : undefined;
      return sampleFrom(r.ids, opts, [tok.special('<|end|>'), eot], images);
    },
    async complete(prompt: string, opts: CompletionOptions): Promise<Completion> {
      return sampleFrom([...prefix, ...tok.encode(prompt)], opts, [eot]);
    },
    async loglikelihood(reqs: LoglikelihoodRequest[], signal?: AbortSignal): Promise<LoglikelihoodResult[]> {
      const out: LoglikelihoodResult[] = [];
      for (const r of reqs) {
        signal?.throwIfAborted();
        // Context and continuation are encoded apart (as lm-evaluation-harness does), so the
        // continuation's tokens are the same whatever context precedes it.
        const cont = tok.encode(r.continuation);
        const s = scoreContinuation(model, backend, [...prefix, ...tok.encode(r.context)], cont);
        out.push({ logprob: s.logprob, greedy: s.greedy, tokens: cont.length });
        // Scoring is synchronous CPU work; yield so timers and aborts get a turn between requests.
        await new Promise((res) => setImmediate(res));
      }
      return out;
    },
  };
}
