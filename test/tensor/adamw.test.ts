// AdamW against a step worked out by hand, on the reference (float64) and native (float32)
// backends, then global-norm clipping end to end: sumSquares over several tensors gives the norm,
// the clip coefficient is min(1, maxNorm / (norm + 1e-6)), and adamwStep applies it as gradScale.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Backend, FloatArray } from '../../src/tensor/backend.ts';
import { refBackend } from '../../src/tensor/ref/index.ts';
import { ALL_ISAS, assertClose, isaSkip, requireNative, withIsa } from '../helpers.ts';

const { native, skip } = requireNative();

// Hyperparameters picked so every number below is exact by hand: lr*wd = 0.01 (decay multiplies p
// by 0.99), bias corrections 1 - 0.5 = 0.5 and 1 - 0.75 = 0.25 at step 1, 0.75 and 0.4375 at step 2,
// and eps = 0.05 large enough that putting it in the wrong place (inside the sqrt, or before the
// bias correction) changes the result visibly.
const H = { lr: 0.1, beta1: 0.5, beta2: 0.75, eps: 0.05, weightDecay: 0.1, gradScale: 0.5 };

// Three elements: A and B get gradients, C gets none (it still decays: the decay is decoupled).
const p0 = [1.0, -2.0, 0.5];
const grads = [
  [0.4, -1.0, 0.0],
  [-0.4, 1.0, 0.0],
]; // raw; the step uses grad * gradScale
// Step 1, g = grad * 0.5 = [0.2, -0.5, 0]:
//   A: p = 1 * 0.99 = 0.99;  m = 0.5*0.2 = 0.1;  v = 0.25*0.04 = 0.01
//      mhat = 0.1/0.5 = 0.2, vhat = 0.01/0.25 = 0.04, sqrt = 0.2; p -= 0.1 * 0.2/(0.2+0.05) = 0.08 -> 0.91
//   B: p = -2 * 0.99 = -1.98; m = -0.25; v = 0.25*0.25 = 0.0625
//      mhat = -0.5, sqrt(vhat) = sqrt(0.25) = 0.5; p -= 0.1 * -0.5/0.55 = -1/11 -> -1.98 + 1/11 = -1.889090909...
//   C: p = 0.5 * 0.99 = 0.495; m = v = 0; the update is 0 / (0 + eps) = 0
const afterStep1 = { p: [0.91, -1.98 + 1 / 11, 0.495], m: [0.1, -0.25, 0], v: [0.01, 0.0625, 0] };
// Step 2, g = [-0.2, 0.5, 0]:
//   A: p = 0.91*0.99 = 0.9009; m = 0.5*0.1 + 0.5*(-0.2) = -0.05; v = 0.75*0.01 + 0.25*0.04 = 0.0175
//      mhat = -0.05/0.75 = -1/15, vhat = 0.0175/0.4375 = 0.04, sqrt = 0.2
//      p -= 0.1 * (-1/15)/0.25 = -2/75 -> 0.9009 + 2/75 = 0.927566666...
//   B: p = (-1.98 + 1/11)*0.99 = -1.9602 + 0.09 = -1.8702; m = -0.125 + 0.25 = 0.125
//      v = 0.75*0.0625 + 0.25*0.25 = 0.109375; mhat = 0.125/0.75 = 1/6; vhat = 0.109375/0.4375 = 0.25
//      p -= 0.1 * (1/6)/(0.5+0.05) = 1/33 -> -1.8702 - 1/33 = -1.900503030...
//   C: p = 0.495*0.99 = 0.49005
const afterStep2 = { p: [0.9009 + 2 / 75, -1.8702 - 1 / 33, 0.49005], m: [-0.05, 0.125, 0], v: [0.0175, 0.109375, 0] };

function runTwoSteps<F extends FloatArray>(be: Backend<F>, make: (xs: number[]) => F) {
  const p = make(p0),
    m = make([0, 0, 0]),
    v = make([0, 0, 0]);
  const states: { p: F; m: F; v: F }[] = [];
  for (let step = 1; step <= 2; step++) {
    be.adamwStep(p, make(grads[step - 1]), m, v, 3, H.lr, H.beta1, H.beta2, H.eps, H.weightDecay, step, H.gradScale);
    states.push({ p: make(Array.from(p)), m: make(Array.from(m)), v: make(Array.from(v)) });
  }
  return states;
}

function checkAgainstHand(states: { p: FloatArray; m: FloatArray; v: FloatArray }[], make: (xs: number[]) => FloatArray, bound: number) {
  for (const [i, want] of [afterStep1, afterStep2].entries()) {
    for (const k of ['p', 'm', 'v'] as const) assertClose(states[i][k], make(want[k]), bound, `step ${i + 1} ${k}`);
  }
}

/** The global-norm clip coefficient, as a trainer computes it from the backend's sumSquares. */
function clipCoefficient<F extends FloatArray>(be: Backend<F>, tensors: F[], maxNorm: number): { norm: number; clip: number } {
  let ss = 0;
  for (const t of tensors) ss += be.sumSquares(t, t.length);
  const norm = Math.sqrt(ss);
  return { norm, clip: Math.min(1, maxNorm / (norm + 1e-6)) };
}

const f64 = (xs: number[]) => new Float64Array(xs);
const f32 = (xs: number[]) => new Float32Array(xs);

describe('adamwStep follows the hand-worked PyTorch AdamW step', () => {
  it('reference, float64: matches to 1e-12 over 2 steps with weight decay and gradScale 0.5', () => {
    checkAgainstHand(runTwoSteps(refBackend as Backend<Float64Array>, f64), f64, 1e-12);
  });
  for (const isa of ALL_ISAS) {
    it(`native ${isa}, float32: matches to 1e-6`, { skip: native ? isaSkip(native, isa) : skip }, () => {
      withIsa(native!, isa, () => checkAgainstHand(runTwoSteps(native!, f32), f32, 1e-6));
    });
  }
  it('rejects step 0 (bias correction would divide by zero)', { skip }, () => {
    const z = () => new Float32Array(1);
    assert.throws(() => native!.adamwStep(z(), z(), z(), z(), 1, 0.1, 0.9, 0.99, 1e-8, 0, 0, 1), /step counts from 1, got 0/);
    assert.throws(() => refBackend.adamwStep(z(), z(), z(), z(), 1, 0.1, 0.9, 0.99, 1e-8, 0, 0, 1), /step counts from 1, got 0/);
  });
});

describe('global-norm clipping feeds adamwStep its gradScale', () => {
  // grads [3, 4], [12], [0, 0, 0]: squares 9 + 16 + 144 = 169, norm 13
  const gradSets = () => [[3, 4], [12], [0, 0, 0]];
  const backends: [string, () => Backend<any> | null, (xs: number[]) => FloatArray, number][] = [
    ['reference', () => refBackend, f64, 1e-12],
    ['native', () => native, f32, 1e-6],
  ];
  for (const [name, get, make, bound] of backends) {
    it(`${name}: norm 13 with maxNorm 6.5 halves every gradient; maxNorm 20 leaves them alone`, {
      skip: name === 'native' ? skip : undefined,
    }, () => {
      const be = get()!;
      const gs = gradSets().map(make);
      const { norm, clip } = clipCoefficient(be, gs, 6.5);
      assert.equal(norm, 13);
      assert.ok(Math.abs(clip - 6.5 / (13 + 1e-6)) < 1e-15 && clip < 0.5 && clip > 0.5 - 1e-7, `clip ${clip}`);
      assert.equal(clipCoefficient(be, gs, 20).clip, 1);
      // One step on each tensor with gradScale = clip. With beta1 = 0.5, beta2 = 0.75 the first
      // moments are m = 0.5 * clip * grad and v = 0.25 * (clip * grad)^2: for [3, 4], with
      // clip ~ 0.5, m = [0.75, 1] and v = [0.5625, 1]. Step 1, no decay, eps = 0.05:
      // p -= 0.1 * (clip*g) / (|clip*g| + 0.05), e.g. for g = 3: 0.1 * 1.5/1.55 = 0.0967742.
      const ps = gs.map((g) => make(new Array(g.length).fill(1)));
      const ms = gs.map((g) => make(new Array(g.length).fill(0)));
      const vs = gs.map((g) => make(new Array(g.length).fill(0)));
      gs.forEach((g, i) => be.adamwStep(ps[i], g, ms[i], vs[i], g.length, 0.1, 0.5, 0.75, 0.05, 0, 1, clip));
      assertClose(ms[0], make([0.75, 1]), 1e-6, 'm of [3, 4]');
      assertClose(vs[0], make([0.5625, 1]), 1e-6, 'v of [3, 4]');
      assertClose(ms[1], make([3]), 1e-6, 'm of [12]');
      assertClose(ps[0], make([1 - (0.1 * 1.5) / 1.55, 1 - (0.1 * 2) / 2.05]), 1e-6, 'p of [3, 4]');
      assertClose(ps[1], make([1 - (0.1 * 6) / 6.05]), 1e-6, 'p of [12]');
      assertClose(ps[2], make([1, 1, 1]), bound, 'p with zero grads and no decay');
    });
  }
});
