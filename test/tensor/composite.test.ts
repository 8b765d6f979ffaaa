// The autograd tape end to end: a 2-layer toy transformer (RMSNorm, RoPE attention, SwiGLU,
// residuals, tied embeddings, masked cross-entropy) checked against finite differences in
// float64 on the reference backend, and native against reference in float32.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { refBackend, ropeTables, Tape, Tensor, type Backend, type DType, type FloatArray } from '../../src/tensor/index.ts';
import { assertClose, randn64, requireNative, rng } from '../helpers.ts';
import { assertGradClose, numericGrad } from '../gradcheck.ts';

const B = 2,
  T = 5,
  C = 8,
  NH = 2,
  HS = 4,
  H = 12,
  V = 11,
  L = 2;

function makeParams(dtype: DType, seed: number): Record<string, Tensor> {
  const r = rng(seed);
  const p: Record<string, Tensor> = {};
  const add = (name: string, shape: number[], scale: number, offset = 0) => {
    const x = randn64(
      shape.reduce((a, b) => a * b, 1),
      r,
      scale,
    ).map((v) => v + offset);
    p[name] = new Tensor(dtype === 'f64' ? x : Float32Array.from(x), shape, { requiresGrad: true, name });
  };
  add('wte', [V, C], 0.5);
  for (let l = 0; l < L; l++) {
    add(`ln1.${l}`, [C], 0.2, 1);
    for (const w of ['wq', 'wk', 'wv', 'wo']) add(`${w}.${l}`, [C, C], 0.4);
    add(`ln2.${l}`, [C], 0.2, 1);
    add(`wup.${l}`, [2 * H, C], 0.4);
    add(`wdown.${l}`, [C, H], 0.4);
  }
  add('lnf', [C], 0.2, 1);
  return p;
}

const r = rng(7);
const tokens = Int32Array.from({ length: B * T }, () => Math.floor(r() * V));
const targets = Int32Array.from({ length: B * T }, (_, i) => (i % 4 === 3 ? -1 : Math.floor(r() * V)));

// inPlace: RoPE rotates q and k where they lie and each residual add writes over its branch, as
// GPT.run does; the gradients must be those of the plain ops.
function forward(tape: Tape, p: Record<string, Tensor>, inPlace = false): Tensor {
  const { cos, sin } = ropeTables(T, HS, 10000, tape.dtype);
  let x = tape.embedding(tokens, [B, T], p.wte); // (B, T, C)
  for (let l = 0; l < L; l++) {
    const h = tape.rmsnorm(x, p[`ln1.${l}`]);
    const q = tape.rope(tape.linear(h, p[`wq.${l}`]).reshape([B, T, NH, HS]), cos, sin, 0, { inPlace });
    const k = tape.rope(tape.linear(h, p[`wk.${l}`]).reshape([B, T, NH, HS]), cos, sin, 0, { inPlace });
    const v = tape.linear(h, p[`wv.${l}`]).reshape([B, T, NH, HS]);
    const a = tape.attention(q, k, v).reshape([B, T, C]);
    x = tape.add(x, tape.linear(a, p[`wo.${l}`]), { inPlace });
    const m = tape.swiglu(tape.linear(tape.rmsnorm(x, p[`ln2.${l}`]), p[`wup.${l}`])); // (B, T, H)
    x = tape.add(x, tape.linear(m, p[`wdown.${l}`]), { inPlace });
  }
  const logits = tape.linear(tape.rmsnorm(x, p.lnf), p.wte); // tied head: (B, T, V)
  return tape.crossEntropy(logits, targets, -1);
}

function lossAndGrads(
  be: Backend<any>,
  dtype: DType,
  p: Record<string, Tensor>,
  inPlace = false,
): { loss: number; grads: Record<string, FloatArray> } {
  for (const t of Object.values(p)) t.zeroGrad();
  const tape = new Tape(be, dtype, { recycle: true });
  const loss = forward(tape, p, inPlace);
  tape.backward(loss);
  return { loss: loss.data[0], grads: Object.fromEntries(Object.entries(p).map(([k, t]) => [k, t.grad!])) };
}

describe('tape autograd on a 2-layer toy transformer', () => {
  // Tied embeddings make wte's gradient the sum of two paths; dropping either fails this check.
  it('matches finite differences for every parameter (float64, reference backend)', () => {
    const p = makeParams('f64', 1);
    for (const inPlace of [false, true]) {
      const { loss, grads } = lossAndGrads(refBackend, 'f64', p, inPlace);
      assert.ok(loss > 0 && Number.isFinite(loss));
      for (const [name, t] of Object.entries(p)) {
        const f = () => forward(new Tape(refBackend, 'f64'), p).data[0];
        const numeric = numericGrad(f, t.data as Float64Array);
        assertGradClose(grads[name] as Float64Array, numeric, `${name}${inPlace ? ' (in place)' : ''}`, 1e-5);
      }
    }
  });

  it("in-place RoPE and residual adds give the plain ops' loss and gradients, bit for bit", () => {
    const p = makeParams('f64', 3);
    const plain = lossAndGrads(refBackend, 'f64', p, false);
    const copies = Object.fromEntries(Object.entries(plain.grads).map(([k, g]) => [k, g.slice()]));
    const inPlace = lossAndGrads(refBackend, 'f64', p, true);
    assert.equal(inPlace.loss, plain.loss);
    for (const name of Object.keys(p)) assert.deepEqual(inPlace.grads[name], copies[name], name);
  });

  const { native, skip } = requireNative();
  it('gives the same loss and gradients on the native backend as on the reference (float32)', { skip }, () => {
    const pr = makeParams('f32', 1),
      pn = makeParams('f32', 1);
    const ref = lossAndGrads(refBackend, 'f32', pr);
    const nat = lossAndGrads(native!, 'f32', pn);
    assert.ok(Math.abs(ref.loss - nat.loss) <= 1e-5 * Math.abs(ref.loss), `loss ${nat.loss} vs ${ref.loss}`);
    for (const name of Object.keys(pr)) assertClose(nat.grads[name], ref.grads[name], 2e-3, name);
  });

  it("a recycling tape lends an output's gradient again once its op has run backward, and repeats steps exactly", () => {
    const p = makeParams('f64', 4);
    const recycling = new Tape(refBackend, 'f64', { recycle: true });
    const steps = [recycling, recycling, recycling, new Tape(refBackend, 'f64')].map((tape) => {
      for (const t of Object.values(p)) t.zeroGrad();
      tape.reset();
      const { cos, sin } = ropeTables(T, HS, 10000, 'f64');
      const x = tape.embedding(tokens, [B, T], p.wte);
      const h = tape.rmsnorm(x, p['ln1.0']);
      const a = tape.linear(h, p['wq.0']),
        b = tape.linear(h, p['wk.0']);
      const q = tape.rope(a.reshape([B, T, NH, HS]), cos, sin);
      const loss = tape.crossEntropy(tape.linear(tape.add(q.reshape([B, T, C]), b), p.wte), targets, -1);
      tape.backward(loss);
      // With recycling only leaves keep gradients: the intermediates' went back to the pool on
      // the way (and were lent again within the same pass). A plain tape keeps them all.
      for (const t of [x, h, a, b, q, loss]) assert.equal(t.grad === null, tape === recycling);
      return Object.fromEntries(Object.entries(p).map(([k, t]) => [k, t.grad?.slice()]));
    });
    for (const s of steps.slice(1)) assert.deepEqual(s, steps[0]);
  });

  it('an in-place add whose branch needs no gradient still passes the gradient to the stream', () => {
    const x = new Tensor(Float64Array.from([1, -2, 3]), [3], { requiresGrad: true });
    const branch = new Tensor(Float64Array.from([0.5, 0.5, 0.5]), [3]);
    const tape = new Tape(refBackend, 'f64');
    const y = tape.add(x, branch, { inPlace: true });
    assert.equal(y.requiresGrad, true);
    assert.deepEqual([...y.data], [1.5, -1.5, 3.5]);
    tape.backward(tape.crossEntropy(y.reshape([1, 3]), Int32Array.of(0)));
    assert.ok(
      x.grad?.some((g) => g !== 0),
      'x gets a gradient',
    );
  });

  it('records nothing when no input needs a gradient (inference)', () => {
    const p = makeParams('f64', 2);
    const frozen = Object.fromEntries(Object.entries(p).map(([k, t]) => [k, new Tensor(t.data, t.shape)]));
    const tape = new Tape(refBackend, 'f64');
    forward(tape, frozen);
    assert.equal(tape.length, 0);
  });

  it('records nothing on a no-grad tape, even for parameters that require gradients', () => {
    const p = makeParams('f64', 2);
    const tape = new Tape(refBackend, 'f64', { grad: false });
    const loss = forward(tape, p);
    assert.equal(tape.length, 0);
    assert.equal(loss.requiresGrad, false);
    assert.equal(loss.data[0], forward(new Tape(refBackend, 'f64'), p).data[0]);
  });
});

describe('weighted cross-entropy (tape)', () => {
  const N = 6,
    V2 = 5;
  const targets = Int32Array.of(1, -1, 4, 0, -1, 2);
  const weights = Float64Array.of(0.5, 9, 0.25, 1, 7, 2); // the ignored rows' weights must not count
  const logitsOf = (seed: number) => new Tensor(randn64(N * V2, rng(seed), 1), [N, V2], { requiresGrad: true });
  const loss = (x: Tensor, w?: ArrayLike<number>) => new Tape(refBackend, 'f64').crossEntropy(x, targets, -1, w).data[0];

  it('is sum(w * loss) / sum(w) over the rows not ignored', () => {
    const x = logitsOf(11);
    let num = 0,
      den = 0;
    targets.forEach((t, n) => {
      if (t < 0) return;
      const row = Array.from(x.data.subarray(n * V2, (n + 1) * V2));
      num += weights[n] * (Math.log(row.reduce((s, v) => s + Math.exp(v), 0)) - row[t]);
      den += weights[n];
    });
    assert.ok(Math.abs(loss(x, weights) - num / den) < 1e-12);
    // equal weights, whatever their size, give the plain mean
    assert.ok(Math.abs(loss(x, new Float64Array(N).fill(3)) - loss(x)) < 1e-12);
  });

  it('matches finite differences, the ignored rows getting no gradient', () => {
    const x = logitsOf(12);
    const tape = new Tape(refBackend, 'f64');
    tape.backward(tape.crossEntropy(x, targets, -1, weights));
    assertGradClose(
      x.grad as Float64Array,
      numericGrad(() => loss(x, weights), x.data as Float64Array),
      'dlogits',
    );
    for (const n of [1, 4]) for (let v = 0; v < V2; v++) assert.equal(x.grad![n * V2 + v], 0, `ignored row ${n}`);
  });

  it('refuses weights of the wrong length', () => {
    assert.throws(() => loss(logitsOf(13), new Float64Array(N - 1)), /6 rows of logits but 5 weights/);
  });
});

describe('Tensor', () => {
  it('shares data and gradient between a tensor and its reshaped view', () => {
    const t = Tensor.zeros([2, 6], 'f32', { requiresGrad: true });
    const v = t.reshape([2, 2, 3]);
    v.ensureGrad()[5] = 3;
    v.data[1] = 4;
    assert.equal(t.grad![5], 3);
    assert.equal(t.data[1], 4);
  });

  it('rejects a shape that does not match its data, naming both sizes', () => {
    assert.throws(() => new Tensor(new Float32Array(5), [2, 3]), /shape \[2,3\] needs 6 elements, data has 5/);
    assert.throws(() => Tensor.zeros([4]).reshape([3]), /cannot become \[3\]/);
  });
});
