// Teaching a text checkpoint to see: SFT on the shapes scene set (src/data/synthetic/shapes.ts),
// streamed from the generator, mixed with text-only conversations so the model keeps its text
// skills. Each row is one scene: the image and its questions as a multi-turn conversation, loss on
// the answers. The stream never repeats (batch n draws from a seed made of the run's seed and n),
// so its position is just the batch number and a resumed run continues exactly.
//
// A text-only checkpoint gains image input here: its config gets `vision`, its weights are kept and
// the vision weights (vision.ts) start fresh from the seed; addLayers puts silent blocks on top
// (src/model/grow.ts). That starting point is written as a checkpoint under OUT/init, so the
// trainer's usual initFrom, resume and checkpoints apply.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import {
  ConversationError,
  conversationRow,
  generateShapes,
  greyToPixels,
  imageAndText,
  shiftPixels,
  type LabelledImages,
  shapesConversation,
  type ConversationRow,
  type QuestionType,
} from '../data/index.ts';
import {
  checkpointInfo,
  grownWeights,
  imageSlots,
  imageValues,
  latestCheckpoint,
  loadCheckpoint,
  saveCheckpoint,
  type GPTConfig,
  type VisionConfig,
} from '../model/index.ts';
import { mulberry32, type Backend } from '../tensor/index.ts';
import type { ChatMessage, Tokenizer } from '../tokenizer/index.ts';
import { train, type BatchSource, type TrainConfig, type TrainResult } from './pretrain.ts';
import { conversationLoss, LENGTH_MULTIPLE, padRows } from './sft.ts';

/**
 * The shapes scenes of one split as training rows (one scene each, all its questions that fit the
 * context); textFirst: the first question before the image.
 */
export function shapesRows(
  tok: Tokenizer,
  config: GPTConfig,
  o: Parameters<typeof generateShapes>[0],
  textFirst = false,
): ConversationRow[] {
  const v = visionOf(config);
  return generateShapes(o).map((s, i) =>
    longestFitting(s.questions.length, (upTo) =>
      conversationRow(
        tok,
        {
          source: `shapes:${o.split}:${o.seed}:${i}`,
          messages: shapesConversation(s, upTo, config.vision!.imageSize, textFirst),
          untrained: [],
        },
        config.contextLength,
        v,
      ),
    ),
  );
}

/** row(n), or with fewer turns while the context cannot hold them (at least one; other errors pass through). */
function longestFitting(n: number, row: (upTo: number) => ConversationRow): ConversationRow {
  for (let upTo = n; ; upTo--) {
    try {
      return row(upTo);
    } catch (e) {
      if (!(e instanceof ConversationError) || upTo === 1) throw e;
    }
  }
}

function visionOf(config: GPTConfig): { imageSlots: number; imageValues: number } {
  if (!config.vision) throw new Error('shapes: the model has no image input (give --vision to add it)');
  return { imageSlots: imageSlots(config.vision), imageValues: imageValues(config.vision) };
}

/** A real image set (vision-sets.ts) and the question asked of each image. */
export interface LabelledSet {
  images: LabelledImages;
  question: string;
}

/** One image of a labelled set in a training row: its index, a move by [dx, dy] pixels, and whether the question comes first. */
export interface LabelledDraw {
  i: number;
  shift?: [number, number];
  textFirst?: boolean;
}

/**
 * Images of a labelled set as one training row: a turn each, the image and the question, the
 * answers learned. As many of the draws as the context holds (at least the first).
 */
export function labelledRow(tok: Tokenizer, config: GPTConfig, set: LabelledSet, draws: readonly LabelledDraw[]): ConversationRow {
  const v = visionOf(config),
    size = config.vision!.imageSize;
  const messages: ChatMessage[] = draws.flatMap(({ i, shift, textFirst }) => {
    let pixels = greyToPixels(set.images, i, size);
    if (shift) pixels = shiftPixels(pixels, size, shift[0], shift[1]);
    return [
      { role: 'user' as const, content: imageAndText(pixels, set.question, textFirst) },
      { role: 'assistant' as const, content: set.images.answers[i] },
    ];
  });
  const source = `${set.images.name}:${draws.map((d) => d.i).join(',')}`;
  return longestFitting(draws.length, (upTo) =>
    conversationRow(tok, { source, messages: messages.slice(0, 2 * upTo), untrained: [] }, config.contextLength, v),
  );
}

/** What a batch's rows are drawn from besides the shapes scenes, each with its share of the rows. */
export interface VisionMix {
  text?: { rows: ConversationRow[]; share: number };
  sets?: { set: LabelledSet; share: number }[];
}

/** Labelled sets with fewer training images than this are shifted a little on each draw. */
export const SHIFT_BELOW = 10_000;
/**
 * Images in a labelled row, one turn each. A labelled turn is about a third of a scene's row
 * (64:8: ~110 tokens against ~400), and rows are padded to a batch's longest, so three turns
 * a row teach three images for about the compute of one.
 */
export const LABELLED_PER_ROW = 3;

/**
 * Batch after batch of B rows: each a text row, LABELLED_PER_ROW images of a labelled set (by
 * their shares) or a fresh scene from the shapes training split (the rest). Batch n is a pure
 * function of (seed, n). Rows of every kind share each batch. Batches of one kind each would pad
 * less, and ran 3.5 steps/s against 2.8, but the shapes learned far slower: validation loss 0.129
 * at step 4,000 against 0.068 with mixed batches (2026-12-06).
 */
export function shapesSource(
  tok: Tokenizer,
  config: GPTConfig,
  o: {
    B: number;
    seed: number;
    position?: unknown;
    mix?: VisionMix;
    types?: readonly QuestionType[];
    perScene?: number;
    perAnswer?: boolean;
    variety?: number;
    countPresent?: number;
    /** The chance that an image's question comes before it (OpenAI's examples' order); 0 draws nothing more. */
    textFirst?: number;
  },
): BatchSource {
  let n = (o.position as { batch: number } | undefined)?.batch ?? 0;
  const parts: [number, (r: () => number) => ConversationRow][] = [];
  const text = o.mix?.text;
  if (text?.rows.length) parts.push([text.share, (r) => text.rows[Math.floor(r() * text.rows.length)]]);
  // A small set's images move by up to 1/16 of their side each way (4 px at 64): 898 training
  // digits, their objects centred, so each draw is a slightly new image (digits 94.2% -> 96.4%).
  // A large set is left as it is: in the same run Fashion-MNIST's 60,000 fell from 81.7% to 78.2%.
  const reach = Math.floor((config.vision?.imageSize ?? 0) / 16),
    offset = (r: () => number) => Math.floor(r() * (2 * reach + 1)) - reach;
  // Drawn only when asked for, so a run without it has the batches it had before.
  const textFirst = (r: () => number) => (o.textFirst ? r() < o.textFirst : false);
  for (const { set, share } of o.mix?.sets ?? []) {
    const n = set.images.answers.length,
      shift = n < SHIFT_BELOW;
    const draw = (r: () => number): LabelledDraw => ({
      i: Math.floor(r() * n),
      shift: shift ? [offset(r), offset(r)] : undefined,
      textFirst: textFirst(r),
    });
    parts.push([
      share,
      (r) =>
        labelledRow(
          tok,
          config,
          set,
          Array.from({ length: LABELLED_PER_ROW }, () => draw(r)),
        ),
    ]);
  }
  if (parts.reduce((s, [w]) => s + w, 0) > 1) throw new Error('shapes: the mixed-in shares add up to more than 1');
  return {
    next() {
      const r = mulberry32((o.seed * 2654435761 + n * 97) >>> 0);
      const rows = Array.from({ length: o.B }, (_, b) => {
        let u = r();
        for (const [w, draw] of parts) if ((u -= w) < 0) return draw(r);
        return shapesRows(
          tok,
          config,
          {
            seed: (o.seed * 1000003 + n * o.B + b) >>> 0,
            count: 1,
            split: 'train',
            types: o.types,
            perScene: o.perScene,
            variety: o.variety,
            countPresent: o.countPresent,
          },
          textFirst(r),
        )[0];
      });
      n++;
      return padRows(rows, LENGTH_MULTIPLE, config.contextLength, o.perAnswer);
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
  /** Text conversations and labelled image sets mixed into the scenes. */
  mix?: VisionMix;
  /** Scenes of the 'seen' eval split for the validation loss. */
  valScenes?: number;
  /** Questions per training scene (default: one of each type the scene allows). Fewer: more images per step. */
  perScene?: number;
  /** Question types asked of training scenes (default: every type once); a type named twice is asked twice as often. */
  types?: readonly QuestionType[];
  /** Each answer weighs the same in the loss, a one-word answer as much as a caption (answerWeights). */
  perAnswer?: boolean;
  /** The chance that a training shape's kind, and apart its colour, may be one beyond the contract's (generateShapes). */
  variety?: number;
  /** The chance that a training count question asks about a colour and a kind the scene has (generateShapes). */
  countPresent?: number;
  /** The chance that a training image's question comes before it, as OpenAI's examples send it (shapesSource). */
  textFirst?: number;
  /** Blocks added on top of the checkpoint's, silent at first (grownWeights); on resume, give the same number again. */
  addLayers?: number;
}

/** SFT on the shapes stream (and text), from a checkpoint that sees or is given eyes here. */
export async function sftShapes(
  c: ShapesSftConfig,
  tok: Tokenizer,
  backend: Backend<Float32Array>,
  opts: { log?: (line: string) => void; signal?: AbortSignal } = {},
): Promise<TrainResult> {
  const base = checkpointInfo(c.checkpoint).config;
  const addLayers = c.addLayers ?? 0;
  if (!(Number.isInteger(addLayers) && addLayers >= 0 && addLayers <= 16))
    throw new Error(`shapes: addLayers must be an integer in [0, 16], got ${c.addLayers}`);
  const config = { ...withVision(base, c.vision), nLayer: base.nLayer + addLayers };
  let initFrom = c.checkpoint;
  if (!base.vision || addLayers) {
    // The old weights as they are, the new ones fresh (added blocks silent): written once, read by train().
    initFrom = join(c.out, 'init');
    if (!existsSync(join(initFrom, 'checkpoint.json')) && !latestCheckpoint(join(c.out, 'checkpoints'))) {
      const ck = loadCheckpoint(c.checkpoint, { withOptimizer: false });
      saveCheckpoint(initFrom, { config, params: grownWeights(ck.params, config, c.seed), meta: { ...ck.meta, step: 0, tokensSeen: 0 } });
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
      source: (position) =>
        shapesSource(tok, config, {
          B: c.batchSize,
          seed: c.seed,
          position,
          mix: c.mix,
          perScene: c.perScene,
          types: c.types,
          perAnswer: c.perAnswer,
          variety: c.variety,
          countPresent: c.countPresent,
          textFirst: c.textFirst,
        }),
      validate: (model, be) => conversationLoss(model, be, val, c.batchSize),
    },
    backend,
    opts,
  );
}
