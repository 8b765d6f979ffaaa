// `tetra scale`: predictable scaling. `plan` chooses a ladder of small runs below a target run
// (src/scaling/plan.ts) and writes it as JSON; `fit` fits L(C) = a C^b + c to a ladder's final
// losses and extrapolates it to the target, with a bootstrap interval.
import { readFileSync, writeFileSync } from 'node:fs';
import { readManifest } from '../data/index.ts';
import { bootstrap, computeLoss, fitComputeLaw, FitError, planLadder, planTable, PlanError, type ComputePoint } from '../scaling/index.ts';
import { numberFlag, UsageError } from './args.ts';
import type { Command } from './command.ts';
import { nominalPeakFlops } from './train.ts';

const USAGE = 'tetra scale plan --target-flops F --ladder-flops F (--data DIR | --vocab-size N) [--out plan.json] | '
  + 'tetra scale fit --points FILE.json --target-flops F';
const cmd = 'tetra scale';

/** Sustained training throughput assumed for the minutes column: half the nominal peak (measured MFU here is 50-70%). */
const ASSUMED_MFU = 0.5;

function vocabSizeOf(f: Record<string, unknown>): number {
  if (f.data !== undefined) {
    try { return readManifest(String(f.data)).tokenizer.vocabSize; } catch (e) { throw new UsageError(`${cmd} plan: --data ${f.data}: ${(e as Error).message}`); }
  }
  if (f['vocab-size'] === undefined) throw new UsageError(`${cmd} plan: pass --data DIR (a corpus from tetra data build) or --vocab-size N`);
  return numberFlag(f as never, 'vocab-size', 2, 1 << 20, `${cmd} plan`);
}

function readPoints(path: string): ComputePoint[] {
  let raw: unknown;
  try { raw = JSON.parse(readFileSync(path, 'utf8')); } catch (e) { throw new UsageError(`${cmd} fit: --points ${path}: ${(e as Error).message}`); }
  if (!Array.isArray(raw)) throw new UsageError(`${cmd} fit: --points ${path} must hold a JSON array of {"compute": FLOPs, "loss": L}`);
  return raw.map((p, i) => {
    if (typeof p?.compute !== 'number' || typeof p?.loss !== 'number') throw new UsageError(`${cmd} fit: ${path}: entry ${i} needs numeric "compute" and "loss"`);
    return { compute: p.compute, loss: p.loss };
  });
}

export const scaleCommand: Command = {
  name: 'scale',
  summary: 'plan a scaling ladder below a target run, and fit and extrapolate L(C) from its losses',
  usage: USAGE,
  flags: {
    'target-flops': { type: 'number', help: 'training FLOPs of the run to predict' },
    'ladder-flops': { type: 'number', help: 'plan: FLOPs the whole ladder may spend' },
    data: { type: 'string', help: 'plan: corpus directory (its tokenizer sets the vocabulary)' },
    'vocab-size': { type: 'number', help: 'plan: vocabulary size, when there is no --data' },
    'seq-len': { type: 'number', help: 'plan: training sequence length', default: 256 },
    runs: { type: 'number', help: 'plan: ladder runs (at least 4)', default: 6 },
    span: { type: 'number', help: 'plan: compute ratio of the largest to the smallest ladder run', default: 100 },
    'tokens-per-param': { type: 'number', help: 'plan: training tokens per parameter (Chinchilla: about 20)', default: 20 },
    'min-extrapolation': { type: 'number', help: 'plan: the largest ladder run is this many times below the target', default: 1000 },
    gflops: { type: 'number', help: 'plan: sustained training GFLOP/s for the minutes column (default: half the nominal peak)' },
    points: { type: 'string', help: 'fit: JSON array of {"compute", "loss"}, one per finished ladder run' },
    out: { type: 'string', help: 'plan: write the plan here as JSON' },
    json: { type: 'boolean', help: 'print JSON instead of a table' },
  },
  run(f, rest) {
    const [action, ...extra] = rest;
    if (extra.length) throw new UsageError(`${cmd}: unexpected argument '${extra[0]}' (usage: ${USAGE})`);
    try {
      if (action === 'plan') {
        for (const k of ['target-flops', 'ladder-flops']) if (f[k] === undefined) throw new UsageError(`${cmd} plan: --${k} is required`);
        const plan = planLadder({
          targetFlops: Number(f['target-flops']), ladderBudgetFlops: Number(f['ladder-flops']), vocabSize: vocabSizeOf(f),
          seqLen: numberFlag(f, 'seq-len', 8, 1 << 16, `${cmd} plan`), points: numberFlag(f, 'runs', 4, 64, `${cmd} plan`),
          span: numberFlag(f, 'span', 2, 1e9, `${cmd} plan`, false), tokensPerParam: numberFlag(f, 'tokens-per-param', 0.01, 1e6, `${cmd} plan`, false),
          minExtrapolation: numberFlag(f, 'min-extrapolation', 1, 1e12, `${cmd} plan`, false),
          flopsPerSecond: f.gflops !== undefined ? numberFlag(f, 'gflops', 1e-3, 1e9, `${cmd} plan`, false) * 1e9 : ASSUMED_MFU * nominalPeakFlops(),
        });
        if (f.out) writeFileSync(String(f.out), `${JSON.stringify(plan, null, 2)}\n`);
        console.log(f.json ? JSON.stringify(plan) : planTable(plan));
        if (f.out) console.error(`${cmd} plan: wrote ${f.out}`);
        return 0;
      }
      if (action === 'fit') {
        if (f.points === undefined || f['target-flops'] === undefined) throw new UsageError(`${cmd} fit: --points FILE and --target-flops F are required`);
        const points = readPoints(String(f.points)), target = Number(f['target-flops']);
        const law = fitComputeLaw(points);
        const ci = bootstrap(points, (s) => computeLoss(fitComputeLaw(s), target), { samples: 200 });
        const out = { law: { a: law.a, b: law.b, c: law.c }, target_flops: target, predicted_loss: ci.estimate, interval: [ci.lo, ci.hi], level: ci.level };
        console.log(f.json ? JSON.stringify(out)
          : `L(C) = ${law.a.toPrecision(4)} * C^${law.b.toFixed(4)} + ${law.c.toFixed(4)}\n`
            + `predicted loss at ${target.toExponential(2)} FLOPs: ${ci.estimate.toFixed(4)} (${(ci.level * 100).toFixed(0)}% interval ${ci.lo.toFixed(4)}-${ci.hi.toFixed(4)})`);
        return 0;
      }
    } catch (e) {
      // A plan or fit that cannot work is the job failing (exit 1, one line), not a usage mistake.
      if (e instanceof PlanError || e instanceof FitError) throw new Error(`${action}: ${e.message}`);
      throw e;
    }
    throw new UsageError(`${cmd}: expected plan or fit (usage: ${USAGE})`);
  },
};
