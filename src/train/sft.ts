// Supervised fine-tuning: a pretrained checkpoint trained on conversations (src/data/conversations.ts)
// with the pretraining loop (pretrain.ts: AdamW, schedule, data parallelism, checkpoints, resume,
// progress), fed by a conversation source instead of the corpus's shards.
//
// Batching: one conversation per row, B rows per step, each batch as long as its longest row, the
// rest padded with ignored targets. This is the documented alternative to packing several
// conversations into a row: the attention kernels have no per-row document mask, and packing
// without one would let a conversation attend to the one before it. Padding is kept small by
// drawing each batch from conversations of similar length: every epoch shuffles the rows with the
// run's seed, cuts the order into windows of 16 batches, and sorts each window by length before
// slicing it into batches, whose order is shuffled again. The loss is the mean over the batch's
// learned tokens (assistant turns), exactly, whatever the replica split (parallel.ts weighs each
// share by its tokens).
import { conversationRow, isHeldOut, readConversations, type ConversationRow } from '../data/index.ts';
import { checkpointInfo, packImages, type GPT, type GPTConfig } from '../model/index.ts';
import { mulberry32, Tape, type Backend } from '../tensor/index.ts';
import type { Tokenizer } from '../tokenizer/index.ts';
import { train, type BatchSource, type TrainBatch, type TrainConfig, type TrainResult } from './pretrain.ts';

export interface SftData {
  train: ConversationRow[];
  val: ConversationRow[];
}

/**
 * Reads and renders the training conversations (and the validation file, when given; otherwise a
 * `valFraction` of the training file held out by content hash). Any bad line stops it, named.
 */
export function loadSftData(
  tok: Tokenizer,
  contextLength: number,
  trainFile: string,
  o: { valFile?: string; valFraction?: number } = {},
): SftData {
  const rows = (file: string) => readConversations(file).map((c) => ({ c, row: conversationRow(tok, c, contextLength) }));
  const all = rows(trainFile);
  if (o.valFile) return { train: all.map((x) => x.row), val: rows(o.valFile).map((x) => x.row) };
  const fraction = o.valFraction ?? 0.05;
  const train: ConversationRow[] = [],
    val: ConversationRow[] = [];
  for (const x of all) (isHeldOut(x.c.messages, fraction) ? val : train).push(x.row);
  if (!train.length)
    throw new Error(`sft: ${trainFile}: every conversation was held out for validation; add more or pass a validation file`);
  return { train, val };
}

/**
 * A weight per target that makes each answer (a run of learned targets: an assistant turn) weigh
 * the same in the loss, 1 shared among its tokens, 0 where ignored. By token, a caption of 60
 * bytes outweighs a yes/no answer, whose first byte decides it, 60 to 1.
 */
export function answerWeights(targets: ArrayLike<number>, ignoreIndex = -1): Float32Array {
  const w = new Float32Array(targets.length);
  for (let i = 0; i < targets.length; ) {
    if (targets[i] === ignoreIndex) {
      i++;
      continue;
    }
    let end = i;
    while (end < targets.length && targets[end] !== ignoreIndex) end++;
    w.fill(1 / (end - i), i, end);
    i = end;
  }
  return w;
}

/**
 * Pads rows into one batch as long as its longest row, rounded up to a multiple of `multiple`
 * (at most `maxT`): training tapes keep their buffers by size, so batch lengths come from a few
 * sizes rather than every length a conversation has, or memory would grow with each new one.
 * perAnswer: the batch carries answerWeights, so its loss is the mean over answers, not tokens.
 */
export function padRows(rows: ConversationRow[], multiple = 1, maxT = Number.POSITIVE_INFINITY, perAnswer = false): TrainBatch {
  const longest = Math.max(...rows.map((r) => r.inputs.length));
  const B = rows.length,
    T = Math.max(longest, Math.min(Math.ceil(longest / multiple) * multiple, maxT));
  const inputs = new Int32Array(B * T),
    targets = new Int32Array(B * T).fill(-1),
    weights = perAnswer ? new Float32Array(B * T) : undefined;
  let tokens = 0;
  const pixels: Float32Array[] = [],
    at: number[] = [];
  rows.forEach((r, b) => {
    inputs.set(r.inputs, b * T);
    targets.set(r.targets, b * T);
    weights?.set(answerWeights(r.targets), b * T);
    tokens += r.tokens;
    if (r.images) {
      pixels.push(r.images.pixels);
      for (const a of r.images.at) at.push(b * T + a);
    }
  });
  return { inputs, targets, B, T, tokens, ...(at.length ? { images: packImages(pixels, at) } : {}), ...(weights ? { weights } : {}) };
}

/** Where a source over epochs is: the epoch and the next batch in it. */
export interface Position {
  epoch: number;
  batch: number;
}

/** The epoch's batches (row indices), a pure function of the seed and the epoch. */
export function epochBatches(rows: readonly { inputs: ArrayLike<number> }[], B: number, seed: number, epoch: number): number[][] {
  const rand = mulberry32((seed * 2654435761 + epoch * 40503) >>> 0);
  const shuffle = <T>(xs: T[]) => {
    for (let i = xs.length - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      [xs[i], xs[j]] = [xs[j], xs[i]];
    }
    return xs;
  };
  const order = shuffle(rows.map((_, i) => i));
  const batches: number[][] = [];
  const window = 16 * B;
  for (let w = 0; w < order.length; w += window) {
    const part = order.slice(w, w + window).sort((a, b) => rows[a].inputs.length - rows[b].inputs.length);
    for (let i = 0; i < part.length; i += B) batches.push(part.slice(i, i + B));
  }
  return shuffle(batches);
}

/** Batch lengths are multiples of this many tokens (see padRows). */
export const LENGTH_MULTIPLE = 64;

/**
 * Training batches over the rows, epoch after epoch, resumable at any batch. Every batch has B
 * rows but the epoch's last (whose size never changes), and a length that is a multiple of
 * LENGTH_MULTIPLE up to maxT, so a run meets a bounded number of batch shapes.
 */
export function conversationSource(
  rows: ConversationRow[],
  B: number,
  seed: number,
  position?: unknown,
  maxT?: number,
  perAnswer = false,
): BatchSource {
  return epochSource(rows, B, seed, position, (idx) =>
    padRows(
      idx.map((i) => rows[i]),
      LENGTH_MULTIPLE,
      maxT,
      perAnswer,
    ),
  );
}

/**
 * A source over items in epochs (epochBatches' order: B items of similar length a batch),
 * resumable at any batch: `make` turns a batch's item indices into the training batch, given
 * the batch's position (a seed for what it samples, say).
 */
export function epochSource(
  items: readonly { inputs: ArrayLike<number> }[],
  B: number,
  seed: number,
  position: unknown,
  make: (indices: number[], at: Position) => TrainBatch,
): BatchSource {
  let pos: Position = (position as Position | undefined) ?? { epoch: 0, batch: 0 };
  let batches = epochBatches(items, B, seed, pos.epoch);
  return {
    next() {
      if (pos.batch >= batches.length) {
        pos = { epoch: pos.epoch + 1, batch: 0 };
        batches = epochBatches(items, B, seed, pos.epoch);
      }
      const at = pos;
      pos = { ...pos, batch: pos.batch + 1 };
      return make(batches[at.batch], at);
    },
    get position() {
      return pos;
    },
    close() {},
  };
}

/** Mean loss over every learned token of the rows (in length order, B at a time). */
export function conversationLoss(model: GPT, backend: Backend<Float32Array>, rows: ConversationRow[], B: number): number {
  const sorted = [...rows].sort((a, b) => a.inputs.length - b.inputs.length);
  const tape = new Tape(backend, 'f32', { grad: false, recycle: true });
  let sum = 0,
    count = 0;
  for (let i = 0; i < sorted.length; i += B) {
    const b = padRows(sorted.slice(i, i + B), LENGTH_MULTIPLE, model.config.contextLength);
    if (!b.tokens) continue;
    tape.reset();
    const { loss } = model.forward(tape, b.inputs, b.B, b.T, b.targets, -1, b.images);
    sum += loss!.data[0] * b.tokens;
    count += b.tokens;
  }
  return count ? sum / count : Number.NaN;
}

/** Each row's summed log-probability of its learned tokens under model (B rows at a time, no gradients). */
export function rowLogProbs(model: GPT, backend: Backend<Float32Array>, rows: ConversationRow[], B: number): Float64Array {
  const tape = new Tape(backend, 'f32', { grad: false, recycle: true });
  const out = new Float64Array(rows.length);
  for (let i = 0; i < rows.length; i += B) {
    const b = padRows(rows.slice(i, i + B), LENGTH_MULTIPLE, model.config.contextLength);
    tape.reset();
    const lp = tape.sequenceLogProbs(model.run(tape, b.inputs, b.B, b.T, b.images), b.targets, b.B);
    out.set(lp.data.subarray(0, b.B), i);
  }
  return out;
}

export interface SftConfig
  extends Omit<TrainConfig, 'model' | 'seqLen' | 'source' | 'validate' | 'initFrom' | 'evalBatches' | 'evalBatchSize' | 'data'> {
  /** The pretrained checkpoint to start from (its config is the model's)... */
  checkpoint?: string;
  /** ...or a fresh model (a classifier trained only on its conversations, say). */
  model?: GPTConfig;
  trainFile: string;
  valFile?: string;
  valFraction?: number;
  /** Each answer weighs the same in the loss, whatever its length (answerWeights). */
  perAnswer?: boolean;
}

/** Fine-tunes `checkpoint` on the conversations; checkpoints, metrics and resume as in pretraining. */
export async function sft(
  c: SftConfig,
  tok: Tokenizer,
  backend: Backend<Float32Array>,
  opts: { log?: (line: string) => void; signal?: AbortSignal } = {},
): Promise<TrainResult & { trainRows: number; valRows: number }> {
  if (!c.checkpoint === !c.model)
    throw new Error('sft: give a checkpoint to start from, or a model config for a fresh start (one of them)');
  // The config only: train() reads the weights once, from initFrom.
  const config = c.checkpoint ? checkpointInfo(c.checkpoint).config : c.model!;
  const data = loadSftData(tok, config.contextLength, c.trainFile, { valFile: c.valFile, valFraction: c.valFraction });
  if (data.train.length < c.batchSize)
    throw new Error(`sft: ${c.trainFile} has ${data.train.length} training conversations, fewer than one batch of ${c.batchSize}`);
  const r = await train(
    {
      ...c,
      data: c.trainFile,
      model: config,
      seqLen: config.contextLength,
      evalBatches: 1,
      initFrom: c.checkpoint,
      source: (position) => conversationSource(data.train, c.batchSize, c.seed, position, config.contextLength, c.perAnswer),
      validate: data.val.length ? (model, be) => conversationLoss(model, be, data.val, c.batchSize) : undefined,
      evalEvery: data.val.length ? c.evalEvery : 0,
    },
    backend,
    opts,
  );
  return { ...r, trainRows: data.train.length, valRows: data.val.length };
}
