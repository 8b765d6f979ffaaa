// sample(): top-k without sorting the vocabulary must still pick only among the k best logits
// (ties broken toward the lower id) with softmax frequencies.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { argmax, sample } from '../../src/model/index.ts';
import { Rng } from '../../src/tensor/index.ts';

describe('sampling', () => {
  const logits = Float32Array.from({ length: 500 }, (_, i) => Math.sin(i * 12.9898) * 3);

  it('top-k 1 is greedy, and a tie goes to the lower id', () => {
    const rng = new Rng(1);
    assert.equal(sample(logits, { temperature: 1, topK: 1 }, rng), argmax(logits));
    const tied = Float32Array.of(0, 2, 1, 2, 2);
    assert.equal(sample(tied, { temperature: 1, topK: 1 }, rng), 1);
  });

  it('top-k draws only from the k best, at their softmax frequencies', () => {
    const rng = new Rng(2),
      k = 5,
      n = 20000;
    const best = [...logits.keys()].sort((a, b) => logits[b] - logits[a]).slice(0, k);
    const counts = new Map<number, number>();
    for (let i = 0; i < n; i++) {
      const t = sample(logits, { temperature: 1, topK: k }, rng);
      counts.set(t, (counts.get(t) ?? 0) + 1);
    }
    assert.deepEqual(
      [...counts.keys()].sort((a, b) => a - b),
      [...best].sort((a, b) => a - b),
    );
    const z = best.reduce((s, i) => s + Math.exp(logits[i]), 0);
    for (const i of best) assert.ok(Math.abs(counts.get(i)! / n - Math.exp(logits[i]) / z) < 0.02, `token ${i}`);
  });
});
