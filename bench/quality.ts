// Quality anchor: nanoGPT's CPU configuration trained for 2,000 iterations on the character-level
// corpus (bench/char-corpus.ts) by tetra and by PyTorch (bench/train_pytorch.py), then the mean
// validation loss over the same 20 validation batches on both sides.
//
//   npx tsx bench/quality.ts [--side both|tetra|pytorch] [--iters 2000] [--torch-threads 2]
//
// Same on both sides: the model (tetra's architecture: 4 layers, 4 heads, C 128, SwiGLU H 352,
// RoPE, RMSNorm, tied head; T 64, B 12), AdamW (lr 1e-3, betas 0.9/0.99, eps 1e-8, weight decay
// 0.1 on matrices only, global-norm clip 1), schedule (100 warmup steps, cosine to 1e-4 at step
// 2,000), init rule, seed 1337 for the data order, and the batches themselves (the Python side
// reimplements src/data/loader.ts's window order). Not the same: the initial weights' random
// numbers and float rounding. tetra trains through src/train/pretrain.ts's train(), exactly as
// `tetra train` does (data-parallel replicas, one per kernel thread); the runs take minutes (PyTorch's several times tetra's).
import { torchOmpWaitPolicy } from './omp-env.ts';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { configFromDepth } from '../src/model/index.ts';
import { defaultBackend } from '../src/tensor/index.ts';
import { defaultReplicas, nominalPeakFlops, train } from '../src/train/index.ts';
import { debianPython, ensureCharCorpus, pytorchMissing, root } from './char-corpus.ts';
import { oneLineFailures } from './prereqs.ts';

oneLineFailures('bench:quality');

const { values: flags } = parseArgs({
  options: {
    side: { type: 'string', default: 'both' },
    iters: { type: 'string', default: '2000' },
    'torch-threads': { type: 'string', default: '2' },
  },
});
const side = flags.side!;
if (!['both', 'tetra', 'pytorch'].includes(side)) throw new Error(`--side must be both, tetra or pytorch, got '${side}'`);
const iters = Number(flags.iters);
if (!Number.isInteger(iters) || iters < 1) throw new Error(`--iters must be a positive integer, got '${flags.iters}'`);

const B = 12,
  T = 64,
  seed = 1337,
  evalBatches = 20;
const hyper = { lr: 1e-3, minLr: 1e-4, warmup: 100, beta1: 0.9, beta2: 0.99, eps: 1e-8, weightDecay: 0.1, gradClip: 1 };
const model = configFromDepth(4, { vocabSize: 264, nEmbd: 128, nHead: 4, contextLength: T });
const data = ensureCharCorpus(undefined, 'bench:quality');

async function runTetra(): Promise<{ valLoss: number; seconds: number }> {
  const out = mkdtempSync(join(tmpdir(), 'tetra-quality-'));
  const t0 = performance.now();
  try {
    const r = await train(
      {
        data,
        out,
        model,
        batchSize: B,
        seqLen: T,
        accum: 1,
        steps: iters,
        optimizer: {
          lr: hyper.lr,
          beta1: hyper.beta1,
          beta2: hyper.beta2,
          eps: hyper.eps,
          weightDecay: hyper.weightDecay,
          gradClip: hyper.gradClip,
        },
        schedule: { minLr: hyper.minLr, warmup: hyper.warmup, decay: 'cosine' },
        seed,
        evalEvery: iters,
        evalBatches,
        sampleEvery: 0,
        checkpointEvery: 0,
        keepCheckpoints: 1,
        peakFlops: nominalPeakFlops(),
        tokenizer: { name: 'bytes' },
        resume: false,
        replicas: defaultReplicas(),
      },
      defaultBackend(),
    );
    return { valLoss: r.valLoss!, seconds: (performance.now() - t0) / 1000 };
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

function runPytorch(): Promise<{ valLoss: number; seconds: number }> {
  const args = [
    join(root, 'bench/train_pytorch.py'),
    'quality',
    '--data',
    data,
    '--vocab',
    String(model.vocabSize),
    '--layers',
    String(model.nLayer),
    '--heads',
    String(model.nHead),
    '--embd',
    String(model.nEmbd),
    '--hidden',
    String(model.mlpHidden),
    '--block',
    String(T),
    '--batch',
    String(B),
    '--threads',
    flags['torch-threads']!,
    '--seed',
    String(seed),
    '--iters',
    String(iters),
    '--warmup',
    String(hyper.warmup),
    '--eval-batches',
    String(evalBatches),
    '--lr',
    String(hyper.lr),
    '--min-lr',
    String(hyper.minLr),
    '--beta1',
    String(hyper.beta1),
    '--beta2',
    String(hyper.beta2),
    '--eps',
    String(hyper.eps),
    '--weight-decay',
    String(hyper.weightDecay),
    '--grad-clip',
    String(hyper.gradClip),
  ];
  return new Promise((resolve, reject) => {
    const child = spawn(debianPython, args, {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...process.env, OMP_WAIT_POLICY: torchOmpWaitPolicy },
    });
    let stdout = '';
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`PyTorch side exited with ${code}`));
      const r = JSON.parse(stdout.trim().split('\n').pop()!);
      resolve({ valLoss: r.val_loss, seconds: r.seconds });
    });
  });
}

console.log(
  `quality: nanoGPT cpu config (L4 H4 C128 T64 B12), ${iters} iterations, val loss = mean over ${evalBatches} val batches, corpus ${data}`,
);
const results: [string, { valLoss: number; seconds: number }][] = [];
if (side !== 'pytorch') results.push(['tetra', await runTetra()]);
if (side !== 'tetra') {
  const missing = pytorchMissing();
  if (missing) console.log(`PyTorch side skipped: ${missing}`);
  else results.push([`pytorch`, await runPytorch()]);
}
for (const [name, r] of results)
  console.log(
    `val_loss ${name} ${r.valLoss.toFixed(4)}  (${(r.valLoss / Math.LN2).toFixed(3)} bits/token, trained in ${r.seconds.toFixed(0)} s)`,
  );
