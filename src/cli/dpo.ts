// `tetra dpo`: preference optimisation of an SFT checkpoint on pairs in OpenAI's preference
// fine-tuning format (src/train/preference.ts). The reference log-probabilities are computed once
// and cached in OUT; progress, checkpoints and Ctrl-C / --resume as in `tetra train`.
import { resolve } from 'node:path';
import { ConversationError } from '../data/index.ts';
import { defaultBackend } from '../tensor/index.ts';
import { dpo } from '../train/index.ts';
import { numberFlag, UsageError } from './args.ts';
import type { Command } from './command.ts';
import { fineTuneFlags, fineTuneSettings, openStart } from './fine-tune.ts';
import { interruptible } from './interrupt.ts';

const cmd = 'tetra dpo';
const usage = 'tetra dpo --checkpoint DIR --data pairs.jsonl --out DIR [--val val.jsonl] [--steps N] [--batch P] [--beta B] [--resume]';

export const dpoCommand: Command = {
  name: 'dpo',
  summary: 'preference-optimise an SFT checkpoint on answer pairs (DPO; OpenAI preference JSONL)',
  usage,
  flags: {
    checkpoint: { type: 'string', help: 'the SFT run (or checkpoint directory): the start and the reference' },
    data: {
      type: 'string',
      help: 'pairs, one {"input": {"messages": [...]}, "preferred_output": [...], "non_preferred_output": [...]} per line',
    },
    val: { type: 'string', help: 'validation pairs (default: 5% of --data, held out by content hash)' },
    batch: { type: 'number', help: 'pairs per step (the replicas take whole pairs)', default: 8 },
    beta: { type: 'number', help: "how far from the reference the policy may move (DPO's beta)", default: 0.1 },
    nll: { type: 'number', help: "weight of the preferred answers' per-token likelihood (0 = plain DPO)", default: 0.2 },
    ...fineTuneFlags({ steps: 200, lr: 1e-4, warmup: 10, every: 25 }),
  },
  async run(f) {
    const { checkpoint, meta, tok } = await openStart(f, cmd, usage, ['data']);
    return interruptible(async (signal) => {
      try {
        const r = await dpo(
          {
            ...fineTuneSettings(f, cmd, meta),
            checkpoint,
            trainFile: resolve(String(f.data)),
            valFile: f.val ? resolve(String(f.val)) : undefined,
            batchSize: numberFlag(f, 'batch', 1, 1 << 14, cmd),
            dpo: { beta: numberFlag(f, 'beta', 1e-6, 100, cmd, false), nll: numberFlag(f, 'nll', 0, 100, cmd, false) },
          },
          tok,
          defaultBackend(),
          { signal },
        );
        console.log(
          JSON.stringify({ step: r.step, loss: r.loss, val_loss: r.valLoss ?? null, train: r.trainPairs, val: r.valPairs, out: f.out }),
        );
        return 0;
      } catch (e) {
        if (e instanceof ConversationError) throw new UsageError(`${cmd}: ${e.message}`);
        throw e;
      }
    });
  },
};
