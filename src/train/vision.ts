// Teaching a text checkpoint to see: SFT on the shapes scene set (src/data/synthetic/shapes.ts),
// streamed from the generator, mixed with text-only conversations so the model keeps its text
// skills. Each row is one scene: the image and its questions as a multi-turn conversation, loss on
// the answers. The stream never repeats (batch n draws from a seed made of the run's seed and n),
// so its position is just the batch number and a resumed run continues exactly.
//
// A text-only checkpoint gains image input here: its config gets `vision`, its weights are kept and
// the vision weights (vision.ts) start fresh from the seed. That starting point is written as a
// checkpoint under OUT/init, so the trainer's usual initFrom, resume and checkpoints apply.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import {
  conversationRow,
  generateShapes,
  shapesConversation,
  type ConversationRow,
  type QuestionType,
  type ShapesSplit,
} from '../data/index.ts';
import {
  checkpointInfo,
  GPT,
  imageSlots,
  imageValues,
  latestCheckpoint,
  loadCheckpoint,
  saveCheckpoint,
  type GPTConfig,
  type VisionConfig,
} from '../model/index.ts';
import { mulberry32, type Backend } from '../tensor/index.ts';
import type { Tokenizer } from '../tokenizer/index.ts';
import { train, type BatchSource, type TrainConfig, type TrainResult } from './pretrain.ts';
import { conversationLoss, LENGTH_MULTIPLE, padRows } from './sft.ts';

/** The shapes scenes of one split as training rows (one scene each, all its questions). */
export function shapesRows(
  tok: Tokenizer,
  config: GPTConfig,
  o: { seed: number; count: number; split: ShapesSplit; types?: readonly QuestionType[] },
): ConversationRow[] {
  const v = visionOf(config);
  return generateShapes(o).map((s, i) =>
    conversationRow(
      tok,
      { source: `shapes:${o.split}:${o.seed}:${i}`, messages: shapesConversation(s), untrained: [] },
      config.contextLength,
      v,
    ),
  );
}

function visionOf(config: GPTConfig): { imageSlots: number; imageValues: number } {
  if (!config.vision) throw new Error('shapes: the model has no image input (give --vision to add it)');
  return { imageSlots: imageSlots(config.vision), imageValues: imageValues(config.vision) };
}

/**
 * Batch after batch of B rows: each a text row (textShare of them, drawn from `text`) or a fresh
 * scene from the training split. Batch n is a pure function of (seed, n).
 */
export function shapesSource(
  tok: Tokenizer,
  config: GPTConfig,
  o: { B: number; seed: number; position?: unknown; text?: ConversationRow[]; textShare?: number; types?: readonly QuestionType[] },
): BatchSource {
  let n = (o.position as { batch: number } | undefined)?.batch ?? 0;
  const share = o.text?.length ? (o.textShare ?? 0) : 0;
  return {
    next() {
      const r = mulberry32((o.seed * 2654435761 + n * 97) >>> 0);
      const rows = Array.from({ length: o.B }, (_, b) =>
        r() < share
          ? o.text![Math.floor(r() * o.text!.length)]
          : shapesRows(tok, config, { seed: (o.seed * 1000003 + n * o.B + b) >>> 0, count: 1, split: 'train', types: o.types })[0],
      );
      n++;
      return padRows(rows, LENGTH_MULTIPLE, config.contextLength);
    },
    get position() {
      return { batch: n };
    },
    close() {},
  };
}

/** The checkpoint's config with image input added (or checked, when it already has it). */
export function withVision(config: GPTConfig, vision: VisionConfig | undefined): GPTConfig {
  if (!vision) {
    if (!config.vision) throw new Error('shapes: the checkpoint has no image input; give --vision SIZE:PATCH to add it');
    return config;
  }
  if (config.vision && JSON.stringify(config.vision) !== JSON.stringify(vision))
    throw new Error(`shapes: the checkpoint already sees ${JSON.stringify(config.vision)}, not ${JSON.stringify(vision)}`);
  return { ...config, vision };
}

export interface ShapesSftConfig
  extends Omit<TrainConfig, 'model' | 'seqLen' | 'source' | 'validate' | 'initFrom' | 'evalBatches' | 'evalBatchSize' | 'data'> {
  checkpoint: string;
  vision?: VisionConfig;
  /** Text-only conversations mixed in, and their share of the rows. */
  text?: ConversationRow[];
  textShare?: number;
  /** Scenes of the 'seen' eval split for the validation loss. */
  valScenes?: number;
}

/** SFT on the shapes stream (and text), from a checkpoint that sees or is given eyes here. */
export async function sftShapes(
  c: ShapesSftConfig,
  tok: Tokenizer,
  backend: Backend<Float32Array>,
  opts: { log?: (line: string) => void; signal?: AbortSignal } = {},
): Promise<TrainResult> {
  const base = checkpointInfo(c.checkpoint).config;
  const config = withVision(base, c.vision);
  let initFrom = c.checkpoint;
  if (!base.vision) {
    // The text weights as they are, the vision weights fresh: written once, read by train().
    initFrom = join(c.out, 'init');
    if (!existsSync(join(initFrom, 'checkpoint.json')) && !latestCheckpoint(join(c.out, 'checkpoints'))) {
      const ck = loadCheckpoint(c.checkpoint, { withOptimizer: false });
      const fresh = GPT.init(config, c.seed).weights();
      for (const [k, w] of ck.params) fresh.get(k)!.set(w);
      saveCheckpoint(initFrom, { config, params: fresh, meta: { ...ck.meta, step: 0, tokensSeen: 0 } });
    }
  }
  const val = shapesRows(tok, config, { seed: c.seed, count: c.valScenes ?? 64, split: 'seen' });
  return train(
    {
      ...c,
      data: 'synth:shapes',
      model: config,
      seqLen: config.contextLength,
      evalBatches: 1,
      initFrom,
      source: (position) => shapesSource(tok, config, { B: c.batchSize, seed: c.seed, position, text: c.text, textShare: c.textShare }),
      validate: (model, be) => conversationLoss(model, be, val, c.batchSize),
    },
    backend,
    opts,
  );
}
