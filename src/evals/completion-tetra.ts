// A CompletionFn over a tetra model held in this process: chat and raw completion by sampling
// (src/model generate), and log-likelihoods for multiple choice by scoring continuations
// (scoreContinuation). It is what evals use for the embedded default model and in tests.
import { generate, scoreContinuation, type GPT } from '../model/index.ts';
import { defaultBackend, type Backend } from '../tensor/index.ts';
import { renderPrompt, type Tokenizer } from '../tokenizer/index.ts';
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

export function tetraCompletionFn(o: TetraCompletionOptions): CompletionFn {
  const { model, tokenizer: tok } = o;
  const backend = o.backend ?? defaultBackend();
  const prefix = o.prefix ?? [tok.special('<|endoftext|>')];
  const ctxLen = model.config.contextLength;
  if (tok.idLimit > model.config.vocabSize) throw new Error(`tokenizer ids reach ${tok.idLimit} but the model's vocabulary has ${model.config.vocabSize} rows: pass the tokenizer the model was trained with`);

  const sampleFrom = (prompt: number[], opts: CompletionOptions, stopTokens: number[]): Completion => {
    const n = opts.n ?? 1;
    // Keep room for the answer: a prompt longer than the window loses its oldest tokens.
    const maxTokens = Math.min(opts.maxTokens ?? 256, ctxLen - 1);
    const ids = prompt.length + maxTokens > ctxLen ? prompt.slice(prompt.length + maxTokens - ctxLen) : prompt;
    const gens = generate(model, backend, Array.from({ length: n }, () => Int32Array.from(ids)), {
      maxTokens, temperature: opts.temperature ?? 1, seed: opts.seed, stopTokens,
      stopStrings: opts.stop, decode: (t) => tok.decode(t),
    });
    return {
      texts: gens.map((g) => g.text ?? ''),
      usage: { promptTokens: ids.length * n, completionTokens: gens.reduce((s, g) => s + g.tokens.length, 0) },
      model: o.name,
    };
  };

  return {
    name: o.name ?? 'tetra',
    async chat(messages: EvalMessage[], opts: CompletionOptions): Promise<Completion> {
      // tetra's chat format has no developer role; it is a system message by another name.
      const msgs = messages.map((m) => ({ role: m.role === 'developer' ? 'system' as const : m.role, content: m.content }));
      return sampleFrom(renderPrompt(tok, msgs).ids, opts, [tok.special('<|end|>')]);
    },
    async complete(prompt: string, opts: CompletionOptions): Promise<Completion> {
      return sampleFrom([...prefix, ...tok.encode(prompt)], opts, [tok.special('<|endoftext|>')]);
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
