// A checkpoint ready for inference: its weights as a GPT without gradients, and the tokenizer it
// names. Given a checkpoint directory or a training run's directory (then its newest checkpoint).
import { GPT } from './gpt.ts';
import { findCheckpoint, loadCheckpoint, type TokenizerRef } from './io/index.ts';
import { openTokenizerRef, type Tokenizer } from '../tokenizer/index.ts';

export interface OpenedCheckpoint {
  /** The checkpoint directory that was loaded. */
  dir: string;
  model: GPT;
  tok: Tokenizer;
}

/** `fallback` names the tokenizer for a checkpoint that records none (otherwise that is an error). */
export async function openCheckpoint(path: string, fallback: TokenizerRef = {}): Promise<OpenedCheckpoint> {
  const dir = findCheckpoint(path);
  if (!dir) throw new Error(`${path} is neither a tetra checkpoint nor a run directory with checkpoints`);
  const ck = loadCheckpoint(dir, { withOptimizer: false });
  const tok = await openTokenizerRef(ck.meta.tokenizer ?? fallback);
  return { dir, model: new GPT(ck.config, ck.params, { requiresGrad: false }), tok };
}
