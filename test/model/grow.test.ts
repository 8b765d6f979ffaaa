// Growing a model (src/model/grow.ts): a checkpoint carried into a deeper config, and a text one
// given image input, computes what it did, and the added block learns from the first step.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { configFromDepth, GPT, grownWeights } from '../../src/model/index.ts';
import { refBackend, Tape } from '../../src/tensor/index.ts';

const be = refBackend;
const vision = { imageSize: 16, patchSize: 8, stem: 8, xy: true };
const cfg = configFromDepth(2, { vocabSize: 40, nEmbd: 32, nHead: 2, contextLength: 32, vision });
const tokens = Int32Array.from([1, 2, 3, 3, 3, 3, 4, 5, 6, 7]);
const images = { pixels: Float32Array.from({ length: 16 * 16 * 3 }, (_, i) => ((i * 37) % 11) / 10), at: [2] };
const logits = (m: GPT) => m.forward(new Tape(be, 'f32', { grad: false }), tokens, 1, tokens.length, undefined, -1, images).logits.data;

describe('grownWeights', () => {
  const old = GPT.init(cfg, 3);
  // Norm gains of 1 would hide a norm read from the wrong block: make the old weights distinct.
  for (const [k, w] of old.weights()) if (k.endsWith('norm')) w.forEach((_, i) => (w[i] = 1 + 0.1 * Math.sin(i + k.length)));

  it('one and two blocks on top: every old tensor kept, the added blocks silent, the same logits', () => {
    for (const add of [1, 2]) {
      const deep = { ...cfg, nLayer: cfg.nLayer + add };
      const w = grownWeights(old.weights(), deep, 9);
      for (const [k, v] of old.weights()) assert.deepEqual(w.get(k), v, k);
      for (let l = cfg.nLayer; l < deep.nLayer; l++) {
        assert.ok(
          w.get(`blocks.${l}.wo`)!.every((x) => x === 0),
          `blocks.${l}.wo`,
        );
        assert.ok(
          w.get(`blocks.${l}.w_down`)!.every((x) => x === 0),
          `blocks.${l}.w_down`,
        );
        assert.ok(
          w.get(`blocks.${l}.wq`)!.some((x) => x !== 0),
          `blocks.${l}.wq starts fresh, not zero`,
        );
      }
      assert.deepEqual(logits(new GPT(deep, w)), logits(old));
    }
  });

  it('a text model given image input keeps its text logits', () => {
    const text = GPT.init({ ...cfg, vision: undefined }, 4);
    const w = grownWeights(text.weights(), cfg, 9);
    const ids = Int32Array.from([5, 6, 7, 8]);
    const run = (m: GPT) => m.forward(new Tape(be, 'f32', { grad: false }), ids, 1, ids.length).logits.data;
    assert.deepEqual(run(new GPT(cfg, w)), run(text));
    assert.ok(
      w.get('vision.patch_in')!.some((x) => x !== 0),
      'vision weights start fresh',
    );
  });

  it('the added block learns: its output projections get gradients at step 0, its inputs once they move', () => {
    const deep = { ...cfg, nLayer: cfg.nLayer + 1 };
    const m = new GPT(deep, grownWeights(old.weights(), deep, 9));
    const tape = new Tape(be, 'f32');
    const targets = Int32Array.from([2, 3, 3, 3, 3, 4, 5, 6, 7, 8]);
    const { loss } = m.forward(tape, tokens, 1, tokens.length, targets, -1, images);
    tape.backward(loss!);
    const grad = (k: string) => m.params.get(k)!.grad ?? new Float32Array(1);
    assert.ok(grad('blocks.2.wo').some((x) => x !== 0) && grad('blocks.2.w_down').some((x) => x !== 0));
    // Silent block: nothing upstream of its projections is reached yet.
    assert.ok(grad('blocks.2.wq').every((x) => x === 0));
  });

  it('refuses a config the old weights do not fit', () => {
    assert.throws(() => grownWeights(old.weights(), { ...cfg, nLayer: 1 }, 9), /blocks\.1\.\w+ has no place in the new config/);
    assert.throws(() => grownWeights(old.weights(), { ...cfg, vision: undefined }, 9), /vision\.\w+ has no place/);
    assert.throws(() => grownWeights(old.weights(), { ...cfg, mlpHidden: 64 }, 9), /w_gate_up holds 6144 values, the new config's 4096/);
  });
});
