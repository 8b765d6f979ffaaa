// GPT configuration: one dial (depth) sets the size, every field can be overridden.
//
// The rule (nanochat's idea, scaled to CPUs): width C = 64 * depth, head size 64 (so heads =
// depth), SwiGLU hidden H = 8/3 * C rounded up to a multiple of 32 (llama's choice: the three
// SwiGLU matrices then hold about as many weights as a 4x GELU MLP's two). depth 4 gives C 256,
// 4 heads, H 704.
import { validateVision, visionParamShapes, type VisionConfig } from './vision.ts';

export interface GPTConfig {
  vocabSize: number;
  /** Longest sequence (positions) the model is trained and served at. */
  contextLength: number;
  nLayer: number;
  /** Width C. */
  nEmbd: number;
  nHead: number;
  /** SwiGLU hidden size H. */
  mlpHidden: number;
  /** LM head shares the token embedding matrix. */
  tiedEmbeddings: boolean;
  ropeBase: number;
  normEps: number;
  /** Image input (vision.ts): absent for a text-only model. */
  vision?: VisionConfig;
}

export function configFromDepth(depth: number, overrides: Partial<GPTConfig> & { vocabSize: number }): GPTConfig {
  if (!Number.isInteger(depth) || depth < 1 || depth > 64) throw new Error(`depth must be an integer in [1, 64], got ${depth}`);
  const nEmbd = overrides.nEmbd ?? 64 * depth;
  const nHead = overrides.nHead ?? Math.max(1, Math.round(nEmbd / 64));
  const cfg: GPTConfig = {
    contextLength: 256,
    nLayer: depth,
    nEmbd,
    nHead,
    mlpHidden: Math.ceil(((8 / 3) * nEmbd) / 32) * 32,
    tiedEmbeddings: true,
    ropeBase: 10000,
    normEps: 1e-5,
    ...overrides,
  };
  validateConfig(cfg);
  return cfg;
}

/** Throws a clear error for a configuration that cannot be built. */
export function validateConfig(c: GPTConfig): void {
  const int = (k: keyof GPTConfig, lo: number, hi: number) => {
    const v = c[k] as number;
    if (!Number.isInteger(v) || v < lo || v > hi) throw new Error(`config.${k} must be an integer in [${lo}, ${hi}], got ${v}`);
  };
  int('vocabSize', 2, 1 << 20);
  int('contextLength', 1, 1 << 20);
  int('nLayer', 1, 256);
  int('nEmbd', 2, 1 << 16);
  int('nHead', 1, 1024);
  int('mlpHidden', 1, 1 << 18);
  if (c.nEmbd % c.nHead) throw new Error(`config.nHead (${c.nHead}) must divide config.nEmbd (${c.nEmbd})`);
  if ((c.nEmbd / c.nHead) % 2) throw new Error(`head size nEmbd/nHead = ${c.nEmbd / c.nHead} must be even for RoPE`);
  if (!(c.ropeBase > 1)) throw new Error(`config.ropeBase must be > 1, got ${c.ropeBase}`);
  if (!(c.normEps > 0 && c.normEps < 1)) throw new Error(`config.normEps must be in (0, 1), got ${c.normEps}`);
  if (c.vision) validateVision(c.vision);
}

export function headSize(c: GPTConfig): number {
  return c.nEmbd / c.nHead;
}

/**
 * Parameter names and shapes, in checkpoint order. These names are the safetensors keys; GGUF
 * export maps them to llama.cpp's (token_embd, blk.N.attn_q, ...). Linear weights are [out, in].
 *   wte                      [V, C]   token embedding (and LM head when tied)
 *   blocks.N.attn_norm       [C]
 *   blocks.N.wq|wk|wv|wo     [C, C]
 *   blocks.N.mlp_norm        [C]
 *   blocks.N.w_gate_up       [2H, C]  rows 0..H-1 gate, H..2H-1 up
 *   blocks.N.w_down          [C, H]
 *   norm_f                   [C]
 *   lm_head                  [V, C]   only when untied
 *   vision.*                          only with image input (vision.ts), last, so a text layout is unchanged
 */
export function paramShapes(c: GPTConfig): [string, number[]][] {
  const C = c.nEmbd,
    H = c.mlpHidden,
    V = c.vocabSize;
  const out: [string, number[]][] = [['wte', [V, C]]];
  for (let l = 0; l < c.nLayer; l++) {
    out.push([`blocks.${l}.attn_norm`, [C]]);
    for (const w of ['wq', 'wk', 'wv', 'wo']) out.push([`blocks.${l}.${w}`, [C, C]]);
    out.push([`blocks.${l}.mlp_norm`, [C]], [`blocks.${l}.w_gate_up`, [2 * H, C]], [`blocks.${l}.w_down`, [C, H]]);
  }
  out.push(['norm_f', [C]]);
  if (!c.tiedEmbeddings) out.push(['lm_head', [V, C]]);
  if (c.vision) out.push(...visionParamShapes(c.vision, C));
  return out;
}

/** Throws, naming `who`, unless params holds every tensor the config defines at its size (exporters check before writing). */
export function requireParams(config: GPTConfig, params: Map<string, Float32Array>, who: string): void {
  for (const [name, shape] of paramShapes(config)) {
    const p = params.get(name);
    const n = shape.reduce((a, b) => a * b, 1);
    if (!p) throw new Error(`${who}: parameter ${name} [${shape}] is missing`);
    if (p.length !== n) throw new Error(`${who}: parameter ${name} has ${p.length} values, config expects [${shape}] = ${n}`);
  }
}

/** Parameters, counting the tied embedding once. */
export function paramCount(c: GPTConfig): number {
  return paramShapes(c).reduce((s, [, sh]) => s + sh.reduce((a, b) => a * b, 1), 0);
}

/**
 * Training FLOPs per token: 6 per matrix weight used (forward 2, backward 4), counting the LM
 * head (tied or not) but not the embedding lookup or norms, plus attention: QK^T and PV are
 * 2 * 2 * T * C per layer forward at full context, halved for causality, times 3 with backward:
 * 6 * nLayer * T * C. (nanoGPT's estimate uses 12 * L * T * C without the causal half.)
 */
export function flopsPerToken(c: GPTConfig, T = c.contextLength): number {
  const C = c.nEmbd,
    H = c.mlpHidden,
    V = c.vocabSize;
  const perLayer = 4 * C * C + 2 * H * C + C * H;
  const matmulWeights = c.nLayer * perLayer + V * C;
  return 6 * matmulWeights + 6 * c.nLayer * T * C;
}
