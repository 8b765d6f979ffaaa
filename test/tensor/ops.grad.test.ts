// Finite-difference checks, in float64 on the reference backend, of every backward op in
// src/tensor/ref/: each scalar loss is dot(forward output, w) for a random w, so its gradient
// with respect to the output is exactly w, which is what the backward op is fed. Each backward
// op starts from random non-zero gradients, and the check subtracts them afterwards: that the op
// adds (+=) rather than overwrites is part of what is checked.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Backend } from '../../src/tensor/backend.ts';
import { refBackend } from '../../src/tensor/ref/index.ts';
import { assertGradClose, dot, numericGrad } from '../gradcheck.ts';
import { randn64, rng } from '../helpers.ts';

const ref = refBackend as Backend<Float64Array>;

/** Runs a backward op into gradients that start at random values; returns what it added. */
function added(n: number, r: () => number, backward: (g: Float64Array) => void): Float64Array {
  const start = randn64(n, r);
  const g = new Float64Array(start);
  backward(g);
  for (let i = 0; i < n; i++) g[i] -= start[i];
  return g;
}

describe('reference backward ops match finite differences (float64)', () => {
  it('embedding: dwte collects the gradient of every row that used a token', () => {
    const r = rng(1),
      N = 6,
      C = 3,
      V = 4;
    const wte = randn64(V * C, r),
      w = randn64(N * C, r);
    const tokens = new Int32Array([2, 0, 2, 3, 2, 0]); // token 1 unused: its gradient is 0
    const out = new Float64Array(N * C);
    const f = () => {
      ref.embeddingForward(out, wte, tokens, N, C, V);
      return dot(out, w);
    };
    const dwte = added(V * C, r, (g) => ref.embeddingBackward(g, w, tokens, N, C, V));
    assertGradClose(dwte, numericGrad(f, wte), 'dwte');
    for (let c = 0; c < C; c++) assert.equal(dwte[1 * C + c], 0);
  });

  it('rmsnorm: dinp and dweight', () => {
    const r = rng(2),
      N = 3,
      C = 5,
      eps = 1e-5;
    const inp = randn64(N * C, r, 2),
      weight = randn64(C, r),
      w = randn64(N * C, r);
    const out = new Float64Array(N * C),
      rstd = new Float64Array(N);
    const f = () => {
      ref.rmsnormForward(out, rstd, inp, weight, N, C, eps);
      return dot(out, w);
    };
    f();
    const savedRstd = new Float64Array(rstd);
    const dinp = added(N * C, r, (g) => ref.rmsnormBackward(g, new Float64Array(C), w, inp, weight, savedRstd, N, C));
    const dweight = added(C, r, (g) => ref.rmsnormBackward(new Float64Array(N * C), g, w, inp, weight, savedRstd, N, C));
    assertGradClose(dinp, numericGrad(f, inp), 'dinp');
    assertGradClose(dweight, numericGrad(f, weight), 'dweight');
  });

  it('rope: dinp with pos0 > 0', () => {
    const r = rng(3),
      B = 2,
      T = 3,
      NH = 2,
      HS = 6,
      pos0 = 4,
      half = HS / 2;
    const cos = new Float64Array((pos0 + T) * half),
      sin = new Float64Array((pos0 + T) * half);
    for (let i = 0; i < cos.length; i++) {
      const th = r() * 6.28;
      cos[i] = Math.cos(th);
      sin[i] = Math.sin(th);
    }
    const n = B * T * NH * HS,
      inp = randn64(n, r),
      w = randn64(n, r),
      out = new Float64Array(n);
    const f = () => {
      ref.ropeForward(out, inp, cos, sin, B, T, NH, HS, pos0);
      return dot(out, w);
    };
    const dinp = added(n, r, (g) => ref.ropeBackward(g, w, cos, sin, B, T, NH, HS, pos0));
    assertGradClose(dinp, numericGrad(f, inp), 'dinp');
  });

  it('swiglu: dgate and dup', () => {
    const r = rng(4),
      N = 3,
      H = 4;
    const inp = randn64(N * 2 * H, r, 4),
      w = randn64(N * H, r),
      out = new Float64Array(N * H);
    const f = () => {
      ref.swigluForward(out, inp, N, H);
      return dot(out, w);
    };
    const dinp = added(N * 2 * H, r, (g) => ref.swigluBackward(g, w, inp, N, H));
    assertGradClose(dinp, numericGrad(f, inp), 'dinp');
  });

  it('cross-entropy: dlogits, with an ignored row getting no gradient', () => {
    const r = rng(5),
      N = 4,
      V = 5,
      ignore = -1;
    const logits = randn64(N * V, r, 3),
      w = randn64(N, r);
    const targets = new Int32Array([3, ignore, 0, 4]);
    const losses = new Float64Array(N),
      lse = new Float64Array(N);
    const f = () => {
      ref.crossEntropyForward(losses, lse, logits, targets, N, V, ignore);
      return dot(losses, w);
    };
    f();
    const savedLse = new Float64Array(lse);
    const dlogits = added(N * V, r, (g) => ref.crossEntropyBackward(g, w, logits, savedLse, targets, N, V, ignore));
    assertGradClose(dlogits, numericGrad(f, logits), 'dlogits');
    for (let v = 0; v < V; v++) assert.equal(dlogits[1 * V + v], 0, 'ignored row');
    // and the loss itself is the negative log-probability of the target
    f();
    const row = Array.from(logits.subarray(0, V));
    const want = Math.log(row.reduce((s, x) => s + Math.exp(x), 0)) - row[3];
    assert.ok(Math.abs(losses[0] - want) < 1e-12, `loss ${losses[0]} vs ${want}`);
  });

  for (const causal of [false, true]) {
    it(`softmax${causal ? ' (causal)' : ''}: dinp with scale`, () => {
      const r = rng(causal ? 7 : 6),
        N = 8,
        V = 4,
        scale = 0.7; // causal: two 4 x 4 blocks
      const inp = randn64(N * V, r, 2),
        w = randn64(N * V, r),
        out = new Float64Array(N * V);
      const f = () => {
        ref.softmaxForward(out, inp, N, V, scale, causal);
        return dot(out, w);
      };
      f();
      const saved = new Float64Array(out);
      if (causal) for (let n = 0; n < N; n++) for (let v = (n % V) + 1; v < V; v++) assert.equal(saved[n * V + v], 0, 'masked');
      const dinp = added(N * V, r, (g) => ref.softmaxBackward(g, w, saved, N, V, scale));
      assertGradClose(dinp, numericGrad(f, inp), 'dinp');
    });
  }
});

// The relErr floor in assertGradClose is 1e-3 of the largest gradient; make sure a wrong backward
// is far outside the tolerance, so these checks can fail.
describe('the gradient check catches a wrong backward', () => {
  it('a swiglu backward that forgets the sigmoid derivative term fails', () => {
    const r = rng(8),
      N = 2,
      H = 3;
    const inp = randn64(N * 2 * H, r, 4),
      w = randn64(N * H, r),
      out = new Float64Array(N * H);
    const f = () => {
      refBackend.swigluForward(out, inp, N, H);
      return dot(out, w);
    };
    const wrong = new Float64Array(N * 2 * H);
    for (let n = 0; n < N; n++)
      for (let j = 0; j < H; j++) {
        const g = inp[n * 2 * H + j],
          u = inp[n * 2 * H + H + j],
          sig = 1 / (1 + Math.exp(-g));
        wrong[n * 2 * H + j] = w[n * H + j] * u * sig; // missing (1 + g*(1 - sig))
        wrong[n * 2 * H + H + j] = w[n * H + j] * g * sig;
      }
    assert.throws(() => assertGradClose(wrong, numericGrad(f, inp), 'dinp'), /relative error/);
  });
});
