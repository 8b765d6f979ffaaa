// A tetra checkpoint as a completion function, in-process: chat through the tokenizer's chat
// format and the model's generate, raw prompts after <|endoftext|> (as pretraining saw them),
// log-likelihoods through scoreContinuation. Generation is synchronous CPU work, so concurrency
// does not speed it up; the API engines will add a batched path as another completion function.
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { generate, GPT, scoreContinuation } from '../../model/index.ts';
import { defaultBackend } from '../../tensor/index.ts';
import { openTokenizerRef, renderPrompt, type ChatMessage, type Tokenizer } from '../../tokenizer/index.ts';
import { latestCheckpoint, loadCheckpoint } from '../../train/index.ts';
import type { Completion, CompletionFn, CompletionOptions, EvalMessage, LoglikelihoodRequest, LoglikelihoodResult } from '../types.ts';

interface Loaded { model: GPT; tok: Tokenizer }

/** openai/evals few-shot messages (system named example_user/example_assistant) as real turns. */
export function toChatTurns(messages: EvalMessage[]): ChatMessage[] {
  return messages.map((m) => {
    if (m.role === 'system' && m.name === 'example_user') return { role: 'user', content: m.content };
    if (m.role === 'system' && m.name === 'example_assistant') return { role: 'assistant', content: m.content };
    return { role: m.role === 'developer' ? 'system' : m.role, content: m.content };
  });
}

export class CheckpointCompletionFn implements CompletionFn {
  readonly name: string;
  private loaded: Promise<Loaded> | null = null;
  readonly dir: string;

  constructor(path: string) {
    const p = resolve(path);
    const dir = existsSync(join(p, 'checkpoint.json')) ? p : latestCheckpoint(existsSync(join(p, 'checkpoints')) ? join(p, 'checkpoints') : p);
    if (!dir) throw new Error(`${p} is neither a tetra checkpoint nor a run directory with checkpoints`);
    this.dir = dir;
    this.name = `tetra:${dir}`;
  }

  private load(): Promise<Loaded> {
    this.loaded ??= (async () => {
      const ck = loadCheckpoint(this.dir, { withOptimizer: false });
      const tok = await openTokenizerRef(ck.meta.tokenizer ?? {});
      return { model: new GPT(ck.config, ck.params, { requiresGrad: false }), tok };
    })();
    return this.loaded;
  }

  private run({ model, tok }: Loaded, ids: number[], opts: CompletionOptions, stopTokens: number[]): Completion {
    const ctxLen = model.config.contextLength;
    if (ids.length >= ctxLen) throw new Error(`prompt has ${ids.length} tokens; the model's context length is ${ctxLen}`);
    const n = opts.n ?? 1;
    const gens = generate(model, defaultBackend(), Array.from({ length: n }, () => Int32Array.from(ids)), {
      maxTokens: Math.min(opts.maxTokens ?? 256, ctxLen - ids.length),
      temperature: opts.temperature ?? 1,
      seed: opts.seed ?? 1,
      stopTokens,
      stopStrings: opts.stop,
      decode: (t) => tok.decode(t),
    });
    return { texts: gens.map((g) => g.text ?? ''), usage: { promptTokens: ids.length, completionTokens: gens.reduce((s, g) => s + g.tokens.length, 0) }, model: this.name };
  }

  async chat(messages: EvalMessage[], opts: CompletionOptions): Promise<Completion> {
    const l = await this.load();
    const { ids } = renderPrompt(l.tok, toChatTurns(messages));
    return this.run(l, ids, opts, [l.tok.special('<|end|>'), l.tok.special('<|endoftext|>')]);
  }

  async complete(prompt: string, opts: CompletionOptions): Promise<Completion> {
    const l = await this.load();
    const eot = l.tok.special('<|endoftext|>');
    return this.run(l, [eot, ...l.tok.encode(prompt)], opts, [eot]);
  }

  async loglikelihood(reqs: LoglikelihoodRequest[]): Promise<LoglikelihoodResult[]> {
    const { model, tok } = await this.load();
    const eot = tok.special('<|endoftext|>');
    return reqs.map(({ context, continuation }) => {
      const cont = tok.encode(continuation);
      const r = scoreContinuation(model, defaultBackend(), [eot, ...tok.encode(context)], cont);
      return { logprob: r.logprob, greedy: r.greedy, tokens: cont.length };
    });
  }
}
