// `tetra rl`: on-policy RL of an SFT checkpoint (src/train/policy-gradient.ts): answers sampled in
// groups, rewarded by the rubric classifier's safety reward (safety prompts) or by exact
// correctness (the others), with a KL penalty to the SFT model. Progress, checkpoints and
// Ctrl-C / --resume as in `tetra train`.
import { resolve } from 'node:path';
import { checkpointInfo } from '../model/index.ts';
import { RbrmClassifier, readPrompts, scoreAnswer, type PairPrompt } from '../safety/index.ts';
import { defaultBackend } from '../tensor/index.ts';
import { openTokenizerRef } from '../tokenizer/index.ts';
import { defaultAdamW, defaultReplicas, nominalPeakFlops, rl, type RewardFn } from '../train/index.ts';
import { numberFlag, UsageError } from './args.ts';
import type { Command } from './command.ts';
import { resolveCheckpoint } from './generate.ts';
import { interruptible } from './interrupt.ts';

const cmd = 'tetra rl';

export const rlCommand: Command = {
  name: 'rl',
  summary: 'on-policy RL of an SFT checkpoint: group-relative policy gradient, rubric + correctness reward, KL to SFT',
  usage: 'tetra rl --checkpoint DIR --prompts F[,F...] --rbrm DIR --out DIR [--val F] [--steps N] [--group G] [--kl K] [--resume]',
  flags: {
    checkpoint: { type: 'string', help: 'the SFT run (or checkpoint directory): the start and the KL reference' },
    prompts: { type: 'string', help: 'evals-style samples ({"input", "ideal", "kind"?} per line), comma-separated' },
    val: { type: 'string', help: 'held-out prompts in the same format: the mean reward of greedy answers is the validation' },
    rbrm: { type: 'string', help: 'the rubric classifier that rewards answers to safety prompts' },
    out: { type: 'string', help: 'run directory: checkpoints/, metrics.jsonl' },
    resume: { type: 'boolean', help: "continue from OUT's newest checkpoint" },
    steps: { type: 'number', help: 'optimizer steps', default: 100 },
    'prompts-per-step': { type: 'number', help: 'prompts sampled per step', default: 4 },
    group: { type: 'number', help: 'answers sampled per prompt (the baseline is their mean reward)', default: 4 },
    kl: { type: 'number', help: 'weight of the per-token KL to the SFT model, taken off the reward', default: 0.05 },
    'max-tokens': { type: 'number', help: 'longest sampled answer', default: 64 },
    temperature: { type: 'number', help: 'sampling temperature', default: 1 },
    lr: { type: 'number', help: 'peak learning rate', default: 2e-5 },
    warmup: { type: 'number', help: 'warmup steps', default: 5 },
    seed: { type: 'number', help: 'prompt order and sampling', default: 1337 },
    'eval-every': { type: 'number', help: 'validation every N steps (0 = off)', default: 25 },
    'checkpoint-every': { type: 'number', help: 'checkpoint every N steps (and at the end)', default: 25 },
    keep: { type: 'number', help: 'checkpoints to keep', default: 2 },
    replicas: { type: 'number', help: 'data-parallel threads, each taking whole groups (default: the kernel threads)' },
  },
  async run(f) {
    for (const k of ['checkpoint', 'prompts', 'out']) if (!f[k]) throw new UsageError(`${cmd}: --${k} is required (usage: ${this.usage})`);
    const checkpoint = resolveCheckpoint(String(f.checkpoint));
    const { meta } = checkpointInfo(checkpoint);
    const tok = await openTokenizerRef(meta.tokenizer ?? {});
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
          checkpoint,
          data: String(f.prompts),
          prompts,
          valPrompts: val,
          out: resolve(String(f.out)),
          promptsPerStep: numberFlag(f, 'prompts-per-step', 1, 4096, cmd),
          pg: { group: numberFlag(f, 'group', 2, 256, cmd), kl: numberFlag(f, 'kl', 0, 100, cmd, false) },
          sampling: { maxTokens: numberFlag(f, 'max-tokens', 1, 4096, cmd), temperature: numberFlag(f, 'temperature', 0, 5, cmd, false) },
          accum: 1,
          steps: numberFlag(f, 'steps', 1, 1e9, cmd),
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
