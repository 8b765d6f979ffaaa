// `tetra sft`: supervised fine-tuning of a pretrained checkpoint on conversations in OpenAI's
// fine-tuning format (JSONL, {"messages": [...]} per line), loss on assistant turns only
// (src/train/sft.ts). Progress, checkpoints and Ctrl-C / --resume as in `tetra train`.
import { resolve } from 'node:path';
import {
  ConversationError,
  DIGITS_QUESTION,
  FASHION_QUESTION,
  loadDigits,
  loadFashion,
  QUESTION_TYPES,
  TRAINING_TYPES,
  type ConversationRow,
  type QuestionType,
} from '../data/index.ts';
import { checkpointInfo, type CheckpointMeta, parseVisionSpec, type VisionConfig } from '../model/index.ts';
import { defaultBackend } from '../tensor/index.ts';
import type { Tokenizer } from '../tokenizer/index.ts';
import { loadSftData, sft, sftShapes, type LabelledSet } from '../train/index.ts';
import { numberFlag, UsageError, type Flags } from './args.ts';
import type { Command } from './command.ts';
import { fineTuneFlags, fineTuneSettings, initCheckpoint, openStart } from './fine-tune.ts';
import { interruptible } from './interrupt.ts';

const cmd = 'tetra sft';
const usage =
  'tetra sft --checkpoint DIR|--init L:W:H --tokenizer T --data train.jsonl|synth:shapes --out DIR [--val val.jsonl] ' +
  '[--vision 64:8] [--text chat.jsonl] [--steps N] [--batch B] [--lr LR] [--resume]';

export const sftCommand: Command = {
  name: 'sft',
  summary: 'fine-tune a checkpoint on conversations (OpenAI fine-tuning JSONL; loss on assistant turns)',
  usage,
  flags: {
    checkpoint: { type: 'string', help: 'the pretrained run (or checkpoint directory) to start from' },
    init: {
      type: 'string',
      help:
        'instead of --checkpoint, a model from nothing: LAYERS:WIDTH:HEADS (e.g. 4:192:12), random weights from --seed, ' +
        'kept as OUT/base',
    },
    tokenizer: { type: 'string', help: "with --init: the model's tokenizer (bytes, cl100k or a file from `tetra tokenizer train`)" },
    context: { type: 'number', help: 'with --init: the context length', default: 512 },
    data: { type: 'string', help: 'training conversations, one {"messages": [...]} per line; synth:shapes streams the shapes scenes' },
    vision: {
      type: 'string',
      help:
        'synth:shapes: add image input to a text checkpoint, SIZE:PATCH[:STEM[:WINDOW]][:colour][:xy][:prefix]: image and patch ' +
        'pixels, a SwiGLU patch stem that wide, each patch token reading WINDOW pixels around its patch, the stem reading ink with ' +
        'colour added apart, the stem reading the patch row and column, prefix attention over the image (every patch sees all of ' +
        'it) (e.g. 64:8, 64:8:128:16 or 64:8:128:16:colour:xy)',
    },
    text: { type: 'string', help: 'synth:shapes: text conversations mixed in (JSONL)' },
    'text-share': { type: 'number', help: 'synth:shapes: share of rows drawn from --text', default: 0.2 },
    questions: { type: 'number', help: 'synth:shapes: questions per scene (default: one of each type)' },
    types: {
      type: 'string',
      help:
        `synth:shapes: types of question, one named twice is asked twice as often (default: each once, ${QUESTION_TYPES.join(',')}; ` +
        `for training only: ${TRAINING_TYPES.join(',')})`,
    },
    mix: {
      type: 'string',
      help: 'synth:shapes: Debian image sets mixed in, shares of rows (3 images a row), e.g. digits:0.1,fashion:0.15 (npm run vision-data)',
    },
    val: { type: 'string', help: 'validation conversations (default: 5% of --data, held out by content hash)' },
    batch: { type: 'number', help: 'conversations per step', default: 16 },
    variety: {
      type: 'number',
      help:
        "synth:shapes: the chance that a training shape's kind, and apart its colour, may be one beyond the contract's " +
        '(diamond, cross, ring; pink, cyan, brown, lime, teal, maroon), so each kind is seen in more colours (default 0)',
    },
    'count-present': {
      type: 'number',
      help:
        'synth:shapes: the chance that a training count question ("How many blue shapes are there?") asks about a colour and a kind ' +
        "the scene has rather than any of the palette's, where most answers are zero (default 0, as the eval splits)",
    },
    'text-first': {
      type: 'number',
      help:
        "synth:shapes: the chance that an image's question comes before it in training, as OpenAI's examples send it " +
        '(text, then image_url); a model trained at 0 answers only questions asked after the image (default 0)',
    },
    'add-layers': {
      type: 'number',
      help:
        "synth:shapes: blocks added on top of the checkpoint's, silent at first (their output projections zero, so the model " +
        'starts as it was) and free to learn what the old depth could not; give the same number on --resume (default 0)',
    },
    'per-answer': {
      type: 'boolean',
      help: 'each answer weighs the same in the loss, a one-word answer as much as a long one (default: each token)',
    },
    'weight-decay': { type: 'number', help: 'AdamW weight decay (matrices only)', default: 0 },
    ...fineTuneFlags({ steps: 500, lr: 3e-4, warmup: 20, every: 50 }),
  },
  async run(f) {
    if (f.init !== undefined) f.checkpoint = await initCheckpoint(f, cmd);
    else if (f.tokenizer !== undefined) throw new UsageError(`${cmd}: --tokenizer is for --init (a checkpoint names its own)`);
    const { checkpoint, meta, tok } = await openStart(f, cmd, usage, ['data']);
    if (f.data === 'synth:shapes') return shapes(f, checkpoint, meta, tok);
    if (f['add-layers'] !== undefined) throw new UsageError(`${cmd}: --add-layers is for --data synth:shapes`);
    return interruptible(async (signal) => {
      try {
        const r = await sft(
          {
            ...fineTuneSettings(f, cmd, meta, numberFlag(f, 'weight-decay', 0, 10, cmd, false)),
            checkpoint,
            trainFile: resolve(String(f.data)),
            valFile: f.val ? resolve(String(f.val)) : undefined,
            batchSize: numberFlag(f, 'batch', 1, 1 << 16, cmd),
            perAnswer: !!f['per-answer'],
          },
          tok,
          defaultBackend(),
          { signal },
        );
        console.log(
          JSON.stringify({ step: r.step, loss: r.loss, val_loss: r.valLoss ?? null, train: r.trainRows, val: r.valRows, out: f.out }),
        );
        return 0;
      } catch (e) {
        if (e instanceof ConversationError) throw new UsageError(`${cmd}: ${e.message}`);
        throw e;
      }
    });
  },
};

/** --data synth:shapes: the shapes scene stream, optionally mixed with text conversations. */
function shapes(f: Flags, checkpoint: string, meta: CheckpointMeta, tok: Tokenizer): Promise<number> {
  let vision: VisionConfig | undefined;
  if (f.vision !== undefined) {
    try {
      vision = parseVisionSpec(String(f.vision));
    } catch (e) {
      throw new UsageError(`${cmd}: --vision: ${(e as Error).message}`);
    }
  }
  const config = checkpointInfo(checkpoint).config;
  let text: ConversationRow[] | undefined;
  try {
    text = f.text ? loadSftData(tok, config.contextLength, resolve(String(f.text)), { valFraction: 0 }).train : undefined;
  } catch (e) {
    if (e instanceof ConversationError) throw new UsageError(`${cmd}: ${e.message}`);
    throw e;
  }
  const sets: { set: LabelledSet; share: number }[] = [];
  for (const part of f.mix ? String(f.mix).split(',') : []) {
    const [name, share] = part.split(':');
    const w = Number(share);
    if (!(w > 0 && w < 1)) throw new UsageError(`${cmd}: --mix wants NAME:SHARE with a share in (0, 1), got ${JSON.stringify(part)}`);
    try {
      if (name === 'digits') sets.push({ set: { images: loadDigits('train'), question: DIGITS_QUESTION }, share: w });
      else if (name === 'fashion') sets.push({ set: { images: loadFashion('train'), question: FASHION_QUESTION }, share: w });
      else throw new UsageError(`${cmd}: --mix knows digits and fashion, got ${JSON.stringify(name)}`);
    } catch (e) {
      throw e instanceof UsageError ? e : new UsageError(`${cmd}: ${(e as Error).message}`);
    }
  }
  const types = f.types !== undefined ? String(f.types).split(',') : undefined;
  const known: readonly QuestionType[] = [...QUESTION_TYPES, ...TRAINING_TYPES];
  for (const t of types ?? [])
    if (!known.includes(t as QuestionType)) throw new UsageError(`${cmd}: --types knows ${known.join(', ')}, got ${JSON.stringify(t)}`);
  return interruptible(async (signal) => {
    const r = await sftShapes(
      {
        ...fineTuneSettings(f, cmd, meta, numberFlag(f, 'weight-decay', 0, 10, cmd, false)),
        checkpoint,
        vision,
        mix: { text: text ? { rows: text, share: numberFlag(f, 'text-share', 0, 1, cmd, false) } : undefined, sets },
        batchSize: numberFlag(f, 'batch', 1, 1 << 16, cmd),
        perScene: f.questions !== undefined ? numberFlag(f, 'questions', 1, (types ?? QUESTION_TYPES).length, cmd) : undefined,
        types: types as QuestionType[] | undefined,
        perAnswer: !!f['per-answer'],
        variety: f.variety !== undefined ? numberFlag(f, 'variety', 0, 1, cmd, false) : undefined,
        countPresent: f['count-present'] !== undefined ? numberFlag(f, 'count-present', 0, 1, cmd, false) : undefined,
        textFirst: f['text-first'] !== undefined ? numberFlag(f, 'text-first', 0, 1, cmd, false) : undefined,
        addLayers: f['add-layers'] !== undefined ? numberFlag(f, 'add-layers', 0, 16, cmd) : undefined,
      },
      tok,
      defaultBackend(),
      { signal },
    );
    console.log(JSON.stringify({ step: r.step, loss: r.loss, val_loss: r.valLoss ?? null, out: f.out }));
    return 0;
  });
}
