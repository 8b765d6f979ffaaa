// Multiple choice by log-likelihood, with lm-evaluation-harness' multiple_choice semantics: for
// each choice, the summed log-probability of target_delimiter + choice after the context; then
//   acc       the choice with the highest log-likelihood is the gold one
//   acc_norm  the same after dividing each log-likelihood by the choice's length (UTF-8 bytes by
//             default; lm-eval divides by the Python string length, i.e. code points, which is
//             the same for ASCII and is available as normalise: 'chars')
//   mc2       (TruthfulQA MC2) probability mass on the true choices, exp(ll) normalised over all
// and, for calibration, confidence = the largest softmax probability over the choices'
// log-likelihoods, paired with whether that choice is right (the reliability diagram of the
// GPT-4 report's MMLU calibration plot). The core's ECE takes calibrationPairs(results).
import type { CompletionFn, EvalMessage, EvalTemplate, Metrics, Sample, SampleContext, SampleResult } from './types.ts';

export interface MultipleChoiceSample extends Sample {
  /** The context the choices continue (a prompt string; chat messages are joined by blank lines). */
  input: string | EvalMessage[];
  choices: string[];
  /** Index of the correct choice (MMLU, TruthfulQA MC1). */
  gold?: number;
  /** 1 for every true choice (TruthfulQA MC2); scored as mc2, and acc when gold is absent. */
  labels?: number[];
  /** Grouping key for per-subject accuracy (MMLU). */
  subject?: string;
}

export interface MultipleChoiceOptions {
  /** Put between context and choice (lm-eval's target_delimiter). Default " ". */
  targetDelimiter?: string;
  /** Length that acc_norm divides by. Default 'bytes'. */
  normalise?: 'bytes' | 'chars';
}

/** What evalSample returns for one question. */
export interface MultipleChoiceResult extends SampleResult {
  acc: number;
  acc_norm: number;
  mc2?: number;
  /** Index the model picked (argmax log-likelihood) and the softmax probability it gave it. */
  pred: number;
  confidence: number;
  correct: boolean;
  logprobs: number[];
  subject?: string;
}

const contextOf = (input: string | EvalMessage[]): string => (typeof input === 'string' ? input : input.map((m) => m.content).join('\n\n'));
const argmax = (xs: number[]): number => xs.reduce((b, x, i) => (x > xs[b] ? i : b), 0);

/** Softmax over log-likelihoods, stable for very negative values. */
export function softmax(logprobs: readonly number[]): number[] {
  const m = Math.max(...logprobs);
  const e = logprobs.map((x) => Math.exp(x - m));
  const z = e.reduce((a, b) => a + b, 0);
  return e.map((x) => x / z);
}

function validate(s: MultipleChoiceSample, id: string): void {
  if (!Array.isArray(s.choices) || s.choices.length < 2 || s.choices.some((c) => typeof c !== 'string')) {
    throw new Error(`sample ${id}: choices must be an array of at least 2 strings, got ${JSON.stringify(s.choices)}`);
  }
  if (s.gold === undefined && s.labels === undefined)
    throw new Error(`sample ${id}: needs gold (index of the right choice) or labels (1 per true choice)`);
  if (s.gold !== undefined && !(Number.isInteger(s.gold) && s.gold >= 0 && s.gold < s.choices.length)) {
    throw new Error(`sample ${id}: gold must be an index in [0, ${s.choices.length - 1}], got ${s.gold}`);
  }
  if (s.labels !== undefined && (s.labels.length !== s.choices.length || !s.labels.some((l) => l === 1))) {
    throw new Error(`sample ${id}: labels must have one 0/1 per choice (${s.choices.length}) with at least one 1`);
  }
}

export class MultipleChoiceEval implements EvalTemplate<MultipleChoiceSample> {
  private readonly delimiter: string;
  private readonly normalise: 'bytes' | 'chars';

  constructor(o: MultipleChoiceOptions = {}) {
    this.delimiter = o.targetDelimiter ?? ' ';
    this.normalise = o.normalise ?? 'bytes';
  }

  async evalSample(s: MultipleChoiceSample, ctx: SampleContext): Promise<MultipleChoiceResult> {
    validate(s, ctx.sampleId);
    const fn: CompletionFn = ctx.completionFns[0];
    if (!fn?.loglikelihood) {
      throw new Error(
        `completion function ${fn?.name ?? '(none)'} exposes no log-likelihoods; multiple choice needs one that does (a tetra ` +
          `model, or an OpenAI-compatible completions endpoint with echo and logprobs)`,
      );
    }
    const context = contextOf(s.input);
    const res = await fn.loglikelihood(
      s.choices.map((c) => ({ context, continuation: this.delimiter + c })),
      ctx.signal,
    );
    if (res.length !== s.choices.length)
      throw new Error(`${fn.name} returned ${res.length} log-likelihoods for ${s.choices.length} choices`);
    const lls = res.map((r) => r.logprob);
    const lens = s.choices.map((c) => (this.normalise === 'bytes' ? Buffer.byteLength(c, 'utf8') : [...c].length) || 1);
    const pred = argmax(lls);
    const predNorm = argmax(lls.map((ll, i) => ll / lens[i]));
    const isRight = (i: number) => (s.gold !== undefined ? i === s.gold : s.labels![i] === 1);
    const probs = softmax(lls);
    const out: MultipleChoiceResult = {
      sampleId: ctx.sampleId,
      acc: isRight(pred) ? 1 : 0,
      acc_norm: isRight(predNorm) ? 1 : 0,
      pred,
      confidence: probs[pred],
      correct: isRight(pred),
      logprobs: lls,
    };
    if (s.labels) out.mc2 = probs.reduce((sum, p, i) => sum + (s.labels![i] === 1 ? p : 0), 0);
    if (s.subject !== undefined) out.subject = s.subject;
    ctx.recorder.record({
      type: 'match',
      sampleId: ctx.sampleId,
      data: {
        correct: out.correct,
        expected: s.gold !== undefined ? s.choices[s.gold] : s.choices.filter((_, i) => s.labels![i] === 1),
        picked: s.choices[pred],
        options: s.choices,
        logprobs: lls,
        confidence: out.confidence,
      },
    });
    return out;
  }

  aggregate(results: SampleResult[]): Metrics {
    const rs = results as MultipleChoiceResult[];
    const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null);
    const m: Metrics = { n: rs.length, acc: mean(rs.map((r) => r.acc)), acc_norm: mean(rs.map((r) => r.acc_norm)) };
    const mc2 = rs.filter((r) => typeof r.mc2 === 'number').map((r) => r.mc2!);
    if (mc2.length) m.mc2 = mean(mc2);
    const bySubject = new Map<string, number[]>();
    for (const r of rs) if (r.subject !== undefined) (bySubject.get(r.subject) ?? bySubject.set(r.subject, []).get(r.subject)!).push(r.acc);
    if (bySubject.size) {
      const per: Record<string, number> = {};
      for (const [k, v] of [...bySubject].sort(([a], [b]) => a.localeCompare(b))) per[k] = mean(v)!;
      m.acc_by_subject = per;
      // MMLU is reported both ways: over all questions (acc above) and averaged over subjects.
      m.acc_subject_mean = mean(Object.values(per));
    }
    return m;
  }
}

/**
 * (confidence, correct) per multiple-choice result, for expected calibration error and reliability
 * diagrams: confidence is the softmax probability of the picked choice. Results without a
 * confidence (another template's) are skipped.
 */
export function calibrationPairs(results: readonly SampleResult[]): { confidence: number; correct: boolean }[] {
  return results
    .filter((r): r is MultipleChoiceResult => typeof r.confidence === 'number' && typeof r.correct === 'boolean')
    .map((r) => ({ confidence: r.confidence, correct: r.correct }));
}
