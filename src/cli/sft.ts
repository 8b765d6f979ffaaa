// `tetra sft`: supervised fine-tuning of a pretrained checkpoint on conversations in OpenAI's
// fine-tuning format (JSONL, {"messages": [...]} per line), loss on assistant turns only
// (src/train/sft.ts). Progress, checkpoints and Ctrl-C / --resume as in `tetra train`.
import { resolve } from 'node:path';
import { ConversationError } from '../data/index.ts';
import { defaultBackend } from '../tensor/index.ts';
import { sft } from '../train/index.ts';
import { numberFlag, UsageError } from './args.ts';
import type { Command } from './command.ts';
import { fineTuneFlags, fineTuneSettings, openStart } from './fine-tune.ts';
import { interruptible } from './interrupt.ts';

const cmd = 'tetra sft';
const usage = 'tetra sft --checkpoint DIR --data train.jsonl --out DIR [--val val.jsonl] [--steps N] [--batch B] [--lr LR] [--resume]';

export const sftCommand: Command = {
  name: 'sft',
  summary: 'fine-tune a checkpoint on conversations (OpenAI fine-tuning JSONL; loss on assistant turns)',
  usage,
  flags: {
    checkpoint: { type: 'string', help: 'the pretrained run (or checkpoint directory) to start from' },
    data: { type: 'string', help: 'training conversations, one {"messages": [...]} per line' },
    val: { type: 'string', help: 'validation conversations (default: 5% of --data, held out by content hash)' },
    batch: { type: 'number', help: 'conversations per step', default: 16 },
    'weight-decay': { type: 'number', help: 'AdamW weight decay (matrices only)', default: 0 },
    ...fineTuneFlags({ steps: 500, lr: 3e-4, warmup: 20, every: 50 }),
  },
  async run(f) {
    const { checkpoint, meta, tok } = await openStart(f, cmd, usage, ['data']);
    return interruptible(async (signal) => {
      try {
        const r = await sft(
          {
            ...fineTuneSettings(f, cmd, meta, numberFlag(f, 'weight-decay', 0, 10, cmd, false)),
            checkpoint,
            trainFile: resolve(String(f.data)),
            valFile: f.val ? resolve(String(f.val)) : undefined,
            batchSize: numberFlag(f, 'batch', 1, 1 << 16, cmd),
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
