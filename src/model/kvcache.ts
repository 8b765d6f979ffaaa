// Inference with a KV cache: each sequence keeps its keys and values per layer, so a decode step
// costs one token's work, not the whole prefix's. Several sequences step together: their rows
// share every matrix multiply, and only RoPE and attention run per sequence (each has its own
// position and cache length).
//
// The step calls the backend's kernels directly, without the tape: no Tensor or gradient
// bookkeeping per op, and every activation lives in a workspace kept per model and reused by the
// next step, so a decode step allocates nothing but a few array views. It runs the same kernels
// in the same order as GPT.run, the training pass (the tests hold the two to the same logits),
// with three changes that only save work: q, k and v come from one GEMM over the layer's [3C, C]
// matrix when every sequence brings one token; the residual adds are the GEMMs' beta = 1; and
// only the rows whose logits are returned go through the final norm and the LM head.
import type { Backend, GemmArgs } from '../tensor/index.ts';
import { headSize, type GPTConfig } from './config.ts';
import type { GPT } from './gpt.ts';
import { linear, linearArgs } from './linear.ts';
import { embedImagesInto, imageLimits, imageSlots, packImages, type ImageInput } from './vision.ts';

export class KVCache {
  /** Per layer: keys and values [capacity, NH, HS], RoPE already applied to keys. */
  readonly k: Float32Array[];
  readonly v: Float32Array[];
  readonly capacity: number;
  /** Positions filled. */
  length = 0;

  constructor(config: GPTConfig, capacity = config.contextLength) {
    if (capacity > config.contextLength)
      throw new Error(`KVCache: capacity ${capacity} exceeds the model's context length ${config.contextLength}`);
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
  /** Images among the new tokens: `at` indexes into `tokens` (vision models only). */
  images?: ImageInput;
}

/** Activations for up to `rows` tokens of one model; buffers may be longer than a step needs. */
class Workspace {
  readonly rows: number;
  readonly tokens: Int32Array;
  readonly x: Float32Array; // [rows, C]   residual stream
  readonly h: Float32Array; // [rows, C]   normed input of a sublayer
  readonly qkv: Float32Array; // [rows, 3C]  fused projection (all-decode steps), else q | k | v
  readonly att: Float32Array; // [rows, C]   attention output
  readonly mlp: Float32Array; // [rows, 2H]  gate | up
  readonly act: Float32Array; // [rows, H]   silu(gate) * up
  readonly rstd: Float32Array; // [rows]
  readonly lse: Float32Array; // [NH, rows]  attention's log-sum-exp (unused: no backward)
  readonly last: Float32Array; // [rows, C]   gathered rows for the LM head
  /** GEMM arguments, reused; A/B/C and sizes are set before each call (linear.ts). */
  readonly g: GemmArgs<Float32Array> = linearArgs();

  constructor(c: GPTConfig, rows: number) {
    const C = c.nEmbd,
      H = c.mlpHidden;
    this.rows = rows;
    this.tokens = new Int32Array(rows);
    this.x = new Float32Array(rows * C);
    this.h = new Float32Array(rows * C);
    this.qkv = new Float32Array(rows * 3 * C);
    this.att = new Float32Array(rows * C);
    this.mlp = new Float32Array(rows * 2 * H);
    this.act = new Float32Array(rows * H);
    this.rstd = new Float32Array(rows);
    this.lse = new Float32Array(c.nHead * rows);
    this.last = new Float32Array(rows * C);
  }
}

// Steps of up to this many rows (decode, small prefills) reuse one workspace per model; larger
// prefills get a fresh one, so a long prompt does not pin its activations for the model's life.
const KEEP_ROWS = 64;
const workspaces = new WeakMap<GPT, Workspace>();

function workspace(model: GPT, rows: number): Workspace {
  if (rows > KEEP_ROWS) return new Workspace(model.config, rows);
  let ws = workspaces.get(model);
  if (!ws || ws.rows < rows) {
    ws = new Workspace(model.config, Math.max(rows, Math.min(KEEP_ROWS, 2 * (ws?.rows ?? 4))));
    workspaces.set(model, ws);
  }
  return ws;
}

/**
 * Inference: runs the new tokens of every sequence through the model, appending to their caches.
 * The training twin is GPT.run (gpt.ts), on the tape; a change to one block's math goes in both.
 * Returns logits [sum of new tokens, V] when allRows, else one row per sequence (its last token).
 * `out`, when given, receives the logits (it must hold at least that many rows) and is returned.
 */
export function step(model: GPT, backend: Backend<Float32Array>, inputs: StepInput[], allRows = false, out?: Float32Array): Float32Array {
  const c = model.config,
    C = c.nEmbd,
    NH = c.nHead,
    HS = headSize(c),
    V = c.vocabSize,
    H = c.mlpHidden,
    eps = c.normEps;
  let N = 0,
    decode = true;
  for (const s of inputs) {
    const T = s.tokens.length;
    if (T === 0) throw new Error('step: a sequence has no new tokens');
    if (s.cache.length + T > s.cache.capacity) {
      throw new Error(`step: ${s.cache.length} cached + ${T} new tokens exceed the context of ${s.cache.capacity}`);
    }
    N += T;
    if (T !== 1) decode = false;
  }
  const outRows = allRows ? N : inputs.length;
  if (out && out.length < outRows * V) throw new Error(`step: out holds ${out.length} values, needs ${outRows * V}`);
  const logits = out ?? new Float32Array(outRows * V);

  const ws = workspace(model, N);
  const { x, h, qkv, att, mlp, act, rstd, lse, g } = ws;
  const be = backend;
  const cos = model.rope.cos as Float32Array,
    sin = model.rope.sin as Float32Array;
  const scale = 1 / Math.sqrt(HS);
  const f32 = (t: { data: unknown }) => t.data as Float32Array;

  let r = 0;
  for (const s of inputs) {
    ws.tokens.set(s.tokens, r);
    r += s.tokens.length;
  }
  be.embeddingForward(x, f32(model.wte), ws.tokens, N, C, V);
  // Every sequence's images in one pass (one stem GEMM for a batch), each over its slots' rows.
  const pixels: Float32Array[] = [],
    at: number[] = [];
  r = 0;
  for (const s of inputs) {
    if (s.images?.at.length) {
      if (!c.vision || !model.vision) throw new Error('step: images given to a model without image input');
      const slots = imageSlots(c.vision);
      for (const a of Array.from(s.images.at)) {
        if (!(a >= 0 && a + slots <= s.tokens.length))
          throw new Error(`step: an image at ${a} does not fit in ${s.tokens.length} new tokens`);
        at.push(r + a);
      }
      pixels.push(s.images.pixels);
    }
    r += s.tokens.length;
  }
  if (at.length) embedImagesInto(be, c.vision!, model.vision!, packImages(pixels, at), x, C);
  // Prefix attention: each sequence's key limits for its new tokens (an image lies wholly among them).
  const limits = inputs.map((s) =>
    c.vision?.prefix && s.images?.at.length ? imageLimits(c.vision, s.images.at, 1, s.tokens.length, s.cache.length) : undefined,
  );

  // Without the fused projection, q, k and v each take N rows of qkv, one after another.
  const qOff = 0,
    kOff = decode ? C : N * C,
    vOff = decode ? 2 * C : 2 * N * C,
    rowStride = decode ? 3 * C : C;
  for (let l = 0; l < c.nLayer; l++) {
    const w = model.layers[l];
    be.rmsnormForward(h, rstd, x, f32(w.attnNorm), N, C, eps);
    if (decode) {
      linear(be, g, qkv, h, w.qkv as Float32Array, N, 3 * C, C);
    } else {
      linear(be, g, qkv.subarray(qOff), h, f32(w.wq), N, C, C);
      linear(be, g, qkv.subarray(kOff), h, f32(w.wk), N, C, C);
      linear(be, g, qkv.subarray(vOff), h, f32(w.wv), N, C, C);
    }
    r = 0;
    for (const [si, s] of inputs.entries()) {
      const T = s.tokens.length,
        pos = s.cache.length,
        ck = s.cache.k[l],
        cv = s.cache.v[l];
      const q = qkv.subarray(qOff + r * rowStride, qOff + r * rowStride + T * C);
      const k = qkv.subarray(kOff + r * rowStride, kOff + r * rowStride + T * C);
      const v = qkv.subarray(vOff + r * rowStride, vOff + r * rowStride + T * C);
      be.ropeForward(q, q, cos, sin, 1, T, NH, HS, pos);
      be.ropeForward(ck.subarray(pos * C, (pos + T) * C), k, cos, sin, 1, T, NH, HS, pos);
      cv.set(v, pos * C);
      be.attentionForward(att.subarray(r * C, (r + T) * C), lse, q, ck, cv, 1, T, pos + T, NH, HS, scale, limits[si]);
      r += T;
    }
    linear(be, g, x, att, f32(w.wo), N, C, C, 1); // x += attn W_o^T
    be.rmsnormForward(h, rstd, x, f32(w.mlpNorm), N, C, eps);
    linear(be, g, mlp, h, f32(w.wGateUp), N, 2 * H, C);
    be.swigluForward(act, mlp, N, H);
    linear(be, g, x, act, f32(w.wDown), N, C, H, 1); // x += mlp W_down^T
  }
  for (const s of inputs) s.cache.length += s.tokens.length;

  // Final norm and LM head on the rows whose logits are returned.
  let rows = x;
  if (!allRows && N !== inputs.length) {
    rows = ws.last;
    r = 0;
    inputs.forEach((s, i) => {
      r += s.tokens.length;
      ws.last.set(x.subarray((r - 1) * C, r * C), i * C);
    });
  }
  be.rmsnormForward(h, rstd, rows, f32(model.normF), outRows, C, eps);
  linear(be, g, logits, h, f32(model.lmHead), outRows, V, C);
  return logits;
}
