// Pretraining: next-token prediction on a corpus directory's token shards.
//
// Each step accumulates gradients over `accum` micro-batches of B x T tokens, clips the global
// norm, and takes one AdamW step at the scheduled learning rate. Every evalEvery steps the mean
// validation loss (and bits per byte) is measured on the held-out shards; every sampleEvery steps
// a sample is written to the log. Checkpoints hold everything a run's future depends on (weights,
// optimizer moments, data position, RNG state, step), so a run killed at any moment resumes from
// its last checkpoint and produces exactly the losses the uninterrupted run would have.
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ShardLoader, readManifest, type LoaderPosition } from '../data/index.ts';
import { Progress } from '../util/index.ts';
import { flopsPerToken, generate, GPT, paramCount, validateConfig, type GPTConfig, type ImageInput } from '../model/index.ts';
import { Rng, Tape, type Backend } from '../tensor/index.ts';
import { latestCheckpoint, loadCheckpoint, saveRotating, type OptimizerState } from '../model/index.ts';
import { layout, type SequenceObjective } from './objectives.ts';
import { DataParallel } from './parallel.ts';
import type { AdamWConfig } from './optimizer.ts';
import { learningRate, type Schedule } from './schedule.ts';

export interface TrainConfig {
  /** Corpus directory (manifest.json + shards). */
  data: string;
  /** Run directory: checkpoints/, metrics.jsonl, config. */
  out: string;
  model: GPTConfig;
  batchSize: number;
  seqLen: number;
  accum: number;
  steps: number;
  /** Stop after this step, checkpoint saved, as an interrupt would; the schedule still spans `steps`. */
  stopAt?: number;
  optimizer: AdamWConfig;
  schedule: Omit<Schedule, 'total' | 'lr'>;
  seed: number;
  evalEvery: number;
  evalBatches: number;
  /** Sequences per validation batch (default batchSize): a fixed size judges runs of different batches on the same text. */
  evalBatchSize?: number;
  sampleEvery: number;
  checkpointEvery: number;
  keepCheckpoints: number;
  /** Peak FLOP/s of the machine for MFU. */
  peakFlops: number;
  /** Tokenizer reference recorded in checkpoints; decode turns sample ids into text. */
  tokenizer: { name: string; path?: string; sha256?: string };
  decode?: (ids: number[]) => string;
  /** Continue from the newest checkpoint in out (required when one exists; an error when none does). */
  resume: boolean;
  /**
   * Threads that each run forward and backward on a share of every batch's rows, with
   * single-threaded kernels (parallel.ts); 1 runs the whole batch on this thread with the
   * backend's threads. At most batchSize are used. Results depend on it only through float
   * summation order; a resumed run must use the same number to repeat the losses exactly.
   */
  replicas?: number;
  /**
   * Where batches come from instead of the corpus's shards (supervised fine-tuning: sft.ts). Given
   * the resume position (undefined on a fresh start); `data` then only names the training data.
   * An on-policy source (policy-gradient.ts) samples the model being trained, running its
   * inference through `exclusive` (the kernels' threads, between steps).
   */
  source?: (position: unknown, live: LiveModel) => BatchSource;
  /** The validation loss instead of the corpus's held-out shards (with more figures: logged as val_<name>). */
  validate?: (model: GPT, backend: Backend<Float32Array>) => number | { loss: number; stats: Record<string, number> };
  /**
   * A loss on whole sequences instead of next-token prediction (objectives.ts: DPO, the policy
   * gradient): every batch holds whole units (pairs, groups) with `extra` per row; the objective's
   * stats are averaged over the step and logged with its metrics.
   */
  sequence?: SequenceObjective;
  /** A checkpoint whose weights start a fresh run (fine-tuning), instead of a random init. */
  initFrom?: string;
}

/** The model being trained, for a source that samples it. */
export interface LiveModel {
  model: GPT;
  exclusive<R>(fn: () => R): R;
}

/** Training batches: B rows of T tokens, targets -1 where nothing is learned. */
export interface TrainBatch {
  inputs: Int32Array;
  targets: Int32Array;
  B: number;
  T: number;
  /** Targets that count (not -1). */
  tokens: number;
  /** Numbers per row that an objective needs besides the tokens (DPO: the reference log-probabilities). */
  extra?: Float64Array;
  /** A vision model's images: pixels, and each one's first slot as a flat position in B*T. */
  images?: ImageInput;
  /** A weight per target: the loss is their weighted mean (answerWeights: each answer the same). */
  weights?: Float32Array;
}
export interface BatchSource {
  next(): TrainBatch;
  /** Opaque JSON saved in checkpoints; handed back to the factory on resume. */
  readonly position: unknown;
  close(): void;
}

/** The pretraining source: the corpus's train shards, every target counted. */
function shardSource(c: TrainConfig, position: unknown): BatchSource {
  const loader = new ShardLoader({
    dir: c.data,
    split: 'train',
    B: c.batchSize,
    T: c.seqLen,
    seed: c.seed,
    position: position as LoaderPosition | undefined,
  });
  return {
    next: () => ({ ...loader.next(), B: c.batchSize, T: c.seqLen, tokens: c.batchSize * c.seqLen }),
    get position() {
      return loader.position;
    },
    close: () => loader.close(),
  };
}

export interface StepMetrics {
  step: number;
  tokens: number;
  loss: number;
  lr: number;
  grad_norm: number;
  tok_per_s: number;
  mfu: number;
  val_loss?: number;
  val_bpb?: number;
  sample?: string;
}

export interface TrainResult {
  step: number;
  loss: number;
  valLoss?: number;
  resumedFrom?: number;
}

export function validateTrainConfig(c: TrainConfig): void {
  validateConfig(c.model);
  const pos = (k: keyof TrainConfig, v: number) => {
    if (!Number.isInteger(v) || v < 1) throw new Error(`train: ${String(k)} must be a positive integer, got ${v}`);
  };
  pos('batchSize', c.batchSize);
  pos('seqLen', c.seqLen);
  pos('accum', c.accum);
  pos('steps', c.steps);
  pos('evalBatches', c.evalBatches);
  pos('keepCheckpoints', c.keepCheckpoints);
  if (c.replicas !== undefined) pos('replicas', c.replicas);
  if (c.evalBatchSize !== undefined) pos('evalBatchSize', c.evalBatchSize);
  if (c.sequence && c.batchSize % layout(c.sequence).unitRows)
    throw new Error(`train: batchSize ${c.batchSize} is not whole units of ${layout(c.sequence).unitRows} rows (${c.sequence.kind})`);
  if (c.seqLen > c.model.contextLength) {
    throw new Error(`train: seqLen ${c.seqLen} exceeds the model's context length ${c.model.contextLength}`);
  }
  if (!(c.optimizer.lr > 0)) throw new Error(`train: lr must be > 0, got ${c.optimizer.lr}`);
}

/** Bytes of text per token in the corpus, for converting loss to bits per byte. */
function bytesPerToken(dataDir: string): number {
  const m = readManifest(dataDir);
  let bytes = 0,
    tokens = 0;
  for (const s of m.sources) {
    bytes += s.keptBytes;
    tokens += s.tokens.train + s.tokens.val;
  }
  return tokens ? bytes / tokens : 1;
}

export function evaluate(
  model: GPT,
  backend: Backend<Float32Array>,
  data: string,
  B: number,
  T: number,
  batches: number,
  seed: number,
): number {
  const loader = new ShardLoader({ dir: data, split: 'val', B, T, seed });
  const n = Math.min(batches, loader.batchesPerEpoch);
  const tape = new Tape(backend, 'f32', { grad: false, recycle: true });
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const b = loader.next();
    tape.reset();
    const { loss } = model.forward(tape, b.inputs, B, T, b.targets);
    sum += loss!.data[0];
  }
  loader.close();
  return sum / n;
}

export async function train(
  c: TrainConfig,
  backend: Backend<Float32Array>,
  opts: { log?: (line: string) => void; signal?: AbortSignal } = {},
): Promise<TrainResult> {
  validateTrainConfig(c);
  const log = opts.log ?? ((s: string) => process.stderr.write(s + '\n'));
  const manifest = c.source ? null : readManifest(c.data);
  if (manifest && manifest.tokenizer.vocabSize > c.model.vocabSize) {
    throw new Error(`train: the corpus's tokenizer has ${manifest.tokenizer.vocabSize} ids, the model's vocabSize is ${c.model.vocabSize}`);
  }
  const ckptRoot = join(c.out, 'checkpoints');
  mkdirSync(ckptRoot, { recursive: true });
  const metricsPath = join(c.out, 'metrics.jsonl');

  // ---- fresh start or resume
  let init: GPT,
    rng: Rng,
    position: unknown,
    step = 0,
    tokens = 0,
    resumedFrom: number | undefined;
  let optState: OptimizerState | undefined;
  const latest = latestCheckpoint(ckptRoot);
  if (latest && !c.resume)
    throw new Error(`train: ${c.out} already holds checkpoints (newest ${latest}); pass --resume to continue it or choose another --out`);
  if (!latest && c.resume) throw new Error(`train: --resume given but ${ckptRoot} holds no checkpoint`);
  if (latest) {
    const ck = loadCheckpoint(latest);
    if (JSON.stringify(ck.config) !== JSON.stringify(c.model)) {
      throw new Error(
        `train: ${latest} holds a model with config ${JSON.stringify(ck.config)}, not the requested ${JSON.stringify(c.model)}; use ` +
          `another --out`,
      );
    }
    if (!ck.optimizer) throw new Error(`train: ${latest} has no optimizer state to resume from`);
    init = new GPT(ck.config, ck.params);
    optState = ck.optimizer;
    step = ck.meta.step;
    tokens = ck.meta.tokensSeen;
    position = ck.meta.dataPosition;
    rng = Rng.from(ck.meta.rngState as { s: number; spare: number | null });
    resumedFrom = step;
    // Steps logged after this checkpoint were lost with the process; they will be run again.
    writeFileSync(
      metricsPath,
      readMetrics(c.out)
        .filter((m) => m.step <= step)
        .map((m) => JSON.stringify(m) + '\n')
        .join(''),
    );
    log(`resuming from ${latest} at step ${step}`);
  } else {
    if (existsSync(metricsPath)) throw new Error(`train: ${metricsPath} exists but no checkpoint does; use a fresh --out`);
    if (c.initFrom) {
      const ck = loadCheckpoint(c.initFrom, { withOptimizer: false });
      if (JSON.stringify(ck.config) !== JSON.stringify(c.model))
        throw new Error(`train: ${c.initFrom} holds a model with config ${JSON.stringify(ck.config)}, not ${JSON.stringify(c.model)}`);
      init = new GPT(ck.config, ck.params);
    } else init = GPT.init(c.model, c.seed);
    rng = new Rng(c.seed ^ 0x5eed);
  }
  // From here on the weights live in shared memory, one copy for every replica.
  // A sequence objective's batch is split between replicas by whole units.
  const unit = c.sequence ? layout(c.sequence).unitRows : 1;
  const replicas = Math.min(c.replicas ?? 1, c.batchSize / unit);
  const shareRows = unit * Math.ceil(c.batchSize / unit / replicas);
  const dp = await DataParallel.start(init, backend, replicas, shareRows * c.seqLen);
  const model = dp.model;
  const opt = dp.optimizer(c.optimizer);
  if (optState) {
    for (const [k, v] of optState.m) opt.m.get(k)!.set(v);
    for (const [k, v] of optState.v) opt.v.get(k)!.set(v);
    opt.step = optState.step;
  }
  if (replicas > 1) log(`data parallel: ${replicas} replicas of at most ${Math.ceil(c.batchSize / replicas)} rows, one kernel thread each`);
  try {
    const loader = c.source ? c.source(position, { model, exclusive: (fn) => dp.exclusive(fn) }) : shardSource(c, position);
    const sched: Schedule = { ...c.schedule, lr: c.optimizer.lr, total: c.steps };
    const flops = flopsPerToken(c.model, c.seqLen);
    const bpt = manifest ? bytesPerToken(c.data) : null;
    log(
      `model: ${paramCount(c.model).toLocaleString()} parameters, ${(flops / 1e6).toFixed(1)} MFLOP/token; ` +
        `${c.batchSize * c.seqLen * c.accum} tokens/step${c.source ? ' at most' : ''}; ${c.steps} steps`,
    );

    const save = () =>
      saveRotating(
        ckptRoot,
        {
          config: c.model,
          params: model.weights(),
          optimizer: { m: opt.m, v: opt.v, step: opt.step, hyper: { ...c.optimizer } },
          meta: {
            step,
            tokensSeen: tokens,
            tokenizer: c.tokenizer,
            dataPosition: loader.position,
            rngState: rng.state(),
            metrics: last ? { ...last } : {},
          },
        },
        c.keepCheckpoints,
      );

    const startStep = step;
    const progress = new Progress(startStep ? `train (resumed at ${startStep})` : 'train', c.steps - startStep, 'steps');
    let last: StepMetrics | undefined;
    let lastVal: number | undefined;
    // One tape for the run: from the second step on it reuses the first step's buffers.
    const tape = new Tape(backend, 'f32', { recycle: true });
    while (step < c.steps) {
      // Let signal handlers run between steps.
      await new Promise((r) => setImmediate(r));
      if (opts.signal?.aborted || (c.stopAt !== undefined && step >= c.stopAt)) {
        log(`stopping at step ${step} (${opts.signal?.aborted ? 'interrupted' : `stop at ${c.stopAt}`}); checkpoint saved`);
        save();
        break;
      }
      const t0 = performance.now();
      const lr = learningRate(sched, step);
      let lossSum = 0, // the gradients are zero: update() leaves them so
        tokensPerStep = 0,
        positions = 0;
      const stats: Record<string, number> = {};
      for (let a = 0; a < c.accum; a++) {
        const batch = loader.next();
        if (c.sequence) {
          const r = await dp.accumulateSequences(tape, batch, c.sequence, 1 / c.accum);
          lossSum += r.loss;
          for (const [k, v] of Object.entries(r.stats)) stats[k] = (stats[k] ?? 0) + v / c.accum;
        } else
          lossSum += await dp.accumulate(tape, batch.inputs, batch.targets, batch.B, batch.T, 1 / c.accum, -1, batch.images, batch.weights);
        tokensPerStep += batch.tokens;
        positions += batch.B * batch.T;
      }
      const gradNorm = await dp.update(opt, lr);
      step++;
      tokens += tokensPerStep;
      const seconds = (performance.now() - t0) / 1000;
      const m: StepMetrics = {
        step,
        tokens,
        loss: lossSum / c.accum,
        lr,
        grad_norm: gradNorm,
        tok_per_s: tokensPerStep / seconds,
        mfu: (flops * positions) / seconds / c.peakFlops,
        ...stats,
      };
      if (c.evalEvery > 0 && (step % c.evalEvery === 0 || step === c.steps)) {
        const v = dp.exclusive(() =>
          c.validate
            ? c.validate(model, backend)
            : evaluate(model, backend, c.data, c.evalBatchSize ?? c.batchSize, c.seqLen, c.evalBatches, c.seed),
        );
        m.val_loss = lastVal = typeof v === 'number' ? v : v.loss;
        if (typeof v !== 'number') for (const [k, x] of Object.entries(v.stats)) (m as unknown as Record<string, number>)[`val_${k}`] = x;
        if (bpt) m.val_bpb = m.val_loss / Math.LN2 / bpt;
      }
      if (c.sampleEvery > 0 && step % c.sampleEvery === 0 && c.decode && manifest) {
        const prompt = Int32Array.of(manifest.tokenizer.eotId);
        const [g] = dp.exclusive(() =>
          generate(model, backend, [prompt], {
            maxTokens: 48,
            temperature: 0.8,
            topK: 40,
            seed: rng.int(2 ** 31),
            stopTokens: [manifest.tokenizer.eotId],
          }),
        );
        m.sample = c.decode(g.tokens);
      }
      appendFileSync(metricsPath, JSON.stringify(m) + '\n');
      progress.update(
        step - startStep,
        `loss ${m.loss.toFixed(4)}${m.val_loss !== undefined ? ` val ${m.val_loss.toFixed(4)}` : ''} lr ${lr.toExponential(2)} ` +
          `${m.tok_per_s.toFixed(0)} tok/s mfu ${(m.mfu * 100).toFixed(1)}%`,
      );
      if (m.sample !== undefined) log(`sample at step ${step}: ${JSON.stringify(m.sample)}`);
      if ((c.checkpointEvery > 0 && step % c.checkpointEvery === 0) || step === c.steps) save();
      last = m;
    }
    progress.done();
    loader.close();
    return { step, loss: last?.loss ?? NaN, valLoss: lastVal, resumedFrom };
  } finally {
    await dp.close();
  }
}

/** Metrics lines of a run, in order. */
export function readMetrics(out: string): StepMetrics[] {
  const p = join(out, 'metrics.jsonl');
  if (!existsSync(p)) return [];
  return readFileSync(p, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));
}
