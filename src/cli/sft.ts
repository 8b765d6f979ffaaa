// `tetra sft`: supervised fine-tuning of a pretrained checkpoint on conversations in OpenAI's
// fine-tuning format (JSONL, {"messages": [...]} per line), loss on assistant turns only
// (src/train/sft.ts). Progress, checkpoints and Ctrl-C / --resume as in `tetra train`.
import { resolve } from 'node:path';
import { ConversationError } from '../data/index.ts';
import { checkpointInfo } from '../model/index.ts';
import { defaultBackend } from '../tensor/index.ts';
import { openTokenizerRef } from '../tokenizer/index.ts';
import { defaultAdamW, defaultReplicas, nominalPeakFlops, sft } from '../train/index.ts';
import { numberFlag, UsageError } from './args.ts';
import type { Command } from './command.ts';
import { resolveCheckpoint } from './generate.ts';
import { interruptible } from './interrupt.ts';

const cmd = 'tetra sft';

export const sftCommand: Command = {
  name: 'sft',
  summary: 'fine-tune a checkpoint on conversations (OpenAI fine-tuning JSONL; loss on assistant turns)',
  usage: 'tetra sft --checkpoint DIR --data train.jsonl --out DIR [--val val.jsonl] [--steps N] [--batch B] [--lr LR] [--resume]',
  flags: {
    checkpoint: { type: 'string', help: 'the pretrained run (or checkpoint directory) to start from' },
    data: { type: 'string', help: 'training conversations, one {"messages": [...]} per line' },
    val: { type: 'string', help: 'validation conversations (default: 5% of --data, held out by content hash)' },
    out: { type: 'string', help: 'run directory: checkpoints/, metrics.jsonl' },
    resume: { type: 'boolean', help: "continue from OUT's newest checkpoint" },
    steps: { type: 'number', help: 'optimizer steps', default: 500 },
    batch: { type: 'number', help: 'conversations per step', default: 16 },
    lr: { type: 'number', help: 'peak learning rate', default: 3e-4 },
    warmup: { type: 'number', help: 'warmup steps', default: 20 },
    'weight-decay': { type: 'number', help: 'AdamW weight decay (matrices only)', default: 0 },
    seed: { type: 'number', help: 'data order', default: 1337 },
    'eval-every': { type: 'number', help: 'validation every N steps (0 = off)', default: 50 },
    'checkpoint-every': { type: 'number', help: 'checkpoint every N steps (and at the end)', default: 50 },
    keep: { type: 'number', help: 'checkpoints to keep', default: 2 },
    replicas: { type: 'number', help: 'data-parallel threads (default: the kernel threads)' },
  },
  async run(f) {
    for (const k of ['checkpoint', 'data', 'out']) if (!f[k]) throw new UsageError(`${cmd}: --${k} is required (usage: ${this.usage})`);
    const checkpoint = resolveCheckpoint(String(f.checkpoint));
    const { meta } = checkpointInfo(checkpoint);
    const tok = await openTokenizerRef(meta.tokenizer ?? {});
    const lr = numberFlag(f, 'lr', 0, 10, cmd, false);
    return interruptible(async (signal) => {
      try {
        const r = await sft(
          {
            checkpoint,
            trainFile: resolve(String(f.data)),
            valFile: f.val ? resolve(String(f.val)) : undefined,
            out: resolve(String(f.out)),
            batchSize: numberFlag(f, 'batch', 1, 1 << 16, cmd),
            accum: 1,
            steps: numberFlag(f, 'steps', 1, 1e9, cmd),
            optimizer: { ...defaultAdamW, lr, weightDecay: numberFlag(f, 'weight-decay', 0, 10, cmd, false) },
            schedule: { minLr: 0, warmup: numberFlag(f, 'warmup', 0, 1e9, cmd), decay: 'linear' },
            seed: numberFlag(f, 'seed', 0, 2 ** 31, cmd),
            evalEvery: numberFlag(f, 'eval-every', 0, 1e9, cmd),
            sampleEvery: 0,
            checkpointEvery: numberFlag(f, 'checkpoint-every', 0, 1e9, cmd),
            keepCheckpoints: numberFlag(f, 'keep', 1, 1000, cmd),
            peakFlops: nominalPeakFlops(),
            tokenizer: { ...meta.tokenizer, name: meta.tokenizer?.name ?? 'bytes' },
            resume: Boolean(f.resume),
            replicas: f.replicas !== undefined ? numberFlag(f, 'replicas', 1, 1024, cmd) : defaultReplicas(),
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
