// Turning one row of logits into a token: temperature, top-k, top-p (nucleus), greedy at
// temperature 0, and the log-probabilities reported beside the choice. Logprobs are always those
// of the model's own distribution (softmax of the raw logits), whatever the sampling settings,
// as the OpenAI API reports them.
import type { Rng } from '../tensor/index.ts';

export interface SamplingOptions {
  /** 0 means greedy. Default 1. */
  temperature?: number;
  /** Keep only the k most likely tokens (0 = off). */
  topK?: number;
  /** Keep the smallest set of tokens whose probability reaches p (1 = off). */
  topP?: number;
}

export interface TokenLogprob {
  token: number;
  logprob: number;
}

export function validateSampling(o: SamplingOptions): void {
  const t = o.temperature ?? 1,
    k = o.topK ?? 0,
    p = o.topP ?? 1;
  if (!(t >= 0 && t <= 100)) throw new Error(`temperature must be in [0, 100], got ${t}`);
  if (!Number.isInteger(k) || k < 0) throw new Error(`topK must be a non-negative integer, got ${k}`);
  if (!(p > 0 && p <= 1)) throw new Error(`topP must be in (0, 1], got ${p}`);
}

/** log softmax of a row, in float64. */
export function logSoftmax(logits: ArrayLike<number>): Float64Array {
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) if (logits[i] > max) max = logits[i];
  let sum = 0;
  for (let i = 0; i < logits.length; i++) sum += Math.exp(logits[i] - max);
  const lse = max + Math.log(sum);
  const out = new Float64Array(logits.length);
  for (let i = 0; i < logits.length; i++) out[i] = logits[i] - lse;
  return out;
}

export function argmax(x: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < x.length; i++) if (x[i] > x[best]) best = i;
  return best;
}

/** The k most likely tokens with their logprobs, most likely first (ties: lower id first). */
export function topLogprobs(logprobs: ArrayLike<number>, k: number): TokenLogprob[] {
  if (k <= 0) return [];
  const best: TokenLogprob[] = [];
  for (let i = 0; i < logprobs.length; i++) {
    const lp = logprobs[i];
    if (best.length === k && lp <= best[k - 1].logprob) continue;
    let j = best.length < k ? best.length : k - 1;
    while (j > 0 && best[j - 1].logprob < lp) j--;
    best.splice(j, 0, { token: i, logprob: lp });
    if (best.length > k) best.pop();
  }
  return best;
}

/** Picks the next token from one row of logits. */
export function sample(logits: ArrayLike<number>, o: SamplingOptions, rng: Rng): number {
  const t = o.temperature ?? 1;
  if (t === 0) return argmax(logits);
  const V = logits.length;
  // Candidates in descending logit order, cut by top-k, then by cumulative probability (top-p).
  // Top-k keeps a running list of the k best instead of sorting the vocabulary: at V = 8192 and
  // k = 40 the sort (a comparator call per comparison) cost more than the model's decode step.
  const k = o.topK ?? 0,
    p = o.topP ?? 1;
  let idx: number[];
  if (k > 0 && k < V) {
    idx = topLogprobs(logits, k).map((c) => c.token);
  } else {
    idx = Array.from({ length: V }, (_, i) => i);
    if (p < 1) idx.sort((a, b) => logits[b] - logits[a] || a - b);
  }
  let max = -Infinity;
  for (const i of idx) if (logits[i] > max) max = logits[i];
  const probs = idx.map((i) => Math.exp((logits[i] - max) / t));
  let total = probs.reduce((a, b) => a + b, 0);
  if (p < 1) {
    let cum = 0,
      keep = 0;
    while (keep < probs.length && cum < p * total) cum += probs[keep++];
    idx = idx.slice(0, keep);
    probs.length = keep;
    total = cum;
  }
  let r = rng.next() * total;
  for (let j = 0; j < idx.length; j++) {
    r -= probs[j];
    if (r < 0) return idx[j];
  }
  return idx[idx.length - 1];
}
