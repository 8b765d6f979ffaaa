// Data-parallel training (src/train/parallel.ts): the summed gradients of replicas that each see
// a share of the batch equal the gradient of the whole batch on one thread, for uneven shares and
// ignored targets; losses likewise; a stopped worker is reported, not waited on forever.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { configFromDepth, GPT, paramCount, paramShapes } from '../../src/model/index.ts';
import { nativeBackend, Rng, Tape } from '../../src/tensor/index.ts';
import { AdamW, DataParallel, defaultAdamW, paramGroups, splitRows } from '../../src/train/index.ts';
import { REDUCE_CHUNK, reduceGroup } from '../../src/train/parallel.ts';

const native = nativeBackend();
const cfg = configFromDepth(1, { vocabSize: 40, nEmbd: 32, nHead: 2, nLayer: 2, contextLength: 16 });

function batch(B: number, T: number, seed: number, ignoreEvery = 0) {
  const rng = new Rng(seed);
  const inputs = new Int32Array(B * T),
    targets = new Int32Array(B * T);
  for (let i = 0; i < B * T; i++) {
    inputs[i] = rng.int(cfg.vocabSize);
    // Ignored targets bunched in the first rows, so the shares' counts differ.
    targets[i] = ignoreEvery && i < (B * T) / 2 && i % ignoreEvery === 0 ? -1 : rng.int(cfg.vocabSize);
  }
  return { inputs, targets };
}

/** The whole batch on this thread: loss and flat gradient (seeded as accumulate is). */
function reference(B: number, T: number, b: ReturnType<typeof batch>, seed: number, weights?: Float32Array) {
  const model = new GPT(cfg, GPT.init(cfg, 3).weights(), { gradStorage: new Float32Array(GPT.init(cfg, 3).storage.length) });
  const tape = new Tape(native!, 'f32');
  const { loss } = model.forward(tape, b.inputs, B, T, b.targets, -1, undefined, weights);
  tape.backward(loss!, seed);
  return { loss: loss!.data[0], grad: model.gradStorage as Float32Array };
}

function assertClose(a: Float32Array, b: Float32Array, tol: number) {
  let worst = 0,
    scale = 0;
  for (let i = 0; i < a.length; i++) {
    worst = Math.max(worst, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  assert.ok(worst <= tol * scale, `max |diff| ${worst} vs max |grad| ${scale}`);
}

describe('data parallel', { skip: native ? false : 'native kernels unavailable' }, () => {
  it('cuts the parameters into contiguous groups of whole tensors, about equal in size', () => {
    const big = configFromDepth(4, { vocabSize: 264, contextLength: 64 });
    for (const c of [cfg, big])
      for (let n = 1; n <= 4; n++) {
        const g = paramGroups(c, n);
        assert.equal(g.length, n);
        assert.equal(g[0].from, 0);
        for (let i = 1; i < n; i++) assert.equal(g[i].from, g[i - 1].to);
        assert.equal(g[n - 1].to, paramCount(c));
        assert.deepEqual(
          g.flatMap((x) => x.names),
          paramShapes(c).map(([name]) => name),
        );
        const sizes = g.map((x) => x.to - x.from),
          total = sizes.reduce((a, b) => a + b, 0);
        if (c === big) for (const s of sizes) assert.ok(Math.abs(s - total / n) < (0.2 * total) / n, `group sizes ${sizes}`);
      }
  });

  it('sums a group over several chunks exactly once, zeroes the others there only, and returns its squared norm', () => {
    const n = 3 * REDUCE_CHUNK + 123,
      g = { from: 17, to: 17 + 2 * REDUCE_CHUNK + 99, names: [] };
    const fill = (k: number) => Float32Array.from({ length: n }, (_, i) => ((i * 7 + k) % 13) - 6);
    const sum = fill(1),
      a = fill(2),
      b = fill(3);
    const want = sum.slice();
    let ss = 0;
    for (let i = g.from; i < g.to; i++) {
      want[i] += a[i] + b[i];
      ss += want[i] * want[i];
    }
    const aOut = a.slice().fill(0, g.from, g.to),
      bOut = b.slice().fill(0, g.from, g.to);
    const got = reduceGroup(native!, sum, [a, b], g);
    assert.deepEqual(sum, want);
    assert.deepEqual(a, aOut);
    assert.deepEqual(b, bOut);
    assert.ok(Math.abs(got - ss) <= 1e-6 * ss, `${got} vs ${ss}`);
  });

  it('splits rows as evenly as possible, every row once', () => {
    for (let B = 1; B <= 20; B++)
      for (let n = 1; n <= 5; n++) {
        const r = splitRows(B, n);
        assert.equal(r.length, n);
        assert.equal(
          r.reduce((a, b) => a + b, 0),
          B,
        );
        assert.ok(Math.max(...r) - Math.min(...r) <= 1);
      }
  });

  for (const [replicas, B, ignoreEvery] of [
    [2, 6, 0],
    [3, 5, 3],
    [2, 3, 2],
  ] as const) {
    it(`${replicas} replicas over a batch of ${B}${ignoreEvery ? ' with ignored targets' : ''} give the one-thread gradient and loss`, async () => {
      const T = 16;
      const dp = await DataParallel.start(GPT.init(cfg, 3), native!, replicas, Math.ceil(B / replicas) * T);
      try {
        const tape = new Tape(native!, 'f32', { recycle: true });
        for (let step = 0; step < 2; step++) {
          // twice: buffers reused, gradients accumulate
          const b = batch(B, T, 10 + step, ignoreEvery);
          (dp.model.gradStorage as Float32Array).fill(0);
          const loss = await dp.accumulate(tape, b.inputs, b.targets, B, T, 0.5);
          const norm = await dp.reduce();
          const ref = reference(B, T, b, 0.5);
          assert.ok(Math.abs(loss - ref.loss) < 1e-5 * ref.loss, `loss ${loss} vs ${ref.loss}`);
          assertClose(dp.model.gradStorage as Float32Array, ref.grad, 1e-4);
          const refNorm = Math.sqrt(ref.grad.reduce((s, x) => s + x * x, 0));
          assert.ok(Math.abs(norm - refNorm) < 1e-4 * refNorm, `norm ${norm} vs ${refNorm}`);
          assert.equal(await dp.reduce(), norm, "reducing again adds nothing (the replicas' gradients were zeroed)");
        }
        // The main thread's kernels run on one thread while replicas compute, and get theirs back after.
        assert.equal(native!.threads(), 1);
      } finally {
        await dp.close();
      }
      assert.notEqual(native!.threads(), 0);
    });
  }

  it('weights per target travel with their rows: 3 replicas give the one-thread weighted loss and gradient', async () => {
    const B = 5,
      T = 16;
    const b = batch(B, T, 31, 3);
    // Heavier in the last rows (another replica's), so the shares' sums differ from their counts.
    const weights = Float32Array.from({ length: B * T }, (_, i) => (b.targets[i] < 0 ? 0 : 0.1 + Math.floor(i / T) ** 2));
    const dp = await DataParallel.start(GPT.init(cfg, 3), native!, 3, 2 * T);
    try {
      const tape = new Tape(native!, 'f32', { recycle: true });
      for (const w of [weights, undefined, weights]) {
        // weighted, then plain (the replicas must drop the weights), then weighted again
        (dp.model.gradStorage as Float32Array).fill(0);
        const loss = await dp.accumulate(tape, b.inputs, b.targets, B, T, 1, -1, undefined, w);
        await dp.reduce();
        const ref = reference(B, T, b, 1, w);
        assert.ok(Math.abs(loss - ref.loss) < 1e-5 * ref.loss, `loss ${loss} vs ${ref.loss}`);
        assertClose(dp.model.gradStorage as Float32Array, ref.grad, 1e-4);
      }
      assert.ok(Math.abs(reference(B, T, b, 1, weights).loss - reference(B, T, b, 1).loss) > 1e-3, 'the weights change the loss');
      await assert.rejects(dp.accumulate(tape, b.inputs, b.targets, B, T, 1, -1, undefined, weights.subarray(1)), /79 weights/);
    } finally {
      await dp.close();
    }
  });

  it('images travel with their rows: 3 replicas with a vision model give the one-thread gradient', async () => {
    const vcfg = { ...cfg, vision: { imageSize: 4, patchSize: 2 } }; // 4 slots per image
    const B = 5,
      T = 16;
    const b = batch(B, T, 21);
    const rng = new Rng(5);
    // Images in rows 0, 2 (two), 3 and 4; none in row 1.
    const at = [0 * T + 2, 2 * T + 1, 2 * T + 9, 3 * T + 5, 4 * T + 12];
    const images = { pixels: Float32Array.from({ length: at.length * 48 }, () => rng.next()), at };
    const dp = await DataParallel.start(GPT.init(vcfg, 3), native!, 3, 2 * T);
    try {
      const tape = new Tape(native!, 'f32', { recycle: true });
      const loss = await dp.accumulate(tape, b.inputs, b.targets, B, T, 1, -1, images);
      await dp.reduce();
      const model = new GPT(vcfg, GPT.init(vcfg, 3).weights(), { gradStorage: new Float32Array(paramCount(vcfg)) });
      const t = new Tape(native!, 'f32');
      const ref = model.forward(t, b.inputs, B, T, b.targets, -1, images).loss!;
      t.backward(ref, 1);
      assert.ok(Math.abs(loss - ref.data[0]) < 1e-5 * ref.data[0], `loss ${loss} vs ${ref.data[0]}`);
      assertClose(dp.model.gradStorage as Float32Array, model.gradStorage as Float32Array, 1e-4);
      const patchGrad = model.params.get('vision.patch_in')!.grad!;
      assert.ok(
        patchGrad.some((g) => g !== 0),
        'the patch projection learns',
      );
    } finally {
      await dp.close();
    }
  });

  it('update() is AdamW with clipping on the summed gradient, split between replicas, and leaves every gradient zero', async () => {
    const B = 5,
      T = 16;
    const dp = await DataParallel.start(GPT.init(cfg, 3), native!, 3, 2 * T);
    const ref = new GPT(cfg, GPT.init(cfg, 3).weights(), { gradStorage: new Float32Array(dp.model.storage.length) });
    const hyper = { ...defaultAdamW, lr: 1e-2, gradClip: 0.5 };
    const opt = dp.optimizer(hyper),
      refOpt = new AdamW(ref.params, native!, hyper);
    try {
      const tape = new Tape(native!, 'f32', { recycle: true });
      for (let step = 0; step < 3; step++) {
        const b = batch(B, T, 20 + step, 4);
        // Two micro-batches per step, as gradient accumulation does.
        for (const seed of [0.5, 0.5]) await dp.accumulate(tape, b.inputs, b.targets, B, T, seed);
        const norm = await dp.update(opt, 1e-2);
        refOpt.zeroGrad();
        for (const seed of [0.5, 0.5]) {
          const t = new Tape(native!, 'f32');
          t.backward(ref.forward(t, b.inputs, B, T, b.targets).loss!, seed);
        }
        const refNorm = refOpt.update(1e-2);
        assert.ok(refNorm > hyper.gradClip, 'the clip is exercised');
        assert.ok(Math.abs(norm - refNorm) < 1e-4 * refNorm, `norm ${norm} vs ${refNorm}`);
        assertClose(dp.model.storage as Float32Array, ref.storage as Float32Array, 1e-5);
        assert.equal(opt.step, step + 1);
        assert.ok(
          (dp.model.gradStorage as Float32Array).every((x) => x === 0),
          'summed gradients zeroed',
        );
        assert.equal(await dp.reduce(), 0, "every replica's gradients zeroed");
      }
      for (const k of ['m', 'v'] as const) for (const [name, x] of opt[k]) assertClose(x, refOpt[k].get(name)!, 1e-4);
      await assert.rejects(dp.update(new AdamW(dp.model.params, native!, hyper), 1e-2), /optimizer made by optimizer\(\)/);
    } finally {
      await dp.close();
    }
  });

  it('replicas read the weights the optimizer updates (one shared copy)', async () => {
    const B = 4,
      T = 16,
      dp = await DataParallel.start(GPT.init(cfg, 3), native!, 2, 2 * T);
    try {
      for (const t of dp.model.params.values()) for (let i = 0; i < t.size; i++) t.data[i] *= 0.5;
      const b = batch(B, T, 5);
      const loss = await dp.accumulate(new Tape(native!, 'f32'), b.inputs, b.targets, B, T);
      const halved = GPT.init(cfg, 3);
      for (const t of halved.params.values()) for (let i = 0; i < t.size; i++) t.data[i] *= 0.5;
      const tape = new Tape(native!, 'f32');
      const ref = halved.forward(tape, b.inputs, B, T, b.targets).loss!.data[0];
      assert.ok(Math.abs(loss - ref) < 1e-5 * ref, `loss ${loss} vs ${ref}`);
    } finally {
      await dp.close();
    }
  });

  it('reports bad shapes, a share too large, a stopped replica and use after close', async () => {
    const T = 16,
      dp = await DataParallel.start(GPT.init(cfg, 3), native!, 2, T);
    const tape = new Tape(native!, 'f32', { recycle: true });
    const b = batch(4, T, 1);
    await assert.rejects(dp.accumulate(tape, b.inputs, b.targets, 3, T), /4\*16 tokens|B\*T = 3\*16/);
    await assert.rejects(dp.accumulate(tape, b.inputs, b.targets, 4, T), /share of 32 tokens exceeds maxTokens 16/);
    const small = batch(2, T, 2);
    assert.ok(Number.isFinite(await dp.accumulate(tape, small.inputs, small.targets, 2, T)));
    await (dp as unknown as { replicas: { worker: { terminate(): Promise<number> } }[] }).replicas[0].worker.terminate();
    await assert.rejects(dp.accumulate(tape, small.inputs, small.targets, 2, T), /replica .*stopped|exited/);
    await dp.close();
    await assert.rejects(dp.accumulate(tape, small.inputs, small.targets, 2, T), /closed/);
  });
});
