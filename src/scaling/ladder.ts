// Running a ladder: each planned run trains in its own directory under the scaling run's
// directory, and its final validation loss is appended to results.jsonl when it finishes. A
// killed ladder continues where it stopped: finished runs (in results.jsonl) are never redone,
// and an unfinished run resumes from its own checkpoints (the trainer's resume). The plan is
// written once; a different plan for the same directory is refused, so nothing recorded is lost.
// How a run is trained is the caller's (the CLI passes the trainer), so this file stays free of it.
import { appendFileSync, closeSync, existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readJsonl } from '../util/index.ts';
import type { LadderPlan, PlannedRun } from './plan.ts';

export interface RunResult {
  name: string;
  depth: number;
  width: number;
  params: number;
  tokens: number;
  flops: number;
  valLoss: number;
  /** Bits per byte of the validation text, when the trainer reports it. */
  valBpb?: number;
  /** The step this run resumed from, when a previous attempt (a killed worker, say) had checkpointed it. */
  resumedFrom?: number;
  seconds: number;
  finishedAt: string;
}

export type TrainRun = (run: PlannedRun, dir: string) => Promise<{ valLoss: number; valBpb?: number; resumedFrom?: number }>;

export class LadderError extends Error {}

export const resultsPath = (dir: string) => join(dir, 'results.jsonl');

/** Finished runs recorded in a scaling directory, in the order they finished. */
export function readResults(dir: string): RunResult[] {
  try {
    return readJsonl<RunResult>(resultsPath(dir), 'a JSON result line');
  } catch (e) {
    throw new LadderError((e as Error).message);
  }
}

/** Writes plan.json on first use; afterwards the directory must hold the same plan. */
export function pinPlan(dir: string, plan: LadderPlan): void {
  const p = join(dir, 'plan.json');
  const text = `${JSON.stringify(plan, null, 2)}\n`;
  if (!existsSync(p)) {
    mkdirSync(dir, { recursive: true });
    writeFileSync(p, text);
    return;
  }
  const old = JSON.parse(readFileSync(p, 'utf8')) as LadderPlan;
  const key = (x: LadderPlan) =>
    JSON.stringify([x.version, x.vocabSize, x.seqLen, ladderRuns(x, true).map((r) => [r.name, r.width, r.tokens, r.batch, r.lr])]);
  if (key(old) !== key(plan)) throw new LadderError(`${dir} already holds a different ladder (${p}); use a new --out directory`);
}

/** The runs a ladder trains: its runs, then the target when asked for. */
export const ladderRuns = (plan: LadderPlan, withTarget = false): PlannedRun[] => (withTarget ? [...plan.runs, plan.target] : plan.runs);

/**
 * Trains one run unless it is already recorded, then records it exactly once: the first
 * finisher creates the run's `recorded` marker (O_EXCL), so a run that two workers both finished
 * (one thought dead, it was only slow) is appended once.
 */
export async function trainAndRecord(
  dir: string,
  run: PlannedRun,
  trainRun: TrainRun,
  log: (line: string) => void,
): Promise<RunResult | null> {
  if (readResults(dir).some((r) => r.name === run.name)) {
    log(`scale: ${run.name} already finished, skipped`);
    return null;
  }
  log(
    `scale: ${run.name}: depth ${run.depth}, width ${run.width}, ${run.tokens} tokens, ${run.flops.toExponential(2)} FLOPs, about ` +
      `${run.minutes.toFixed(1)} min`,
  );
  const started = performance.now();
  const runDir = join(dir, 'runs', run.name);
  const r = await trainRun(run, runDir);
  if (!Number.isFinite(r.valLoss) || r.valLoss <= 0)
    throw new LadderError(`${run.name} finished with validation loss ${r.valLoss}; not recorded (the run diverged)`);
  const result: RunResult = {
    name: run.name,
    depth: run.depth,
    width: run.width,
    params: run.params,
    tokens: run.tokens,
    flops: run.flops,
    valLoss: r.valLoss,
    ...(r.valBpb !== undefined ? { valBpb: r.valBpb } : {}),
    ...(r.resumedFrom ? { resumedFrom: r.resumedFrom } : {}),
    seconds: (performance.now() - started) / 1000,
    finishedAt: new Date().toISOString(),
  };
  mkdirSync(runDir, { recursive: true });
  let marker: number;
  try {
    marker = openSync(join(runDir, 'recorded'), 'wx');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') {
      log(`scale: ${run.name} was recorded by another worker`);
      return null;
    }
    throw e;
  }
  closeSync(marker);
  appendFileSync(resultsPath(dir), `${JSON.stringify(result)}\n`);
  log(`scale: ${run.name} done: validation loss ${r.valLoss.toFixed(4)}`);
  return result;
}

/** Trains every run of the plan not yet finished (the ladder, and the target when `withTarget`), one after another. */
export async function runLadder(
  plan: LadderPlan,
  dir: string,
  trainRun: TrainRun,
  o: { withTarget?: boolean; log?: (line: string) => void } = {},
): Promise<RunResult[]> {
  const log = o.log ?? ((l: string) => console.error(l));
  pinPlan(dir, plan);
  for (const run of ladderRuns(plan, o.withTarget)) await trainAndRecord(dir, run, trainRun, log);
  return readResults(dir);
}

/**
 * The ladder's (compute, loss) points for a fit: its compute-efficient frontier. A run whose loss is
 * not below every cheaper run's is dominated (small runs are noisy: an under-trained one can lose to
 * a smaller model) and left out, as scaling-law fits take the frontier; `dropped` names them. At
 * least 4 frontier points are required, and at most a quarter of the ladder may be dropped.
 */
export function ladderFrontier(results: RunResult[], target: string): { points: { compute: number; loss: number }[]; dropped: string[] } {
  const ladder = results.filter((r) => r.name !== target).sort((a, b) => a.flops - b.flops);
  if (ladder.length < 4)
    throw new LadderError(`${ladder.length} finished ladder runs; a fit needs at least 4 (run tetra scale run to finish the ladder)`);
  const kept: RunResult[] = [],
    dropped: string[] = [];
  for (const r of ladder) {
    if (kept.length && !(r.valLoss < kept[kept.length - 1].valLoss)) dropped.push(r.name);
    else kept.push(r);
  }
  if (kept.length < 4 || dropped.length > ladder.length / 4)
    throw new LadderError(
      `the ladder's losses are not monotone: ${dropped.join(', ')} ${dropped.length === 1 ? 'is' : 'are'} not below a cheaper run, ` +
        `leaving ${kept.length} of ${ladder.length} on the frontier (a fit needs 4, and at most a quarter dropped)`,
    );
  return { points: kept.map((r) => ({ compute: r.flops, loss: r.valLoss })), dropped };
}

/** The frontier's points (ladderFrontier), for callers that do not report what was dropped. */
export function ladderPoints(results: RunResult[], target: string): { compute: number; loss: number }[] {
  return ladderFrontier(results, target).points;
}
