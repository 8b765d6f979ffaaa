// A tetra checkpoint (or a run directory: its newest checkpoint) as a completion function: loads
// the model and its tokenizer on first use, then answers through tetraCompletionFn.
import { findCheckpoint, openCheckpoint } from '../../model/index.ts';
import { tetraCompletionFn } from '../completion-tetra.ts';
import type { Completion, CompletionFn, CompletionOptions, EvalMessage, LoglikelihoodRequest, LoglikelihoodResult } from '../types.ts';

export class CheckpointCompletionFn implements CompletionFn {
  readonly name: string;
  readonly dir: string;
  private loaded: Promise<CompletionFn> | null = null;

  constructor(path: string) {
    const dir = findCheckpoint(path);
    if (!dir) throw new Error(`${path} is neither a tetra checkpoint nor a run directory with checkpoints`);
    this.dir = dir;
    this.name = `tetra:${dir}`;
  }

  private fn(): Promise<CompletionFn> {
    this.loaded ??= (async () => {
      const { model, tok } = await openCheckpoint(this.dir);
      return tetraCompletionFn({ model, tokenizer: tok, name: this.name });
    })();
    return this.loaded;
  }

  async chat(messages: EvalMessage[], opts: CompletionOptions): Promise<Completion> {
    return (await this.fn()).chat(messages, opts);
  }

  async complete(prompt: string, opts: CompletionOptions): Promise<Completion> {
    return (await this.fn()).complete!(prompt, opts);
  }

  async loglikelihood(reqs: LoglikelihoodRequest[], signal?: AbortSignal): Promise<LoglikelihoodResult[]> {
    return (await this.fn()).loglikelihood!(reqs, signal);
  }
}
