// The HumanEval eval: for each problem, n completions of its prompt; each program
//   prompt + completion + test + "check(<entry_point>)"
// runs in the sandbox (src/evals/sandbox.ts) and passes when it exits 0; the metric is the
// unbiased pass@k (src/evals/passk.ts) for every k that all problems have samples for.
import { randomBytes } from 'node:crypto';
import { meanPassAtK } from './passk.ts';
import { runSandboxed, type SandboxOptions, type SandboxStatus } from './sandbox.ts';
import type { CompletionFn, EvalTemplate, Metrics, Sample, SampleContext, SampleResult } from './types.ts';

export interface HumanEvalSample extends Sample {
  input: string;
  task_id: string;
  prompt: string;
  canonical_solution?: string;
  test: string;
  entry_point: string;
}

export interface HumanEvalOptions {
  /** Completions per problem (default 1). pass@k needs n >= k. */
  n?: number;
  /** The k of pass@k to report (default 1, 10, 100: those <= n are reported). */
  ks?: number[];
  /** Sampling temperature (default 0 for n = 1, else 0.8, the Codex paper's choice for large k). */
  temperature?: number;
  maxTokens?: number;
  /** Where a completion stops: the start of the next top-level statement (Codex paper). */
  stop?: string[];
  /** Sandboxed programs run at once (default 1; each one is a process with its own limits). */
  concurrency?: number;
  sandbox?: SandboxOptions;
}

export const HUMANEVAL_STOP = ['\nclass ', '\ndef ', '\n#', '\nif __name__', '\nprint('];

export interface HumanEvalResult extends SampleResult {
  task_id: string;
  n: number;
  passed: number;
  statuses: SandboxStatus[];
}

/**
 * The program that decides whether a completion passes. It passes when it exits 0 and its last
 * output line is the nonce printed after check(): a completion that calls os._exit(0) before the
 * tests run exits 0 too, and must not count. (The nonce is in the program text, so code that
 * reads its own source could print it; that takes deliberate cheating, not a wrong answer.)
 */
export function programFor(s: HumanEvalSample, completion: string, nonce: string): string {
  return `${s.prompt}${completion}\n\n${s.test}\n\ncheck(${s.entry_point})\nprint(${JSON.stringify(nonce)})\n`;
}

const passedRun = (r: { status: SandboxStatus; stdout: string }, nonce: string): boolean =>
  r.status === 'ok' && r.stdout.trimEnd().split('\n').pop() === nonce;

/**
 * Chat models tend to answer with a fenced code block, often the whole function: take the code
 * inside the first fence. A full `def` after the prompt simply redefines the prompt's function.
 */
export function extractCode(text: string): string {
  const m = /```(?:python|py)?[^\n]*\n([\s\S]*?)(?:```|$)/.exec(text);
  return m ? `\n${m[1]}` : text;
}

async function completions(fn: CompletionFn, s: HumanEvalSample, n: number, o: HumanEvalOptions, ctx: SampleContext): Promise<string[]> {
  const texts: string[] = [];
  const temperature = o.temperature ?? (n === 1 ? 0 : 0.8);
  while (texts.length < n) {
    const opts = {
      n: n - texts.length,
      temperature,
      maxTokens: o.maxTokens ?? 512,
      stop: o.stop ?? HUMANEVAL_STOP,
      seed: Math.floor(ctx.random() * 2 ** 31),
    };
    const c = fn.complete
      ? await fn.complete(s.prompt, opts, ctx.signal)
      : await fn.chat([{ role: 'user', content: `Complete this Python function. Reply with code only.\n\n${s.prompt}` }], opts, ctx.signal);
    if (!c.texts.length) throw new Error(`${fn.name} returned no completions for ${s.task_id}`);
    texts.push(...c.texts.slice(0, n - texts.length).map((t) => (fn.complete ? t : extractCode(t))));
  }
  return texts;
}

/** Runs async jobs with at most `limit` in flight, results in input order. */
async function pool<T, R>(xs: readonly T[], limit: number, f: (x: T, i: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(xs.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, xs.length) }, async () => {
      while (next < xs.length) {
        const i = next++;
        out[i] = await f(xs[i], i);
      }
    }),
  );
  return out;
}

export class HumanEvalEval implements EvalTemplate<HumanEvalSample> {
  readonly n: number;
  readonly ks: number[];

  constructor(private readonly o: HumanEvalOptions = {}) {
    this.n = o.n ?? 1;
    if (!(Number.isInteger(this.n) && this.n >= 1)) throw new RangeError(`humaneval: n must be a positive integer, got ${this.n}`);
    this.ks = (o.ks ?? [1, 10, 100]).filter((k) => k <= this.n);
    if (!this.ks.length) throw new RangeError(`humaneval: no k in ${JSON.stringify(o.ks)} is <= n = ${this.n}`);
  }

  async evalSample(s: HumanEvalSample, ctx: SampleContext): Promise<HumanEvalResult> {
    for (const k of ['task_id', 'prompt', 'test', 'entry_point'] as const) {
      if (typeof s[k] !== 'string')
        throw new Error(
          `sample ${ctx.sampleId}: field ${k} must be a string (HumanEval format: task_id, prompt, canonical_solution, test, entry_point)`,
        );
    }
    const fn = ctx.completionFns[0];
    const texts = await completions(fn, s, this.n, this.o, ctx);
    ctx.recorder.record({ type: 'sampling', sampleId: ctx.sampleId, data: { prompt: s.prompt, sampled: texts } });
    const nonce = `tetra-passed-${randomBytes(8).toString('hex')}`;
    const runs = await pool(texts, this.o.concurrency ?? 1, (t) =>
      runSandboxed(programFor(s, t, nonce), { ...this.o.sandbox, signal: ctx.signal }),
    );
    const ok = runs.map((r) => passedRun(r, nonce));
    // An exit 0 without the nonce is an early exit: report it as an error.
    const statuses = runs.map((r, i) => (r.status === 'ok' && !ok[i] ? 'error' : r.status));
    const passed = ok.filter(Boolean).length;
    ctx.recorder.record({
      type: 'metrics',
      sampleId: ctx.sampleId,
      data: {
        task_id: s.task_id,
        n: this.n,
        passed,
        statuses,
        errors: runs.map((r, i) => (ok[i] ? null : lastLine(r.stderr) || (r.status === 'ok' ? 'exited before the tests ran' : r.status))),
      },
    });
    return { sampleId: ctx.sampleId, task_id: s.task_id, n: this.n, passed, statuses };
  }

  aggregate(results: SampleResult[]): Metrics {
    const rs = results as HumanEvalResult[];
    const m: Metrics = { problems: rs.length, samples: rs.reduce((a, r) => a + r.n, 0) };
    for (const k of this.ks) m[`pass@${k}`] = meanPassAtK(rs, k);
    return m;
  }
}

const lastLine = (s: string): string => s.trimEnd().split('\n').pop() ?? '';
