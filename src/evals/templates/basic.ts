// The basic templates, with openai/evals' semantics (evals/elsuite/basic/*.py), quirks included
// where a registry's results depend on them:
//
//   Match       correct when the output *starts with* any ideal. No strip, no case folding: an
//               output " Paris" does not match "Paris". Temperature 0.
//   Includes    correct when any ideal occurs in the output (optionally ignoring case). An empty
//               ideal never counts: openai/evals finds it but its truthiness test rejects "".
//   FuzzyMatch  both strings normalised (lowercase, no punctuation, no a/an/the, single spaces),
//               correct when either contains the other; an empty side matches only an empty
//               side. Also reports token F1 (best over the ideals).
//   JsonMatch   the output parsed as JSON (invalid JSON fails) equals an ideal parsed as JSON:
//               objects need the same key sets, arrays the same length and elements in order,
//               scalars Python's ==, so true == 1 and 1 == 1.0. A null anywhere, even against
//               null, is a mismatch (openai/evals treats None as "missing").
//
// Deliberate difference: openai/evals' FuzzyMatch iterates a string ideal character by
// character (it expects a list); here a string ideal is one answer, as for the other templates.
import { samplesFromArgs, type EvalInstance, type TemplateEnv } from '../classes.ts';
import { accuracyMetrics, bestTokenF1, meanWithCI, normalizeText } from '../metrics.ts';
import { idealList, loadFewShot, withFewShot } from '../samples.ts';
import type { EvalMessage, EvalTemplate, Metrics, Sample, SampleContext, SampleResult } from '../types.ts';
import { candidate, sampleCompletion } from './sampling.ts';

// ---- the checks, pure functions of (output, ideals)

export function matchPicked(sampled: string, ideals: readonly string[]): string | null {
  for (const ideal of ideals) if (sampled.startsWith(ideal)) return ideal;
  return null;
}

export function includesAnswer(sampled: string, ideals: readonly string[], ignoreCase = false): boolean {
  const text = ignoreCase ? sampled.toLowerCase() : sampled;
  return ideals.some((i) => i !== '' && text.includes(ignoreCase ? i.toLowerCase() : i));
}

export function fuzzyMatch(a: string, b: string): boolean {
  const x = normalizeText(a),
    y = normalizeText(b);
  if (x === '' || y === '') return x === y;
  return x.includes(y) || y.includes(x);
}

/** Python's == on JSON scalars: numbers and booleans compare as numbers, strings as strings. */
function pyEquals(a: unknown, b: unknown): boolean {
  const num = (v: unknown) => typeof v === 'number' || typeof v === 'boolean';
  if (num(a) && num(b)) return Number(a) === Number(b);
  return typeof a === 'string' && typeof b === 'string' && a === b;
}

export function jsonMatch(sampled: unknown, correct: unknown): boolean {
  if (sampled === null || sampled === undefined || correct === null || correct === undefined) return false;
  if (Array.isArray(sampled)) {
    return Array.isArray(correct) && sampled.length === correct.length && sampled.every((s, i) => jsonMatch(s, correct[i]));
  }
  if (typeof sampled === 'object') {
    if (typeof correct !== 'object' || Array.isArray(correct)) return false;
    const s = sampled as Record<string, unknown>,
      c = correct as Record<string, unknown>;
    const keys = new Set([...Object.keys(s), ...Object.keys(c)]);
    for (const k of keys) if (!jsonMatch(s[k], c[k])) return false;
    return true;
  }
  if (typeof correct === 'object') return false;
  return pyEquals(sampled, correct);
}

// ---- shared construction: args every basic template takes

interface BasicArgs {
  maxTokens: number;
  fewShot: EvalMessage[];
}

function basicArgs(args: Record<string, unknown>, env: TemplateEnv, defaultMaxTokens: number): BasicArgs {
  const maxTokens = args.max_tokens === undefined ? defaultMaxTokens : Number(args.max_tokens);
  if (!Number.isInteger(maxTokens) || maxTokens < 1)
    throw new Error(`${env.file}: ${env.key}: max_tokens must be a positive integer, got ${args.max_tokens}`);
  const n = Number(args.num_few_shot ?? 0);
  let fewShot: EvalMessage[] = [];
  if (n > 0) {
    if (typeof args.few_shot_jsonl !== 'string') throw new Error(`${env.file}: ${env.key}: num_few_shot ${n} needs few_shot_jsonl`);
    fewShot = loadFewShot(env.registry.dataPath(args.few_shot_jsonl, env.root), n);
  }
  return { maxTokens, fewShot };
}

function recordMatch(ctx: SampleContext, correct: boolean, expected: unknown, picked: unknown, sampled: string): void {
  ctx.recorder.record({ type: 'match', sampleId: ctx.sampleId, data: { correct, expected, picked, sampled } });
}

// ---- the templates

export class Match implements EvalTemplate {
  constructor(private readonly o: BasicArgs) {}
  async evalSample(sample: Sample, ctx: SampleContext): Promise<SampleResult> {
    const prompt = withFewShot(sample.input, this.o.fewShot);
    const sampled = await sampleCompletion(candidate(ctx), prompt, { temperature: 0, maxTokens: this.o.maxTokens }, ctx);
    const ideals = idealList(sample.ideal);
    const picked = matchPicked(sampled, ideals);
    recordMatch(ctx, picked !== null, ideals, picked, sampled);
    return { sampleId: ctx.sampleId, correct: picked !== null };
  }
  aggregate(results: SampleResult[]): Metrics {
    return accuracyMetrics(results.map((r) => r.correct === true));
  }
}

export class Includes implements EvalTemplate {
  constructor(private readonly o: BasicArgs & { ignoreCase: boolean }) {}
  async evalSample(sample: Sample, ctx: SampleContext): Promise<SampleResult> {
    const prompt = withFewShot(sample.input, this.o.fewShot);
    const sampled = await sampleCompletion(candidate(ctx), prompt, { temperature: 0, maxTokens: this.o.maxTokens }, ctx);
    const ideals = idealList(sample.ideal);
    const correct = includesAnswer(sampled, ideals, this.o.ignoreCase);
    recordMatch(ctx, correct, ideals, correct ? ideals.find((i) => includesAnswer(sampled, [i], this.o.ignoreCase)) : null, sampled);
    ctx.recorder.record({ type: 'metrics', sampleId: ctx.sampleId, data: { accuracy: correct ? 1 : 0 } });
    return { sampleId: ctx.sampleId, correct };
  }
  aggregate(results: SampleResult[]): Metrics {
    return accuracyMetrics(results.map((r) => r.correct === true));
  }
}

export class FuzzyMatch implements EvalTemplate {
  constructor(private readonly o: BasicArgs) {}
  async evalSample(sample: Sample, ctx: SampleContext): Promise<SampleResult> {
    const prompt = withFewShot(sample.input, this.o.fewShot);
    const sampled = await sampleCompletion(candidate(ctx), prompt, { temperature: 0, maxTokens: this.o.maxTokens }, ctx);
    const ideals = idealList(sample.ideal);
    const matches = ideals.map((i) => fuzzyMatch(sampled, i));
    const correct = matches.includes(true);
    const f1 = bestTokenF1(sampled, ideals);
    recordMatch(
      ctx,
      correct,
      ideals,
      ideals.filter((_, k) => matches[k]),
      sampled,
    );
    ctx.recorder.record({ type: 'metrics', sampleId: ctx.sampleId, data: { accuracy: correct ? 1 : 0, f1_score: f1 } });
    return { sampleId: ctx.sampleId, correct, f1_score: f1 };
  }
  aggregate(results: SampleResult[]): Metrics {
    return {
      ...accuracyMetrics(results.map((r) => r.correct === true)),
      ...meanWithCI(
        'f1_score',
        results.map((r) => Number(r.f1_score ?? 0)),
      ),
    };
  }
}

export class JsonMatch implements EvalTemplate {
  constructor(private readonly o: BasicArgs) {}
  async evalSample(sample: Sample, ctx: SampleContext): Promise<SampleResult> {
    const prompt = withFewShot(sample.input, this.o.fewShot);
    const sampled = await sampleCompletion(candidate(ctx), prompt, { temperature: 0, maxTokens: this.o.maxTokens }, ctx);
    let parsed: unknown = null;
    try {
      parsed = JSON.parse(sampled);
    } catch {
      parsed = null;
    }
    const ideals = idealList(sample.ideal).map((i, k) => {
      try {
        return JSON.parse(i) as unknown;
      } catch (e) {
        throw new Error(`ideal ${k} of ${ctx.sampleId} is not valid JSON: ${(e as Error).message}`);
      }
    });
    const correct = ideals.some((c) => jsonMatch(parsed, c));
    recordMatch(ctx, correct, ideals, correct ? parsed : null, sampled);
    ctx.recorder.record({ type: 'metrics', sampleId: ctx.sampleId, data: { accuracy: correct ? 1 : 0 } });
    return { sampleId: ctx.sampleId, correct };
  }
  aggregate(results: SampleResult[]): Metrics {
    return accuracyMetrics(results.map((r) => r.correct === true));
  }
}

// ---- factories for the registry classes (class-table.ts names them)

const basic =
  (make: (o: BasicArgs, args: Record<string, unknown>) => EvalTemplate, defaultMaxTokens: number) =>
  (args: Record<string, unknown>, env: TemplateEnv): EvalInstance => ({
    template: make(basicArgs(args, env, defaultMaxTokens), args),
    samples: samplesFromArgs(args, env),
  });

// openai/evals' defaults: Match 500 tokens, Includes/FuzzyMatch/JsonMatch 500 as well.
export const basicFactories = {
  match: basic((o) => new Match(o), 500),
  includes: basic((o, a) => new Includes({ ...o, ignoreCase: a.ignore_case === true }), 500),
  fuzzyMatch: basic((o) => new FuzzyMatch(o), 500),
  jsonMatch: basic((o) => new JsonMatch(o), 500),
};
