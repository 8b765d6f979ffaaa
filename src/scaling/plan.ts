// Planning a scaling ladder: small runs spread evenly in log compute below a target run, sized
// along the depth dial (src/model/config.ts) at a fixed number of tokens per parameter, so the
// ladder's losses trace L(C) for the model family the target belongs to. The largest ladder run
// stays at least `minExtrapolation` times below the target (the GPT-4 report predicted from runs
// with 1,000-10,000x less compute), and the whole ladder fits its compute budget.
import { configFromDepth, flopsPerToken, paramCount } from '../model/index.ts';

export interface PlannedRun {
  name: string;
  depth: number;
  params: number;
  tokens: number;
  /** Training FLOPs: flopsPerToken(config, seqLen) * tokens. */
  flops: number;
  /** Estimated wall time at the given sustained FLOP rate. */
  minutes: number;
}

export interface LadderPlan {
  version: 1;
  vocabSize: number;
  seqLen: number;
  tokensPerParam: number;
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
  maxDepth?: number;
  /** Sustained training FLOP/s on this machine, for the minutes column. */
  flopsPerSecond: number;
  /** A run shorter than this many tokens is too noisy to be a ladder point (default 64 * seqLen). */
  minTokens?: number;
}

export class PlanError extends Error {}

interface DepthCost {
  depth: number;
  params: number;
  perToken: number;
  natural: number;
}

function depthCosts(o: PlanOptions, ratio: number): DepthCost[] {
  const out: DepthCost[] = [];
  for (let depth = 1; depth <= (o.maxDepth ?? 32); depth++) {
    const cfg = configFromDepth(depth, { vocabSize: o.vocabSize, contextLength: o.seqLen });
    const params = paramCount(cfg),
      perToken = flopsPerToken(cfg, o.seqLen);
    out.push({ depth, params, perToken, natural: perToken * ratio * params });
  }
  return out;
}

/** The depth whose compute at the planned tokens per parameter is nearest (in log) to `flops`. */
function nearest(costs: DepthCost[], flops: number): DepthCost {
  return costs.reduce((best, c) => (Math.abs(Math.log(c.natural / flops)) < Math.abs(Math.log(best.natural / flops)) ? c : best));
}

export function planLadder(o: PlanOptions): LadderPlan {
  const points = o.points ?? 6,
    ratio = o.tokensPerParam ?? 20,
    minX = o.minExtrapolation ?? 1000,
    span = o.span ?? 100;
  const minTokens = o.minTokens ?? 64 * o.seqLen;
  for (const [k, v] of Object.entries({
    targetFlops: o.targetFlops,
    ladderBudgetFlops: o.ladderBudgetFlops,
    flopsPerSecond: o.flopsPerSecond,
  })) {
    if (!Number.isFinite(v) || v <= 0) throw new PlanError(`${k} must be a positive number of FLOPs, got ${v}`);
  }
  if (!Number.isInteger(points) || points < 4) throw new PlanError(`a ladder needs at least 4 runs to fit L(C) = a C^b + c; got ${points}`);
  const costs = depthCosts(o, ratio);
  const run = (name: string, flops: number): PlannedRun => {
    const d = nearest(costs, flops);
    const tokens = Math.round(flops / d.perToken);
    return {
      name,
      depth: d.depth,
      params: d.params,
      tokens,
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
    version: 1,
    vocabSize: o.vocabSize,
    seqLen: o.seqLen,
    tokensPerParam: ratio,
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
    fmt(r.params),
    fmt(r.tokens),
    r.flops.toExponential(2),
    r.minutes.toFixed(1),
  ]);
  const head = ['run', 'depth', 'params', 'tokens', 'FLOPs', 'minutes'];
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
