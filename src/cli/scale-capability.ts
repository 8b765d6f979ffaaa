// `tetra scale capability --dir DIR`: the capability law on a scaling directory. Scores every
// finished run's final checkpoint on the held-out addition problems (src/scaling/capability.ts)
// and appends one record per run to DIR/capability.jsonl (a run already there is not scored
// again), then prints -E[log pass rate] per run and difficulty bucket over the problems every
// ladder run solves (pass rate >= --min-pass). With --predict it fits alpha * C^-k per bucket on
// the ladder and registers each bucket's prediction for the target (before the target starts);
// with --score it scores the finished target's buckets against those predictions.
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { openCheckpoint } from '../model/index.ts';
import {
  bootstrap,
  bucketValue,
  CAPABILITY_BUCKETS,
  capabilityProblems,
  capabilityTarget,
  computeLoss,
  fitCapabilityLaw,
  readResults,
  registerPrediction,
  scorePrediction,
  scoreProblems,
  solvedByAll,
  type CapabilityRecord,
  type LadderPlan,
} from '../scaling/index.ts';
import { defaultBackend } from '../tensor/index.ts';
import { readJsonl } from '../util/index.ts';

export interface CapabilityOptions {
  dir: string;
  plan: LadderPlan;
  problemsPerBucket: number;
  minPass: number;
  predict: boolean;
  score: boolean;
  registry: string;
  gitRevision: string | null;
  json: boolean;
}

const recordsPath = (dir: string) => join(dir, 'capability.jsonl');

export function readCapability(dir: string): CapabilityRecord[] {
  return readJsonl<CapabilityRecord>(recordsPath(dir), 'a JSON capability record');
}

/** Scores the finished runs not yet in capability.jsonl. */
async function scoreFinished(o: CapabilityOptions): Promise<CapabilityRecord[]> {
  const problems = capabilityProblems(o.problemsPerBucket);
  const have = new Set(readCapability(o.dir).map((r) => r.name));
  for (const run of readResults(o.dir)) {
    if (have.has(run.name)) continue;
    const { model, tok } = await openCheckpoint(join(o.dir, 'runs', run.name)).catch((e: Error) => {
      throw new Error(`capability: ${run.name}: ${e.message}`);
    });
    const started = performance.now();
    const record: CapabilityRecord = {
      name: run.name,
      compute: run.flops,
      problems: scoreProblems(model, defaultBackend(), (t) => tok.encode(t), problems),
    };
    appendFileSync(recordsPath(o.dir), `${JSON.stringify(record)}\n`);
    console.error(
      `capability: ${run.name} scored on ${problems.length} problems in ${((performance.now() - started) / 1000).toFixed(1)} s`,
    );
  }
  return readCapability(o.dir);
}

export async function capabilityCommand(o: CapabilityOptions): Promise<void> {
  const records = await scoreFinished(o);
  const ladderNames = new Set(o.plan.runs.map((r) => r.name));
  const ladder = records.filter((r) => ladderNames.has(r.name)).sort((a, b) => a.compute - b.compute);
  const target = records.find((r) => r.name === o.plan.target.name);
  const kept = solvedByAll(ladder, o.minPass);
  const rows = [...ladder, ...(target ? [target] : [])].map((r) => ({
    name: r.name,
    compute: r.compute,
    buckets: CAPABILITY_BUCKETS.map((d) => bucketValue(r, d, kept)),
  }));
  const keptPer = CAPABILITY_BUCKETS.map((d) => ladder[0]?.problems.filter((p) => p.bucket === d && kept.has(p.key)).length ?? 0);
  const out: Record<string, unknown> = { kept: keptPer, rows };
  if (!o.json) {
    console.log(`-E[log pass rate] per bucket (operand digits), over the problems every ladder run passes at >= ${o.minPass}:`);
    console.log(`run       FLOPs     ${CAPABILITY_BUCKETS.map((d, i) => `${d}-digit (${keptPer[i]})`.padStart(14)).join('')}`);
    const cell = (v: number) => (Number.isNaN(v) ? '-' : v.toFixed(4)).padStart(14);
    for (const r of rows) console.log(`${r.name.padEnd(8)}  ${r.compute.toExponential(2)}${r.buckets.map(cell).join('')}`);
  }
  const usable = CAPABILITY_BUCKETS.filter((_, i) => keptPer[i] > 0);
  if (o.predict) {
    if (ladder.length < ladderNames.size)
      throw new Error(`capability: ${ladder.length} of ${ladderNames.size} ladder runs are scored; finish the ladder first`);
    const predictions = [];
    for (const d of usable) {
      const points = ladder.map((r) => ({ compute: r.compute, loss: bucketValue(r, d, kept) }));
      const law = fitCapabilityLaw(points);
      const ci = bootstrap(points, (s) => computeLoss(fitCapabilityLaw(s), o.plan.target.flops), { samples: 200 });
      const entry = registerPrediction(o.registry, {
        target: capabilityTarget(o.plan.target.name, d),
        targetFlops: o.plan.target.flops,
        loss: ci.estimate,
        interval: [ci.lo, ci.hi],
        level: ci.level,
        law: { a: law.a, b: law.b, c: 0 },
        ladder: points,
        gitRevision: o.gitRevision,
      });
      predictions.push(entry);
      if (!o.json)
        console.log(
          `${entry.target}: -E[log pass] = ${law.a.toPrecision(4)} * C^${law.b.toFixed(4)}; predicted ${ci.estimate.toFixed(4)} ` +
            `(${(ci.level * 100).toFixed(0)}% interval ${ci.lo.toFixed(4)}-${ci.hi.toFixed(4)}), registered as entry ${entry.seq}`,
        );
    }
    out.predictions = predictions;
  }
  if (o.score) {
    if (!target) throw new Error(`capability: ${o.plan.target.name} has not finished; score it after it trains`);
    const scores = [];
    for (const d of usable) {
      const s = scorePrediction(o.registry, capabilityTarget(o.plan.target.name, d), bucketValue(target, d, kept));
      scores.push(s);
      if (!o.json)
        console.log(
          `${s.target}: measured ${s.measuredLoss.toFixed(4)}, predicted ${s.predictedLoss.toFixed(4)}, error ${s.errorPct.toFixed(2)}% ` +
            `(${s.withinInterval ? 'inside' : 'outside'} the registered interval)`,
        );
    }
    out.scores = scores;
  }
  if (o.json) console.log(JSON.stringify(out));
}
