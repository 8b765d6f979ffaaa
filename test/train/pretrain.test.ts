// The pretraining loop end to end on a small corpus written here: it learns, logs, checkpoints,
// and a run killed with SIGKILL resumes to exactly the losses of the uninterrupted run.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { configFromDepth } from '../../src/model/index.ts';
import { defaultBackend } from '../../src/tensor/index.ts';
import { writeGrammarCorpus } from '../fixtures/grammar-corpus.ts';
import { defaultAdamW, readMetrics, train, type TrainConfig } from '../../src/train/index.ts';
import { latestCheckpoint, loadCheckpoint } from '../../src/model/index.ts';

const tmp = () => mkdtempSync(join(tmpdir(), 'tetra-train-'));
const bin = join(import.meta.dirname, '../../bin/tetra.js');

function corpus(): string {
  const dir = tmp();
  writeGrammarCorpus(dir);
  return dir;
}

const data = corpus();
const base = (out: string, steps: number): TrainConfig => ({
  data,
  out,
  model: configFromDepth(1, { vocabSize: 264, nEmbd: 64, nHead: 2, contextLength: 64 }),
  batchSize: 8,
  seqLen: 64,
  accum: 2,
  steps,
  optimizer: { ...defaultAdamW, lr: 3e-3 },
  schedule: { minLr: 3e-4, warmup: 5, decay: 'cosine' },
  seed: 7,
  evalEvery: 10,
  evalBatches: 4,
  sampleEvery: 0,
  checkpointEvery: 10,
  keepCheckpoints: 2,
  peakFlops: 1e11,
  tokenizer: { name: 'bytes' },
  resume: false,
});

describe('pretraining', () => {
  it('learns the corpus, logs every metric, and checkpoints', async () => {
    const out = tmp();
    const r = await train(base(out, 150), defaultBackend(), { log: () => {} });
    const m = readMetrics(out);
    assert.equal(m.length, 150);
    for (const k of ['step', 'tokens', 'loss', 'lr', 'grad_norm', 'tok_per_s', 'mfu']) assert.ok(Number.isFinite((m[0] as any)[k]), k);
    assert.equal(m[149].tokens, 150 * 8 * 64 * 2);
    assert.ok(m[0].loss > 4.5, `first loss ${m[0].loss} should be near ln(264) = 5.58`);
    assert.ok(r.valLoss! < 0.5, `validation loss ${r.valLoss} after 150 steps`);
    assert.ok(
      m[149].val_bpb! > 0 && Math.abs(m[149].val_bpb! - m[149].val_loss! / Math.LN2) < 0.1,
      'byte tokens: bits per byte ~ loss / ln 2',
    );
    const ck = loadCheckpoint(latestCheckpoint(join(out, 'checkpoints'))!);
    assert.equal(ck.meta.step, 150);
    assert.equal(ck.optimizer!.step, 150);
  });

  it('refuses to overwrite a run without --resume, and to resume a run that has no checkpoint', async () => {
    const out = tmp();
    await train(base(out, 10), defaultBackend(), { log: () => {} });
    await assert.rejects(train(base(out, 20), defaultBackend(), { log: () => {} }), /already holds checkpoints .* pass --resume/);
    await assert.rejects(
      train({ ...base(tmp(), 20), resume: true }, defaultBackend(), { log: () => {} }),
      /--resume given but .* holds no checkpoint/,
    );
  });

  it('resumes a run killed with SIGKILL to exactly the losses of the uninterrupted run (2 data-parallel replicas)', async () => {
    const straight = tmp(),
      killed = tmp();
    await train({ ...base(straight, 40), replicas: 2 }, defaultBackend(), { log: () => {} });
    const args = [
      'train',
      '--data',
      data,
      '--out',
      killed,
      '--depth',
      '1',
      '--n-embd',
      '64',
      '--n-head',
      '2',
      '--context',
      '64',
      '--batch',
      '8',
      '--seq-len',
      '64',
      '--accum',
      '2',
      '--steps',
      '40',
      '--lr',
      '3e-3',
      '--min-lr-frac',
      '0.1',
      '--warmup',
      '5',
      '--seed',
      '7',
      '--eval-every',
      '10',
      '--eval-batches',
      '4',
      '--sample-every',
      '0',
      '--checkpoint-every',
      '10',
      '--keep',
      '2',
      '--peak-gflops',
      '100',
      '--replicas',
      '2',
    ];
    // Kill the child once it is past its first checkpoint and mid-way to the next.
    // Run from outside the repository: the replicas' workers must find tsx all the same.
    const child = spawn(process.execPath, [bin, ...args], { stdio: 'ignore', cwd: tmpdir() });
    const metrics = join(killed, 'metrics.jsonl');
    await new Promise<void>((done) => {
      const poll = setInterval(() => {
        const lines = existsSync(metrics) ? readFileSync(metrics, 'utf8').split('\n').filter(Boolean).length : 0;
        if (lines >= 13 || child.exitCode !== null) {
          clearInterval(poll);
          child.kill('SIGKILL');
          done();
        }
      }, 2);
    });
    await new Promise((r) => child.once('exit', r));
    assert.equal(child.signalCode, 'SIGKILL', 'the child was killed before it finished');
    assert.ok(readMetrics(killed).length < 40);
    const r = spawnSync(process.execPath, [bin, ...args, '--resume'], { encoding: 'utf8', cwd: tmpdir() });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /resuming from .*step-0000[12]0 at step [12]0/);
    const a = readMetrics(straight),
      b = readMetrics(killed);
    assert.deepEqual(
      b.map((m) => m.step),
      a.map((m) => m.step),
    );
    assert.deepEqual(
      b.map((m) => m.loss),
      a.map((m) => m.loss),
      'losses equal step for step',
    );
    assert.deepEqual(
      b.map((m) => m.val_loss),
      a.map((m) => m.val_loss),
    );
  });
});
