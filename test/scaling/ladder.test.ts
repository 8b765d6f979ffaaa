// Running a ladder: finished runs are recorded and never redone, a failure part-way loses nothing,
// a different plan for the same directory is refused; and `tetra scale run` trains a real tiny
// ladder with the ordinary trainer on a corpus written here.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ladderFrontier, ladderPoints, planLadder, readResults, runLadder, type PlannedRun } from '../../src/scaling/index.ts';
import { writeGrammarCorpus } from '../fixtures/grammar-corpus.ts';

const tmp = () => mkdtempSync(join(tmpdir(), 'tetra-ladder-'));
const plan = planLadder({
  targetFlops: 2e12,
  ladderBudgetFlops: 4e10,
  vocabSize: 264,
  seqLen: 64,
  points: 4,
  span: 4,
  minExtrapolation: 10,
  flopsPerSecond: 1e10,
});

describe('ladder runs', () => {
  it('records each finished run once; a ladder stopped by a failure continues where it stopped', async () => {
    const dir = tmp();
    const trained: string[] = [];
    const fake = (failOn: string | null) => async (run: PlannedRun) => {
      if (run.name === failOn) throw new Error('killed');
      trained.push(run.name);
      return { valLoss: 10 / Math.log10(run.flops) };
    };
    await assert.rejects(runLadder(plan, dir, fake('run-03'), { log: () => {} }), /killed/);
    assert.deepEqual(
      readResults(dir).map((r) => r.name),
      ['run-01', 'run-02'],
    );
    await runLadder(plan, dir, fake(null), { log: () => {} });
    assert.deepEqual(trained, ['run-01', 'run-02', 'run-03', 'run-04'], 'nothing trained twice');
    assert.equal(ladderPoints(readResults(dir), 'target').length, 4);
    const other = planLadder({
      targetFlops: 4e12,
      ladderBudgetFlops: 4e10,
      vocabSize: 264,
      seqLen: 64,
      points: 4,
      span: 4,
      minExtrapolation: 10,
      flopsPerSecond: 1e10,
    });
    await assert.rejects(runLadder(other, dir, fake(null), { log: () => {} }), /already holds a different ladder/);
  });

  it('fits the compute-efficient frontier: one noisy run of six is left out and named', () => {
    const r = (name: string, flops: number, valLoss: number) => ({
      name,
      depth: 2,
      width: 16,
      params: 1,
      tokens: 1,
      flops,
      valLoss,
      seconds: 1,
      finishedAt: '',
    });
    const results = [
      r('run-01', 1, 3),
      r('run-02', 2, 3.2),
      r('run-03', 4, 2.8),
      r('run-04', 8, 2.7),
      r('run-05', 16, 2.6),
      r('run-06', 32, 2.5),
    ];
    const { points, dropped } = ladderFrontier(results, 'target');
    assert.deepEqual(dropped, ['run-02']);
    assert.deepEqual(
      points.map((p) => p.compute),
      [1, 4, 8, 16, 32],
    );
    // Two of six dominated is more than a quarter: refused.
    assert.throws(() => ladderFrontier([...results.slice(0, 5), r('run-06', 32, 2.9)], 'target'), /run-02, run-06 are not below/);
  });

  it('refuses to fit a ladder with too few or non-monotone losses, or a diverged run', async () => {
    const dir = tmp();
    await runLadder(plan, dir, async (run) => ({ valLoss: run.name === 'run-03' ? 9 : 3 - Math.log10(run.flops) / 10 }), { log: () => {} });
    // One dominated run of four cannot be dropped: the frontier would hold 3.
    assert.throws(() => ladderPoints(readResults(dir), 'target'), /not monotone: run-03 is not below a cheaper run/);
    assert.throws(() => ladderPoints(readResults(dir).slice(0, 3), 'target'), /3 finished ladder runs; a fit needs at least 4/);
    await assert.rejects(
      runLadder(plan, tmp(), async () => ({ valLoss: Number.NaN }), { log: () => {} }),
      /diverged/,
    );
  });

  it('tetra scale run trains a real tiny ladder, then skips it when run again', () => {
    const data = tmp();
    writeGrammarCorpus(data);
    const dir = tmp(),
      planFile = join(dir, 'plan.in.json');
    const bin = join(import.meta.dirname, '../../bin/tetra.js');
    const tetra = (...a: string[]) => spawnSync(process.execPath, [bin, 'scale', ...a], { encoding: 'utf8' });
    const p = tetra(
      'plan',
      '--target-flops',
      '2e12',
      '--ladder-flops',
      '4e10',
      '--data',
      data,
      '--seq-len',
      '64',
      '--runs',
      '4',
      '--span',
      '4',
      '--min-extrapolation',
      '10',
      '--out',
      planFile,
    );
    assert.equal(p.status, 0, p.stderr);
    const out = join(dir, 'ladder');
    const r = tetra('run', '--plan', planFile, '--data', data, '--out', out);
    assert.equal(r.status, 0, r.stderr);
    const results = readResults(out);
    assert.deepEqual(
      results.map((x) => x.name),
      ['run-01', 'run-02', 'run-03', 'run-04'],
    );
    for (const x of results) assert.ok(x.valLoss > 0 && x.valLoss < 6 && x.valBpb! > 0, JSON.stringify(x));
    assert.ok(results[3].valLoss < results[0].valLoss, 'more compute, lower loss');
    const again = tetra('run', '--plan', planFile, '--data', data, '--out', out);
    assert.equal(again.status, 0);
    assert.equal((again.stderr.match(/already finished, skipped/g) ?? []).length, 4);
    assert.equal(readFileSync(join(out, 'results.jsonl'), 'utf8').trim().split('\n').length, 4);
    const rep = tetra('report', '--dir', out);
    assert.equal(rep.status, 0, rep.stderr);
    assert.match(readFileSync(join(out, 'report.html'), 'utf8'), /<svg[\s\S]*<circle/);

    // The capability law on the same runs: every run's checkpoint scored once, a law per bucket
    // registered for the target, and no score before the target has trained.
    const cap = tetra('capability', '--dir', out, '--min-pass', '0', '--predict', '--json');
    assert.equal(cap.status, 0, cap.stderr);
    const j = JSON.parse(cap.stdout);
    assert.deepEqual(j.kept, [j.kept[0], 50, 50, 50]);
    assert.ok(j.kept[0] >= 5 && j.kept[0] <= 20, `about a tenth of the 100 one-digit sums are held out: ${j.kept[0]}`);
    assert.equal(j.predictions.length, 4);
    for (const row of j.rows) for (const v of row.buckets) assert.ok(v > 0 && Number.isFinite(v), JSON.stringify(row));
    assert.equal(readFileSync(join(out, 'capability.jsonl'), 'utf8').trim().split('\n').length, 4);
    const again2 = tetra('capability', '--dir', out, '--min-pass', '0');
    assert.equal(again2.status, 0, again2.stderr);
    assert.doesNotMatch(again2.stderr, /scored on/, 'a scored run is not scored again');
    const early = tetra('capability', '--dir', out, '--min-pass', '0', '--score');
    assert.equal(early.status, 1);
    assert.match(early.stderr, /target has not finished/);
  });
});
