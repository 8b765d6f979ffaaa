// `tetra train`: pretrain a GPT on a corpus built by `tetra data build`. Ctrl-C stops after the
// current step and saves a checkpoint; `--resume` continues a run (also one killed outright)
// from its newest checkpoint and reproduces the uninterrupted run's losses.
import { resolve } from 'node:path';
import { readManifest } from '../data/index.ts';
import { configFromDepth } from '../model/index.ts';
import { defaultBackend } from '../tensor/index.ts';
import { openTokenizer, tokenizerRef } from '../tokenizer/index.ts';
import { defaultAdamW, defaultReplicas, nominalPeakFlops, train, type TrainConfig } from '../train/index.ts';
import { numberFlag, UsageError, type Flags } from './args.ts';
import type { Command } from './command.ts';
import { interruptible } from './interrupt.ts';

function trainConfig(f: Flags): TrainConfig {
  const cmd = 'tetra train';
  const num = (k: string, lo: number, hi: number, int = true) => numberFlag(f, k, lo, hi, cmd, int);
  if (!f.data) throw new UsageError(`${cmd}: --data DIR is required (a corpus from \`tetra data build\`)`);
  if (!f.out) throw new UsageError(`${cmd}: --out DIR is required (where checkpoints and metrics go)`);
  const data = resolve(String(f.data));
  const manifest = readManifest(data);
  const steps = num('steps', 1, 1e9);
  const seqLen = num('seq-len', 1, 1 << 20);
  const overrides: Record<string, number | boolean> = {
    vocabSize: manifest.tokenizer.vocabSize,
    contextLength: f.context !== undefined ? num('context', 1, 1 << 20) : seqLen,
  };
  if (f['n-embd'] !== undefined) overrides.nEmbd = num('n-embd', 2, 1 << 16);
  if (f['n-head'] !== undefined) overrides.nHead = num('n-head', 1, 1024);
  if (f['mlp-hidden'] !== undefined) overrides.mlpHidden = num('mlp-hidden', 1, 1 << 18);
  if (f.untied) overrides.tiedEmbeddings = false;
  const lr = num('lr', 0, 10, false);
  return {
    data,
    out: resolve(String(f.out)),
    model: configFromDepth(num('depth', 1, 64), overrides as never),
    batchSize: num('batch', 1, 1 << 16),
    seqLen,
    accum: num('accum', 1, 1 << 16),
    steps,
    optimizer: {
      ...defaultAdamW,
      lr,
      weightDecay: num('weight-decay', 0, 10, false),
      gradClip: num('grad-clip', 0, 1e6, false),
      beta2: num('beta2', 0, 1, false),
    },
    schedule: { minLr: lr * num('min-lr-frac', 0, 1, false), warmup: num('warmup', 0, 1e9), decay: String(f.decay) as 'cosine' },
    seed: num('seed', 0, 2 ** 31),
    evalEvery: num('eval-every', 0, 1e9),
    evalBatches: num('eval-batches', 1, 1e6),
    sampleEvery: num('sample-every', 0, 1e9),
    checkpointEvery: num('checkpoint-every', 0, 1e9),
    keepCheckpoints: num('keep', 1, 1000),
    peakFlops: f['peak-gflops'] !== undefined ? num('peak-gflops', 1e-3, 1e9, false) * 1e9 : nominalPeakFlops(),
    tokenizer: tokenizerRef(manifest.tokenizer.name),
    resume: Boolean(f.resume),
    replicas: f.replicas !== undefined ? num('replicas', 1, 1024) : defaultReplicas(),
  };
}

export const trainCommand: Command = {
  name: 'train',
  summary: 'pretrain a GPT on token shards (resumable; metrics to OUT/metrics.jsonl)',
  usage: 'tetra train --data DIR --out DIR [--depth N] [--steps N] [--batch B] [--seq-len T] [--resume] ...',
  flags: {
    data: { type: 'string', help: 'corpus directory from `tetra data build`' },
    out: { type: 'string', help: 'run directory: checkpoints/, metrics.jsonl' },
    resume: { type: 'boolean', help: "continue from OUT's newest checkpoint" },
    depth: { type: 'number', help: 'model size dial: width 64*depth, depth layers, heads of 64', default: 4 },
    'n-embd': { type: 'number', help: 'override the width' },
    'n-head': { type: 'number', help: 'override the head count' },
    'mlp-hidden': { type: 'number', help: 'override the SwiGLU hidden size' },
    context: { type: 'number', help: 'context length (default: --seq-len)' },
    untied: { type: 'boolean', help: 'separate LM head instead of the tied embedding' },
    steps: { type: 'number', help: 'optimizer steps', default: 1000 },
    batch: { type: 'number', help: 'sequences per micro-batch', default: 12 },
    'seq-len': { type: 'number', help: 'tokens per sequence', default: 256 },
    accum: { type: 'number', help: 'micro-batches per step (gradient accumulation)', default: 1 },
    lr: { type: 'number', help: 'peak learning rate', default: 1e-3 },
    'min-lr-frac': { type: 'number', help: 'final learning rate as a fraction of the peak', default: 0.1 },
    warmup: { type: 'number', help: 'warmup steps', default: 100 },
    decay: { type: 'string', help: 'cosine | linear | constant', default: 'cosine' },
    'weight-decay': { type: 'number', help: 'AdamW weight decay (matrices only)', default: 0.1 },
    beta2: { type: 'number', help: 'AdamW beta2', default: 0.95 },
    'grad-clip': { type: 'number', help: 'clip the global gradient norm (0 = off)', default: 1 },
    seed: { type: 'number', help: 'initialisation and data order', default: 1337 },
    'eval-every': { type: 'number', help: 'validation every N steps (0 = off)', default: 100 },
    'eval-batches': { type: 'number', help: 'validation batches', default: 20 },
    'sample-every': { type: 'number', help: 'log a sample every N steps (0 = off)', default: 500 },
    'checkpoint-every': { type: 'number', help: 'checkpoint every N steps (and at the end)', default: 100 },
    keep: { type: 'number', help: 'checkpoints to keep', default: 3 },
    replicas: {
      type: 'number',
      help:
        'threads that each train on a share of every batch, one kernel thread each (default: the kernel threads; 1 = one OpenMP ' +
        'team over the whole batch)',
    },
    'peak-gflops': { type: 'number', help: 'peak GFLOP/s for MFU (default: nominal for the ISA at 3 GHz)' },
  },
  async run(flags) {
    if (!['cosine', 'linear', 'constant'].includes(String(flags.decay)))
      throw new UsageError(`tetra train: --decay must be cosine, linear or constant, got '${flags.decay}'`);
    const cfg = trainConfig(flags);
    const tok = await openTokenizer(cfg.tokenizer.path ?? cfg.tokenizer.name);
    cfg.decode = (ids) => tok.decode(ids.filter((i) => !tok.isSpecial(i)));
    return interruptible(async (signal) => {
      const r = await train(cfg, defaultBackend(), { signal });
      console.log(JSON.stringify({ step: r.step, loss: r.loss, val_loss: r.valLoss ?? null, out: cfg.out }));
      return 0;
    });
  },
};
