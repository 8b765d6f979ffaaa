// `tetra rl`: on-policy RL of an SFT checkpoint (src/train/policy-gradient.ts): answers sampled in
// groups, rewarded by the rubric classifier's safety reward (safety prompts) or by exact
// correctness (the others), with a KL penalty to the SFT model. Progress, checkpoints and
// Ctrl-C / --resume as in `tetra train`.
import { resolve } from 'node:path';
import { RbrmClassifier, readPrompts, scoreAnswer, type PairPrompt } from '../safety/index.ts';
import { defaultBackend } from '../tensor/index.ts';
import { rl, type RewardFn } from '../train/index.ts';
import { numberFlag, UsageError } from './args.ts';
import type { Command } from './command.ts';
import { fineTuneFlags, fineTuneSettings, openStart } from './fine-tune.ts';
import { interruptible } from './interrupt.ts';

const cmd = 'tetra rl';
const usage = 'tetra rl --checkpoint DIR --prompts F[,F...] --rbrm DIR --out DIR [--val F] [--steps N] [--group G] [--kl K] [--resume]';

export const rlCommand: Command = {
  name: 'rl',
  summary: 'on-policy RL of an SFT checkpoint: group-relative policy gradient, rubric + correctness reward, KL to SFT',
  usage,
  flags: {
    checkpoint: { type: 'string', help: 'the SFT run (or checkpoint directory): the start and the KL reference' },
    prompts: { type: 'string', help: 'evals-style samples ({"input", "ideal", "kind"?} per line), comma-separated' },
    val: { type: 'string', help: 'held-out prompts in the same format: the mean reward of greedy answers is the validation' },
    rbrm: { type: 'string', help: 'the rubric classifier that rewards answers to safety prompts' },
    'prompts-per-step': { type: 'number', help: 'prompts sampled per step', default: 4 },
    group: { type: 'number', help: 'answers sampled per prompt (the baseline is their mean reward)', default: 4 },
    kl: { type: 'number', help: 'weight of the per-token KL to the SFT model, taken off the reward', default: 0.05 },
    'max-tokens': { type: 'number', help: 'longest sampled answer', default: 64 },
    temperature: { type: 'number', help: 'sampling temperature', default: 1 },
    ...fineTuneFlags({ steps: 100, lr: 2e-5, warmup: 5, every: 25 }),
  },
  async run(f) {
    const { checkpoint, meta, tok } = await openStart(f, cmd, usage, ['prompts']);
    const files = (x: unknown) =>
      String(x)
        .split(',')
        .map((p) => resolve(p));
    const prompts = readPrompts(files(f.prompts));
    const val = f.val ? readPrompts(files(f.val)) : [];
    if ([...prompts, ...val].some((p) => p.kind) && !f.rbrm)
      throw new UsageError(`${cmd}: the prompts include safety prompts; --rbrm DIR is required`);
    const backend = defaultBackend();
    const rbrm = f.rbrm ? await RbrmClassifier.load(resolve(String(f.rbrm)), backend) : null;
    const reward =
      (ps: PairPrompt[]): RewardFn =>
      (i, answer) =>
        scoreAnswer(ps[i], answer, rbrm);
    return interruptible(async (signal) => {
      const r = await rl(
        {
          ...fineTuneSettings(f, cmd, meta),
          checkpoint,
          data: String(f.prompts),
          prompts,
          valPrompts: val,
          promptsPerStep: numberFlag(f, 'prompts-per-step', 1, 4096, cmd),
          pg: { group: numberFlag(f, 'group', 2, 256, cmd), kl: numberFlag(f, 'kl', 0, 100, cmd, false) },
          sampling: { maxTokens: numberFlag(f, 'max-tokens', 1, 4096, cmd), temperature: numberFlag(f, 'temperature', 0, 5, cmd, false) },
        },
        tok,
        backend,
        reward(prompts),
        val.length ? reward(val) : null,
        { signal },
      );
      console.log(JSON.stringify({ step: r.step, loss: r.loss, val_reward: r.valLoss === undefined ? null : -r.valLoss, out: f.out }));
      return 0;
    });
  },
};
