// The DPO loss (preference.ts) on the rows' summed log-probabilities, and its forward pass on a
// share of a pair batch: the preferred answers' rows first, then the others' in the same order.
// Kept apart from the training loop so the data-parallel replicas (replica-worker.ts) run it too.
import type { GPT } from '../model/index.ts';
import type { FloatArray, Tape, Tensor } from '../tensor/index.ts';

export interface DpoSettings {
  /** How far the policy may move from the reference (DPO's beta; 0.1 is the paper's default). */
  beta: number;
  /** Weight of the preferred answers' per-token negative log-likelihood (0 = plain DPO). */
  nll: number;
}

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

/**
 * The loss over P pairs and its gradient with respect to the rows' log-probabilities: logps and
 * ref hold the P preferred rows then the P others; tokens counts each row's answer tokens.
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
    const z = s.beta * (logps[i] - ref[i] - (logps[P + i] - ref[P + i]));
    // -log sigmoid(z) = softplus(-z), written to stay finite for large |z|.
    const l = z > 0 ? Math.log1p(Math.exp(-z)) : -z + Math.log1p(Math.exp(z));
    value += l;
    preference += l;
    const w = s.beta / (1 + Math.exp(z)); // beta * sigmoid(-z)
    grad[i] = -w;
    grad[P + i] = w;
    const n = Math.max(1, tokens[i]);
    value += (s.nll * -logps[i]) / n;
    grad[i] -= s.nll / n;
    if (z > 0) right++;
    margin += z;
    chosen += logps[i] / n;
  }
  for (let i = 0; i < 2 * P; i++) grad[i] /= P;
  return {
    value: value / P,
    grad,
    stats: { preference: preference / P, accuracy: right / P, margin: margin / P, chosen_logp: chosen / P },
  };
}

/**
 * The loss of B rows of T holding B/2 pairs (preferred rows first), on the tape: one forward,
 * then the DPO loss on the rows' log-probabilities against ref (same layout). The stats are the
 * batch's.
 */
export function preferenceForward(
  model: GPT,
  tape: Tape,
  inputs: Int32Array,
  targets: Int32Array,
  B: number,
  T: number,
  ref: ArrayLike<number>,
  s: DpoSettings,
  ignoreIndex = -1,
): { loss: Tensor; stats: DpoStats } {
  const lp = tape.sequenceLogProbs(model.run(tape, inputs, B, T), targets, B, ignoreIndex);
  const tokens = new Float64Array(B);
  for (let r = 0; r < B; r++) for (let t = r * T; t < (r + 1) * T; t++) if (targets[t] !== ignoreIndex) tokens[r]++;
  let stats: DpoStats | undefined;
  const loss = tape.scalar(lp, (x: FloatArray) => {
    const r = dpoLoss(x, ref, tokens, s);
    stats = r.stats;
    return r;
  });
  return { loss, stats: stats! };
}

/** The stats' names, in the order replicas report them. */
export const DPO_STATS = ['preference', 'accuracy', 'margin', 'chosen_logp'] as const satisfies readonly (keyof DpoStats)[];
