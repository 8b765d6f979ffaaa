// The capability law (GPT-4 report §3.2): a task's mean log pass rate falls as a power of compute,
//   -E_P[log pass_rate(C)] = alpha * C^-k,
// fitted on the ladder and extrapolated to the target before it trains, per difficulty bucket,
// over the problems P that every ladder model solves at least once under a sample budget.
//
// The task is multi-digit addition (src/data/synthetic/arithmetic.ts), in the corpus as lines
// `a + b = c`; a bucket is the operands' number of digits, and its problems are held out (their
// keys never appear in the corpus). A problem's pass rate is computed, not sampled: the
// probability that sampling at temperature 1 writes exactly the answer and the line end, which
// is exp(log p(answer | prompt)). That is the pass rate an unbounded sample budget would measure,
// without the sampling noise that a finite k adds to the small pass rates of small models. The
// report's condition "solved at least once by every model under a budget of K samples" becomes
// "pass rate >= 1/K for every ladder model" (K = 100 by default).
import { additionProblems, type AdditionProblem } from '../data/index.ts';
import { scoreContinuation, type GPT } from '../model/index.ts';
import type { Backend } from '../tensor/index.ts';
import { FitError, type ComputeLaw, type ComputePoint } from './fit.ts';

export const CAPABILITY_BUCKETS = [1, 2, 3, 4];
export const CAPABILITY_TASK = 'addition';

export interface ProblemScore {
  key: string;
  bucket: number;
  /** log pass rate at temperature 1 (<= 0). */
  logPass: number;
}

export interface CapabilityRecord {
  name: string;
  compute: number;
  problems: ProblemScore[];
}

/** The held-out problems of each bucket (the same for every model of a ladder). */
export function capabilityProblems(perBucket: number, seed = 7): AdditionProblem[] {
  return CAPABILITY_BUCKETS.flatMap((digits) => additionProblems({ seed, count: perBucket, split: 'eval', digits }));
}

/** Every problem's log pass rate under one model. */
export function scoreProblems(
  model: GPT,
  backend: Backend<Float32Array>,
  encode: (text: string) => number[],
  problems: AdditionProblem[],
): ProblemScore[] {
  return problems.map((p) => ({
    key: p.key,
    bucket: p.digits,
    logPass: scoreContinuation(model, backend, encode(p.prompt), encode(p.answer)).logprob,
  }));
}

/** Keys of the problems every record solves with pass rate >= minPass. */
export function solvedByAll(records: CapabilityRecord[], minPass: number): Set<string> {
  if (!records.length) return new Set();
  const floor = Math.log(minPass);
  const keys = new Set(records[0].problems.map((p) => p.key));
  for (const r of records) for (const p of r.problems) if (p.logPass < floor) keys.delete(p.key);
  for (const r of records) {
    const have = new Set(r.problems.map((p) => p.key));
    for (const k of keys) if (!have.has(k)) keys.delete(k);
  }
  return keys;
}

/** -E[log pass rate] of one record over one bucket's kept problems (NaN when none is kept). */
export function bucketValue(r: CapabilityRecord, bucket: number, kept: Set<string>): number {
  const xs = r.problems.filter((p) => p.bucket === bucket && kept.has(p.key)).map((p) => -p.logPass);
  return xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : Number.NaN;
}

/**
 * alpha * C^-k by least squares on log value against log compute, as a ComputeLaw with c = 0
 * (a = alpha, b = -k), so computeLoss, the bootstrap and the registry take it unchanged.
 */
export function fitCapabilityLaw(points: ComputePoint[]): ComputeLaw & { objective: number } {
  if (points.length < 3) throw new FitError(`capability law: ${points.length} points; a fit needs at least 3`);
  for (const p of points)
    if (!(p.compute > 0 && p.loss > 0 && Number.isFinite(p.loss)))
      throw new FitError(`capability law: every point needs compute > 0 and -E[log pass] > 0, got ${JSON.stringify(p)}`);
  const xs = points.map((p) => Math.log(p.compute)),
    ys = points.map((p) => Math.log(p.loss));
  const mx = xs.reduce((a, b) => a + b, 0) / xs.length,
    my = ys.reduce((a, b) => a + b, 0) / ys.length;
  let sxy = 0,
    sxx = 0;
  for (let i = 0; i < xs.length; i++) {
    sxy += (xs[i] - mx) * (ys[i] - my);
    sxx += (xs[i] - mx) ** 2;
  }
  if (sxx === 0) throw new FitError('capability law: the points share one compute; a fit needs a spread');
  const b = sxy / sxx;
  const objective = xs.reduce((s, x, i) => s + (ys[i] - (my + b * (x - mx))) ** 2, 0);
  return { a: Math.exp(my - b * mx), b, c: 0, objective };
}

/** The name a bucket's prediction is registered under: a metric of the target run. */
export const capabilityTarget = (target: string, bucket: number) => `${target}:${CAPABILITY_TASK}-${bucket}digit`;
