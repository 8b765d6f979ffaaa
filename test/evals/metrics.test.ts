import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { bootstrapMean, bootstrapDiff, calibration, seededRandom, accuracyMetrics, binaryF1 } from '../../src/evals/metrics.ts';

describe('bootstrap confidence intervals', () => {
  it('cover the true mean about 95% of the time in a seeded simulation', () => {
    const r = seededRandom(42);
    const p = 0.7,
      trials = 200,
      n = 200;
    let covered = 0;
    for (let t = 0; t < trials; t++) {
      const xs = Array.from({ length: n }, () => (r() < p ? 1 : 0));
      const iv = bootstrapMean(xs, { resamples: 500, seed: t });
      if (iv.low <= p && p <= iv.high) covered++;
    }
    const rate = covered / trials;
    assert.ok(rate >= 0.9 && rate <= 0.99, `coverage ${rate}`);
  });

  it('is reproducible for a seed, narrows with n, and brackets the sample mean', () => {
    const xs = [1, 0, 1, 1, 0, 1, 1, 1, 0, 1];
    assert.deepEqual(bootstrapMean(xs, { seed: 3 }), bootstrapMean(xs, { seed: 3 }));
    const small = bootstrapMean(xs),
      big = bootstrapMean(Array.from({ length: 50 }, () => xs).flat());
    assert.ok(big.high - big.low < small.high - small.low);
    assert.ok(small.low <= 0.7 && small.high >= 0.7);
    const m = accuracyMetrics([true, false, true, true]);
    assert.equal(m.accuracy, 0.75);
    assert.equal(m.n, 4);
  });

  it('pairs run differences: identical runs give a zero-width interval at 0', () => {
    const a = [1, 0, 1, 0, 1],
      d = bootstrapDiff(a, a);
    assert.deepEqual([d.mean, d.low, d.high], [0, 0, 0]);
  });

  it('computes binary F1 from predicted and true labels', () => {
    assert.deepEqual(binaryF1([true, true, false, false], [true, false, true, false]), { precision: 0.5, recall: 0.5, f1: 0.5 });
  });
});

describe('expected calibration error', () => {
  it('matches a hand-computed case over equal-width bins', () => {
    // 10 bins. Bin [0.2,0.3): conf 0.25 x2, 1 correct -> acc 0.5, |0.5-0.25| = 0.25, weight 2/6.
    // Bin [0.9,1.0]: conf 0.9, 0.95, 1.0, 0.95 (mean 0.95), 3 correct -> acc 0.75, gap 0.2, weight 4/6.
    const conf = [0.25, 0.25, 0.9, 0.95, 1.0, 0.95];
    const ok = [true, false, true, true, true, false];
    const c = calibration(conf, ok, 10);
    assert.ok(Math.abs(c.ece - ((2 / 6) * 0.25 + (4 / 6) * 0.2)) < 1e-12, `ece ${c.ece}`);
    assert.equal(c.bins[2].count, 2);
    assert.equal(c.bins[9].count, 4, 'confidence 1.0 falls in the last bin');
    assert.equal(c.bins[5].accuracy, null);
    // Fewer bins merge them: one bin -> |mean acc - mean conf|.
    const one = calibration(conf, ok, 1);
    assert.ok(Math.abs(one.ece - Math.abs(4 / 6 - conf.reduce((a, b) => a + b) / 6)) < 1e-12);
    assert.throws(() => calibration([1.2], [true]), /outside \[0, 1\]/);
  });
});
