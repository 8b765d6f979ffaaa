// Preference optimisation: DPO (Rafailov et al. 2023) on pairs of answers to one prompt, the
// preferred and the other (src/data/preferences.ts), starting from an SFT checkpoint.
//
//   loss = -log sigmoid(beta * ((log pi(y+) - log ref(y+)) - (log pi(y-) - log ref(y-))))
//          + nll * (-log pi(y+) / |y+|)
//
// The reference model is the starting checkpoint. Its log-probabilities of every pair's answers
// are computed once, before the first step, and cached in the run directory (reference.json),
// so one model is in memory and a resumed run reads them back rather than recomputing them from
// weights that have since moved. The second term (RPO's, a per-token likelihood of the preferred
// answer, weight `nll`) keeps DPO from lowering both answers' likelihoods together.
//
// A step's batch is `pairs` pairs, each as two rows [preferred, other], padded together (as SFT's
// rows are). The data-parallel replicas each take whole pairs and run one forward and backward
// over their rows, the loss written on the rows' summed log-probabilities (objectives.ts).
// Validation on
// held-out pairs reports the loss, the share of pairs whose implicit reward ranks them right
// (accuracy) and the mean reward margin. Checkpoints, resume, progress and metrics are the
// pretraining loop's (pretrain.ts).
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isHeldOut, pairRows, readPreferencePairs, type PairRows } from '../data/index.ts';
import { checkpointInfo, findCheckpoint, GPT, loadCheckpoint, type GPTConfig } from '../model/index.ts';
import type { Backend } from '../tensor/index.ts';
import type { Tokenizer } from '../tokenizer/index.ts';
import { dpoLoss, type DpoSettings } from './objectives.ts';
import { train, type BatchSource, type TrainBatch, type TrainConfig, type TrainResult } from './pretrain.ts';
import { epochSource, LENGTH_MULTIPLE, padRows, rowLogProbs } from './sft.ts';

/** The pairs' rows as one batch, [preferred, other] pair after pair; extra = their reference log-probabilities. */
export function pairBatch(pairs: PairRows[], ref: Float64Array[], maxT: number): TrainBatch {
  const b = padRows(
    pairs.flatMap((p) => [p.chosen, p.rejected]),
    LENGTH_MULTIPLE,
    maxT,
  );
  b.extra = Float64Array.from(ref.flatMap((r) => [r[0], r[1]]));
  return b;
}

/** Summed log-probabilities of each pair's two answers under model: [preferred, other] per pair. */
export function pairLogProbs(model: GPT, backend: Backend<Float32Array>, pairs: PairRows[], P: number): Float64Array[] {
  const lp = rowLogProbs(
    model,
    backend,
    pairs.flatMap((p) => [p.chosen, p.rejected]),
    2 * P,
  );
  return pairs.map((_, i) => Float64Array.of(lp[2 * i], lp[2 * i + 1]));
}

/** Validation on held-out pairs: the mean loss and stats (pairs weighted equally). */
export function pairValidation(
  model: GPT,
  backend: Backend<Float32Array>,
  pairs: PairRows[],
  ref: Float64Array[],
  P: number,
  s: DpoSettings,
): { loss: number; stats: Record<string, number> } {
  const lp = pairLogProbs(model, backend, pairs, P);
  const flat = (xs: Float64Array[]) => Float64Array.from(xs.flatMap((x) => [x[0], x[1]]));
  const tokens = Float64Array.from(pairs.flatMap((p) => [p.chosen.tokens, p.rejected.tokens]));
  const r = dpoLoss(flat(lp), flat(ref), tokens, s);
  return { loss: r.value, stats: { ...r.stats } };
}

/** Batches of P pairs, epoch after epoch, resumable at any batch (sft.ts's order: similar lengths together). */
export function pairSource(pairs: PairRows[], ref: Float64Array[], P: number, seed: number, position: unknown, maxT: number): BatchSource {
  const lengths = pairs.map((p) => ({ inputs: { length: Math.max(p.chosen.inputs.length, p.rejected.inputs.length) } }));
  return epochSource(lengths, P, seed, position, (idx) =>
    pairBatch(
      idx.map((i) => pairs[i]),
      idx.map((i) => ref[i]),
      maxT,
    ),
  );
}

interface ReferenceFile {
  checkpoint: string;
  train: number[][];
  val: number[][];
}

/**
 * The reference log-probabilities of the run's pairs: read from OUT/reference.json when the run
 * has them (a resume), else computed with the starting checkpoint's weights and written there.
 */
function referenceLogProbs(
  out: string,
  checkpoint: string,
  config: GPTConfig,
  backend: Backend<Float32Array>,
  data: { train: PairRows[]; val: PairRows[] },
  P: number,
  log: (s: string) => void,
): { train: Float64Array[]; val: Float64Array[] } {
  const file = join(out, 'reference.json');
  if (existsSync(file)) {
    const r = JSON.parse(readFileSync(file, 'utf8')) as ReferenceFile;
    if (r.checkpoint !== checkpoint)
      throw new Error(`dpo: ${file} holds the reference of ${r.checkpoint}, not of ${checkpoint}; use another --out`);
    if (r.train.length !== data.train.length || r.val.length !== data.val.length)
      throw new Error(
        `dpo: ${file} holds ${r.train.length}/${r.val.length} train/val pairs, the data has ${data.train.length}/${data.val.length}; ` +
          'use another --out',
      );
    return { train: r.train.map((x) => Float64Array.from(x)), val: r.val.map((x) => Float64Array.from(x)) };
  }
  const ck = loadCheckpoint(checkpoint, { withOptimizer: false });
  const model = new GPT(config, ck.params, { requiresGrad: false });
  const t0 = performance.now();
  const train = pairLogProbs(model, backend, data.train, P);
  const val = pairLogProbs(model, backend, data.val, P);
  log(`reference log-probabilities of ${data.train.length + data.val.length} pairs in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  mkdirSync(out, { recursive: true });
  const body: ReferenceFile = { checkpoint, train: train.map((x) => [...x]), val: val.map((x) => [...x]) };
  writeFileSync(file, JSON.stringify(body));
  return { train, val };
}

export interface DpoConfig
  extends Omit<
    TrainConfig,
    'model' | 'seqLen' | 'source' | 'validate' | 'initFrom' | 'evalBatches' | 'evalBatchSize' | 'data' | 'sequence'
  > {
  /** The SFT checkpoint (or its run directory: the newest one): the policy's start and the reference. */
  checkpoint: string;
  trainFile: string;
  valFile?: string;
  valFraction?: number;
  dpo: DpoSettings;
}

/** Loads and renders the pairs (a validation file, or a share held out by content hash). */
export function loadPairs(tok: Tokenizer, contextLength: number, c: Pick<DpoConfig, 'trainFile' | 'valFile' | 'valFraction'>) {
  const rows = (file: string) => readPreferencePairs(file).map((p) => ({ p, rows: pairRows(tok, p, contextLength) }));
  const all = rows(c.trainFile);
  if (c.valFile) return { train: all.map((x) => x.rows), val: rows(c.valFile).map((x) => x.rows) };
  const train: PairRows[] = [],
    val: PairRows[] = [];
  for (const x of all)
    (isHeldOut([...x.p.prompt, { role: 'assistant', content: `${x.p.chosen}\u0000${x.p.rejected}` }], c.valFraction ?? 0.05)
      ? val
      : train
    ).push(x.rows);
  return { train, val };
}

/** DPO from `checkpoint` on the pairs; `batchSize` counts pairs. Checkpoints, metrics and resume as in pretraining. */
export async function dpo(
  c: DpoConfig,
  tok: Tokenizer,
  backend: Backend<Float32Array>,
  opts: { log?: (line: string) => void; signal?: AbortSignal } = {},
): Promise<TrainResult & { trainPairs: number; valPairs: number }> {
  const log = opts.log ?? ((s: string) => process.stderr.write(s + '\n'));
  if (!(c.dpo.beta > 0)) throw new Error(`dpo: beta must be > 0, got ${c.dpo.beta}`);
  if (!(c.dpo.nll >= 0)) throw new Error(`dpo: nll must be >= 0, got ${c.dpo.nll}`);
  const checkpoint = findCheckpoint(c.checkpoint);
  if (!checkpoint) throw new Error(`dpo: ${c.checkpoint} is neither a tetra checkpoint nor a run directory with checkpoints`);
  const config = checkpointInfo(checkpoint).config;
  const data = loadPairs(tok, config.contextLength, c);
  if (data.train.length < c.batchSize)
    throw new Error(`dpo: ${c.trainFile} has ${data.train.length} training pairs, fewer than one batch of ${c.batchSize}`);
  const ref = referenceLogProbs(c.out, checkpoint, config, backend, data, c.batchSize, log);
  const r = await train(
    {
      ...c,
      data: c.trainFile,
      model: config,
      seqLen: config.contextLength,
      batchSize: 2 * c.batchSize,
      evalBatches: 1,
      initFrom: checkpoint,
      sequence: { kind: 'dpo', ...c.dpo },
      source: (position) => pairSource(data.train, ref.train, c.batchSize, c.seed, position, config.contextLength),
      validate: data.val.length ? (model, be) => pairValidation(model, be, data.val, ref.val, c.batchSize, c.dpo) : undefined,
      evalEvery: data.val.length ? c.evalEvery : 0,
    },
    backend,
    { ...opts, log },
  );
  return { ...r, trainPairs: data.train.length, valPairs: data.val.length };
}
