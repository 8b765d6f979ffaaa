// The speedrun end to end at its tiny preset (scripts/speedrun.ts: corpus, ladder, prediction,
// pretraining, post-training, release, report card), then again: every stage finds its output and
// is skipped. The release it ships is what `tetra start` serves; the default-size run's figures
// are in models/<snapshot>/REPORT.md.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { checkpointInfo, newestRelease, readSafetensors } from '../../src/model/index.ts';

const script = join(import.meta.dirname, '../../scripts/speedrun.ts');

describe('npm run speedrun', () => {
  it('runs every stage at the tiny preset, ships a release with its report card, and skips finished stages', () => {
    const out = mkdtempSync(join(tmpdir(), 'tetra-speedrun-'));
    const models = join(out, 'models');
    const run = () =>
      spawnSync(
        process.execPath,
        ['--import', 'tsx', script, '--preset', 'tiny', '--out', out, '--ship', models, '--snapshot', 'tetra-0-2026-01-01'],
        {
          encoding: 'utf8',
          timeout: 900_000,
        },
      );
    const r = run();
    assert.equal(r.status, 0, r.stderr.slice(-2000));
    for (const cmd of ['tetra data build', 'tetra scale plan', 'tetra scale run', 'tetra scale predict', 'tetra export release'])
      assert.ok(r.stdout.includes(`$ npx ${cmd}`), `prints the command: ${cmd}`);
    assert.match(r.stdout, /\[pretrain\] stage 5\/10, \d+ min so far, about \d+ min to go/);
    const release = newestRelease(models)!;
    assert.equal(release, join(models, 'tetra-0-2026-01-01'));
    assert.equal(checkpointInfo(release).meta.tokenizer?.name, 'bytes');
    assert.ok([...readSafetensors(join(release, 'model.safetensors')).tensors.values()].every((t) => t.dtype === 'F16'));
    const report = readFileSync(join(release, 'REPORT.md'), 'utf8');
    for (const section of ['## Goals', '## Predictable scaling', '## Evals', '## Safety', '## Calibration', '## What this model cannot do'])
      assert.ok(report.includes(section), section);
    assert.match(report, /\| disallowed-request response rate \(harmful: C \+ D\) \|( (\d+\.\d%|n\/a) \|){5}/);
    const html = readFileSync(join(release, 'report.html'), 'utf8');
    assert.match(html, /<svg[^>]+reliability diagram/);
    assert.ok(existsSync(join(release, 'README.md')));
    const log = readFileSync(join(out, 'speedrun.log'), 'utf8');
    assert.match(log, /stage pretrain/);

    const again = run();
    assert.equal(again.status, 0, again.stderr.slice(-2000));
    assert.ok(!again.stdout.includes('$ npx tetra'), 'nothing runs a second time');
    assert.equal((again.stdout.match(/done already/g) ?? []).length, 10);
  });
});
