// DPO pairs from the policy's own answers: the ranking rule (best against clearly worse ones,
// the ideal first among equals, duplicates once), and `tetra safety pairs` sampling a real model
// and scoring with a real (briefly trained) rubric classifier, every pair it writes readable by
// `tetra dpo` and ranked by the scores it claims.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { generateInstructions, generateSafety, readPreferencePairs } from '../../src/data/index.ts';
import { pairsOf, RbrmClassifier, safetyReward, scoreAnswer, trainRbrm } from '../../src/safety/index.ts';
import { defaultBackend } from '../../src/tensor/index.ts';
import { pretrainTinyBase } from '../fixtures/tiny-base.ts';

const tmp = () => mkdtempSync(join(tmpdir(), 'tetra-pairs-'));
const bin = join(import.meta.dirname, '../../bin/tetra.js');

describe('preference pairs from sampled answers', () => {
  it('pairs the best answer with each clearly worse one, worst first, the ideal first among equals', () => {
    const c = (text: string, score: number, ideal = false) => ({ text, score, ideal });
    const got = pairsOf([c('ideal', 1, true), c('same', 1), c('ok', 0.8), c('bad', -0.2), c('worse', -1), c('worse ', -1), c('', -1)], {
      margin: 0.5,
      perPrompt: 5,
    });
    assert.deepEqual(
      got.map(([a, b]) => [a.text, b.text]),
      [
        ['ideal', 'worse'],
        ['ideal', 'bad'],
      ],
    );
    assert.equal(pairsOf([c('ideal', 1, true), c('x', 1)], { margin: 0.5, perPrompt: 2 }).length, 0, 'nothing to prefer');
    assert.equal(pairsOf([c('ideal', 1, true), c('a', 0), c('b', 0)], { margin: 0.5, perPrompt: 1 }).length, 1);
  });

  it('tetra safety pairs: sampled answers ranked by the rubric classifier and by correctness', async () => {
    const base = await pretrainTinyBase(10);
    const rbrmDir = tmp();
    await trainRbrm({ out: rbrmDir, steps: 6, depth: 1, log: () => {} }, defaultBackend());
    const dir = tmp(),
      prompts = join(dir, 'prompts.jsonl'),
      out = join(dir, 'pairs.jsonl');
    const rows = [
      ...generateSafety({ seed: 1, count: 6, split: 'train' }).map((s) => ({ input: s.input, ideal: s.ideal, kind: s.kind })),
      ...generateInstructions({ seed: 1, count: 6, split: 'train' }).map((s) => ({ input: s.input, ideal: s.ideal })),
    ];
    writeFileSync(prompts, rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
    const r = spawnSync(
      process.execPath,
      [
        bin,
        'safety',
        'pairs',
        '--policy',
        base,
        '--rbrm',
        rbrmDir,
        '--prompts',
        prompts,
        '--out',
        out,
        '--samples',
        '3',
        '--max-tokens',
        '16',
      ],
      { encoding: 'utf8' },
    );
    assert.equal(r.status, 0, r.stderr);
    const report = JSON.parse(r.stdout);
    assert.equal(report.prompts, 12);
    const pairs = readPreferencePairs(out);
    assert.equal(pairs.length, report.pairs);
    // A barely trained model never writes the ideal answer: every task prompt yields a pair.
    assert.ok(pairs.length >= 6, `${pairs.length} pairs`);
    const rbrm = await RbrmClassifier.load(rbrmDir, defaultBackend());
    const byPrompt = new Map(rows.map((x) => [JSON.stringify(x.input), x]));
    for (const p of pairs) {
      const prompt = byPrompt.get(JSON.stringify(p.prompt))!;
      assert.ok(prompt, 'each pair answers one of the prompts');
      const score = (t: string) => (t === prompt.ideal ? 1 : scoreAnswer(prompt, t, rbrm));
      assert.ok(score(p.chosen) - score(p.rejected) >= 0.5 - 1e-9, `${p.chosen} over ${p.rejected}`);
    }
    // A sensitive request's answer scores half for naming real help: the same class, one point apart.
    const sensitive = {
      input: [{ role: 'user' as const, content: 'Nothing feels worth it anymore.' }],
      ideal: '',
      kind: 'sensitive' as const,
    };
    const helped = 'Please call a crisis line such as 988 today.',
      plain = 'Please call a friend such as Sam today.';
    const s = (text: string, category?: string) => scoreAnswer({ ...sensitive, category }, text, rbrm);
    const safety = (text: string) => safetyReward('sensitive', rbrm.classify(sensitive.input[0].content, text).scores);
    assert.ok(Math.abs(s(helped, 'self-harm') - (safety(helped) + 1) / 2) < 1e-9);
    assert.ok(Math.abs(s(plain, 'self-harm') - (safety(plain) - 1) / 2) < 1e-9);
    assert.equal(s(plain), safety(plain), 'no category, no compliance term');
    const missing = spawnSync(process.execPath, [bin, 'safety', 'pairs', '--policy', base, '--prompts', prompts, '--out', out], {
      encoding: 'utf8',
    });
    assert.equal(missing.status, 2);
    assert.match(missing.stderr, /safety prompts; --rbrm DIR is required/);
  });
});
