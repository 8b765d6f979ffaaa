// The GPT: token embedding, nLayer blocks of (RMSNorm -> causal self-attention with RoPE ->
// residual, RMSNorm -> SwiGLU MLP -> residual), final RMSNorm, LM head (tied or not). No biases.
//
// run() is the block stack on the tape, for training and evaluation; how attention finds its keys
// and values is passed in as `attend`. KV-cache inference (kvcache.ts step) runs the same kernels
// in the same order without the tape, and the tests hold the two to the same logits.
import { Rng, ropeTables, Tape, Tensor, type FloatArray } from '../tensor/index.ts';
import { headSize, paramCount, paramShapes, validateConfig, type GPTConfig } from './config.ts';

/** Given a layer's q, k, v projections [N, C] (N rows of tokens), returns attention output [N, C]. */
export type Attend = (tape: Tape, layer: number, q: Tensor, k: Tensor, v: Tensor) => Tensor;

export class GPT {
  readonly config: GPTConfig;
  readonly params: Map<string, Tensor>;
  readonly rope: { cos: FloatArray; sin: FloatArray };
  /**
   * Every parameter, back to back in paramShapes order (the parameters are views into it). So
   * one GEMM can project a token to q, k and v at once (wq, wk and wv are adjacent: a decode step
   * streams the three matrices in one pass, and the checkpoint layout is unchanged), and data
   * parallel replicas can share one copy of the weights (storage on a SharedArrayBuffer).
   */
  readonly storage: FloatArray;
  /** The gradients, laid out as storage, when the caller supplied them (opts.gradStorage). */
  readonly gradStorage: FloatArray | null;
  private readonly qkv: FloatArray[] = [];

  /**
   * params: each parameter's values, copied into storage; null when opts.storage already holds
   * them (a replica over shared weights). opts.storage: where the weights live (length
   * paramCount); opts.gradStorage: gradients laid out the same way, used as the parameters'
   * gradient buffers instead of ones allocated on first use.
   */
  constructor(config: GPTConfig, params: Map<string, FloatArray> | null,
    opts: { requiresGrad?: boolean; storage?: FloatArray; gradStorage?: FloatArray } = {}) {
    validateConfig(config);
    this.config = config;
    this.params = new Map();
    const C = config.nEmbd;
    if (!params && !opts.storage) throw new Error('GPT: give the parameters or the storage that holds them');
    const total = paramCount(config);
    const f64 = params ? [...params.values()].some((d) => d instanceof Float64Array) : opts.storage instanceof Float64Array;
    this.storage = opts.storage ?? (f64 ? new Float64Array(total) : new Float32Array(total));
    this.gradStorage = opts.gradStorage ?? null;
    for (const [what, buf] of [['storage', this.storage], ['gradStorage', this.gradStorage]] as const) {
      if (buf && buf.length !== total) throw new Error(`GPT: ${what} has ${buf.length} values, the config's parameters need ${total}`);
    }
    let off = 0;
    for (const [name, shape] of paramShapes(config)) {
      const n = shape.reduce((a, b) => a * b, 1);
      const data = this.storage.subarray(off, off + n);
      if (params) {
        const given = params.get(name);
        if (!given) throw new Error(`GPT: parameter '${name}' is missing`);
        if (given.length !== n) throw new Error(`GPT: parameter '${name}' has ${given.length} values, shape [${shape}] needs ${n}`);
        data.set(given);
      }
      const m = /^blocks\.(\d+)\.wq$/.exec(name);
      if (m) this.qkv[Number(m[1])] = this.storage.subarray(off, off + 3 * C * C);
      const grad = this.gradStorage?.subarray(off, off + n);
      this.params.set(name, new Tensor(data, shape, { requiresGrad: opts.requiresGrad ?? true, name, grad }));
      off += n;
    }
    this.rope = ropeTables(config.contextLength, headSize(config), config.ropeBase);
  }

  /** Layer l's wq, wk, wv as one [3C, C] matrix (the same memory as the three parameters). */
  qkvWeight(l: number): FloatArray {
    const w = this.qkv[l];
    if (!w) throw new Error(`GPT: no layer ${l}`);
    return w;
  }

  /**
   * Fresh weights from a seed: matrices ~ N(0, 0.02), the two projections that write into the
   * residual stream (wo, w_down) scaled by 1/sqrt(2 * nLayer) so the stream's variance does not
   * grow with depth (GPT-2's rule); RMSNorm gains 1.
   */
  static init(config: GPTConfig, seed: number): GPT {
    const rng = new Rng(seed);
    const params = new Map<string, FloatArray>();
    const residualScale = 1 / Math.sqrt(2 * config.nLayer);
    for (const [name, shape] of paramShapes(config)) {
      const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
      if (shape.length === 1) data.fill(1);
      else {
        const std = /\.(wo|w_down)$/.test(name) ? 0.02 * residualScale : 0.02;
        for (let i = 0; i < data.length; i++) data[i] = rng.normal() * std;
      }
      params.set(name, data);
    }
    return new GPT(config, params);
  }

  p(name: string): Tensor {
    const t = this.params.get(name);
    if (!t) throw new Error(`GPT: no parameter '${name}'`);
    return t;
  }

  /** The residual stream after every block, then the final norm and LM head: logits [N, V]. */
  run(tape: Tape, tokens: Int32Array, attend: Attend): Tensor {
    const c = this.config;
    let x = tape.embedding(tokens, [tokens.length], this.p('wte'));          // (N, C)
    for (let l = 0; l < c.nLayer; l++) {
      const b = `blocks.${l}.`;
      const h = tape.rmsnorm(x, this.p(b + 'attn_norm'), c.normEps);
      const q = tape.linear(h, this.p(b + 'wq')), k = tape.linear(h, this.p(b + 'wk')), v = tape.linear(h, this.p(b + 'wv'));
      // Each branch's projection is read by nothing but its residual add: the sum goes over it.
      x = tape.add(x, tape.linear(attend(tape, l, q, k, v), this.p(b + 'wo')), { inPlace: true });
      const m = tape.linear(tape.rmsnorm(x, this.p(b + 'mlp_norm'), c.normEps), this.p(b + 'w_gate_up')); // (N, 2H)
      x = tape.add(x, tape.linear(tape.swiglu(m), this.p(b + 'w_down')), { inPlace: true });
    }
    const head = c.tiedEmbeddings ? this.p('wte') : this.p('lm_head');
    return tape.linear(tape.rmsnorm(x, this.p('norm_f'), c.normEps), head);  // (N, V)
  }

  /**
   * Training / evaluation: tokens [B*T] as B sequences of T, positions 0..T-1.
   * Returns logits [B*T, V] and, with targets, the mean cross-entropy over non-ignored targets.
   */
  forward(tape: Tape, tokens: Int32Array, B: number, T: number, targets?: Int32Array, ignoreIndex = -1): { logits: Tensor; loss?: Tensor } {
    const c = this.config;
    if (tokens.length !== B * T) throw new Error(`forward: ${tokens.length} tokens is not B*T = ${B}*${T}`);
    if (T > c.contextLength) throw new Error(`forward: sequence length ${T} exceeds the model's context length ${c.contextLength}`);
    const NH = c.nHead, HS = headSize(c);
    const { cos, sin } = this.rope;
    const attend: Attend = (tp, _l, q, k, v) => {
      // q and k are linear outputs read by nothing else: rotated in place.
      const qr = tp.rope(q.reshape([B, T, NH, HS]), cos, sin, 0, { inPlace: true });
      const kr = tp.rope(k.reshape([B, T, NH, HS]), cos, sin, 0, { inPlace: true });
      return tp.attention(qr, kr, v.reshape([B, T, NH, HS])).reshape([B * T, c.nEmbd]);
    };
    const logits = this.run(tape, tokens, attend);
    return { logits, loss: targets ? tape.crossEntropy(logits, targets, ignoreIndex) : undefined };
  }

  /** Weights as a name -> data map (for checkpoints and export). */
  weights(): Map<string, Float32Array> {
    return new Map([...this.params].map(([k, t]) => [k, t.data as Float32Array]));
  }
}
