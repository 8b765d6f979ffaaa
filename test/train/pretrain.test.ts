// The pretraining loop end to end on a small corpus written here: it learns, logs, checkpoints,
// and a run killed with SIGKILL resumes to exactly the losses of the uninterrupted run.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ShardWriter, writeManifest, MANIFEST_VERSION } from '../../src/data/index.ts';
import { configFromDepth } from '../../src/model/index.ts';
import { defaultBackend } from '../../src/tensor/index.ts';
import { byteTokenizer } from '../../src/tokenizer/index.ts';
import { defaultAdamW, latestCheckpoint, loadCheckpoint, readMetrics, train, type TrainConfig } from '../../src/train/index.ts';

const tmp = () => mkdtempSync(join(tmpdir(), 'tetra-train-'));
const bin = join(import.meta.dirname, '../../bin/tetra.js');

/** A byte-level corpus of short sentences from a tiny grammar, so there is something to learn. */
function corpus(): string {
  const dir = tmp();
  const tok = byteTokenizer();
  const eot = tok.special('<|endoftext|>');
  const subjects = ['the cat', 'a dog', 'my friend', 'the old man'], verbs = ['sees', 'likes', 'follows'], objects = ['the ball', 'a bird', 'the sun'];
  let k = 0;
  const doc = () => {
    const lines: string[] = [];
    for (let i = 0; i < 6; i++, k++) lines.push(`${subjects[k % 4]} ${verbs[(k * 7) % 3]} ${objects[(k * 5) % 3]}.`);
    return lines.join(' ');
  };
  const splits: Record<string, { documents: number; tokens: number; shards: ReturnType<ShardWriter['close']> }> = {};
  for (const [split, docs] of [['train', 300], ['val', 30]] as const) {
    const w = new ShardWriter(dir, split, tok.idLimit, eot, 20000);
    let tokens = 0;
    for (let d = 0; d < docs; d++) { const ids = tok.encode(doc()); tokens += ids.length + 1; w.writeDocument(ids); }
    splits[split] = { documents: docs, tokens, shards: w.close() };
  }
  const bytes = splits.train.tokens + splits.val.tokens;
  writeManifest(dir, {
    version: MANIFEST_VERSION, name: 'grammar', createdAt: '', tokenizer: { name: 'bytes', vocabSize: tok.idLimit, eotId: eot },
    normalisation: '', dedup: { exact: '', near: '' }, split: { valFraction: 0.1, rule: '' }, shardMaxTokens: 20000, excludedSources: [],
    sources: [{ name: 'grammar', package: 'test', licence: 'test', description: '', files: 1, rawBytes: bytes, documents: 330, textBytes: bytes, keptDocuments: 330, keptBytes: bytes, exactDuplicates: 0, nearDuplicates: 0, tokens: { train: splits.train.tokens, val: splits.val.tokens } }],
    splits: splits as never,
  });
  return dir;
}

const data = corpus();
const base = (out: string, steps: number): TrainConfig => ({
  data, out,
  model: configFromDepth(1, { vocabSize: 264, nEmbd: 64, nHead: 2, contextLength: 64 }),
  batchSize: 8, seqLen: 64, accum: 2, steps,
  optimizer: { ...defaultAdamW, lr: 3e-3 },
  schedule: { minLr: 3e-4, warmup: 5, decay: 'cosine' },
  seed: 7, evalEvery: 10, evalBatches: 4, sampleEvery: 0, checkpointEvery: 10, keepCheckpoints: 2,
  peakFlops: 1e11, tokenizer: { name: 'bytes' }, resume: false,
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
    assert.ok(m[149].val_bpb! > 0 && Math.abs(m[149].val_bpb! - m[149].val_loss! / Math.LN2) < 0.1, 'byte tokens: bits per byte ~ loss / ln 2');
    const ck = loadCheckpoint(latestCheckpoint(join(out, 'checkpoints'))!);
    assert.equal(ck.meta.step, 150);
    assert.equal(ck.optimizer!.step, 150);
  });

  it('refuses to overwrite a run without --resume, and to resume a run that has no checkpoint', async () => {
    const out = tmp();
    await train(base(out, 10), defaultBackend(), { log: () => {} });
    await assert.rejects(train(base(out, 20), defaultBackend(), { log: () => {} }), /already holds checkpoints .* pass --resume/);
    await assert.rejects(train({ ...base(tmp(), 20), resume: true }, defaultBackend(), { log: () => {} }), /--resume given but .* holds no checkpoint/);
  });

  it('resumes a run killed with SIGKILL to exactly the losses of the uninterrupted run', async () => {
    const straight = tmp(), killed = tmp();
    await train(base(straight, 40), defaultBackend(), { log: () => {} });
    const args = ['train', '--data', data, '--out', killed, '--depth', '1', '--n-embd', '64', '--n-head', '2', '--context', '64',
      '--batch', '8', '--seq-len', '64', '--accum', '2', '--steps', '40', '--lr', '3e-3', '--min-lr-frac', '0.1', '--warmup', '5',
      '--seed', '7', '--eval-every', '10', '--eval-batches', '4', '--sample-every', '0', '--checkpoint-every', '10', '--keep', '2', '--peak-gflops', '100'];
    // Kill the child once it is past its first checkpoint and mid-way to the next.
    const child = spawn(process.execPath, [bin, ...args], { stdio: 'ignore' });
    const metrics = join(killed, 'metrics.jsonl');
    await new Promise<void>((done) => {
      const poll = setInterval(() => {
        const lines = existsSync(metrics) ? readFileSync(metrics, 'utf8').split('\n').filter(Boolean).length : 0;
        if (lines >= 13 || child.exitCode !== null) { clearInterval(poll); child.kill('SIGKILL'); done(); }
      }, 2);
    });
    await new Promise((r) => child.once('exit', r));
    assert.equal(child.signalCode, 'SIGKILL', 'the child was killed before it finished');
    assert.ok(readMetrics(killed).length < 40);
    const r = spawnSync(process.execPath, [bin, ...args, '--resume'], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /resuming from .*step-0000[12]0 at step [12]0/);
    const a = readMetrics(straight), b = readMetrics(killed);
    assert.deepEqual(b.map((m) => m.step), a.map((m) => m.step));
    assert.deepEqual(b.map((m) => m.loss), a.map((m) => m.loss), 'losses equal step for step');
    assert.deepEqual(b.map((m) => m.val_loss), a.map((m) => m.val_loss));
  });
});
