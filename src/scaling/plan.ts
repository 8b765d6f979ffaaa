// Planning a scaling ladder: small runs spread evenly in log compute below a target run, all from
// one model family along a width dial, each at a fixed number of tokens per parameter, so the
// ladder's losses trace L(C) for the family the target belongs to. The largest ladder run stays at
// least `minExtrapolation` times below the target (the GPT-4 report predicted from runs with
// 1,000-10,000x less compute), and the whole ladder fits its compute budget.
//
// The family (familyConfig): width w, a multiple of 8 (heads of 16, or of 8 when w is not a
// multiple of 16), and max(2, round(w/64)) layers, so depth grows with width as in
// configFromDepth, but the dial goes down to models of a few thousand parameters (a ladder 1,000x
// below a 30-minute target needs them) in steps fine enough that neighbouring ladder runs are
// different models, without dropping to one layer, where a transformer cannot form induction
// heads and learns along another curve.
// Every run also follows one rule for its batch and learning rate, so the ladder varies smoothly:
// batch = round(sqrt(sequences) / 8) sequences (bigger runs take bigger batches, as the critical
// batch size grows while the loss falls), and lr = lrBase * sqrt(64 / w) (narrower models take a
// larger step, as muP's Adam rule has it).
import type { GPTConfig } from '../model/index.ts';
import { configFromDepth, flopsPerToken, paramCount } from '../model/index.ts';

export interface PlannedRun {
  name: string;
  /** Layers and width of the family member (familyConfig). */
  depth: number;
  width: number;
  params: number;
  tokens: number;
  /** Sequences per step and optimizer steps (batch * steps * seqLen >= tokens). */
  batch: number;
  steps: number;
  /** Peak learning rate. */
  lr: number;
  /** Training FLOPs: flopsPerToken(config, seqLen) * tokens. */
  flops: number;
  /** Estimated wall time at the given sustained FLOP rate. */
  minutes: number;
}

export interface LadderPlan {
  version: 2;
  vocabSize: number;
  seqLen: number;
  tokensPerParam: number;
  lrBase: number;
  target: PlannedRun;
  runs: PlannedRun[];
  ladderFlops: number;
  /** Target compute / the largest ladder run's compute. */
  extrapolation: number;
  flopsPerSecond: number;
}

export interface PlanOptions {
  targetFlops: number;
  ladderBudgetFlops: number;
  vocabSize: number;
  seqLen: number;
  /** Ladder runs (at least 4; default 6). */
  points?: number;
  /** Chinchilla's compute-optimal ratio is about 20 (default). */
  tokensPerParam?: number;
  /** The largest ladder run is at least this many times below the target (default 1000). */
  minExtrapolation?: number;
  /** Smallest to largest ladder run, as a compute ratio (default 100: two decades). */
  span?: number;
  /** The widest model the plan may choose (default 2048). */
  maxWidth?: number;
  /** Peak learning rate at width 64 (default 4e-3). */
  lrBase?: number;
  /** Sustained training FLOP/s on this machine, for the minutes column. */
  flopsPerSecond: number;
  /** A run shorter than this many tokens is too noisy to be a ladder point (default 64 * seqLen). */
  minTokens?: number;
}

export class PlanError extends Error {}

/** The ladder's model family at width w (see the header). */
export function familyConfig(width: number, vocabSize: number, seqLen: number): GPTConfig {
  if (!Number.isInteger(width) || width < 8 || width % 8) throw new PlanError(`width must be a multiple of 8, got ${width}`);
  return configFromDepth(Math.max(2, Math.round(width / 64)), {
    vocabSize,
    contextLength: seqLen,
    nEmbd: width,
    nHead: width % 16 ? width / 8 : width / 16,
    mlpHidden: Math.ceil(((8 / 3) * width) / 8) * 8,
  });
}

/** The model a planned run trains. */
export const runConfig = (plan: Pick<LadderPlan, 'vocabSize' | 'seqLen'>, run: Pick<PlannedRun, 'width'>): GPTConfig =>
  familyConfig(run.width, plan.vocabSize, plan.seqLen);

interface WidthCost {
  width: number;
  depth: number;
  params: number;
  perToken: number;
  natural: number;
}

function widthCosts(o: PlanOptions, ratio: number): WidthCost[] {
  const out: WidthCost[] = [];
  // Multiples of 16 only: every width then has heads of 16 (familyConfig gives width / 8 heads of 8
  // otherwise), and a ladder that mixes head sizes is not one family (measured: width 56 with heads
  // of 8 lost to width 48 with heads of 16 on more compute).
  for (let width = 16; width <= (o.maxWidth ?? 2048); width += 16) {
    const cfg = familyConfig(width, o.vocabSize, o.seqLen);
    const params = paramCount(cfg),
      perToken = flopsPerToken(cfg, o.seqLen);
    out.push({ width, depth: cfg.nLayer, params, perToken, natural: perToken * ratio * params });
  }
  return out;
}

/** The width whose compute at the planned tokens per parameter is nearest (in log) to `flops`. */
function nearest(costs: WidthCost[], flops: number): WidthCost {
  return costs.reduce((best, c) => (Math.abs(Math.log(c.natural / flops)) < Math.abs(Math.log(best.natural / flops)) ? c : best));
}

export function planLadder(o: PlanOptions): LadderPlan {
  const points = o.points ?? 6,
    ratio = o.tokensPerParam ?? 20,
    minX = o.minExtrapolation ?? 1000,
    span = o.span ?? 100,
    lrBase = o.lrBase ?? 4e-3;
  const minTokens = o.minTokens ?? 64 * o.seqLen;
  for (const [k, v] of Object.entries({
    targetFlops: o.targetFlops,
    ladderBudgetFlops: o.ladderBudgetFlops,
    flopsPerSecond: o.flopsPerSecond,
  })) {
    if (!Number.isFinite(v) || v <= 0) throw new PlanError(`${k} must be a positive number of FLOPs, got ${v}`);
  }
  if (!Number.isInteger(points) || points < 4) throw new PlanError(`a ladder needs at least 4 runs to fit L(C) = a C^b + c; got ${points}`);
  if (!(lrBase > 0 && lrBase < 1)) throw new PlanError(`lrBase must be in (0, 1), got ${lrBase}`);
  const costs = widthCosts(o, ratio);
  const run = (name: string, flops: number): PlannedRun => {
    const d = nearest(costs, flops);
    const sequences = Math.max(1, Math.round(flops / d.perToken / o.seqLen));
    const batch = Math.max(1, Math.round(Math.sqrt(sequences) / 8));
    const steps = Math.max(1, Math.floor(sequences / batch)); // whole steps, never over the planned compute
    const tokens = steps * batch * o.seqLen;
    return {
      name,
      depth: d.depth,
      width: d.width,
      params: d.params,
      tokens,
      batch,
      steps,
      lr: lrBase * Math.sqrt(64 / d.width),
      flops: tokens * d.perToken,
      minutes: (tokens * d.perToken) / o.flopsPerSecond / 60,
    };
  };
  const target = run('target', o.targetFlops);
  // Geometric steps from the largest run down; the sum of a geometric series bounds the budget.
  const step = span ** (1 / (points - 1));
  const share = Array.from({ length: points }, (_, i) => step ** -i).reduce((a, b) => a + b, 0);
  const top = Math.min(target.flops / minX, o.ladderBudgetFlops / share);
  const runs = Array.from({ length: points }, (_, i) => run(`run-${String(i + 1).padStart(2, '0')}`, top / step ** (points - 1 - i)));
  const short = runs.find((r) => r.tokens < minTokens);
  if (short) {
    throw new PlanError(
      `the ladder cannot fit the budget: ${short.name} would train on ${short.tokens} tokens (fewer than ${minTokens}); ` +
        `raise --ladder-flops (now ${o.ladderBudgetFlops.toExponential(2)}) or lower --points or --span`,
    );
  }
  const ladderFlops = runs.reduce((s, r) => s + r.flops, 0);
  return {
    version: 2,
    vocabSize: o.vocabSize,
    seqLen: o.seqLen,
    tokensPerParam: ratio,
    lrBase,
    target,
    runs,
    ladderFlops,
    extrapolation: target.flops / runs[runs.length - 1].flops,
    flopsPerSecond: o.flopsPerSecond,
  };
}

/** The plan as the table `tetra scale plan` prints. */
export function planTable(p: LadderPlan): string {
  const rows = [...p.runs, p.target].map((r) => [
    r.name,
    String(r.depth),
    String(r.width),
    fmt(r.params),
    fmt(r.tokens),
    String(r.batch),
    String(r.steps),
    r.lr.toPrecision(2),
    r.flops.toExponential(2),
    r.minutes.toFixed(1),
  ]);
  const head = ['run', 'depth', 'width', 'params', 'tokens', 'batch', 'steps', 'lr', 'FLOPs', 'minutes'];
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(w[i]) : c.padStart(w[i]))).join('  ');
  return [
    line(head),
    ...rows.map(line),
    `ladder ${p.ladderFlops.toExponential(2)} FLOPs (${(p.runs.reduce((s, r) => s + r.minutes, 0)).toFixed(1)} min); ` +
      `target ${p.target.flops.toExponential(2)} (${p.extrapolation.toFixed(0)}x the largest run)`,
  ].join('\n');
}

const fmt = (n: number) => (n >= 1e6 ? `${(n / 1e6).toFixed(2)}M` : n >= 1e3 ? `${(n / 1e3).toFixed(1)}k` : String(n));
