// Test fixtures for GGUF export: a tiny byte-level BPE vocabulary spelled the gpt2 way, a seeded
// random model, and a plain float64 forward pass of the tetra GPT to compare llama.cpp against.
import { paramShapes, type GPTConfig } from '../../../src/model/config.ts';
import type { GGUFTokenizer } from '../../../src/model/io/gguf.ts';
import { GPT4_PRETOKENIZER } from '../../../src/model/io/gguf.ts';
import { rng } from '../../helpers.ts';

/**
 * gpt2's byte -> printable character map: bytes that are printable Latin-1 ('!'..'~', '¡'..'¬',
 * '®'..'ÿ') stand for themselves, the other 68 take code points 256, 257, ... in byte order.
 */
export function byteToUnicode(): string[] {
  const out: string[] = new Array(256);
  let next = 256;
  for (let b = 0; b < 256; b++) {
    const printable = (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
    out[b] = String.fromCodePoint(printable ? b : next++);
  }
  return out;
}

/** 256 byte tokens, merges of common pairs, then special tokens, to exactly V tokens. */
export function tinyVocab(V: number): GGUFTokenizer {
  const bytes = byteToUnicode();
  const tokens = [...bytes];
  const merges: string[] = [];
  const specials = ['<|endoftext|>', '<|im_start|>', '<|im_end|>'];
  const sp = bytes[0x20]; // 'Ġ'
  const letters = 'etaoinshrdlucmfwypvbgkjqxz';
  const have = new Set(tokens);
  for (let i = 0; tokens.length < V - specials.length; i++) {
    const a = i < 26 ? sp : letters[i % 26],
      b = letters[(i * 7 + 3) % 26];
    if (have.has(a + b)) continue;
    merges.push(`${a} ${b}`);
    tokens.push(a + b);
    have.add(a + b);
  }
  tokens.push(...specials);
  const tokenTypes = tokens.map((t) => (specials.includes(t) ? 3 : 1));
  return { tokens, merges, tokenTypes, bosId: V - 3, eosId: V - 3, pre: GPT4_PRETOKENIZER };
}

/** Uniform random weights, scaled so attention is far from uniform and logits spread by a few units. */
export function randomParams(c: GPTConfig, seed: number): Map<string, Float32Array> {
  const r = rng(seed);
  const out = new Map<string, Float32Array>();
  for (const [name, shape] of paramShapes(c)) {
    const n = shape.reduce((a, b) => a * b, 1);
    const a = new Float32Array(n);
    const isNorm = shape.length === 1;
    for (let i = 0; i < n; i++) a[i] = isNorm ? 1 + 0.4 * (r() - 0.5) : 0.6 * (r() - 0.5);
    out.set(name, a);
  }
  return out;
}

export interface ForwardVariant {
  /** Use up as the gate and gate as up (what a wrong split of w_gate_up would do). */
  swapGateUp?: boolean;
  /** Rotate (x[i], x[i + HS/2]) instead of (x[2i], x[2i+1]): the NeoX convention. */
  halfRope?: boolean;
}

/**
 * Logits [T, V] for tokens at positions 0..T-1, in float64:
 * x = wte[tok]; per layer x += wo(attn(rope(q), rope(k), v)) over rmsnorm(x); x += down(silu(gate) * up)
 * over rmsnorm(x); logits = head(rmsnorm(x)).
 */
export function referenceLogits(
  c: GPTConfig,
  params: Map<string, Float32Array>,
  tokens: number[],
  variant: ForwardVariant = {},
): Float64Array[] {
  const C = c.nEmbd,
    H = c.mlpHidden,
    V = c.vocabSize,
    NH = c.nHead,
    HS = C / NH,
    T = tokens.length;
  const P = (n: string) => params.get(n)!;
  // y[out] = sum_in W[out, in] x[in], W row-major [out, in]
  const matvec = (W: Float32Array, x: Float64Array, out: number, inp: number, rowOffset = 0) => {
    const y = new Float64Array(out);
    for (let o = 0; o < out; o++) {
      let s = 0;
      const row = (rowOffset + o) * inp;
      for (let i = 0; i < inp; i++) s += W[row + i] * x[i];
      y[o] = s;
    }
    return y;
  };
  const rmsnorm = (x: Float64Array, w: Float32Array) => {
    let ss = 0;
    for (const v of x) ss += v * v;
    const r = 1 / Math.sqrt(ss / x.length + c.normEps);
    return x.map((v, i) => v * r * w[i]);
  };
  const rope = (x: Float64Array, pos: number) => {
    for (let h = 0; h < NH; h++) {
      for (let i = 0; i < HS / 2; i++) {
        const theta = pos * c.ropeBase ** ((-2 * i) / HS);
        const cs = Math.cos(theta),
          sn = Math.sin(theta);
        const a = h * HS + (variant.halfRope ? i : 2 * i),
          b = h * HS + (variant.halfRope ? i + HS / 2 : 2 * i + 1);
        const x0 = x[a],
          x1 = x[b];
        x[a] = x0 * cs - x1 * sn;
        x[b] = x0 * sn + x1 * cs;
      }
    }
  };
  const wte = P('wte');
  let xs = tokens.map((t) => Float64Array.from(wte.subarray(t * C, (t + 1) * C)));
  for (let l = 0; l < c.nLayer; l++) {
    const p = (k: string) => P(`blocks.${l}.${k}`);
    const qs: Float64Array[] = [],
      ks: Float64Array[] = [],
      vs: Float64Array[] = [];
    for (let t = 0; t < T; t++) {
      const h = rmsnorm(xs[t], p('attn_norm'));
      const q = matvec(p('wq'), h, C, C),
        k = matvec(p('wk'), h, C, C);
      rope(q, t);
      rope(k, t);
      qs.push(q);
      ks.push(k);
      vs.push(matvec(p('wv'), h, C, C));
    }
    xs = xs.map((x, t) => {
      const att = new Float64Array(C);
      for (let hd = 0; hd < NH; hd++) {
        const o = hd * HS;
        const scores: number[] = [];
        for (let s = 0; s <= t; s++) {
          let d = 0;
          for (let i = 0; i < HS; i++) d += qs[t][o + i] * ks[s][o + i];
          scores.push(d / Math.sqrt(HS));
        }
        const m = Math.max(...scores);
        const e = scores.map((v) => Math.exp(v - m));
        const z = e.reduce((a, b) => a + b, 0);
        for (let s = 0; s <= t; s++) for (let i = 0; i < HS; i++) att[o + i] += (e[s] / z) * vs[s][o + i];
      }
      const y = matvec(p('wo'), att, C, C);
      const x1 = x.map((v, i) => v + y[i]);
      const h = rmsnorm(x1, p('mlp_norm'));
      let gate = matvec(p('w_gate_up'), h, H, C, 0),
        up = matvec(p('w_gate_up'), h, H, C, H);
      if (variant.swapGateUp) [gate, up] = [up, gate];
      const a = gate.map((g, i) => (g / (1 + Math.exp(-g))) * up[i]);
      const d = matvec(p('w_down'), a, C, H);
      return x1.map((v, i) => v + d[i]);
    });
  }
  const head = c.tiedEmbeddings ? wte : P('lm_head');
  return xs.map((x) => matvec(head, rmsnorm(x, P('norm_f')), V, C));
}

export function logSoftmax(logits: Float64Array): Float64Array {
  const m = Math.max(...logits);
  const lse = m + Math.log(logits.reduce((s, v) => s + Math.exp(v - m), 0));
  return logits.map((v) => v - lse);
}

export function argmax(a: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < a.length; i++) if (a[i] > a[best]) best = i;
  return best;
}
