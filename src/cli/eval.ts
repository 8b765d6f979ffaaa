// `tetra eval`: run evals from an openai/evals-style registry, report on runs, compare two runs.
//
//   tetra eval run <completion-fn[,grader]> <eval or set> [--max-samples N] [--seed S] ...
//   tetra eval run --base-url URL --model NAME <eval>       (an OpenAI-compatible endpoint)
//   tetra eval run --checkpoint DIR <eval>                  (a tetra model, in-process)
//   tetra eval report RUN [--out FILE]                      (RUN: a record file or a run id)
//   tetra eval compare RUN_A RUN_B [RUN_C ...]              (three or more: side by side)
//   tetra eval list
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  cached,
  CheckpointCompletionFn,
  compareRuns,
  formatComparison,
  formatSideBySide,
  htmlReport,
  OpenAICompatible,
  openRun,
  Registry,
  resolveCompletionFns,
  ResponseCache,
  RunDatabase,
  runEval,
  summaryTable,
  type CompletionFn,
  type RunResult,
} from '../evals/index.ts';
import { numberFlag, UsageError, type Flags } from './args.ts';
import type { Command } from './command.ts';
import { tetraHome } from '../util/index.ts';

const CMD = 'tetra eval';

const registryDirs = (f: Flags): string[] => (f.registry ? String(f.registry).split(',').filter(Boolean) : []);
const openDb = (f: Flags): RunDatabase | null => (f['no-db'] ? null : new RunDatabase(f.db ? String(f.db) : undefined));

function completionFns(f: Flags, names: string | undefined, registry: Registry): CompletionFn[] {
  const cache = f['no-cache'] ? null : new ResponseCache(f.cache ? String(f.cache) : join(tetraHome(), 'cache', 'eval-responses.sqlite'));
  const retry = { maxRetries: numberFlag(f, 'max-retries', 0, 100, CMD) };
  const timeoutMs = numberFlag(f, 'timeout', 1, 86_400, CMD, false) * 1000;
  const baseURL = f['base-url'] ? String(f['base-url']) : process.env.OPENAI_BASE_URL;
  const fns: CompletionFn[] = [];
  if (f.checkpoint) fns.push(new CheckpointCompletionFn(String(f.checkpoint)));
  if (f.model) {
    if (!baseURL) throw new UsageError(`${CMD}: --model needs --base-url URL (or OPENAI_BASE_URL)`);
    const fn = new OpenAICompatible({ baseURL, model: String(f.model), apiKey: process.env.OPENAI_API_KEY, retry, timeoutMs });
    fns.push(cache ? cached(fn, cache) : fn);
  }
  if (names) fns.push(...resolveCompletionFns(names, { registry, baseURL, apiKey: process.env.OPENAI_API_KEY, cache, retry, timeoutMs }));
  if (!fns.length) throw new UsageError(`${CMD} run: name a completion function (or give --model with --base-url, or --checkpoint DIR)`);
  return fns;
}

function printRun(r: RunResult): void {
  console.log(summaryTable(openRun(r.recordPath)));
  console.log(`\nrecord: ${r.recordPath}\nreport: tetra eval report ${r.runId}`);
  if (r.unfinished) {
    console.log(
      `${r.unfinished} of ${r.total} samples did not ` +
        `finish${r.errors.length ? ` (${r.errors.length} errors; first: ${r.errors[0].message})` : ''}; continue with --resume ` +
        `${r.recordPath}`,
    );
  }
}

async function run(f: Flags, rest: string[]): Promise<number> {
  const flagFn = Boolean(f.model || f.checkpoint);
  const [fnNames, target] = rest.length >= 2 ? [rest[0], rest[1]] : flagFn ? [undefined, rest[0]] : [undefined, undefined];
  if (!target || rest.length > 2) throw new UsageError(`usage: ${evalCommand.usage.split('\n')[0]}`);
  const registry = Registry.open(registryDirs(f));
  const fns = completionFns(f, fnNames, registry);
  const isSet = registry.has('eval_sets', target) && !registry.has('evals', target);
  const evals = isSet ? registry.evalSet(target) : [target];
  if (f.resume && evals.length > 1) throw new UsageError(`${CMD}: --resume continues one eval, and ${target} is a set of ${evals.length}`);
  if (f.record && evals.length > 1)
    throw new UsageError(`${CMD}: --record names one file, and ${target} is a set of ${evals.length} evals`);
  const db = openDb(f);
  const ac = new AbortController();
  const onSigint = () => {
    if (ac.signal.aborted) process.exit(130);
    process.stderr.write('\ninterrupted: finishing the log (Ctrl-C again to quit at once)\n');
    ac.abort(new Error('interrupted'));
  };
  process.on('SIGINT', onSigint);
  let failed = 0;
  try {
    for (const name of evals) {
      const r = await runEval({
        registry,
        evalName: name,
        completionFns: fns,
        db,
        maxSamples: f['max-samples'] === undefined ? undefined : numberFlag(f, 'max-samples', 1, 1e9, CMD),
        seed: numberFlag(f, 'seed', 0, 2 ** 32 - 1, CMD),
        concurrency: numberFlag(f, 'concurrency', 1, 4096, CMD),
        maxErrors: numberFlag(f, 'max-errors', 1, 1e9, CMD),
        recordPath: f.record ? String(f.record) : undefined,
        resumePath: f.resume ? resolveResume(String(f.resume), db) : undefined,
        signal: ac.signal,
      });
      if (f.json) console.log(JSON.stringify({ run_id: r.runId, eval: r.spec.key, record: r.recordPath, final_report: r.finalReport }));
      else printRun(r);
      if (r.unfinished) failed++;
      if (ac.signal.aborted) return 130;
    }
  } finally {
    process.off('SIGINT', onSigint);
    db?.close();
  }
  return failed ? 1 : 0;
}

function resolveResume(ref: string, db: RunDatabase | null): string {
  return openRun(ref, db).path;
}

async function report(f: Flags, rest: string[]): Promise<number> {
  if (rest.length !== 1) throw new UsageError(`usage: ${CMD} report RUN [--out FILE] [--bins N]`);
  const db = f['no-db'] ? null : new RunDatabase(f.db ? String(f.db) : undefined);
  try {
    const log = openRun(rest[0], db);
    const out = f.out ? String(f.out) : log.path.replace(/\.jsonl$/, '') + '.html';
    writeFileSync(out, htmlReport(log, { bins: numberFlag(f, 'bins', 1, 1000, CMD) }));
    console.log(summaryTable(log));
    console.log(`\nreport: ${out}`);
  } finally {
    db?.close();
  }
  return 0;
}

async function compare(f: Flags, rest: string[]): Promise<number> {
  if (rest.length < 2) throw new UsageError(`usage: ${CMD} compare RUN_A RUN_B [RUN_C ...]`);
  const db = openDb(f);
  try {
    const runs = rest.map((r) => openRun(r, db));
    console.log(
      runs.length > 2 ? formatSideBySide(runs) : formatComparison(compareRuns(runs[0], runs[1]), numberFlag(f, 'max-flips', 0, 1e9, CMD)),
    );
  } finally {
    db?.close();
  }
  return 0;
}

function list(f: Flags): number {
  const registry = Registry.open(registryDirs(f));
  console.log(`registry roots:\n${registry.roots.map((r) => `  ${r}`).join('\n')}`);
  for (const cat of ['evals', 'eval_sets', 'completion_fns', 'modelgraded'] as const) {
    const names = registry
      .names(cat)
      .filter((n) => cat !== 'evals' || !/\.[^.]+\.[^.]+$/.test(n) || !registry.names(cat).some((m) => n.startsWith(m + '.')));
    console.log(`\n${cat} (${names.length}):\n${names.map((n) => `  ${n}`).join('\n')}`);
  }
  return 0;
}

export const evalCommand: Command = {
  name: 'eval',
  summary: 'run evals (openai/evals registry format), report on runs, compare runs',
  usage: [
    'tetra eval run <completion-fn[,grader]> <eval or set> [flags]',
    '       tetra eval run --base-url URL --model NAME <eval or set> | --checkpoint DIR <eval or set>',
    '       tetra eval report RUN [--out FILE] [--bins N]',
    '       tetra eval compare RUN_A RUN_B [RUN_C ...] [--max-flips N]',
    '       tetra eval list [--registry DIR]',
  ].join('\n'),
  flags: {
    'max-samples': { type: 'number', help: 'run at most this many samples (openai/evals order: shuffled with seed 123)' },
    seed: { type: 'number', help: 'per-sample random seed', default: 20220722 },
    concurrency: { type: 'number', help: 'samples in flight', default: 10 },
    record: { type: 'string', help: 'JSONL record file (default ~/.tetra/eval-runs/<run>_<fn>_<eval>.jsonl)' },
    resume: { type: 'string', help: 'continue an interrupted run (its record file or run id)' },
    registry: { type: 'string', help: 'extra registry root(s), comma-separated' },
    'base-url': { type: 'string', help: 'OpenAI-compatible endpoint (default $OPENAI_BASE_URL); key from $OPENAI_API_KEY' },
    model: { type: 'string', help: 'model name on --base-url' },
    checkpoint: { type: 'string', help: 'a tetra checkpoint (or run directory) to evaluate in-process' },
    'max-retries': { type: 'number', help: 'retries per request on 429/5xx/connection errors', default: 5 },
    timeout: { type: 'number', help: 'seconds per request', default: 120 },
    'max-errors': { type: 'number', help: 'stop starting samples after this many failed', default: 20 },
    'no-cache': { type: 'boolean', help: 'do not read or write the response cache' },
    cache: { type: 'string', help: 'response cache file (default ~/.tetra/cache/eval-responses.sqlite)' },
    db: { type: 'string', help: 'run database (default ~/.tetra/eval-runs/runs.sqlite)' },
    'no-db': { type: 'boolean', help: 'do not write events to the run database' },
    json: { type: 'boolean', help: 'print one JSON line per eval instead of the table' },
    out: { type: 'string', help: 'report: HTML file to write (default beside the record file)' },
    bins: { type: 'number', help: 'report: calibration bins', default: 10 },
    'max-flips': { type: 'number', help: 'compare: flipped samples to list', default: 20 },
  },
  async run(f, rest) {
    const [sub, ...args] = rest;
    if (sub === 'run') return run(f, args);
    if (sub === 'report') return report(f, args);
    if (sub === 'compare') return compare(f, args);
    if (sub === 'list') return list(f);
    throw new UsageError(
      `${CMD}: expected run, report, compare or list, got ${sub === undefined ? 'nothing' : `'${sub}'`} (see tetra eval --help)`,
    );
  },
};
