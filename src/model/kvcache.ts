// Inference with a KV cache: each sequence keeps its keys and values per layer, so a decode step
// costs one token's work, not the whole prefix's. Several sequences step together: their rows
// share every matrix multiply, and only RoPE and attention run per sequence (each has its own
// position and cache length).
import { Tape, Tensor, type Backend } from '../tensor/index.ts';
import { headSize, type GPTConfig } from './config.ts';
import type { Attend, GPT } from './gpt.ts';

export class KVCache {
  /** Per layer: keys and values [capacity, NH, HS], RoPE already applied to keys. */
  readonly k: Float32Array[];
  readonly v: Float32Array[];
  readonly capacity: number;
  /** Positions filled. */
  length = 0;

  constructor(config: GPTConfig, capacity = config.contextLength) {
    if (capacity > config.contextLength) throw new Error(`KVCache: capacity ${capacity} exceeds the model's context length ${config.contextLength}`);
    const n = capacity * config.nEmbd;
    this.capacity = capacity;
    this.k = Array.from({ length: config.nLayer }, () => new Float32Array(n));
    this.v = Array.from({ length: config.nLayer }, () => new Float32Array(n));
  }

  /** Forget everything after `length` positions (e.g. to reuse a shared prompt prefix). */
  truncate(length: number): void {
    if (length < 0 || length > this.length) throw new Error(`KVCache.truncate: ${length} is outside [0, ${this.length}]`);
    this.length = length;
  }
}

export interface StepInput {
  cache: KVCache;
  /** New tokens for this sequence (a whole prompt to prefill, or one token to decode). */
  tokens: Int32Array;
}

/**
 * Runs the new tokens of every sequence through the model, appending to their caches.
 * Returns logits [sum of new tokens, V] when allRows, else one row per sequence (its last token).
 */
export function step(model: GPT, backend: Backend<Float32Array>, inputs: StepInput[], allRows = false): Float32Array {
  const c = model.config, C = c.nEmbd, NH = c.nHead, HS = headSize(c), V = c.vocabSize;
  const { cos, sin } = model.rope;
  const starts: number[] = [];
  let N = 0;
  for (const s of inputs) {
    if (s.tokens.length === 0) throw new Error('step: a sequence has no new tokens');
    if (s.cache.length + s.tokens.length > s.cache.capacity) {
      throw new Error(`step: ${s.cache.length} cached + ${s.tokens.length} new tokens exceed the context of ${s.cache.capacity}`);
    }
    starts.push(N);
    N += s.tokens.length;
  }
  const tokens = new Int32Array(N);
  inputs.forEach((s, i) => tokens.set(s.tokens, starts[i]));
  const scale = 1 / Math.sqrt(HS);

  // The log-sum-exp rows attention writes are only needed for a backward pass: one scratch serves
  // every sequence and layer.
  let maxT = 0;
  for (const s of inputs) maxT = Math.max(maxT, s.tokens.length);
  const lse = new Float32Array(NH * maxT);
  const attend: Attend = (_tape, l, q, k, v) => {
    const out = Tensor.zeros([N, C]);
    inputs.forEach((s, i) => {
      const T = s.tokens.length, pos = s.cache.length, r0 = starts[i] * C, r1 = r0 + T * C;
      const qs = q.data.subarray(r0, r1) as Float32Array;
      backend.ropeForward(qs, qs, cos as Float32Array, sin as Float32Array, 1, T, NH, HS, pos);
      backend.ropeForward(s.cache.k[l].subarray(pos * C, (pos + T) * C), k.data.subarray(r0, r1) as Float32Array,
        cos as Float32Array, sin as Float32Array, 1, T, NH, HS, pos);
      s.cache.v[l].set(v.data.subarray(r0, r1), pos * C);
      backend.attentionForward(out.data.subarray(r0, r1) as Float32Array, lse, qs,
        s.cache.k[l], s.cache.v[l], 1, T, pos + T, NH, HS, scale);
    });
    return out;
  };
  const logits = model.run(new Tape(backend, 'f32', { grad: false }), tokens, attend).data as Float32Array;
  for (const s of inputs) s.cache.length += s.tokens.length;
  if (allRows) return logits;
  const last = new Float32Array(inputs.length * V);
  inputs.forEach((s, i) => last.set(logits.subarray((starts[i] + s.tokens.length - 1) * V, (starts[i] + s.tokens.length) * V), i * V));
  return last;
}
