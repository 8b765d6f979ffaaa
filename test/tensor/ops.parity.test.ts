// Every native op against the TypeScript reference (float32), for every ISA at 1 and 2 threads.
// Shapes are seeded-random and include 1-element and ragged sizes that are not multiples of any
// SIMD width (1, 7, 17, 33), plus shapes large enough to cross kParallelMinWork so the threaded
// paths run. Backward ops start from non-zero gradients, so an op that overwrote instead of
// accumulating would fail. Bounds are relative (test/helpers.ts relErr: |a-b| / (|b| + max|b|*1e-3)).
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import type { Backend, NativeBackend } from '../../src/tensor/backend.ts';
import { refBackend } from '../../src/tensor/ref/index.ts';
import { ALL_ISAS, assertClose, isaSkip, randInts, randn32, relErr, requireNative, rng, withIsa } from '../helpers.ts';

const { native, skip } = requireNative();
const ref = refBackend as Backend<Float32Array>;

// ---- error bounds, one per op, with the reason for each
const BOUND = {
  // The kernels take alpha as float32 (the tests pass Math.fround(alpha) so both sides use the
  // same alpha). Without FMA (generic build) alpha*x is rounded before the add: ~6e-8 absolute on
  // values ~1, which is up to 3e-5 of relErr's 1e-3 floor where y + alpha*x cancels.
  elementwise: 5e-5,
  // both sides sum squares of floats exactly in double; only the summation order differs
  sumSquares: 1e-12,
  // copies, and the same float adds in the same order as the reference
  embedding: 0,
  // float row sums over C <= 512 terms vs the reference's double sums
  rmsnorm: 1e-5,
  // dinp subtracts two terms of similar size (the projection out of the normalised direction)
  rmsnormBackward: 1e-4,
  // two products and a sum per element; the same cancellation argument as axpy
  rope: 5e-5,
  // exp_approx (<= 1.0e-7 relative, native/src/ops_math.h) inside sigmoid, then a division
  swiglu: 1e-5,
  // dgate has g * (1 - sig): where sig ~ 1 the subtraction turns sig's 1e-7 rounding into a
  // relative error of 1 in (1 - sig), times |g| up to 6 here (measured 9e-6)
  swigluBackward: 1e-4,
  // lse: float sum of V = 4096 exps; the loss lse - logit can be small next to lse
  crossEntropy: 1e-5,
  softmax: 1e-5,
  // the parameter moves by ~lr per step, so float rounding of the update barely shows in it
  adamwParam: 1e-6,
  // m = b1*m + (1-b1)*g cancels when g changes sign between steps (one float ulp of the terms is
  // ~3e-5 of relErr's floor), and with n = 1 the floor is the element itself. The kernel takes the
  // hyperparameters as float32, so the test passes float32 values (else 1 - 0.9 alone differs by 2e-7).
  adamwState: 1e-4,
};

function copy(a: Float32Array): Float32Array {
  return new Float32Array(a);
}

/** Runs op on the reference and on native with identical copies of the outputs, then compares. */
function parity(
  nat: Backend<Float32Array>,
  outs: Record<string, Float32Array>,
  op: (be: Backend<Float32Array>, o: Record<string, Float32Array>) => void,
  bound: number | Record<string, number>,
  what: string,
): void {
  const want: Record<string, Float32Array> = {},
    got: Record<string, Float32Array> = {};
  for (const [k, v] of Object.entries(outs)) {
    want[k] = copy(v);
    got[k] = copy(v);
  }
  op(ref, want);
  op(nat, got);
  // TETRA_SHOW_ERR=1 prints every measured error, to see how much room each bound leaves.
  if (process.env.TETRA_SHOW_ERR)
    for (const k of Object.keys(outs)) console.log(`err ${what.split(' ')[0]} ${k} ${relErr(got[k], want[k]).err.toExponential(2)}`);
  for (const k of Object.keys(outs)) assertClose(got[k], want[k], typeof bound === 'number' ? bound : bound[k], `${what} ${k}`);
}

function ropeTables(maxT: number, HS: number): { cos: Float32Array; sin: Float32Array } {
  const half = HS / 2,
    cos = new Float32Array(maxT * half),
    sin = new Float32Array(maxT * half);
  for (let p = 0; p < maxT; p++) {
    for (let i = 0; i < half; i++) {
      const theta = p * 10000 ** ((-2 * i) / HS);
      cos[p * half + i] = Math.cos(theta);
      sin[p * half + i] = Math.sin(theta);
    }
  }
  return { cos, sin };
}

// ---- the per-op specs, each run for every ISA x thread count

const specs: Record<string, (nat: NativeBackend, seed: number) => void> = {
  'add, axpy and scale match, including out aliasing an input'(nat, seed) {
    const r = rng(seed);
    for (const n of [1, 7, 17, 33, 1000, 70001]) {
      const a = randn32(n, r),
        b = randn32(n, r),
        alpha = Math.fround(r() * 4 - 2);
      parity(nat, { out: new Float32Array(n) }, (be, o) => be.add(o.out, a, b, n), BOUND.elementwise, `add n=${n}`);
      parity(nat, { a: copy(a) }, (be, o) => be.add(o.a, o.a, b, n), BOUND.elementwise, `add in place n=${n}`);
      parity(nat, { y: copy(b) }, (be, o) => be.axpy(o.y, alpha, a, n), BOUND.elementwise, `axpy n=${n}`);
      parity(nat, { x: copy(a) }, (be, o) => be.scale(o.x, alpha, n), BOUND.elementwise, `scale n=${n}`);
    }
  },
  'sumSquares accumulates in double'(nat, seed) {
    const r = rng(seed);
    for (const n of [0, 1, 7, 33, 8193, 100003, 3_000_001]) {
      const x = randn32(n, r, 3);
      const want = ref.sumSquares(x, n),
        got = nat.sumSquares(x, n);
      assert.ok(Math.abs(got - want) <= BOUND.sumSquares * want, `sumSquares n=${n}: ${got} vs ${want}`);
    }
    // 2^24 + 1 in float would stop growing after 2^24 ones; a double sum counts them all.
    const ones = new Float32Array((1 << 24) + 3).fill(1);
    assert.equal(nat.sumSquares(ones, ones.length), ones.length);
  },
  'embedding forward copies rows and backward scatter-adds repeated tokens'(nat, seed) {
    const r = rng(seed);
    for (const [N, C, V] of [
      [1, 1, 1],
      [5, 7, 3],
      [17, 33, 11],
      [33, 17, 2],
      [768, 512, 50],
    ]) {
      const wte = randn32(V * C, r),
        dout = randn32(N * C, r),
        tokens = randInts(N, V, r);
      parity(
        nat,
        { out: randn32(N * C, r) },
        (be, o) => be.embeddingForward(o.out, wte, tokens, N, C, V),
        BOUND.embedding,
        `embeddingForward ${N}x${C}`,
      );
      parity(
        nat,
        { dwte: randn32(V * C, r) },
        (be, o) => be.embeddingBackward(o.dwte, dout, tokens, N, C, V),
        BOUND.embedding,
        `embeddingBackward ${N}x${C}`,
      );
    }
  },
  'rmsnorm forward and backward (dinp, dweight) match'(nat, seed) {
    const r = rng(seed);
    for (const [N, C] of [
      [1, 1],
      [3, 7],
      [5, 17],
      [9, 33],
      [768, 512],
    ]) {
      const inp = randn32(N * C, r, 2),
        weight = randn32(C, r),
        dout = randn32(N * C, r);
      parity(
        nat,
        { out: new Float32Array(N * C), rstd: new Float32Array(N) },
        (be, o) => be.rmsnormForward(o.out, o.rstd, inp, weight, N, C, 1e-5),
        BOUND.rmsnorm,
        `rmsnormForward ${N}x${C}`,
      );
      const rstd = new Float32Array(N);
      ref.rmsnormForward(new Float32Array(N * C), rstd, inp, weight, N, C, 1e-5);
      parity(
        nat,
        { dinp: randn32(N * C, r), dweight: randn32(C, r) },
        (be, o) => be.rmsnormBackward(o.dinp, o.dweight, dout, inp, weight, rstd, N, C),
        BOUND.rmsnormBackward,
        `rmsnormBackward ${N}x${C}`,
      );
    }
  },
  'rope forward (also in place, pos0 > 0) and backward match'(nat, seed) {
    const r = rng(seed);
    for (const [B, T, NH, HS, pos0] of [
      [1, 1, 1, 2, 0],
      [2, 3, 2, 6, 5],
      [1, 5, 3, 34, 7],
      [2, 64, 8, 64, 100],
    ]) {
      const n = B * T * NH * HS;
      const { cos, sin } = ropeTables(pos0 + T, HS);
      const inp = randn32(n, r),
        dout = randn32(n, r);
      parity(
        nat,
        { out: new Float32Array(n) },
        (be, o) => be.ropeForward(o.out, inp, cos, sin, B, T, NH, HS, pos0),
        BOUND.rope,
        `ropeForward ${[B, T, NH, HS, pos0]}`,
      );
      parity(
        nat,
        { x: copy(inp) },
        (be, o) => be.ropeForward(o.x, o.x, cos, sin, B, T, NH, HS, pos0),
        BOUND.rope,
        `ropeForward in place ${[B, T, NH, HS, pos0]}`,
      );
      parity(
        nat,
        { dinp: randn32(n, r) },
        (be, o) => be.ropeBackward(o.dinp, dout, cos, sin, B, T, NH, HS, pos0),
        BOUND.rope,
        `ropeBackward ${[B, T, NH, HS, pos0]}`,
      );
    }
  },
  'swiglu forward and backward match, including saturated gates'(nat, seed) {
    const r = rng(seed);
    for (const [N, H] of [
      [1, 1],
      [3, 7],
      [4, 17],
      [2, 33],
      [768, 512],
    ]) {
      const inp = randn32(N * 2 * H, r, 6),
        dout = randn32(N * H, r);
      // gates far in the tails: sigmoid saturates to 0 or 1 and exp(-g) would overflow if computed naively
      for (let i = 0; i < Math.min(N, 4); i++) inp[i * 2 * H] = [-100, 100, -30, 30][i];
      parity(nat, { out: new Float32Array(N * H) }, (be, o) => be.swigluForward(o.out, inp, N, H), BOUND.swiglu, `swigluForward ${N}x${H}`);
      parity(
        nat,
        { dinp: randn32(N * 2 * H, r) },
        (be, o) => be.swigluBackward(o.dinp, dout, inp, N, H),
        BOUND.swigluBackward,
        `swigluBackward ${N}x${H}`,
      );
    }
  },
  'cross-entropy forward and backward match, with ignored rows'(nat, seed) {
    const r = rng(seed);
    const ignore = -100;
    for (const [N, V] of [
      [1, 1],
      [3, 7],
      [5, 17],
      [4, 33],
      [64, 4096],
    ]) {
      const logits = randn32(N * V, r, 8),
        dlosses = randn32(N, r);
      const targets = randInts(N, V, r);
      for (let n = 1; n < N; n += 3) targets[n] = ignore;
      parity(
        nat,
        { losses: randn32(N, r), lse: new Float32Array(N) },
        (be, o) => be.crossEntropyForward(o.losses, o.lse, logits, targets, N, V, ignore),
        BOUND.crossEntropy,
        `crossEntropyForward ${N}x${V}`,
      );
      const losses = new Float32Array(N),
        lse = new Float32Array(N);
      ref.crossEntropyForward(losses, lse, logits, targets, N, V, ignore);
      for (let n = 1; n < N; n += 3) assert.equal(losses[n], 0, 'an ignored row has loss 0');
      const dlogits0 = randn32(N * V, r);
      const got = copy(dlogits0);
      parity(
        nat,
        { dlogits: dlogits0 },
        (be, o) => be.crossEntropyBackward(o.dlogits, dlosses, logits, lse, targets, N, V, ignore),
        BOUND.crossEntropy,
        `crossEntropyBackward ${N}x${V}`,
      );
      nat.crossEntropyBackward(got, dlosses, logits, lse, targets, N, V, ignore);
      for (let n = 1; n < N; n += 3) {
        for (let v = 0; v < V; v++) assert.equal(got[n * V + v], dlogits0[n * V + v], 'an ignored row adds nothing');
      }
    }
  },
  'softmax forward (plain and causal) and backward match'(nat, seed) {
    const r = rng(seed);
    for (const [N, V, causal] of [
      [1, 1, false],
      [3, 7, false],
      [17, 17, true],
      [66, 33, true],
      [768, 512, false],
      [512, 256, true],
    ] as const) {
      const inp = randn32(N * V, r, 10),
        dout = randn32(N * V, r);
      parity(
        nat,
        { out: randn32(N * V, r) },
        (be, o) => be.softmaxForward(o.out, inp, N, V, 0.125, causal),
        BOUND.softmax,
        `softmaxForward ${N}x${V} causal=${causal}`,
      );
      const out = new Float32Array(N * V);
      ref.softmaxForward(out, inp, N, V, 0.125, causal);
      parity(
        nat,
        { dinp: randn32(N * V, r) },
        (be, o) => be.softmaxBackward(o.dinp, dout, out, N, V, 0.125),
        BOUND.softmax,
        `softmaxBackward ${N}x${V}`,
      );
    }
  },
  'adamw matches over three steps with weight decay and gradScale < 1'(nat, seed) {
    const r = rng(seed);
    const f = Math.fround;
    const [lr, b1, b2, eps, wd, gs] = [f(1e-3), f(0.9), f(0.95), f(1e-8), f(0.1), f(0.7)];
    for (const n of [1, 7, 33, 70001]) {
      const p = { param: randn32(n, r), m: new Float32Array(n), v: new Float32Array(n) };
      for (let step = 1; step <= 3; step++) {
        const grad = randn32(n, r, 0.1);
        parity(
          nat,
          p,
          (be, o) => be.adamwStep(o.param, grad, o.m, o.v, n, lr, b1, b2, eps, wd, step, gs),
          { param: BOUND.adamwParam, m: BOUND.adamwState, v: BOUND.adamwState },
          `adamwStep n=${n} step=${step}`,
        );
        ref.adamwStep(p.param, grad, p.m, p.v, n, lr, b1, b2, eps, wd, step, gs);
      }
    }
  },
  "image windows match exactly, with and without padding, and leave each row's extra values alone"(nat, seed) {
    const r = rng(seed);
    // [count, S, P, W, extra]: plain patches, the shapes model's windows (batch 8), odd sizes.
    for (const [count, S, P, W, extra] of [
      [2, 6, 3, 3, 0],
      [8, 64, 8, 16, 16],
      [3, 10, 2, 6, 5],
      [1, 9, 9, 11, 1],
    ]) {
      const pixels = Float32Array.from({ length: count * S * S * 3 }, () => r());
      const G = S / P,
        stride = W * W * 3 + extra;
      // Junk in the output: windows past the edge must write their zeros, the extra values stay.
      parity(
        nat,
        { out: randn32(count * G * G * stride, r) },
        (be, o) => be.windowsForward(o.out, pixels, count, S, P, W, stride),
        0,
        `windowsForward ${count}x${S} P=${P} W=${W}`,
      );
    }
  },
};

describe('native ops match the reference', { skip }, () => {
  const threadsBefore = native?.threads();
  after(() => {
    if (native && threadsBefore) native.setThreads(threadsBefore);
  });
  for (const isa of ALL_ISAS) {
    for (const threads of [1, 2]) {
      describe(`${isa}, ${threads} thread${threads > 1 ? 's' : ''}`, { skip: native ? isaSkip(native, isa) : skip }, () => {
        let seed = 1;
        for (const [name, spec] of Object.entries(specs)) {
          const s = seed++;
          it(name, () => {
            native!.setThreads(threads);
            withIsa(native!, isa, () => spec(native!, s));
          });
        }
      });
    }
  }
});

describe('native reductions do not depend on the thread count', { skip }, () => {
  it('embedding backward, rmsnorm dweight and sumSquares are bitwise equal at 1 and 2 threads', () => {
    const nat = native!,
      r = rng(99),
      before = nat.threads();
    const N = 1024,
      C = 384,
      V = 20;
    const tokens = randInts(N, V, r),
      dout = randn32(N * C, r),
      inp = randn32(N * C, r),
      weight = randn32(C, r);
    const rstd = new Float32Array(N);
    nat.rmsnormForward(new Float32Array(N * C), rstd, inp, weight, N, C, 1e-5);
    const run = (threads: number) => {
      nat.setThreads(threads);
      const dwte = new Float32Array(V * C),
        dinp = new Float32Array(N * C),
        dweight = new Float32Array(C);
      nat.embeddingBackward(dwte, dout, tokens, N, C, V);
      nat.rmsnormBackward(dinp, dweight, dout, inp, weight, rstd, N, C);
      return { dwte, dinp, dweight, ss: nat.sumSquares(dout, N * C) };
    };
    try {
      const one = run(1),
        two = run(2),
        again = run(2);
      for (const k of ['dwte', 'dinp', 'dweight'] as const) {
        assert.deepEqual(two[k], one[k], `${k}: 2 threads vs 1`);
        assert.deepEqual(again[k], two[k], `${k}: 2 threads, run twice`);
      }
      assert.equal(two.ss, one.ss);
    } finally {
      nat.setThreads(before);
    }
  });
});

describe('native ops reject bad arguments with an error that names the argument', { skip }, () => {
  const f = (n: number) => new Float32Array(n);
  it('throws when a buffer is too short', () => {
    const nat = native!;
    assert.throws(() => nat.add(f(3), f(4), f(4), 4), /add: out has 3 elements, needs at least 4/);
    assert.throws(() => nat.embeddingBackward(f(5), f(6), new Int32Array([0, 1, 2]), 3, 2, 3), /dwte has 5 elements, needs at least 6/);
    assert.throws(() => nat.rmsnormForward(f(6), f(2), f(6), f(2), 2, 3, 1e-5), /weight has 2 elements, needs at least 3/);
    assert.throws(() => nat.ropeForward(f(8), f(8), f(2), f(2), 1, 2, 1, 4, 1), /cos has 2 elements, needs at least 6/);
    assert.throws(() => nat.swigluBackward(f(8), f(4), f(7), 2, 2), /inp has 7 elements, needs at least 8/);
    assert.throws(() => nat.crossEntropyForward(f(2), f(1), f(8), new Int32Array(2), 2, 4, -1), /lse has 1 elements, needs at least 2/);
    assert.throws(() => nat.softmaxBackward(f(6), f(6), f(5), 2, 3, 1), /out has 5 elements, needs at least 6/);
    assert.throws(() => nat.adamwStep(f(4), f(4), f(4), f(3), 4, 1e-3, 0.9, 0.95, 1e-8, 0, 1, 1), /v has 3 elements, needs at least 4/);
  });
  it('throws when a token or target is out of range', () => {
    const nat = native!;
    assert.throws(() => nat.embeddingForward(f(6), f(6), new Int32Array([0, 3, 1]), 3, 2, 3), /tokens\[1\] = 3 is outside \[0, 3\)/);
    assert.throws(() => nat.embeddingBackward(f(6), f(6), new Int32Array([0, -1, 1]), 3, 2, 3), /tokens\[1\] = -1 is outside/);
    assert.throws(
      () => nat.crossEntropyForward(f(2), f(2), f(8), new Int32Array([1, 4]), 2, 4, -100),
      /targets\[1\] = 4 is outside \[0, 4\)/,
    );
    // the ignore index itself is allowed
    nat.crossEntropyForward(f(2), f(2), f(8), new Int32Array([1, -100]), 2, 4, -100);
  });
  it('refuses image windows whose sizes do not fit, naming the size', () => {
    for (const be of [native!, refBackend] as Backend<Float32Array>[]) {
      assert.throws(() => be.windowsForward(f(4 * 48), f(4 * 4 * 3), 1, 4, 3, 3, 27), /S \(4\) must be a multiple of P \(3\)/);
      assert.throws(() => be.windowsForward(f(4 * 48), f(4 * 4 * 3), 1, 4, 2, 3, 27), /W \(3\) must be P or P plus an even number/);
      assert.throws(() => be.windowsForward(f(4 * 48), f(4 * 4 * 3), 1, 4, 2, 4, 47), /stride \(47\) must hold a window's W\*W\*3 values/);
      assert.throws(() => be.windowsForward(f(4 * 48 - 1), f(4 * 4 * 3), 1, 4, 2, 4, 48), /out has 191 elements, needs/);
      assert.throws(() => be.windowsForward(f(4 * 48), f(47), 1, 4, 2, 4, 48), /pixels has 47 elements, needs/);
    }
  });
  it('the reference rejects out-of-range tokens too', () => {
    assert.throws(() => refBackend.embeddingForward(f(6), f(6), new Int32Array([0, 3, 1]), 3, 2, 3), /tokens\[1\] = 3 is outside/);
    assert.throws(
      () => refBackend.crossEntropyForward(f(2), f(2), f(8), new Int32Array([1, 4]), 2, 4, -100),
      /targets\[1\] = 4 is outside/,
    );
  });
});
