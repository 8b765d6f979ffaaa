import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Registry } from '../../src/evals/registry.ts';
import { runEval } from '../../src/evals/runner.ts';
import { DummyCompletionFn } from '../../src/evals/completion/index.ts';
import { compareRuns, formatComparison, formatSideBySide, htmlReport, openRun, readRunLog, summaryTable } from '../../src/evals/index.ts';
import { isolateHome, jsonl, tempTree } from './helpers.ts';

// A custom eval that reports a confidence per sample, as multiple-choice templates do.
const root = tempTree({
  'evals/r.yaml':
    [
      'quiz:\n  id: quiz.dev.v0\nquiz.dev.v0:\n  class: tetra.match\n  args: {samples_jsonl: quiz.jsonl}',
      'conf:\n  id: conf.dev.v0\nconf.dev.v0:\n  class: ./conf.ts:Confident\n  args: {samples_jsonl: quiz.jsonl}',
    ].join('\n') + '\n',
  'evals/conf.ts': `export class Confident {
    async evalSample(s, ctx) { const c = (await ctx.completionFns[0].chat([{ role: 'user', content: s.input }], {})).texts[0]; return { sampleId: ctx.sampleId, correct: c === s.ideal, confidence: (ctx.index % 10) / 10 + 0.05 }; }
    aggregate(rs) { return { accuracy: rs.filter((r) => r.correct).length / rs.length }; }
  }`,
  'data/quiz.jsonl': jsonl([
    { input: 'Pick <b>A</b> & "quote"', ideal: 'A' },
    { input: 'Pick B', ideal: 'B' },
    { input: 'Pick A again', ideal: 'A' },
    { input: 'Pick C', ideal: 'C' },
  ]),
});

describe('reports and comparisons', () => {
  const home = isolateHome();

  it('writes a self-contained HTML page with every sample, the metrics and a calibration plot', async () => {
    const r = await runEval({
      registry: new Registry([root]),
      evalName: 'conf',
      completionFns: [new DummyCompletionFn('A')],
      db: null,
      progress: null,
    });
    const html = htmlReport(readRunLog(r.recordPath));
    for (const id of ['conf.dev.0', 'conf.dev.1', 'conf.dev.2', 'conf.dev.3']) assert.ok(html.includes(`>${id}<`), id);
    assert.ok(html.includes('Pick &lt;b&gt;A&lt;/b&gt; &amp; &quot;quote&quot;'), 'sample text is escaped');
    assert.match(html, /<svg[^>]*aria-label="Reliability diagram"/);
    assert.match(html, /ECE \d\.\d{4}, 10 bins, n=4/);
    assert.match(html, /<td>accuracy<\/td><td>0\.5000<\/td>/);
    assert.ok(
      !/(src|href)\s*=\s*["']?(https?:)?\/\//i.test(html) && !/url\(\s*["']?https?:/i.test(html) && !/https?:\/\//.test(html),
      'no external URLs',
    );
    assert.ok(html.includes('id="q"') && html.includes('data-verdict="incorrect"'), 'filter controls and verdicts');
  });

  it('shows per-metric differences with intervals and the samples that flipped', async () => {
    const registry = new Registry([root]);
    const a = await runEval({ registry, evalName: 'quiz', completionFns: [new DummyCompletionFn('A')], db: null, progress: null });
    const b = await runEval({ registry, evalName: 'quiz', completionFns: [new DummyCompletionFn('B')], db: null, progress: null });
    const c = compareRuns(readRunLog(a.recordPath), readRunLog(b.recordPath));
    const acc = c.metrics.find((m) => m.metric === 'accuracy')!;
    assert.equal(acc.diff, 0.25 - 0.5);
    assert.ok(acc.paired && acc.ci!.low <= acc.diff && acc.diff <= acc.ci!.high);
    assert.deepEqual(
      c.flips.map((f) => `${f.sampleId}:${f.from}->${f.to}`),
      ['quiz.dev.0:correct->incorrect', 'quiz.dev.1:incorrect->correct', 'quiz.dev.2:correct->incorrect'],
    );
    const text = formatComparison(c);
    assert.match(text, /flipped samples: 3/);
    assert.match(text, /accuracy\s+0\.5000\s+0\.2500\s+-0\.2500\s+\[/);

    // Three or more runs (base / SFT / DPO, say): side by side, each against the first.
    const d = await runEval({ registry, evalName: 'quiz', completionFns: [new DummyCompletionFn('A')], db: null, progress: null });
    const side = formatSideBySide([a, b, d].map((r) => readRunLog(r.recordPath)));
    assert.match(side, /^A: .*\nB: .*\nC: /);
    assert.match(side, /accuracy\s+0\.5000\s+0\.2500 \(-0\.2500\)\s+0\.5000 \(\+0\.0000\)/);
  });

  it('runs end to end from the command line: run, report by run id, compare', () => {
    const env = { ...process.env, TETRA_HOME: home };
    const cli = (...args: string[]) =>
      spawnSync(process.execPath, [join(import.meta.dirname, '../../bin/tetra.js'), 'eval', ...args], { env, encoding: 'utf8' });
    const r1 = cli('run', 'dummy', 'quiz', '--registry', root, '--json');
    assert.equal(r1.status, 0, r1.stderr);
    const run1 = JSON.parse(r1.stdout.trim().split('\n').pop()!);
    const r2 = cli('run', 'tetra-dummy', 'quiz', '--registry', root, '--max-samples', '3', '--concurrency', '2', '--seed', '7');
    assert.equal(r2.status, 0, r2.stderr);
    assert.match(r2.stdout, /accuracy\s+0\.0000\s+\[0\.0000, 0\.0000\]/);
    const runId2 = /tetra eval report (\S+)/.exec(r2.stdout)![1];
    const rep = cli('report', runId2);
    assert.equal(rep.status, 0, rep.stderr);
    const out = /report: (\S+\.html)/.exec(rep.stdout)![1];
    assert.ok(existsSync(out) && readFileSync(out, 'utf8').includes('quiz.dev.'));
    const cmp = cli('compare', run1.run_id, runId2);
    assert.equal(cmp.status, 0, cmp.stderr);
    assert.match(cmp.stdout, /flipped samples: \d/);
    const bad = cli('run', 'dummy', 'no-such-eval', '--registry', root);
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /no eval named "no-such-eval"/);
    assert.equal(cli('frobnicate').status, 2);
    assert.ok(summaryTable(openRun(run1.record)).includes('quiz.dev.v0'));
  });
});
