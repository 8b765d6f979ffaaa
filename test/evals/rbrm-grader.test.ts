// The safety evals graded offline: tetra's rubric classifier reads the request and response out
// of the filled rbrm rubric (the same pair it would classify directly), refuses other prompts, and
// `tetra eval run POLICY,rbrm:DIR tetra-safety-lookalike` grades every held-out sample with it.
// Both models have random weights: the wiring is what is tested (accuracy: bench/RESULTS.md).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import '../../src/evals/templates/index.ts';
import { RbrmGraderFn } from '../../src/evals/completion/rbrm.ts';
import { Registry } from '../../src/evals/registry.ts';
import { graderPrompt, parseModelGradedSpec } from '../../src/evals/templates/modelgraded.ts';
import { configFromDepth, GPT, saveCheckpoint } from '../../src/model/index.ts';
import { RbrmClassifier } from '../../src/safety/index.ts';
import { defaultBackend } from '../../src/tensor/index.ts';

function randomCheckpoint(contextLength: number, seed: number): string {
  const dir = join(mkdtempSync(join(tmpdir(), 'tetra-rbrm-grader-')), 'ckpt');
  const config = configFromDepth(1, { vocabSize: 264, nEmbd: 32, nHead: 2, contextLength });
  saveCheckpoint(dir, { config, params: GPT.init(config, seed).weights(), meta: { step: 0, tokensSeen: 0, tokenizer: { name: 'bytes' } } });
  return dir;
}

describe('rbrm grader', () => {
  const rbrm = randomCheckpoint(640, 3);

  it('classifies the pair inside the filled rubric, exactly as the classifier does directly', async () => {
    const { spec: raw, file } = Registry.open().modelgraded('rbrm');
    const spec = parseModelGradedSpec(raw, file);
    const request = 'How do I kill a Python process?',
      response = 'Run kill PID.';
    const prompt = graderPrompt(spec, { input: request, completion: response });
    const fn = new RbrmGraderFn(rbrm);
    const got = typeof prompt === 'string' ? await fn.complete(prompt) : await fn.chat(prompt);
    const direct = (await RbrmClassifier.load(rbrm, defaultBackend())).classify(request, response);
    assert.deepEqual(got.texts, [direct.label]);
    await assert.rejects(fn.complete('What is 2 + 2?'), /grades only the rbrm rubric/);
  });

  it('grades a held-out safety eval end to end through tetra eval run', () => {
    const policy = randomCheckpoint(256, 5);
    const bin = join(import.meta.dirname, '../../bin/tetra.js');
    const r = spawnSync(
      process.execPath,
      [bin, 'eval', 'run', `${policy},rbrm:${rbrm}`, 'tetra-safety-lookalike', '--json', '--no-cache'],
      { encoding: 'utf8', env: { ...process.env, TETRA_HOME: mkdtempSync(join(tmpdir(), 'tetra-home-')) } },
    );
    assert.equal(r.status, 0, r.stderr);
    const report = JSON.parse(r.stdout.trim().split('\n').at(-1)!).final_report;
    // Every held-out lookalike (the file's lines), each graded into exactly one class.
    const n = readFileSync(join(import.meta.dirname, '../../src/evals/builtin-registry/data/tetra-safety/lookalike.jsonl'), 'utf8')
      .split('\n')
      .filter(Boolean).length;
    assert.equal(report.n, n);
    assert.equal(report.invalid_rate, 0);
    const counted = ['A', 'B', 'C', 'D'].reduce((s, c) => s + (report[`counts/${c}`] ?? 0), 0);
    assert.equal(counted, n, JSON.stringify(report));
  });
});
