// The scaling report: a self-contained page (no scripts, nothing fetched) with the ladder's points,
// the fitted curve and band, the prediction and the measured target, and the table of figures.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { computeLoss, planLadder, scalingReport, type RunResult } from '../../src/scaling/index.ts';

describe('scaling report', () => {
  it('draws every ladder point, the curve, the band, the prediction and the target, and nothing external', () => {
    const plan = planLadder({ targetFlops: 2e14, ladderBudgetFlops: 4e11, vocabSize: 264, seqLen: 64, flopsPerSecond: 1e10 });
    const law = { a: 12, b: -0.12, c: 1.4 };
    const results: RunResult[] = [...plan.runs, plan.target].map((r) => ({
      ...r,
      valLoss: computeLoss(law, r.flops),
      valBpb: 2,
      seconds: 1,
      finishedAt: '',
    }));
    const html = scalingReport({
      plan,
      results,
      law,
      band: [
        { ...law, c: 1.38 },
        { ...law, c: 1.42 },
      ],
      prediction: {
        kind: 'prediction',
        target: 'target',
        targetFlops: plan.target.flops,
        loss: 1.9,
        interval: [1.85, 1.95],
        level: 0.9,
        law,
        ladder: [],
        gitRevision: null,
        seq: 1,
        createdAt: '2026-12-05T00:00:00.000Z',
        prev: '',
        hash: '',
      },
      score: {
        kind: 'score',
        target: 'target',
        measuredLoss: 1.91,
        predictedLoss: 1.9,
        errorPct: 0.52,
        withinInterval: true,
        seq: 3,
        createdAt: '',
        prev: '',
        hash: '',
      },
    });
    assert.equal((html.match(/<circle [^>]*r="4"/g) ?? []).length, plan.runs.length);
    assert.match(html, /<circle [^>]*r="6" fill="#d33"><title>target: /);
    assert.match(html, /<title>bootstrap band<\/title>/);
    assert.match(html, /<title>prediction 1\.9000<\/title>/);
    assert.match(html, /error 0\.52% \(inside the interval\)/);
    assert.ok(html.includes(`${plan.extrapolation.toFixed(0)}x the largest ladder run`) && plan.extrapolation >= 1000);
    assert.doesNotMatch(html, /<script|https?:\/\/(?!www\.w3\.org\/2000\/svg)/);
    assert.doesNotMatch(html, /NaN|undefined/);
  });

  it("draws each capability bucket's law, prediction and measured value, as the report's Figure 2", () => {
    const plan = planLadder({ targetFlops: 2e14, ladderBudgetFlops: 4e11, vocabSize: 264, seqLen: 64, flopsPerSecond: 1e10 });
    const law = { a: 12, b: -0.12, c: 1.4 };
    const results: RunResult[] = plan.runs.map((r) => ({ ...r, valLoss: computeLoss(law, r.flops), seconds: 1, finishedAt: '' }));
    const cap = { a: 400, b: -0.19, c: 0 };
    const entry = { seq: 2, createdAt: '', prev: '', hash: '' };
    const html = scalingReport({
      plan,
      results,
      law,
      capability: [
        {
          prediction: {
            kind: 'prediction',
            target: 'target:addition-1digit',
            targetFlops: plan.target.flops,
            loss: computeLoss(cap, plan.target.flops),
            interval: [0.5, 1.7],
            level: 0.9,
            law: cap,
            ladder: plan.runs.map((r) => ({ compute: r.flops, loss: computeLoss(cap, r.flops) })),
            gitRevision: null,
            ...entry,
          },
          score: {
            kind: 'score',
            target: 'target:addition-1digit',
            measuredLoss: 1.02,
            predictedLoss: 1.22,
            errorPct: 19.6,
            withinInterval: true,
            ...entry,
          },
        },
      ],
    });
    assert.equal((html.match(/<svg /g) ?? []).length, 2);
    assert.match(html, /<h2>Capability: target:addition-1digit<\/h2>/);
    assert.equal((html.match(/<circle [^>]*r="4"/g) ?? []).length, 2 * plan.runs.length, 'the ladder in both figures');
    assert.match(html, /-mean log pass rate/);
    assert.match(html, /measured 1\.0200, predicted 1\.2200, error 19\.60%/);
    assert.doesNotMatch(html, /NaN|undefined/);
  });
});
