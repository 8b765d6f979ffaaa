// `tetra scale plan` and `tetra scale fit` as a user runs them: a plan table and JSON file, a
// fitted law with its interval, and one line with exit 1 for a ladder that cannot work.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { computeLoss } from '../../src/scaling/index.ts';

const bin = join(import.meta.dirname, '../../bin/tetra.js');
const tetra = (...args: string[]) => {
  const r = spawnSync(process.execPath, [bin, 'scale', ...args], { encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
};

describe('tetra scale', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tetra-scale-'));

  it('plan prints the ladder and writes it as JSON', () => {
    const out = join(dir, 'plan.json');
    const r = tetra('plan', '--target-flops', '2e16', '--ladder-flops', '2e13', '--vocab-size', '8192', '--gflops', '50', '--out', out);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^run\s+depth/);
    const plan = JSON.parse(readFileSync(out, 'utf8'));
    assert.equal(plan.runs.length, 6);
    assert.ok(plan.extrapolation >= 999 && plan.ladderFlops <= 2e13 * 1.0001);
  });

  it("fit extrapolates the ladder's losses with an interval", () => {
    const law = { a: 12, b: -0.12, c: 1.4 };
    const points = [1e9, 3e9, 1e10, 3e10, 1e11, 3e11].map((compute) => ({ compute, loss: computeLoss(law, compute) }));
    const file = join(dir, 'points.json');
    writeFileSync(file, JSON.stringify(points));
    const r = tetra('fit', '--points', file, '--target-flops', '3e14', '--json');
    assert.equal(r.code, 0, r.stderr);
    const j = JSON.parse(r.stdout);
    assert.ok(Math.abs(j.predicted_loss / computeLoss(law, 3e14) - 1) < 1e-3, r.stdout);
    assert.ok(j.interval[0] <= j.predicted_loss && j.predicted_loss <= j.interval[1]);
  });

  it('predict registers before the start, start records it, score reports the error; a late prediction is refused', () => {
    const law = { a: 12, b: -0.12, c: 1.4 };
    const file = join(dir, 'ladder.json');
    writeFileSync(
      file,
      JSON.stringify([1e9, 3e9, 1e10, 3e10, 1e11, 3e11].map((compute) => ({ compute, loss: computeLoss(law, compute) }))),
    );
    const registry = join(dir, 'predictions.jsonl');
    const p = tetra('predict', '--points', file, '--target-flops', '3e14', '--target', 'big', '--registry', registry);
    assert.equal(p.code, 0, p.stderr);
    assert.match(p.stdout, /registered as entry 1 of .*predictions\.jsonl/);
    assert.equal(tetra('start', '--target', 'big', '--registry', registry).code, 0);
    const s = tetra('score', '--target', 'big', '--loss', String(computeLoss(law, 3e14)), '--registry', registry, '--json');
    assert.equal(s.code, 0, s.stderr);
    assert.ok(JSON.parse(s.stdout).errorPct < 0.1);
    assert.equal(tetra('start', '--target', 'late', '--registry', registry).code, 0);
    const late = tetra('predict', '--points', file, '--target-flops', '3e14', '--target', 'late', '--registry', registry);
    assert.equal(late.code, 1);
    assert.match(late.stderr, /already started training/);
  });

  it('a ladder that cannot fit its budget, or too few points, is one line and exit 1', () => {
    const r = tetra('plan', '--target-flops', '2e15', '--ladder-flops', '1e6', '--vocab-size', '8192');
    assert.equal(r.code, 1);
    assert.equal(r.stderr.trim().split('\n').length, 1);
    assert.match(r.stderr, /cannot fit the budget/);
    const file = join(dir, 'three.json');
    writeFileSync(
      file,
      JSON.stringify([
        { compute: 1, loss: 3 },
        { compute: 10, loss: 2.5 },
        { compute: 100, loss: 2.2 },
      ]),
    );
    const f = tetra('fit', '--points', file, '--target-flops', '1e6');
    assert.equal(f.code, 1);
    assert.match(f.stderr, /3 points; a fit needs at least 4/);
    assert.equal(tetra('plan').code, 2, 'missing flags are a usage error');
  });
});
