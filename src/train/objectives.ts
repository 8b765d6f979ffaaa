// Losses on whole sequences, for post-training: DPO on preference pairs (preference.ts) and the
// group-relative policy gradient of RL (policy-gradient.ts). Both are written on each row's summed
// log-probability of its learned tokens (Tape.sequenceLogProbs), and both see a batch as units of
// consecutive rows that must stay together: a pair [preferred, other] for DPO, a group of answers
// to one prompt for the policy gradient. Per row, `extra` holds `stride` numbers the loss needs.
// Kept apart from the training loop so the data-parallel replicas (replica-worker.ts) run them too:
// each replica takes whole units, and its loss (a mean over its units) is weighted by its share.
import type { GPT } from '../model/index.ts';
import type { FloatArray, Tape, Tensor } from '../tensor/index.ts';

export interface DpoSettings {
  /** How far the policy may move from the reference (DPO's beta; 0.1 is the paper's default). */
  beta: number;
  /** Weight of the preferred answers' per-token negative log-likelihood (0 = plain DPO). */
  nll: number;
}

export interface PolicyGradientSettings {
  /** Answers sampled per prompt: the group whose mean reward is each answer's baseline. */
  group: number;
  /** Weight of the per-token KL divergence from the reference model, taken off the reward. */
  kl: number;
}

export type SequenceObjective = ({ kind: 'dpo' } & DpoSettings) | ({ kind: 'pg' } & PolicyGradientSettings);

export interface DpoStats {
  /** The preference term alone (log 2 where the policy is the reference). */
  preference: number;
  /** Share of pairs whose implicit reward beta * (log pi - log ref) is higher for the preferred answer. */
  accuracy: number;
  /** Mean of that reward's margin, preferred minus other. */
  margin: number;
  /** Mean per-token log-probability of the preferred answers under the policy. */
  chosen_logp: number;
}

export interface PolicyGradientStats {
  /** Mean reward of the sampled answers (before the KL penalty). */
  reward: number;
  /** Mean per-token log-probability ratio of the answers, policy over reference (a KL estimate). */
  kl: number;
  /** Share of groups whose answers' rewards differ (the others teach nothing). */
  informative: number;
}

/** Each objective's stats, in the order replicas report them. */
export const OBJECTIVE_STATS = {
  dpo: ['preference', 'accuracy', 'margin', 'chosen_logp'],
  pg: ['reward', 'kl', 'informative'],
} as const satisfies { dpo: readonly (keyof DpoStats)[]; pg: readonly (keyof PolicyGradientStats)[] };

/** Rows per unit (a pair, a group) and numbers per row in `extra`. */
export function layout(o: SequenceObjective): { unitRows: number; stride: number } {
  return o.kind === 'dpo' ? { unitRows: 2, stride: 1 } : { unitRows: o.group, stride: 2 };
}

const softplus = (x: number) => (x > 0 ? x + Math.log1p(Math.exp(-x)) : Math.log1p(Math.exp(x)));

/**
 * The DPO loss over P pairs and its gradient with respect to the rows' log-probabilities: logps,
 * ref and tokens hold rows [preferred 0, other 0, preferred 1, other 1, ...]; tokens counts each
 * row's answer tokens.
 */
export function dpoLoss(
  logps: ArrayLike<number>,
  ref: ArrayLike<number>,
  tokens: ArrayLike<number>,
  s: DpoSettings,
): { value: number; grad: Float64Array; stats: DpoStats } {
  const P = logps.length / 2;
  if (!Number.isInteger(P) || ref.length !== logps.length || tokens.length !== logps.length)
    throw new Error(
      `dpo: ${logps.length} log-probabilities, ${ref.length} reference values and ${tokens.length} counts; 2 per pair wanted`,
    );
  const grad = new Float64Array(2 * P);
  let value = 0,
    preference = 0,
    right = 0,
    margin = 0,
    chosen = 0;
  for (let i = 0; i < P; i++) {
    const c = 2 * i,
      r = c + 1;
    const z = s.beta * (logps[c] - ref[c] - (logps[r] - ref[r]));
    const l = softplus(-z); // -log sigmoid(z), finite for any z
    value += l;
    preference += l;
    const w = s.beta / (1 + Math.exp(z)); // beta * sigmoid(-z)
    grad[c] = -w;
    grad[r] = w;
    const n = Math.max(1, tokens[c]);
    value += (s.nll * -logps[c]) / n;
    grad[c] -= s.nll / n;
    if (z > 0) right++;
    margin += z;
    chosen += logps[c] / n;
  }
  for (let i = 0; i < 2 * P; i++) grad[i] /= P;
  return {
    value: value / P,
    grad,
    stats: { preference: preference / P, accuracy: right / P, margin: margin / P, chosen_logp: chosen / P },
  };
}

/**
 * The group-relative policy gradient (GRPO's advantage, REINFORCE's estimator) over groups of
 * `group` consecutive rows, answers sampled for one prompt: each answer's reward less kl x its
 * per-token log-ratio to the reference, standardised within its group, weighs the gradient of
 * its per-token log-probability. extra holds [reward, reference log-probability] per row. The
 * value is the surrogate -mean(A * log p / n), whose gradient is the estimator's.
 */
export function policyGradientLoss(
  logps: ArrayLike<number>,
  extra: ArrayLike<number>,
  tokens: ArrayLike<number>,
  s: PolicyGradientSettings,
): { value: number; grad: Float64Array; stats: PolicyGradientStats } {
  const B = logps.length,
    G = s.group;
  if (!Number.isInteger(B / G) || extra.length !== 2 * B || tokens.length !== B)
    throw new Error(`policy gradient: ${B} rows in groups of ${G}, ${extra.length / 2} rewards, ${tokens.length} counts`);
  const grad = new Float64Array(B);
  let value = 0,
    reward = 0,
    kl = 0,
    informative = 0;
  for (let g = 0; g < B; g += G) {
    const shaped: number[] = [];
    for (let i = g; i < g + G; i++) {
      const n = Math.max(1, tokens[i]);
      const ratio = (logps[i] - extra[2 * i + 1]) / n;
      reward += extra[2 * i];
      kl += ratio;
      shaped.push(extra[2 * i] - s.kl * ratio);
    }
    const mean = shaped.reduce((a, b) => a + b, 0) / G;
    const std = Math.sqrt(shaped.reduce((a, b) => a + (b - mean) ** 2, 0) / G);
    if (std > 1e-6) informative++;
    for (let i = g; i < g + G; i++) {
      const A = std > 1e-6 ? (shaped[i - g] - mean) / std : 0;
      const n = Math.max(1, tokens[i]);
      value += (-A * logps[i]) / n;
      grad[i] = A ? -A / n / B : 0;
    }
  }
  return { value: value / B, grad, stats: { reward: reward / B, kl: kl / B, informative: informative / (B / G) } };
}

/**
 * The loss of B rows of T (whole units of the objective's layout), on the tape: one forward, then
 * the objective on the rows' log-probabilities. The stats are the batch's, by OBJECTIVE_STATS.
 */
export function sequenceForward(
  model: GPT,
  tape: Tape,
  inputs: Int32Array,
  targets: Int32Array,
  B: number,
  T: number,
  extra: ArrayLike<number>,
  o: SequenceObjective,
  ignoreIndex = -1,
): { loss: Tensor; stats: Record<string, number> } {
  const lp = tape.sequenceLogProbs(model.run(tape, inputs, B, T), targets, B, ignoreIndex);
  const tokens = new Float64Array(B);
  for (let r = 0; r < B; r++) for (let t = r * T; t < (r + 1) * T; t++) if (targets[t] !== ignoreIndex) tokens[r]++;
  let stats: Record<string, number> = {};
  const loss = tape.scalar(lp, (x: FloatArray) => {
    const r = o.kind === 'dpo' ? dpoLoss(x, extra, tokens, o) : policyGradientLoss(x, extra, tokens, o);
    stats = { ...r.stats };
    return r;
  });
  return { loss, stats };
}
