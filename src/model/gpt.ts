// The GPT: token embedding, nLayer blocks of (RMSNorm -> causal self-attention with RoPE ->
// residual, RMSNorm -> SwiGLU MLP -> residual), final RMSNorm, LM head (tied or not). No biases.
//
// Two forward passes, on purpose (as nanochat keeps its training and KV-cache attention paths
// apart): run() here is the TRAINING pass, every op recorded on the autograd tape so backward can
// run; step() in kvcache.ts is the INFERENCE pass, the same kernels in the same order called
// directly on a reused workspace, with no tape, no Tensors and a fused q/k/v projection. Each is
// shaped for its own hot path, and the tests hold the two to the same logits.
import { Rng, ropeTables, type Tape, Tensor, type FloatArray } from '../tensor/index.ts';
import { headSize, paramCount, paramShapes, validateConfig, type GPTConfig } from './config.ts';
import { embedImages, imageLimits, slotIndices, visionInitStd, type ImageInput, type VisionWeights } from './vision.ts';

/** One block's weights, by role (views of GPT.storage). */
export interface LayerWeights {
  attnNorm: Tensor;
  wq: Tensor;
  wk: Tensor;
  wv: Tensor;
  wo: Tensor;
  mlpNorm: Tensor;
  wGateUp: Tensor;
  wDown: Tensor;
  /** wq, wk, wv as one [3C, C] matrix: the same memory, adjacent in the parameter layout. */
  qkv: FloatArray;
}

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
  readonly wte: Tensor;
  readonly normF: Tensor;
  /** The LM head: wte when the embeddings are tied. */
  readonly lmHead: Tensor;
  readonly layers: LayerWeights[];
  /** The patch projection and 2D position embeddings, for a model with image input (vision.ts). */
  readonly vision: VisionWeights | null;

  /**
   * params: each parameter's values, copied into storage; null when opts.storage already holds
   * them (a replica over shared weights). opts.storage: where the weights live (length
   * paramCount); opts.gradStorage: gradients laid out the same way, used as the parameters'
   * gradient buffers instead of ones allocated on first use.
   */
  constructor(
    config: GPTConfig,
    params: Map<string, FloatArray> | null,
    opts: { requiresGrad?: boolean; storage?: FloatArray; gradStorage?: FloatArray } = {},
  ) {
    validateConfig(config);
    this.config = config;
    this.params = new Map();
    const C = config.nEmbd;
    if (!params && !opts.storage) throw new Error('GPT: give the parameters or the storage that holds them');
    const total = paramCount(config);
    const f64 = params ? [...params.values()].some((d) => d instanceof Float64Array) : opts.storage instanceof Float64Array;
    this.storage = opts.storage ?? (f64 ? new Float64Array(total) : new Float32Array(total));
    this.gradStorage = opts.gradStorage ?? null;
    for (const [what, buf] of [
      ['storage', this.storage],
      ['gradStorage', this.gradStorage],
    ] as const) {
      if (buf && buf.length !== total) throw new Error(`GPT: ${what} has ${buf.length} values, the config's parameters need ${total}`);
    }
    let off = 0;
    const offsets = new Map<string, number>();
    for (const [name, shape] of paramShapes(config)) {
      offsets.set(name, off);
      const n = shape.reduce((a, b) => a * b, 1);
      const data = this.storage.subarray(off, off + n);
      if (params) {
        const given = params.get(name);
        if (!given) throw new Error(`GPT: parameter '${name}' is missing`);
        if (given.length !== n) throw new Error(`GPT: parameter '${name}' has ${given.length} values, shape [${shape}] needs ${n}`);
        data.set(given);
      }
      const grad = this.gradStorage?.subarray(off, off + n);
      this.params.set(name, new Tensor(data, shape, { requiresGrad: opts.requiresGrad ?? true, name, grad }));
      off += n;
    }
    this.rope = ropeTables(config.contextLength, headSize(config), config.ropeBase);
    this.wte = this.p('wte');
    this.normF = this.p('norm_f');
    this.lmHead = config.tiedEmbeddings ? this.wte : this.p('lm_head');
    this.layers = Array.from({ length: config.nLayer }, (_, l) => {
      const b = `blocks.${l}.`;
      const at = offsets.get(b + 'wq')!;
      // The fused view relies on the layout keeping wq, wk, wv back to back (config.ts paramShapes).
      if (offsets.get(b + 'wk') !== at + C * C || offsets.get(b + 'wv') !== at + 2 * C * C)
        throw new Error(`GPT: ${b}wq, wk, wv are not adjacent`);
      return {
        attnNorm: this.p(b + 'attn_norm'),
        wq: this.p(b + 'wq'),
        wk: this.p(b + 'wk'),
        wv: this.p(b + 'wv'),
        wo: this.p(b + 'wo'),
        mlpNorm: this.p(b + 'mlp_norm'),
        wGateUp: this.p(b + 'w_gate_up'),
        wDown: this.p(b + 'w_down'),
        qkv: this.storage.subarray(at, at + 3 * C * C),
      };
    });
    this.vision = config.vision
      ? {
          patchUp: config.vision.stem ? this.p('vision.patch_up') : undefined,
          patchIn: this.p('vision.patch_in'),
          colourIn: config.vision.colour ? this.p('vision.colour_in') : undefined,
          row: this.p('vision.row'),
          col: this.p('vision.col'),
        }
      : null;
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
        const std = name.startsWith('vision.')
          ? visionInitStd(name, config.vision!)
          : /\.(wo|w_down)$/.test(name)
            ? 0.02 * residualScale
            : 0.02;
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

  /**
   * The training forward pass (on the tape): tokens [B*T] as B sequences of T, positions 0..T-1.
   * Returns logits [B*T, V] and, with targets, the mean cross-entropy over non-ignored targets
   * (weighted by weights, one per position, when given: Tape.crossEntropy).
   */
  forward(
    tape: Tape,
    tokens: Int32Array,
    B: number,
    T: number,
    targets?: Int32Array,
    ignoreIndex = -1,
    images?: ImageInput,
    weights?: ArrayLike<number>,
  ): { logits: Tensor; loss?: Tensor } {
    const logits = this.run(tape, tokens, B, T, images);
    return { logits, loss: targets ? tape.crossEntropy(logits, targets, ignoreIndex, weights) : undefined };
  }

  /**
   * Training: the residual stream through every block, then the final norm and LM head: logits
   * [B*T, V], every op on the tape. Inference does not come through here: step() in kvcache.ts is
   * the same stack without the tape (kept apart so neither pays for the other's bookkeeping).
   * images: pixels whose patches replace the embeddings of their slot tokens (vision.ts).
   */
  run(tape: Tape, tokens: Int32Array, B: number, T: number, images?: ImageInput): Tensor {
    const c = this.config;
    if (tokens.length !== B * T) throw new Error(`forward: ${tokens.length} tokens is not B*T = ${B}*${T}`);
    if (T > c.contextLength) throw new Error(`forward: sequence length ${T} exceeds the model's context length ${c.contextLength}`);
    const NH = c.nHead,
      HS = headSize(c);
    const { cos, sin } = this.rope;
    let x = tape.embedding(tokens, [tokens.length], this.wte); // (N, C)
    let limits: Int32Array | undefined; // prefix attention's key limits, [B, T]
    if (images?.at.length) {
      if (!c.vision || !this.vision) throw new Error('forward: images given to a model without image input');
      x = tape.overwriteRows(x, slotIndices(c.vision, images), embedImages(tape, c.vision, this.vision, images));
      if (c.vision.prefix) limits = imageLimits(c.vision, images.at, B, T);
    }
    for (const w of this.layers) {
      const h = tape.rmsnorm(x, w.attnNorm, c.normEps);
      // q and k are linear outputs read by nothing else: rotated in place.
      const q = tape.rope(tape.linear(h, w.wq).reshape([B, T, NH, HS]), cos, sin, 0, { inPlace: true });
      const k = tape.rope(tape.linear(h, w.wk).reshape([B, T, NH, HS]), cos, sin, 0, { inPlace: true });
      const att = tape.attention(q, k, tape.linear(h, w.wv).reshape([B, T, NH, HS]), undefined, limits).reshape([B * T, c.nEmbd]);
      // Each branch's projection is read by nothing but its residual add: the sum goes over it.
      x = tape.add(x, tape.linear(att, w.wo), { inPlace: true });
      const m = tape.linear(tape.rmsnorm(x, w.mlpNorm, c.normEps), w.wGateUp); // (N, 2H)
      x = tape.add(x, tape.linear(tape.swiglu(m), w.wDown), { inPlace: true });
    }
    return tape.linear(tape.rmsnorm(x, this.normF, c.normEps), this.lmHead); // (N, V)
  }

  /** Weights as a name -> data map (for checkpoints and export). */
  weights(): Map<string, Float32Array> {
    return new Map([...this.params].map(([k, t]) => [k, t.data as Float32Array]));
  }
}
