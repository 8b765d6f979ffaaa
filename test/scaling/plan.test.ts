// Ladder plans: runs evenly spaced in log compute, the largest at least 1000x below the target,
// the whole ladder within its budget, and plans that cannot work refused in one line.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { configFromDepth, flopsPerToken } from '../../src/model/index.ts';
import { planLadder, planTable, PlanError } from '../../src/scaling/index.ts';

const base = { vocabSize: 8192, seqLen: 256, flopsPerSecond: 50e9 };

describe('ladder planning', () => {
  it('spreads runs evenly in log compute below the target, within the budget', () => {
    const p = planLadder({ ...base, targetFlops: 2e16, ladderBudgetFlops: 2e13, points: 6 });
    assert.equal(p.runs.length, 6);
    assert.ok(p.ladderFlops <= 2e13 * 1.0001, `ladder ${p.ladderFlops}`);
    assert.ok(p.extrapolation >= 1000 * 0.999, `extrapolation ${p.extrapolation}`);
    const logs = p.runs.map((r) => Math.log10(r.flops));
    const steps = logs.slice(1).map((l, i) => l - logs[i]);
    for (const s of steps) assert.ok(Math.abs(s - 0.4) < 0.01, `log10 steps ${steps}`); // two decades over five steps
    for (const r of [...p.runs, p.target]) {
      const cfg = configFromDepth(r.depth, { vocabSize: 8192, contextLength: 256 });
      assert.equal(r.flops, r.tokens * flopsPerToken(cfg, 256));
      assert.ok(Math.abs(r.minutes - r.flops / 50e9 / 60) < 1e-9);
    }
    assert.ok(
      p.runs.every((r, i) => i === 0 || r.depth >= p.runs[i - 1].depth),
      'bigger runs are never shallower',
    );
    assert.ok(p.target.depth >= p.runs[p.runs.length - 1].depth);
    const table = planTable(p);
    assert.match(table, /^run\s+depth\s+params\s+tokens\s+FLOPs\s+minutes/);
    assert.match(table, /target .* \(\d+x the largest run\)$/);
  });

  it('a small budget shrinks the ladder instead of overspending it', () => {
    const p = planLadder({ ...base, targetFlops: 2e16, ladderBudgetFlops: 3e12, points: 4, span: 10 });
    assert.ok(p.ladderFlops <= 3e12 * 1.0001);
    assert.ok(p.extrapolation > 1000);
  });

  it('refuses fewer than 4 runs, non-positive budgets and a ladder whose runs would be too short', () => {
    assert.throws(
      () => planLadder({ ...base, targetFlops: 2e16, ladderBudgetFlops: 2e13, points: 3 }),
      (e: unknown) => e instanceof PlanError && /at least 4 runs/.test(e.message),
    );
    assert.throws(() => planLadder({ ...base, targetFlops: -1, ladderBudgetFlops: 2e13 }), /targetFlops must be a positive number/);
    assert.throws(
      () => planLadder({ ...base, targetFlops: 2e16, ladderBudgetFlops: 1e6 }),
      /cannot fit the budget: run-01 would train on \d+ tokens/,
    );
  });
});
