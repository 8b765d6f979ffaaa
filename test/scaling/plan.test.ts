// Ladder plans: runs evenly spaced in log compute, the largest at least 1000x below the target,
// the whole ladder within its budget, and plans that cannot work refused in one line.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { flopsPerToken, paramCount } from '../../src/model/index.ts';
import { familyConfig, planLadder, planTable, PlanError, runConfig } from '../../src/scaling/index.ts';

const base = { vocabSize: 264, seqLen: 256, flopsPerSecond: 50e9 };

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
      const cfg = runConfig(p, r);
      assert.equal(r.flops, r.tokens * flopsPerToken(cfg, 256));
      assert.equal(r.params, paramCount(cfg));
      assert.equal(r.tokens, r.batch * r.steps * 256, 'whole steps of whole sequences');
      assert.ok(Math.abs(r.minutes - r.flops / 50e9 / 60) < 1e-9);
      // Near the planned tokens per parameter (the width grid is coarse only at the small end).
      assert.ok(r.tokens / r.params > 20 / 2 && r.tokens / r.params < 20 * 2, `${r.name}: ${r.tokens / r.params} tokens per param`);
      assert.ok(Math.abs(r.lr - 4e-3 * Math.sqrt(64 / r.width)) < 1e-12);
    }
    for (const [a, b] of [...p.runs, p.target].slice(1).map((r, i) => [p.runs[i], r])) {
      assert.ok(b.width >= a.width && b.depth >= a.depth, `${b.name} is never narrower or shallower than ${a.name}`);
      assert.ok(b.batch >= a.batch && b.lr <= a.lr, `${b.name}: bigger runs take bigger batches and smaller steps`);
    }
    const table = planTable(p);
    assert.match(table, /^run\s+depth\s+width\s+params\s+tokens\s+batch\s+steps\s+lr\s+FLOPs\s+minutes/);
    assert.match(table, /target .* \(\d+x the largest run\)$/);
  });

  it('a small budget shrinks the ladder instead of overspending it', () => {
    const p = planLadder({ ...base, targetFlops: 2e16, ladderBudgetFlops: 3e12, points: 4, span: 10 });
    assert.ok(p.ladderFlops <= 3e12 * 1.0001);
    assert.ok(p.extrapolation > 1000);
  });

  it('the family keeps two layers at the small end and grows depth with width', () => {
    assert.deepEqual(
      [8, 64, 128, 192, 256, 512].map((w) => familyConfig(w, 264, 64).nLayer),
      [2, 2, 2, 3, 4, 8],
    );
    for (const w of [16, 48, 320]) assert.equal(familyConfig(w, 264, 64).nEmbd / familyConfig(w, 264, 64).nHead, 16);
    for (const w of [8, 24, 40]) assert.equal(familyConfig(w, 264, 64).nEmbd / familyConfig(w, 264, 64).nHead, 8);
    assert.throws(() => familyConfig(20, 264, 64), /multiple of 8/);
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
