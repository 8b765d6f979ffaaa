// What every synthetic task generator produces, and the shared seeded randomness.
//
// Each sample is both an SFT conversation ({messages}) and an openai/evals-style sample
// ({input, ideal}: input = the conversation without the assistant turn). Held-out splits are
// disjoint by construction: each task assigns every problem key to exactly one split by a hash
// of the key (heldOut), and a generator asked for one split only ever emits keys of that split.
import { mulberry32 } from '../../tensor/index.ts';
import { fnv1a32 } from '../hash.ts';

export type Role = 'system' | 'user' | 'assistant';
export interface ChatMessage {
  role: Role;
  content: string;
}
export interface SyntheticSample {
  task: string;
  /** Identity of the underlying problem: two samples with one key are the same problem. */
  key: string;
  messages: ChatMessage[];
  input: ChatMessage[];
  ideal: string;
}
export type SynthSplit = 'train' | 'eval';

export interface GenerateOptions {
  seed: number;
  count: number;
  split: SynthSplit;
}

/** Share of problem keys held out for evaluation. */
export const EVAL_FRACTION = 0.1;

export function splitOfKey(task: string, key: string): SynthSplit {
  return fnv1a32(`${task}\u0000${key}`) / 2 ** 32 < EVAL_FRACTION ? 'eval' : 'train';
}

export function sample(task: string, key: string, input: ChatMessage[], ideal: string): SyntheticSample {
  return { task, key, input, ideal, messages: [...input, { role: 'assistant', content: ideal }] };
}

/** mulberry32 with the seed mixed per task, so tasks with one seed do not share a stream. */
export function seededRandom(seed: number, task: string): () => number {
  return mulberry32((seed ^ fnv1a32(task)) >>> 0);
}
export const randInt = (r: () => number, lo: number, hi: number): number => lo + Math.floor(r() * (hi - lo + 1));
export const pick = <T>(r: () => number, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];

/**
 * Draws until `count` samples of the wanted split are found. Keys of the other split are
 * skipped, never emitted; a generator whose key space is too small for the request throws
 * instead of looping forever.
 */
export function collect<S extends SyntheticSample>(count: number, split: SynthSplit, task: string, draw: () => S | null): S[] {
  if (!(Number.isInteger(count) && count >= 0)) throw new RangeError(`${task}: count must be a non-negative integer, got ${count}`);
  const out: S[] = [];
  let tries = 0;
  const limit = 1000 + count * 200;
  while (out.length < count) {
    if (++tries > limit)
      throw new RangeError(`${task}: found only ${out.length} of ${count} ${split} samples in ${limit} draws (too few distinct problems)`);
    const s = draw();
    if (s && splitOfKey(task, s.key) === split) out.push(s);
  }
  return out;
}
