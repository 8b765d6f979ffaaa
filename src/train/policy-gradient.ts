// On-policy RL from an SFT checkpoint: group-relative policy gradient (GRPO's advantage with
// REINFORCE's estimator, objectives.ts) with a KL penalty to the SFT model, the reward coming
// from the caller (`tetra rl`: the rubric classifier's safety reward plus task correctness).
//
// Each step takes `promptsPerStep` prompts, samples `group` answers to each from the model being
// trained (temperature, at most maxTokens), scores them, and computes each answer's summed
// log-probability under the reference (the starting checkpoint, kept in memory without
// gradients). The rows are exactly the sampled tokens after the rendered prompt (with the stop
// token when the model stopped), so the gradient is of what was sampled. Sampling is seeded by
// the step, so a resumed run samples what the uninterrupted one would have. Checkpoints,
// progress and metrics (mean reward, KL estimate, share of groups that carry a signal) are the
// training loop's; validation is the mean reward of greedy answers to held-out prompts.
import { findCheckpoint, generate, GPT, loadCheckpoint, type Generation } from '../model/index.ts';
import type { ConversationRow } from '../data/index.ts';
import type { Backend } from '../tensor/index.ts';
import { renderPrompt, type ChatMessage, type Tokenizer } from '../tokenizer/index.ts';
import type { PolicyGradientSettings } from './objectives.ts';
import { train, type BatchSource, type LiveModel, type TrainConfig, type TrainResult } from './pretrain.ts';
import { epochSource, LENGTH_MULTIPLE, padRows, rowLogProbs } from './sft.ts';

export interface RlPrompt {
  input: ChatMessage[];
}

/** Scores one answer to prompts[index] (higher is better). */
export type RewardFn = (index: number, answer: string) => number;

export interface SamplingSettings {
  maxTokens: number;
  temperature: number;
}

/** The rows of sampled answers: prompt tokens as context, the answer's tokens (and its stop token) as targets. */
export function answerRows(promptIds: Int32Array[], gens: Generation[], stop: number, source: string): ConversationRow[] {
  return gens.map((g, i) => {
    const prompt = promptIds[i];
    const answer = g.finishReason === 'stop' ? [...g.tokens, stop] : g.tokens;
    const ids = [...prompt, ...answer];
    const n = ids.length - 1;
    const targets = new Int32Array(n).fill(-1);
    for (let t = prompt.length - 1; t < n; t++) targets[t] = ids[t + 1];
    return { source, inputs: Int32Array.from(ids.slice(0, n)), targets, tokens: answer.length };
  });
}

/** Sampled, scored batches: promptsPerStep prompts x group answers, in epochs over the prompts. */
function rolloutSource(
  live: LiveModel,
  backend: Backend<Float32Array>,
  tok: Tokenizer,
  reference: GPT,
  prompts: RlPrompt[],
  reward: RewardFn,
  o: { promptsPerStep: number; group: number; seed: number; sampling: SamplingSettings },
  position: unknown,
): BatchSource {
  const ctx = live.model.config.contextLength;
  const ids = prompts.map((p) => Int32Array.from(renderPrompt(tok, p.input).ids));
  const lengths = ids.map((x) => ({ inputs: x }));
  // Stop at the end of the assistant's turn only: the row then ends with exactly that token.
  const end = tok.special('<|end|>');
  return epochSource(lengths, o.promptsPerStep, o.seed, position, (chosen, at) => {
    const seed = (o.seed * 2654435761 + at.epoch * 7919 + at.batch) >>> 0;
    const promptIds = chosen.flatMap((i) => Array.from({ length: o.group }, () => ids[i]));
    const longest = Math.max(...promptIds.map((x) => x.length));
    const gens = live.exclusive(() =>
      generate(live.model, backend, promptIds, {
        maxTokens: Math.max(1, Math.min(o.sampling.maxTokens, ctx - longest)),
        temperature: o.sampling.temperature,
        seed,
        stopTokens: [end],
      }),
    );
    const rows = answerRows(promptIds, gens, end, 'rollout');
    const refs = live.exclusive(() => rowLogProbs(reference, backend, rows, rows.length));
    const b = padRows(rows, LENGTH_MULTIPLE, ctx);
    b.extra = new Float64Array(2 * rows.length);
    rows.forEach((_, r) => {
      b.extra![2 * r] = reward(chosen[Math.floor(r / o.group)], tok.decode(gens[r].tokens));
      b.extra![2 * r + 1] = refs[r];
    });
    return b;
  });
}

/** Mean reward of greedy answers to the prompts (validation). */
export function greedyReward(
  model: GPT,
  backend: Backend<Float32Array>,
  tok: Tokenizer,
  prompts: RlPrompt[],
  reward: RewardFn,
  maxTokens: number,
): number {
  const stops = Object.values(tok.specials);
  let sum = 0;
  for (let i = 0; i < prompts.length; i += 16) {
    const ids = prompts.slice(i, i + 16).map((p) => Int32Array.from(renderPrompt(tok, p.input).ids));
    const longest = Math.max(...ids.map((x) => x.length));
    const gens = generate(model, backend, ids, {
      maxTokens: Math.max(1, Math.min(maxTokens, model.config.contextLength - longest)),
      temperature: 0,
      stopTokens: stops,
    });
    gens.forEach((g, j) => {
      sum += reward(i + j, tok.decode(g.tokens));
    });
  }
  return sum / prompts.length;
}

export interface RlConfig
  extends Omit<
    TrainConfig,
    'model' | 'seqLen' | 'source' | 'validate' | 'initFrom' | 'evalBatches' | 'evalBatchSize' | 'data' | 'sequence' | 'batchSize'
  > {
  /** The SFT checkpoint (or its run directory): the policy's start and the KL reference. */
  checkpoint: string;
  /** Names the prompts in metrics and logs (a file, say). */
  data: string;
  prompts: RlPrompt[];
  valPrompts?: RlPrompt[];
  promptsPerStep: number;
  pg: PolicyGradientSettings;
  sampling: SamplingSettings;
}

/** RL from `checkpoint`: rewards from `reward(index into prompts, answer)`, validation from `valReward` on valPrompts. */
export async function rl(
  c: RlConfig,
  tok: Tokenizer,
  backend: Backend<Float32Array>,
  reward: RewardFn,
  valReward: RewardFn | null,
  opts: { log?: (line: string) => void; signal?: AbortSignal } = {},
): Promise<TrainResult> {
  if (!(Number.isInteger(c.pg.group) && c.pg.group >= 2))
    throw new Error(`rl: group must be an integer >= 2 (a baseline needs two answers), got ${c.pg.group}`);
  if (!(c.pg.kl >= 0)) throw new Error(`rl: kl must be >= 0, got ${c.pg.kl}`);
  if (!c.prompts.length) throw new Error('rl: no prompts');
  if (c.prompts.length < c.promptsPerStep)
    throw new Error(`rl: ${c.prompts.length} prompts, fewer than the ${c.promptsPerStep} of one step`);
  const checkpoint = findCheckpoint(c.checkpoint);
  if (!checkpoint) throw new Error(`rl: ${c.checkpoint} is neither a tetra checkpoint nor a run directory with checkpoints`);
  const ck = loadCheckpoint(checkpoint, { withOptimizer: false });
  const reference = new GPT(ck.config, ck.params, { requiresGrad: false });
  const val = c.valPrompts?.length && valReward ? c.valPrompts : null;
  return train(
    {
      ...c,
      model: ck.config,
      seqLen: ck.config.contextLength,
      batchSize: c.promptsPerStep * c.pg.group,
      evalBatches: 1,
      initFrom: checkpoint,
      sequence: { kind: 'pg', ...c.pg },
      source: (position, live) =>
        rolloutSource(
          live,
          backend,
          tok,
          reference,
          c.prompts,
          reward,
          { promptsPerStep: c.promptsPerStep, group: c.pg.group, seed: c.seed, sampling: c.sampling },
          position,
        ),
      validate: val
        ? (model, be) => {
            const r = greedyReward(model, be, tok, val, valReward!, c.sampling.maxTokens);
            return { loss: -r, stats: { reward: r } };
          }
        : undefined,
      evalEvery: val ? c.evalEvery : 0,
    },
    backend,
    opts,
  );
}
