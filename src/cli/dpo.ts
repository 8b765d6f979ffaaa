// `tetra dpo`: preference optimisation of an SFT checkpoint on pairs in OpenAI's preference
// fine-tuning format (src/train/preference.ts). The reference log-probabilities are computed once
// and cached in OUT; progress, checkpoints and Ctrl-C / --resume as in `tetra train`.
import { resolve } from 'node:path';
import { ConversationError } from '../data/index.ts';
import { checkpointInfo } from '../model/index.ts';
import { defaultBackend } from '../tensor/index.ts';
import { openTokenizerRef } from '../tokenizer/index.ts';
import { defaultAdamW, defaultReplicas, dpo, nominalPeakFlops } from '../train/index.ts';
import { numberFlag, UsageError } from './args.ts';
import type { Command } from './command.ts';
import { resolveCheckpoint } from './generate.ts';
import { interruptible } from './interrupt.ts';

const cmd = 'tetra dpo';

export const dpoCommand: Command = {
  name: 'dpo',
  summary: 'preference-optimise an SFT checkpoint on answer pairs (DPO; OpenAI preference JSONL)',
  usage: 'tetra dpo --checkpoint DIR --data pairs.jsonl --out DIR [--val val.jsonl] [--steps N] [--batch P] [--beta B] [--resume]',
  flags: {
    checkpoint: { type: 'string', help: 'the SFT run (or checkpoint directory): the start and the reference' },
    data: {
      type: 'string',
      help: 'pairs, one {"input": {"messages": [...]}, "preferred_output": [...], "non_preferred_output": [...]} per line',
    },
    val: { type: 'string', help: 'validation pairs (default: 5% of --data, held out by content hash)' },
    out: { type: 'string', help: 'run directory: checkpoints/, metrics.jsonl, reference.json' },
    resume: { type: 'boolean', help: "continue from OUT's newest checkpoint" },
    steps: { type: 'number', help: 'optimizer steps', default: 200 },
    batch: { type: 'number', help: 'pairs per step', default: 8 },
    beta: { type: 'number', help: "how far from the reference the policy may move (DPO's beta)", default: 0.1 },
    nll: { type: 'number', help: "weight of the preferred answers' per-token likelihood (0 = plain DPO)", default: 0.2 },
    lr: { type: 'number', help: 'peak learning rate', default: 1e-4 },
    warmup: { type: 'number', help: 'warmup steps', default: 10 },
    seed: { type: 'number', help: 'data order', default: 1337 },
    'eval-every': { type: 'number', help: 'validation every N steps (0 = off)', default: 25 },
    'checkpoint-every': { type: 'number', help: 'checkpoint every N steps (and at the end)', default: 50 },
    keep: { type: 'number', help: 'checkpoints to keep', default: 2 },
    replicas: { type: 'number', help: 'data-parallel threads, each taking whole pairs (default: the kernel threads)' },
  },
  async run(f) {
    for (const k of ['checkpoint', 'data', 'out']) if (!f[k]) throw new UsageError(`${cmd}: --${k} is required (usage: ${this.usage})`);
    const checkpoint = resolveCheckpoint(String(f.checkpoint));
    const { meta } = checkpointInfo(checkpoint);
    const tok = await openTokenizerRef(meta.tokenizer ?? {});
    return interruptible(async (signal) => {
      try {
        const r = await dpo(
          {
            checkpoint,
            trainFile: resolve(String(f.data)),
            valFile: f.val ? resolve(String(f.val)) : undefined,
            out: resolve(String(f.out)),
            batchSize: numberFlag(f, 'batch', 1, 1 << 14, cmd),
            accum: 1,
            steps: numberFlag(f, 'steps', 1, 1e9, cmd),
            dpo: { beta: numberFlag(f, 'beta', 1e-6, 100, cmd, false), nll: numberFlag(f, 'nll', 0, 100, cmd, false) },
            optimizer: { ...defaultAdamW, lr: numberFlag(f, 'lr', 0, 10, cmd, false), weightDecay: 0 },
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
