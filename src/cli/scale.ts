// `tetra scale`: predictable scaling. `plan` chooses a ladder of small runs below a target run
// (src/scaling/plan.ts) and writes it as JSON; `fit` fits L(C) = a C^b + c to a ladder's final
// losses and extrapolates it to the target, with a bootstrap interval; `predict` registers that
// extrapolation before the target starts, `start` records the start, `score` compares the
// measured loss with the prediction (src/scaling/registry.ts: append-only, hash-chained).
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { readManifest } from '../data/index.ts';
import { latestCheckpoint } from '../model/index.ts';
import {
  bootstrap,
  bootstrapFits,
  computeLoss,
  fitComputeLaw,
  FitError,
  LadderError,
  ladderFrontier,
  ladderPoints,
  planLadder,
  planTable,
  PlanError,
  readRegistry,
  readResults,
  recordStart,
  registerPrediction,
  RegistryError,
  loadLadderQueue,
  runConfig,
  runLadder,
  scalingReport,
  scorePrediction,
  type ComputePoint,
  type LadderPlan,
  type PlannedRun,
  type Prediction,
  type RegistryEntry,
  type Score,
} from '../scaling/index.ts';
import { defaultBackend } from '../tensor/index.ts';
import { tokenizerRef } from '../tokenizer/index.ts';
import { defaultAdamW, defaultReplicas, nominalPeakFlops, readMetrics, train } from '../train/index.ts';
import { numberFlag, UsageError } from './args.ts';
import { capabilityCommand } from './scale-capability.ts';
import type { Command } from './command.ts';

const USAGE =
  'tetra scale plan --target-flops F --ladder-flops F (--data DIR | --vocab-size N) [--out plan.json]\n' +
  '       tetra scale run --plan plan.json --data DIR --out DIR [--with-target] [--queue redis://HOST:PORT]\n' +
  '       tetra scale worker --queue redis://HOST:PORT\n' +
  '       tetra scale fit --points FILE.json --target-flops F\n' +
  '       tetra scale predict --points FILE.json --target-flops F --target NAME --registry FILE\n' +
  '       tetra scale start --target NAME --registry FILE\n' +
  '       tetra scale score --target NAME --loss L --registry FILE\n' +
  '       tetra scale report --dir DIR\n' +
  '       tetra scale capability --dir DIR [--predict | --score] [--problems N] [--min-pass P]';
const cmd = 'tetra scale';

/** Sustained training throughput assumed for the minutes column: half the nominal peak (measured MFU here is 50-70%). */
const ASSUMED_MFU = 0.5;

function vocabSizeOf(f: Record<string, unknown>): number {
  if (f.data !== undefined) {
    try {
      return readManifest(String(f.data)).tokenizer.vocabSize;
    } catch (e) {
      throw new UsageError(`${cmd} plan: --data ${f.data}: ${(e as Error).message}`);
    }
  }
  if (f['vocab-size'] === undefined)
    throw new UsageError(`${cmd} plan: pass --data DIR (a corpus from tetra data build) or --vocab-size N`);
  return numberFlag(f as never, 'vocab-size', 2, 1 << 20, `${cmd} plan`);
}

function readPoints(path: string): ComputePoint[] {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new UsageError(`${cmd} fit: --points ${path}: ${(e as Error).message}`);
  }
  if (!Array.isArray(raw)) throw new UsageError(`${cmd} fit: --points ${path} must hold a JSON array of {"compute": FLOPs, "loss": L}`);
  return raw.map((p, i) => {
    if (typeof p?.compute !== 'number' || typeof p?.loss !== 'number')
      throw new UsageError(`${cmd} fit: ${path}: entry ${i} needs numeric "compute" and "loss"`);
    return { compute: p.compute, loss: p.loss };
  });
}

function readPlan(path: string): LadderPlan {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as LadderPlan;
  } catch (e) {
    throw new UsageError(`${cmd}: ${path}: ${(e as Error).message}`);
  }
}

/**
 * One ladder run with the ordinary trainer: the planned model, batch, steps and peak learning rate
 * (src/scaling/plan.ts), and one schedule rule for every run (warmup a tenth of the steps, at most
 * 100, then cosine to a tenth). Every run is judged on the same text: the whole validation split
 * (up to VAL_TOKENS), in sequences of the plan's length, so the ladder's losses differ only by the
 * models. A run killed part-way resumes from its checkpoints.
 */
interface Settings {
  data: string;
}
const VAL_TOKENS = 1 << 18;
const VAL_BATCH = 16;

async function trainRun(
  run: PlannedRun,
  dir: string,
  plan: LadderPlan,
  { data }: Settings,
): Promise<{ valLoss: number; valBpb?: number; resumedFrom?: number }> {
  const manifest = readManifest(data);
  if (manifest.tokenizer.vocabSize !== plan.vocabSize)
    throw new UsageError(`${cmd} run: ${data} has vocabulary ${manifest.tokenizer.vocabSize}; the plan was made for ${plan.vocabSize}`);
  if (plan.version !== 2 || !(run.width > 0))
    throw new UsageError(`${cmd} run: the plan predates the width dial (version ${plan.version}); plan the ladder again`);
  const steps = run.steps,
    lr = run.lr;
  const valBatches = Math.max(1, Math.floor(Math.min(VAL_TOKENS, manifest.splits.val.tokens) / (VAL_BATCH * plan.seqLen)));
  const r = await train(
    {
      data,
      out: dir,
      model: runConfig(plan, run),
      batchSize: run.batch,
      seqLen: plan.seqLen,
      accum: 1,
      steps,
      optimizer: { ...defaultAdamW, lr },
      schedule: { minLr: lr / 10, warmup: Math.min(100, Math.floor(steps / 10)), decay: 'cosine' },
      seed: 1337,
      evalEvery: steps,
      evalBatches: valBatches,
      evalBatchSize: VAL_BATCH,
      sampleEvery: 0,
      checkpointEvery: Math.max(20, Math.ceil(steps / 10)),
      keepCheckpoints: 2,
      peakFlops: plan.flopsPerSecond / ASSUMED_MFU,
      tokenizer: tokenizerRef(manifest.tokenizer.name),
      resume: latestCheckpoint(join(dir, 'checkpoints')) !== null,
      replicas: defaultReplicas(),
    },
    defaultBackend(),
    { log: () => {} },
  );
  const last = readMetrics(dir)
    .filter((m) => m.val_bpb !== undefined)
    .at(-1);
  return {
    valLoss: r.valLoss ?? Number.NaN,
    ...(last?.val_bpb !== undefined ? { valBpb: last.val_bpb } : {}),
    ...(r.resumedFrom ? { resumedFrom: r.resumedFrom } : {}),
  };
}

/** Queues the unfinished runs, then waits (printing progress) until every one has a result. */
async function runOnQueue(url: string, plan: LadderPlan, dir: string, settings: Settings, withTarget: boolean) {
  const { enqueueLadder } = await loadLadderQueue();
  const queued = await enqueueLadder(url, plan, dir, { ...settings }, { withTarget });
  const want = (withTarget ? [...plan.runs, plan.target] : plan.runs).map((r) => r.name);
  console.error(`${cmd} run: queued ${queued.length} run(s) on ${url}; waiting for workers (tetra scale worker --queue ${url})`);
  let seen = -1;
  for (;;) {
    const done = readResults(dir).filter((r) => want.includes(r.name));
    if (done.length !== seen) {
      seen = done.length;
      console.error(`${cmd} run: ${done.length}/${want.length} finished`);
    }
    if (done.length >= want.length) return readResults(dir);
    await new Promise((r) => setTimeout(r, 1000));
  }
}

function required(f: Record<string, unknown>, action: string, ...names: string[]): Record<string, string> {
  const missing = names.filter((n) => typeof f[n] !== 'string');
  if (missing.length) throw new UsageError(`${cmd} ${action}: ${missing.map((n) => `--${n}`).join(' and ')} required`);
  return Object.fromEntries(names.map((n) => [n, String(f[n])]));
}

/** The code's revision, recorded with a prediction (null outside a git checkout). */
function gitRevision(): string | null {
  const r = spawnSync('git', ['rev-parse', 'HEAD'], { encoding: 'utf8', cwd: import.meta.dirname });
  return r.status === 0 ? r.stdout.trim() : null;
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
    points: { type: 'string', help: 'fit, predict: JSON array of {"compute", "loss"}, one per finished ladder run' },
    plan: { type: 'string', help: 'run: the plan from tetra scale plan --out' },
    dir: {
      type: 'string',
      help: 'predict, report: a scaling directory from tetra scale run (its results and plan give the points and the target)',
    },
    'with-target': { type: 'boolean', help: 'run: train the target too, after the ladder' },
    queue: { type: 'string', help: 'run: put the runs on this Redis job queue for tetra scale worker; worker: take runs from it' },
    lr: { type: 'number', help: 'plan: peak learning rate at width 64 (lr = LR * sqrt(64 / width))', default: 4e-3 },
    target: { type: 'string', help: "predict, start, score: the target run's name" },
    registry: { type: 'string', help: 'predict, start, score: the prediction registry (JSONL, append-only)' },
    loss: { type: 'number', help: "score: the target's measured final validation loss" },
    out: { type: 'string', help: 'plan: write the plan here as JSON' },
    json: { type: 'boolean', help: 'print JSON instead of a table' },
    problems: { type: 'number', help: 'capability: held-out addition problems per difficulty bucket', default: 50 },
    'min-pass': {
      type: 'number',
      help: 'capability: keep the problems every ladder run passes at this rate or more (1/K for a budget of K samples)',
      default: 0.01,
    },
    predict: { type: 'boolean', help: "capability: fit each bucket's law on the ladder and register the target's prediction" },
    score: { type: 'boolean', help: "capability: score the finished target's buckets against their registered predictions" },
  },
  async run(f, rest) {
    const [action, ...extra] = rest;
    if (extra.length) throw new UsageError(`${cmd}: unexpected argument '${extra[0]}' (usage: ${USAGE})`);
    try {
      if (action === 'plan') {
        for (const k of ['target-flops', 'ladder-flops']) if (f[k] === undefined) throw new UsageError(`${cmd} plan: --${k} is required`);
        const plan = planLadder({
          targetFlops: Number(f['target-flops']),
          ladderBudgetFlops: Number(f['ladder-flops']),
          vocabSize: vocabSizeOf(f),
          seqLen: numberFlag(f, 'seq-len', 8, 1 << 16, `${cmd} plan`),
          points: numberFlag(f, 'runs', 4, 64, `${cmd} plan`),
          span: numberFlag(f, 'span', 2, 1e9, `${cmd} plan`, false),
          tokensPerParam: numberFlag(f, 'tokens-per-param', 0.01, 1e6, `${cmd} plan`, false),
          minExtrapolation: numberFlag(f, 'min-extrapolation', 1, 1e12, `${cmd} plan`, false),
          lrBase: numberFlag(f, 'lr', 1e-6, 0.5, `${cmd} plan`, false),
          flopsPerSecond:
            f.gflops !== undefined ? numberFlag(f, 'gflops', 1e-3, 1e9, `${cmd} plan`, false) * 1e9 : ASSUMED_MFU * nominalPeakFlops(),
        });
        if (f.out) writeFileSync(String(f.out), `${JSON.stringify(plan, null, 2)}\n`);
        console.log(f.json ? JSON.stringify(plan) : planTable(plan));
        if (f.out) console.error(`${cmd} plan: wrote ${f.out}`);
        return 0;
      }
      if (action === 'run') {
        const { plan, data, out } = required(f, 'run', 'plan', 'data', 'out');
        const ladder = readPlan(plan);
        const settings = { data: resolve(data) };
        const withTarget = Boolean(f['with-target']);
        const results =
          f.queue !== undefined
            ? await runOnQueue(String(f.queue), ladder, resolve(out), settings, withTarget)
            : await runLadder(ladder, resolve(out), (run, dir) => trainRun(run, dir, ladder, settings), { withTarget });
        console.log(
          results
            .map(
              (r) =>
                `${r.name.padEnd(8)} depth ${r.depth} width ${r.width}  ${r.flops.toExponential(2)} FLOPs  ` +
                `val loss ${r.valLoss.toFixed(4)}`,
            )
            .join('\n'),
        );
        return 0;
      }
      if (action === 'worker') {
        const { queue } = required(f, 'worker', 'queue');
        const { startLadderWorker } = await loadLadderQueue();
        const lockMs = Number(process.env.TETRA_SCALE_LOCK_MS) || undefined;
        const w = startLadderWorker(queue, (job) => (run, dir) => trainRun(run, dir, job.plan, job.settings as unknown as Settings), {
          lockMs,
        });
        console.error(`${cmd} worker: taking ladder runs from ${queue} (Ctrl-C stops after giving the current run back)`);
        await new Promise<void>((done) => process.once('SIGINT', done).once('SIGTERM', done));
        await w.close();
        return 0;
      }
      if (action === 'fit' || action === 'predict') {
        let points: ComputePoint[], targetFlops: number;
        if (f.dir !== undefined) {
          const plan = readPlan(join(String(f.dir), 'plan.json'));
          const frontier = ladderFrontier(readResults(String(f.dir)), plan.target.name);
          points = frontier.points;
          if (frontier.dropped.length)
            console.error(
              `${cmd} ${action}: left out of the fit, not below a cheaper run (off the frontier): ${frontier.dropped.join(', ')}`,
            );
          targetFlops = f['target-flops'] !== undefined ? Number(f['target-flops']) : plan.target.flops;
          f.target ??= plan.target.name;
          f.registry ??= join(String(f.dir), 'predictions.jsonl');
        } else {
          if (f.points === undefined || f['target-flops'] === undefined)
            throw new UsageError(`${cmd} ${action}: --dir DIR, or --points FILE and --target-flops F, are required`);
          points = readPoints(String(f.points));
          targetFlops = Number(f['target-flops']);
        }
        const law = fitComputeLaw(points);
        const ci = bootstrap(points, (sample) => computeLoss(fitComputeLaw(sample), targetFlops), { samples: 200 });
        const shown =
          `L(C) = ${law.a.toPrecision(4)} * C^${law.b.toFixed(4)} + ${law.c.toFixed(4)}\n` +
          `predicted loss at ${targetFlops.toExponential(2)} FLOPs: ${ci.estimate.toFixed(4)} (${(ci.level * 100).toFixed(0)}% ` +
          `interval ${ci.lo.toFixed(4)}-${ci.hi.toFixed(4)})`;
        if (action === 'fit') {
          const out = {
            law: { a: law.a, b: law.b, c: law.c },
            target_flops: targetFlops,
            predicted_loss: ci.estimate,
            interval: [ci.lo, ci.hi],
            level: ci.level,
          };
          console.log(f.json ? JSON.stringify(out) : shown);
          return 0;
        }
        const { registry, target } = required(f, 'predict', 'registry', 'target');
        const entry = registerPrediction(registry, {
          target,
          targetFlops,
          loss: ci.estimate,
          interval: [ci.lo, ci.hi],
          level: ci.level,
          law: { a: law.a, b: law.b, c: law.c },
          ladder: points,
          gitRevision: gitRevision(),
        });
        console.log(
          f.json ? JSON.stringify(entry) : `${shown}\nregistered as entry ${entry.seq} of ${registry} (sha256 ${entry.hash.slice(0, 12)})`,
        );
        return 0;
      }
      if (action === 'report') {
        const { dir } = required(f, 'report', 'dir');
        const plan = readPlan(join(dir, 'plan.json'));
        const results = readResults(dir);
        const points = ladderPoints(results, plan.target.name);
        const law = fitComputeLaw(points);
        const band = bootstrapFits(points, fitComputeLaw, { samples: 100, seed: 5 });
        const all = readRegistry(String(f.registry ?? join(dir, 'predictions.jsonl')));
        const entries = all.filter((e) => e.target === plan.target.name);
        const prediction = entries.find((e): e is RegistryEntry & Prediction => e.kind === 'prediction');
        const score = entries.find((e): e is RegistryEntry & Score => e.kind === 'score');
        const capability = all
          .filter((e): e is RegistryEntry & Prediction => e.kind === 'prediction' && e.target.startsWith(`${plan.target.name}:`))
          .map((p) => ({
            prediction: p,
            score: all.find((e): e is RegistryEntry & Score => e.kind === 'score' && e.target === p.target),
          }));
        const file = join(dir, 'report.html');
        writeFileSync(file, scalingReport({ plan, results, law, band, prediction, score, capability }));
        console.log(`wrote ${file}`);
        return 0;
      }
      if (action === 'capability') {
        const { dir } = required(f, 'capability', 'dir');
        if (f.predict && f.score) throw new UsageError(`${cmd} capability: --predict (before the target) or --score (after it), not both`);
        await capabilityCommand({
          dir,
          plan: readPlan(join(dir, 'plan.json')),
          problemsPerBucket: numberFlag(f, 'problems', 1, 10_000, `${cmd} capability`),
          minPass: numberFlag(f, 'min-pass', 0, 1, `${cmd} capability`, false),
          predict: Boolean(f.predict),
          score: Boolean(f.score),
          registry: String(f.registry ?? join(dir, 'predictions.jsonl')),
          gitRevision: gitRevision(),
          json: Boolean(f.json),
        });
        return 0;
      }
      if (action === 'start') {
        const { registry, target } = required(f, 'start', 'registry', 'target');
        const entry = recordStart(registry, target);
        console.log(f.json ? JSON.stringify(entry) : `${target} started (entry ${entry.seq} of ${registry}, ${entry.createdAt})`);
        return 0;
      }
      if (action === 'score') {
        const { registry, target } = required(f, 'score', 'registry', 'target');
        if (f.loss === undefined) throw new UsageError(`${cmd} score: --loss L (the target's final validation loss) is required`);
        const s = scorePrediction(registry, target, Number(f.loss));
        console.log(
          f.json
            ? JSON.stringify(s)
            : `${target}: measured ${s.measuredLoss.toFixed(4)}, predicted ${s.predictedLoss.toFixed(4)}, ` +
                `error ${s.errorPct.toFixed(2)}% (${s.withinInterval ? 'inside' : 'outside'} the registered interval)`,
        );
        return 0;
      }
    } catch (e) {
      // A plan or fit that cannot work is the job failing (exit 1, one line), not a usage mistake.
      if (e instanceof PlanError || e instanceof FitError || e instanceof RegistryError || e instanceof LadderError)
        throw new Error(`${action}: ${e.message}`);
      throw e;
    }
    throw new UsageError(`${cmd}: expected plan, run, worker, fit, predict, start, score, report or capability (usage: ${USAGE})`);
  },
};
