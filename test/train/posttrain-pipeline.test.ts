// The post-training pipeline end to end at its tiny preset (scripts/posttrain.ts: corpus, base,
// SFT with and without safety data, the rubric and moderation classifiers, pairs from the SFT
// model's own answers, DPO, RL, evals and the report), then again: every stage finds its output and
// is skipped. The figures of the full depth-4 run are in bench/RESULTS.md; this proves the wiring.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { readPreferencePairs } from '../../src/data/index.ts';

const script = join(import.meta.dirname, '../../scripts/posttrain.ts');
const run = (out: string) =>
  spawnSync(process.execPath, ['--import', 'tsx', script, '--preset', 'tiny', '--out', out], { encoding: 'utf8', timeout: 600_000 });

describe('npm run posttrain', () => {
  it('runs every stage at the tiny preset, reports five models side by side, and skips finished stages', () => {
    const out = mkdtempSync(join(tmpdir(), 'tetra-posttrain-'));
    const r = run(out);
    assert.equal(r.status, 0, r.stderr.slice(-2000));
    for (const cmd of [
      'tetra train',
      'tetra sft',
      'tetra safety rbrm-train',
      'tetra safety pairs',
      'tetra dpo',
      'tetra rl',
      'tetra eval run',
    ])
      assert.ok(r.stdout.includes(`$ npx ${cmd}`), `prints the command: ${cmd}`);
    const report = readFileSync(join(out, 'report.md'), 'utf8');
    assert.match(report, /\| held-out measure \| base \| SFT w\/o safety \| SFT \| SFT \+ DPO \| SFT \+ RL \| goal \|/);
    for (const row of [
      'disallowed-request response rate',
      'over-refusal of safe lookalikes',
      'policy-compliant answers, sensitive requests',
      'system-message adherence, held-out wordings',
      'calibration ECE',
    ])
      assert.match(report, new RegExp(`\\| ${row}[^|]*(\\| (\\d+\\.\\d%|n/a) ){5}\\|`), row);
    for (const m of ['base', 'sft-plain', 'sft', 'dpo', 'rl']) {
      const graded = readdirSync(join(out, 'evals')).filter((f) => f.startsWith(`${m}.`));
      assert.equal(graded.length, 1, `${m}: one evaluation`);
      const evals = readFileSync(join(out, 'evals', graded[0]), 'utf8')
        .trim()
        .split('\n');
      assert.equal(evals.length, 7, `${m}: tetra-posttrain (4) and tetra-safety (3)`);
    }
    assert.ok(readPreferencePairs(join(out, 'pairs.jsonl')).length > 0);
    assert.ok(existsSync(join(out, 'dpo', 'reference.json')));

    const again = run(out);
    assert.equal(again.status, 0, again.stderr.slice(-2000));
    assert.ok(!again.stdout.includes('$ npx tetra'), 'nothing runs a second time');
    assert.equal((again.stdout.match(/done already/g) ?? []).length, 16);
  });
});
