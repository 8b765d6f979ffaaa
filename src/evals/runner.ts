// Running one eval: resolve it in the registry, pick samples as openai/evals does (indices
// shuffled with seed 123, cut to maxSamples; ids "<base>.<split>.<original index>"), feed them
// through the template with a bounded number in flight, record every event, aggregate.
//
// Failure policy (openai/evals lets one failed sample crash the run): a sample that throws is
// recorded as an "error" event and left unfinished; after maxErrors errors no new samples start.
// Either way the run can be resumed, redoing only unfinished samples. An abort (Ctrl-C) stops
// new samples, cancels requests in flight, and flushes the log.
import { join } from 'node:path';
import { Progress } from '../util/index.ts';
import { templateFactory } from './class-table.ts';
import type { EvalInstance, TemplateEnv } from './classes.ts';
import { calibrationOf, seededRandom } from './metrics.ts';
import { pythonShuffle } from './pyrandom.ts';
import { newRunId, RunRecorder, runsDir, type RunDatabase } from './recorder.ts';
import type { EvalSpec, Registry } from './registry.ts';
import type { CompletionFn, Metrics, Sample, SampleContext, SampleResult } from './types.ts';

/** openai/evals' sample-order seed (eval.py SHUFFLE_SEED). */
export const SHUFFLE_SEED = 123;
/** openai/evals' default --seed. */
export const DEFAULT_SEED = 20220722;

export interface RunOptions {
  registry: Registry;
  evalName: string;
  completionFns: CompletionFn[];
  maxSamples?: number;
  seed?: number;
  concurrency?: number;
  /** JSONL log path; default ~/.tetra/eval-runs/<run_id>_<fn>_<eval>.jsonl */
  recordPath?: string;
  db?: RunDatabase | null;
  /** A record file of an interrupted run of this eval to continue. */
  resumePath?: string;
  maxErrors?: number;
  /** Progress output; null for none (default stderr). */
  progress?: NodeJS.WriteStream | null;
  signal?: AbortSignal;
  /** Extra fields for the spec's run_config (CLI flags worth keeping). */
  runConfig?: Record<string, unknown>;
}

export interface RunResult {
  runId: string;
  recordPath: string;
  spec: EvalSpec;
  metrics: Metrics;
  finalReport: Record<string, unknown>;
  results: SampleResult[];
  errors: { sampleId: string; message: string }[];
  /** Samples that did not finish (errors, abort); non-zero means the run can be resumed. */
  unfinished: number;
  total: number;
  seconds: number;
}

export async function instantiate(registry: Registry, spec: EvalSpec): Promise<EvalInstance> {
  const env: TemplateEnv = { registry, key: spec.key, base: spec.base, split: spec.split, file: spec.file, root: spec.root };
  const factory = await templateFactory(spec.cls, env);
  return factory(spec.args, env);
}

/** Indices in openai/evals' order, cut to maxSamples. */
export function sampleOrder(n: number, maxSamples?: number): number[] {
  const idx = pythonShuffle(
    Array.from({ length: n }, (_, i) => i),
    SHUFFLE_SEED,
  );
  return maxSamples === undefined ? idx : idx.slice(0, maxSamples);
}

function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

const safeName = (s: string) => s.replace(/[^A-Za-z0-9._-]+/g, '-').slice(0, 60);

export async function runEval(o: RunOptions): Promise<RunResult> {
  const t0 = Date.now();
  const spec = o.registry.eval(o.evalName);
  const inst = await instantiate(o.registry, spec);
  const samples: Sample[] = await inst.samples();
  if (o.maxSamples !== undefined && (!Number.isInteger(o.maxSamples) || o.maxSamples < 1))
    throw new Error(`maxSamples must be a positive integer, got ${o.maxSamples}`);
  const seed = o.seed ?? DEFAULT_SEED;
  const concurrency = o.concurrency ?? 10;
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 4096)
    throw new Error(`concurrency must be an integer in [1, 4096], got ${concurrency}`);
  const fnNames = o.completionFns.map((f) => f.name);

  // ---- the record: new, or the interrupted one continued
  let recorder: RunRecorder;
  const finished = new Map<string, SampleResult>();
  if (o.resumePath) {
    const r = RunRecorder.resume(o.resumePath, o.db ?? null);
    const rc = r.log.spec.run_config as { eval_spec?: { key?: string }; seed?: number; max_samples?: number | null };
    if (r.log.spec.eval_name !== spec.key) throw new Error(`${o.resumePath} is a run of ${r.log.spec.eval_name}, not ${spec.key}`);
    if ((rc.seed ?? DEFAULT_SEED) !== seed || (rc.max_samples ?? undefined) !== o.maxSamples) {
      throw new Error(
        `${o.resumePath} ran with --seed ${rc.seed} --max-samples ${rc.max_samples ?? 'all'}; resume with the same values (got ` +
          `${seed}, ${o.maxSamples ?? 'all'})`,
      );
    }
    recorder = r.recorder;
    for (const [id, data] of r.finished) finished.set(id, { ...(data.result as Record<string, unknown>), sampleId: id });
  } else {
    const runId = newRunId();
    const path = o.recordPath ?? join(runsDir(), `${runId}_${safeName(fnNames.join(','))}_${safeName(spec.key)}.jsonl`);
    recorder = RunRecorder.create({
      path,
      db: o.db ?? null,
      spec: {
        completion_fns: fnNames,
        eval_name: spec.key,
        base_eval: spec.base,
        split: spec.split,
        run_config: {
          completion_fns: fnNames,
          eval_spec: { cls: spec.cls, args: spec.args, key: spec.key, group: spec.base, file: spec.file, metrics: spec.metrics },
          seed,
          max_samples: o.maxSamples ?? null,
          concurrency,
          ...o.runConfig,
        },
        created_by: '',
        run_id: runId,
        created_at: new Date().toISOString(),
      },
    });
  }

  const order = sampleOrder(samples.length, o.maxSamples);
  const todo = order.filter((i) => !finished.has(`${spec.base}.${spec.split}.${i}`));
  const total = order.length;
  const progress = new Progress(`eval ${spec.key}`, total, 'samples', o.progress === undefined ? process.stderr : o.progress, 10_000);
  const results = new Map<string, SampleResult>(finished);
  const errors: { sampleId: string; message: string }[] = [];
  const maxErrors = o.maxErrors ?? 20;
  let next = 0,
    done = finished.size;
  progress.update(done);

  const worker = async () => {
    while (next < todo.length && !o.signal?.aborted && errors.length < maxErrors) {
      const index = todo[next++];
      const sampleId = `${spec.base}.${spec.split}.${index}`;
      let sampled = false;
      // The per-sample generator is made on first use: most templates never draw from it.
      let random: (() => number) | undefined;
      const ctx: SampleContext = {
        sampleId,
        index,
        completionFns: o.completionFns,
        recorder: {
          record: (e) => {
            if (e.type === 'sampling') sampled = true;
            recorder.record(e);
          },
        },
        get random() {
          return (random ??= seededRandom(fnv1a(`${sampleId}:${seed}`)));
        },
        signal: o.signal,
      };
      try {
        const r = await inst.template.evalSample(samples[index], ctx);
        const { sampleId: _, ...result } = r;
        // The ideal rides along so reports and comparisons can show it for every template.
        // A custom eval that records no sampling event still gets its input shown in reports.
        recorder.record({
          type: 'sample_result',
          sampleId,
          data: { result, ideal: samples[index].ideal ?? null, ...(sampled ? {} : { input: samples[index].input }) },
        });
        results.set(sampleId, { ...r, sampleId });
        done++;
        progress.update(done);
      } catch (e) {
        if (o.signal?.aborted) break; // cancelled, not failed: it stays unfinished
        const message = (e as Error)?.message ?? String(e);
        errors.push({ sampleId, message });
        recorder.record({ type: 'error', sampleId, data: { type: (e as Error)?.name ?? 'Error', message } });
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, Math.max(1, todo.length)) }, worker));

  // Results in sample order, so aggregates (and bootstrap draws) do not depend on timing.
  const ordered = order.map((i) => results.get(`${spec.base}.${spec.split}.${i}`)).filter((r): r is SampleResult => r !== undefined);
  const metrics: Metrics = ordered.length ? inst.template.aggregate(ordered) : {};
  const cal = calibrationOf(ordered);
  if (cal && metrics.ece === undefined) metrics.ece = cal.ece;
  const unfinished = total - ordered.length;
  if (unfinished) {
    metrics.unfinished = unfinished;
    metrics.errors = errors.length;
  }
  const finalReport = recorder.finish(metrics);
  progress.done(unfinished ? `${unfinished} unfinished` : '');
  return {
    runId: recorder.spec.run_id,
    recordPath: recorder.path,
    spec,
    metrics,
    finalReport,
    results: ordered,
    errors,
    unfinished,
    total,
    seconds: (Date.now() - t0) / 1000,
  };
}
