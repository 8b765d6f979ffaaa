// Metrics over per-sample results: means with a real bootstrap confidence interval, token F1,
// counts, and calibration (expected calibration error over equal-width bins, with the bins a
// reliability diagram draws).
//
// Why not openai/evals' "boostrap_std": it is the spread of means of random *half* samples drawn
// without replacement, which is not a bootstrap and understates nothing in particular. Here a
// bootstrap resamples n of n with replacement B times and reports the 2.5/97.5 percentiles of
// the resampled means, plus their standard deviation.
import { mulberry32 } from '../tensor/index.ts';
import type { Metrics } from './types.ts';

/** Seeded uniforms (mulberry32): bootstrap intervals are reproducible for a given seed. */
export const seededRandom = (seed: number): (() => number) => mulberry32(seed);

export interface BootstrapOptions {
  resamples?: number;
  confidence?: number;
  seed?: number;
}
export interface Interval {
  mean: number;
  low: number;
  high: number;
  std: number;
  n: number;
}

export function mean(xs: readonly number[]): number {
  let s = 0;
  for (const x of xs) s += x;
  return xs.length ? s / xs.length : NaN;
}

function percentile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return NaN;
  const pos = q * (sorted.length - 1);
  const lo = Math.floor(pos),
    hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

/** Percentile bootstrap of the mean: B resamples of n with replacement. */
export function bootstrapMean(xs: readonly number[], o: BootstrapOptions = {}): Interval {
  const B = o.resamples ?? 1000,
    conf = o.confidence ?? 0.95,
    n = xs.length;
  const m = mean(xs);
  if (n === 0) return { mean: NaN, low: NaN, high: NaN, std: NaN, n };
  const r = seededRandom(o.seed ?? 0x5eed);
  const means = new Float64Array(B);
  for (let b = 0; b < B; b++) {
    let s = 0;
    for (let i = 0; i < n; i++) s += xs[(r() * n) | 0];
    means[b] = s / n;
  }
  let v = 0;
  const mb = mean(Array.from(means));
  for (const x of means) v += (x - mb) ** 2;
  means.sort();
  return {
    mean: m,
    low: percentile(means, (1 - conf) / 2),
    high: percentile(means, 1 - (1 - conf) / 2),
    std: Math.sqrt(v / Math.max(1, B - 1)),
    n,
  };
}

/**
 * Paired bootstrap of mean(b) - mean(a) over the same samples (indices line up), for comparing
 * two runs: resampling pairs keeps the correlation between runs, so the interval is honest.
 */
export function bootstrapDiff(a: readonly number[], b: readonly number[], o: BootstrapOptions = {}): Interval {
  if (a.length !== b.length) throw new Error(`bootstrapDiff: paired samples need equal lengths, got ${a.length} and ${b.length}`);
  return bootstrapMean(
    a.map((x, i) => b[i] - x),
    o,
  );
}

/** Unpaired: difference of independent bootstrap means (for runs over different samples). */
export function bootstrapDiffUnpaired(a: readonly number[], b: readonly number[], o: BootstrapOptions = {}): Interval {
  const B = o.resamples ?? 1000,
    conf = o.confidence ?? 0.95;
  const r = seededRandom(o.seed ?? 0x5eed);
  const draw = (xs: readonly number[]) => {
    let s = 0;
    for (let i = 0; i < xs.length; i++) s += xs[(r() * xs.length) | 0];
    return s / xs.length;
  };
  const d = new Float64Array(B);
  for (let k = 0; k < B; k++) d[k] = draw(b) - draw(a);
  const md = mean(Array.from(d));
  let v = 0;
  for (const x of d) v += (x - md) ** 2;
  d.sort();
  return {
    mean: mean(b) - mean(a),
    low: percentile(d, (1 - conf) / 2),
    high: percentile(d, 1 - (1 - conf) / 2),
    std: Math.sqrt(v / Math.max(1, B - 1)),
    n: Math.min(a.length, b.length),
  };
}

/** `name`, `name_ci_low`, `name_ci_high` (95% bootstrap) and `name_bootstrap_std`. */
export function meanWithCI(name: string, xs: readonly number[], o: BootstrapOptions = {}): Metrics {
  const iv = bootstrapMean(xs, o);
  const nz = (x: number) => (Number.isFinite(x) ? x : null);
  return { [name]: nz(iv.mean), [`${name}_ci_low`]: nz(iv.low), [`${name}_ci_high`]: nz(iv.high), [`${name}_bootstrap_std`]: nz(iv.std) };
}

/** The metrics every correct/incorrect template reports: accuracy with its interval, and n. */
export function accuracyMetrics(correct: readonly boolean[], o: BootstrapOptions = {}): Metrics {
  return {
    ...meanWithCI(
      'accuracy',
      correct.map((c) => (c ? 1 : 0)),
      o,
    ),
    n: correct.length,
  };
}

export function counts(xs: readonly string[], prefix = 'counts/'): Record<string, number> {
  const out: Record<string, number> = {};
  for (const x of xs) out[prefix + x] = (out[prefix + x] ?? 0) + 1;
  return out;
}

// ---- text normalisation and token F1 (SQuAD-style, as openai/evals' FuzzyMatch reports it)

const PUNCT = new Set('!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~');

/** Lowercase, drop ASCII punctuation, drop the articles a/an/the, collapse whitespace. */
export function normalizeText(s: string): string {
  let t = '';
  for (const ch of s.toLowerCase()) if (!PUNCT.has(ch)) t += ch;
  return t
    .replace(/\b(a|an|the)\b/g, ' ')
    .split(/\s+/)
    .filter(Boolean)
    .join(' ');
}

export function tokenF1(prediction: string, truth: string): number {
  const p = normalizeText(prediction).split(' ').filter(Boolean);
  const g = normalizeText(truth).split(' ').filter(Boolean);
  const bag = new Map<string, number>();
  for (const t of g) bag.set(t, (bag.get(t) ?? 0) + 1);
  let same = 0;
  for (const t of p) {
    const c = bag.get(t) ?? 0;
    if (c > 0) {
      same++;
      bag.set(t, c - 1);
    }
  }
  if (same === 0) return 0;
  const precision = same / p.length,
    recall = same / g.length;
  return (2 * precision * recall) / (precision + recall);
}

/** Best F1 against any of the answers. */
export const bestTokenF1 = (prediction: string, answers: readonly string[]): number =>
  Math.max(0, ...answers.map((a) => tokenF1(prediction, a)));

/** F1 of a binary classifier from predicted and true labels (positive = true). */
export function binaryF1(pred: readonly boolean[], gold: readonly boolean[]): { precision: number; recall: number; f1: number } {
  let tp = 0,
    fp = 0,
    fn = 0;
  pred.forEach((p, i) => {
    if (p && gold[i]) tp++;
    else if (p) fp++;
    else if (gold[i]) fn++;
  });
  const precision = tp + fp ? tp / (tp + fp) : 0,
    recall = tp + fn ? tp / (tp + fn) : 0;
  return { precision, recall, f1: precision + recall ? (2 * precision * recall) / (precision + recall) : 0 };
}

// ---- calibration

export interface CalibrationBin {
  lo: number;
  hi: number;
  count: number;
  accuracy: number | null;
  confidence: number | null;
}
export interface Calibration {
  ece: number;
  bins: CalibrationBin[];
  n: number;
}

/**
 * Expected calibration error over `bins` equal-width bins of confidence in [0, 1]:
 * ECE = sum over bins of (n_b / N) * |accuracy_b - mean confidence_b|. A confidence of exactly 1
 * falls in the last bin. Multiple-choice templates report, per sample, the probability the model
 * gave its chosen answer (`confidence`) and whether that answer was right (`correct`).
 */
export function calibration(confidence: readonly number[], correct: readonly boolean[], bins = 10): Calibration {
  if (!Number.isInteger(bins) || bins < 1) throw new RangeError(`calibration bins must be a positive integer, got ${bins}`);
  if (confidence.length !== correct.length) throw new Error(`calibration: ${confidence.length} confidences but ${correct.length} outcomes`);
  const n = new Array(bins).fill(0),
    acc = new Array(bins).fill(0),
    conf = new Array(bins).fill(0);
  confidence.forEach((p, i) => {
    if (!(p >= 0 && p <= 1)) throw new RangeError(`calibration: confidence ${p} at sample ${i} is outside [0, 1]`);
    const b = Math.min(bins - 1, Math.floor(p * bins));
    n[b]++;
    conf[b] += p;
    acc[b] += correct[i] ? 1 : 0;
  });
  const N = confidence.length;
  let ece = 0;
  const out: CalibrationBin[] = [];
  for (let b = 0; b < bins; b++) {
    const a = n[b] ? acc[b] / n[b] : null,
      c = n[b] ? conf[b] / n[b] : null;
    if (n[b]) ece += (n[b] / N) * Math.abs(a! - c!);
    out.push({ lo: b / bins, hi: (b + 1) / bins, count: n[b], accuracy: a, confidence: c });
  }
  return { ece: N ? ece : NaN, bins: out, n: N };
}

/** Calibration of results that carry `confidence` and `correct` (multiple choice); null when none do. */
export function calibrationOf(results: readonly Record<string, unknown>[], bins = 10): Calibration | null {
  const rs = results.filter((r) => typeof r.confidence === 'number' && typeof r.correct === 'boolean');
  if (!rs.length) return null;
  return calibration(
    rs.map((r) => r.confidence as number),
    rs.map((r) => r.correct as boolean),
    bins,
  );
}
