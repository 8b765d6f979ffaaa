// The capability law's parts: held-out addition problems that the corpus never shows, exact pass
// rates from a real model, the report's "solved by every model" restriction, and the power-law fit.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { additionDocument, additionProblems } from '../../src/data/index.ts';
import { configFromDepth, GPT, scoreContinuation } from '../../src/model/index.ts';
import {
  bucketValue,
  capabilityProblems,
  computeLoss,
  fitCapabilityLaw,
  FitError,
  scoreProblems,
  solvedByAll,
  type CapabilityRecord,
} from '../../src/scaling/index.ts';
import { defaultBackend } from '../../src/tensor/index.ts';
import { byteTokenizer } from '../../src/tokenizer/index.ts';

describe('capability law', () => {
  it('problems are right, bucketed by digits, and held out from every corpus document', () => {
    const problems = capabilityProblems(30);
    const lines = new Set(Array.from({ length: 300 }, (_, i) => additionDocument(1, i).split('\n')).flat());
    assert.ok(lines.size > 6000, `${lines.size} distinct lines`);
    for (const p of problems) {
      const [a, b] = p.key.split(' + ').map(BigInt);
      assert.equal(p.answer, `${a + b}\n`);
      assert.equal(p.prompt, `\n${a} + ${b} = `);
      assert.ok(String(a).length === p.digits && String(b).length === p.digits, p.key);
      assert.ok(!lines.has(`${p.key} = ${a + b}`), `${p.key} is held out`);
    }
    for (const line of [...lines].slice(0, 500)) {
      const m = /^(\d+) \+ (\d+) = (\d+)$/.exec(line);
      assert.ok(m && BigInt(m[1]) + BigInt(m[2]) === BigInt(m[3]), line);
    }
    assert.deepEqual(
      additionProblems({ seed: 3, count: 1000, split: 'eval', digits: 1 }).length,
      additionProblems({ seed: 4, count: 1000, split: 'eval', digits: 1 }).length,
      'a small bucket returns all its held-out problems, whatever the seed',
    );
    assert.throws(() => additionProblems({ seed: 1, count: 1, split: 'eval', digits: 0 }), /digits must be/);
  });

  it("a problem's pass rate is the probability of writing exactly its answer", () => {
    const tok = byteTokenizer();
    const model = GPT.init(configFromDepth(1, { vocabSize: tok.vocabSize, contextLength: 64 }), 5);
    const problems = capabilityProblems(3).slice(0, 6);
    const scores = scoreProblems(model, defaultBackend(), (t) => tok.encode(t), problems);
    for (const [i, s] of scores.entries()) {
      const want = scoreContinuation(model, defaultBackend(), tok.encode(problems[i].prompt), tok.encode(problems[i].answer)).logprob;
      assert.equal(s.logPass, want);
      assert.ok(s.logPass < 0 && s.bucket === problems[i].digits);
    }
  });

  it('keeps only problems every model passes, and averages -log pass over them per bucket', () => {
    const rec = (name: string, lp: number[]): CapabilityRecord => ({
      name,
      compute: 1,
      problems: lp.map((logPass, i) => ({ key: `k${i}`, bucket: i < 2 ? 1 : 2, logPass })),
    });
    const a = rec('a', [-1, -5, -2, -0.5]),
      b = rec('b', [-0.5, -1, -6, -0.2]);
    const kept = solvedByAll([a, b], Math.exp(-4.6)); // a budget of 100 samples
    assert.deepEqual([...kept].sort(), ['k0', 'k3']);
    assert.equal(bucketValue(a, 1, kept), 1);
    assert.equal(bucketValue(b, 2, kept), 0.2);
    assert.ok(Number.isNaN(bucketValue(a, 3, kept)));
  });

  it('fits alpha * C^-k back from its own points, and refuses too few', () => {
    const law = { a: 300, b: -0.2, c: 0 };
    const points = [1e9, 1e10, 1e11, 1e12].map((compute) => ({ compute, loss: computeLoss(law, compute) }));
    const fit = fitCapabilityLaw(points);
    assert.ok(Math.abs(fit.b + 0.2) < 1e-9 && Math.abs(fit.a / 300 - 1) < 1e-9, JSON.stringify(fit));
    assert.ok(Math.abs(computeLoss(fit, 1e15) / computeLoss(law, 1e15) - 1) < 1e-9);
    assert.throws(() => fitCapabilityLaw(points.slice(0, 2)), FitError);
    assert.throws(() => fitCapabilityLaw([...points.slice(0, 2), { compute: 1e13, loss: 0 }]), /-E\[log pass\] > 0/);
  });
});
