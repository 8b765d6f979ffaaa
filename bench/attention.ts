// Fused (flash) causal attention against the same attention computed unfused, llm.c style:
// permute to [B, NH, T, HS], scores by batched gemm, causal softmax, P V by gemm, and the
// backward from gemms and softmaxBackward. Both directions, at 1 and 2 threads, for a short
// sequence with a larger batch and a long one at batch 1 (same B * T * NH * HS input size). The
// unfused result is checked against the fused one before it is timed (max abs difference printed).
//
// Run: npx tsx bench/attention.ts            (needs the native build: npm run build:native)
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Backend } from '../src/tensor/index.ts';
import { nativeBackend, nativeError } from '../src/tensor/index.ts';
import { oneLineFailures } from './prereqs.ts';

oneLineFailures('bench:kernels');

// ---------------------------------------------------------------------------- the unfused path

/** [B, T, NH, HS] -> [B, NH, T, HS]. */
function permute(out: Float32Array, x: Float32Array, B: number, T: number, NH: number, HS: number): void {
  for (let b = 0; b < B; b++)
    for (let t = 0; t < T; t++)
      for (let h = 0; h < NH; h++) {
        const src = ((b * T + t) * NH + h) * HS,
          dst = ((b * NH + h) * T + t) * HS;
        for (let d = 0; d < HS; d++) out[dst + d] = x[src + d];
      }
}

/** out[B, T, NH, HS] += x[B, NH, T, HS] (accumulates, as backward outputs do); or = when set. */
function unpermute(out: Float32Array, x: Float32Array, B: number, T: number, NH: number, HS: number, accumulate: boolean): void {
  for (let b = 0; b < B; b++)
    for (let h = 0; h < NH; h++)
      for (let t = 0; t < T; t++) {
        const src = ((b * NH + h) * T + t) * HS,
          dst = ((b * T + t) * NH + h) * HS;
        for (let d = 0; d < HS; d++) out[dst + d] = accumulate ? out[dst + d] + x[src + d] : x[src + d];
      }
}

/** Buffers of the unfused path; att and datt are the full [B, NH, T, T] score matrices. */
export interface Unfused {
  qp: Float32Array;
  kp: Float32Array;
  vp: Float32Array;
  yp: Float32Array;
  dyp: Float32Array;
  att: Float32Array;
  probs: Float32Array;
  dprobs: Float32Array;
  datt: Float32Array;
  dqp: Float32Array;
  dkp: Float32Array;
  dvp: Float32Array;
}

export function unfusedBuffers(B: number, T: number, NH: number, HS: number): Unfused {
  const n = B * T * NH * HS,
    nn = B * NH * T * T;
  const f = (k: number) => new Float32Array(k);
  return {
    qp: f(n),
    kp: f(n),
    vp: f(n),
    yp: f(n),
    dyp: f(n),
    att: f(nn),
    probs: f(nn),
    dprobs: f(nn),
    datt: f(nn),
    dqp: f(n),
    dkp: f(n),
    dvp: f(n),
  };
}

/** C[b] = op(A[b]) op(B[b]) for the B * NH (b, h) matrices. */
function bmm(
  be: Backend<Float32Array>,
  C: Float32Array,
  A: Float32Array,
  Bm: Float32Array,
  transA: boolean,
  transB: boolean,
  M: number,
  N: number,
  K: number,
  batch: number,
  alpha = 1,
): void {
  be.gemm({
    transA,
    transB,
    M,
    N,
    K,
    alpha,
    A,
    lda: transA ? M : K,
    strideA: M * K,
    B: Bm,
    ldb: transB ? K : N,
    strideB: K * N,
    beta: 0,
    C,
    ldc: N,
    strideC: M * N,
    batch,
  });
}

export function unfusedForward(
  be: Backend<Float32Array>,
  u: Unfused,
  out: Float32Array,
  q: Float32Array,
  k: Float32Array,
  v: Float32Array,
  B: number,
  T: number,
  NH: number,
  HS: number,
  scale: number,
): void {
  permute(u.qp, q, B, T, NH, HS); // (B, NH, T, HS)
  permute(u.kp, k, B, T, NH, HS);
  permute(u.vp, v, B, T, NH, HS);
  bmm(be, u.att, u.qp, u.kp, false, true, T, T, HS, B * NH); // att = q k^T      (B, NH, T, T)
  be.softmaxForward(u.probs, u.att, B * NH * T, T, scale, true); // probs = softmax(scale att), causal
  bmm(be, u.yp, u.probs, u.vp, false, false, T, HS, T, B * NH); // y = probs v     (B, NH, T, HS)
  unpermute(out, u.yp, B, T, NH, HS, false); // (B, T, NH, HS)
}

export function unfusedBackward(
  be: Backend<Float32Array>,
  u: Unfused,
  dq: Float32Array,
  dk: Float32Array,
  dv: Float32Array,
  dout: Float32Array,
  B: number,
  T: number,
  NH: number,
  HS: number,
  scale: number,
): void {
  permute(u.dyp, dout, B, T, NH, HS);
  // forward: y = probs v
  bmm(be, u.dprobs, u.dyp, u.vp, false, true, T, T, HS, B * NH); // dprobs = dy v^T
  bmm(be, u.dvp, u.probs, u.dyp, true, false, T, HS, T, B * NH); // dv = probs^T dy
  // forward: probs = softmax(scale att); softmaxBackward accumulates, so clear datt first
  u.datt.fill(0);
  be.softmaxBackward(u.datt, u.dprobs, u.probs, B * NH * T, T, scale);
  // forward: att = q k^T
  bmm(be, u.dqp, u.datt, u.kp, false, false, T, HS, T, B * NH); // dq = datt k
  bmm(be, u.dkp, u.datt, u.qp, true, false, T, HS, T, B * NH); // dk = datt^T q
  unpermute(dq, u.dqp, B, T, NH, HS, true);
  unpermute(dk, u.dkp, B, T, NH, HS, true);
  unpermute(dv, u.dvp, B, T, NH, HS, true);
}

// ---------------------------------------------------------------------------- timing

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    if (!(d <= m)) m = d; // NaN wins
  }
  return m;
}

/** Median milliseconds per call of fn, over enough calls to fill about `budgetMs`. */
function timeMs(fn: () => void, budgetMs = 400): number {
  fn(); // warm up: page in buffers, start the OpenMP team
  const t0 = performance.now();
  fn();
  const once = Math.max(performance.now() - t0, 1e-3);
  const reps = Math.max(5, Math.min(200, Math.round(budgetMs / once)));
  const times: number[] = [];
  for (let r = 0; r < reps; r++) {
    const s = performance.now();
    fn();
    times.push(performance.now() - s);
  }
  times.sort((x, y) => x - y);
  return times[times.length >> 1];
}

function seeded(n: number, seed: number): Float32Array {
  const a = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    a[i] = s / 2147483648 - 1;
  }
  return a;
}

function main(): void {
  const be = nativeBackend();
  if (!be) {
    console.error(`bench/attention: native kernels unavailable (${nativeError()}). Run \`npm run build:native\` first.`);
    process.exit(1);
  }
  const NH = 4,
    HS = 32,
    scale = 1 / Math.sqrt(HS);
  const configs = [
    { B: 8, T: 64 },
    { B: 1, T: 512 },
  ];
  const threadCounts = [1, 2];
  const before = be.threads();
  console.log(`attention fwd+bwd, NH=${NH} HS=${HS}, native ${be.isa()}; ms per forward+backward (median)`);
  const rows: string[][] = [['B', 'T', 'threads', 'fused ms', 'unfused ms', 'speedup', 'max|out diff|', 'max|grad diff|']];
  for (const { B, T } of configs) {
    const n = B * T * NH * HS;
    const q = seeded(n, 1),
      k = seeded(n, 2),
      v = seeded(n, 3),
      dout = seeded(n, 4);
    const out = new Float32Array(n),
      lse = new Float32Array(B * NH * T);
    const dq = new Float32Array(n),
      dk = new Float32Array(n),
      dv = new Float32Array(n);
    const uout = new Float32Array(n),
      udq = new Float32Array(n),
      udk = new Float32Array(n),
      udv = new Float32Array(n);
    const u = unfusedBuffers(B, T, NH, HS);
    const fused = () => {
      be.attentionForward(out, lse, q, k, v, B, T, T, NH, HS, scale);
      be.attentionBackward(dq, dk, dv, dout, q, k, v, out, lse, B, T, T, NH, HS, scale);
    };
    const unfused = () => {
      unfusedForward(be, u, uout, q, k, v, B, T, NH, HS, scale);
      unfusedBackward(be, u, udq, udk, udv, dout, B, T, NH, HS, scale);
    };
    for (const threads of threadCounts) {
      be.setThreads(threads);
      // Check the two agree (gradients from zero) before timing them.
      for (const g of [dq, dk, dv, udq, udk, udv]) g.fill(0);
      fused();
      unfused();
      const outDiff = maxAbsDiff(uout, out);
      const gradDiff = Math.max(maxAbsDiff(udq, dq), maxAbsDiff(udk, dk), maxAbsDiff(udv, dv));
      const tf = timeMs(fused),
        tu = timeMs(unfused);
      rows.push([
        String(B),
        String(T),
        String(threads),
        tf.toFixed(3),
        tu.toFixed(3),
        `${(tu / tf).toFixed(2)}x`,
        outDiff.toExponential(1),
        gradDiff.toExponential(1),
      ]);
    }
  }
  be.setThreads(before);
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  for (const r of rows) console.log(r.map((x, c) => x.padStart(widths[c])).join('  '));
  const worst = Math.max(...rows.slice(1).map((r) => Math.max(Number(r[6]), Number(r[7]))));
  if (!(worst < 1e-3)) {
    console.log(
      `WARNING: fused and unfused differ by up to ${worst}; the unfused path's kernels (gemm, softmax) ` +
        'or the fused kernel are wrong, so the timings above compare different computations.',
    );
  }
}

// Runs when executed, not when imported (the unfused path is exported for checking it).
if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) main();
