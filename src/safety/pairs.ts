// Preference pairs for DPO, made by the policy itself: each prompt is answered `samples` times by
// the SFT model (sampled at a temperature), each answer is scored, and the best answer is paired
// with those scoring clearly worse (GPT-4 system card: the RBRM's reward on safety prompts; task
// correctness elsewhere).
//
// Scores:
//   a safety prompt (it has a kind): the expected safety reward (reward.ts) under the rubric
//     classifier's class probabilities, -1 to 1; for a sensitive request of a category with a
//     compliance list (safety.yaml), the mean of that and +1 / -1 for whether the answer names
//     real help (a crisis line, a professional): a safe non-refusal alone is not the policy's answer;
//   any other prompt: 1 when the answer is the ideal answer exactly (trimmed), else 0.
// The prompt's ideal answer joins the candidates with the score its known class earns (a desired
// refusal of a harmful request, a helpful answer to a safe one: +1; a correct answer: 1), so a
// prompt the policy always gets wrong still yields pairs (the ideal over the policy's answer),
// and one it always gets right yields none.
//
// A harmful prompt the SFT model already refuses yields no pair of its own, while the safe
// lookalikes it over-refuses do: DPO on those alone teaches answering, and the model answers the
// harmful requests too (measured: disallowed responses up from 6% to 50%). So each harmful prompt
// also gets two written negatives, scored by the rubric classifier like any answer: a redacted
// compliance stand-in (class C) and a helpful answer to some other, safe question (a non-refusal,
// class D), both worth -1 there.
import { existsSync } from 'node:fs';
import { COMPLIANCE, compliant, disallowedStandIn, preferenceLine, type SafetyKind } from '../data/index.ts';
import { generate, type GPT } from '../model/index.ts';
import type { Backend } from '../tensor/index.ts';
import { renderPrompt, type ChatMessage, type Tokenizer } from '../tokenizer/index.ts';
import { JsonlError, Progress, readJsonl } from '../util/index.ts';
import type { RbrmClassifier } from './rbrm.ts';
import { SAFETY_REWARD, safetyReward } from './reward.ts';

export interface PairPrompt {
  input: ChatMessage[];
  ideal: string;
  kind?: SafetyKind;
  /** The category: of a harmful prompt, it names the redacted stand-in; of a sensitive one, its compliance list. */
  category?: string;
}

export interface PairOptions {
  /** Answers sampled per prompt. */
  samples: number;
  temperature: number;
  maxTokens: number;
  seed: number;
  /** Least score difference for a pair. */
  margin: number;
  /** Most pairs per prompt (the best answer against the worst ones). */
  perPrompt: number;
}

export interface Candidate {
  text: string;
  score: number;
  ideal: boolean;
}

export interface PairReport {
  prompts: number;
  pairs: number;
  /** Mean score of the policy's sampled answers, per kind of prompt ('task' for prompts without one). */
  meanScore: Record<string, number>;
  /** Pairs whose preferred answer is the prompt's ideal rather than one of the policy's. */
  idealChosen: number;
}

/**
 * Prompts from evals-style sample files ({"input": [messages], "ideal": "...", "kind"?} per line,
 * as `tetra data synth` writes them); a bad line is an error naming the file and line.
 */
export function readPrompts(files: string[]): PairPrompt[] {
  return files.flatMap((file) => {
    if (!existsSync(file)) throw new JsonlError(`${file}: no such file`);
    return readJsonl<PairPrompt>(file, 'a sample').map((p, i) => {
      if (!Array.isArray(p.input) || typeof p.ideal !== 'string')
        throw new JsonlError(`${file}:${i + 1}: expected {"input": [messages], "ideal": "...", "kind"?}`);
      if (p.kind !== undefined && !(p.kind in SAFETY_REWARD))
        throw new JsonlError(`${file}:${i + 1}: kind must be ${Object.keys(SAFETY_REWARD).join(', ')}, got '${p.kind}'`);
      return { input: p.input, ideal: p.ideal, kind: p.kind, category: p.category };
    });
  });
}

const lastUser = (input: ChatMessage[]) => String([...input].reverse().find((m) => m.role === 'user')?.content ?? '');

/** One answer's score (see the header). */
export function scoreAnswer(p: PairPrompt, text: string, rbrm: RbrmClassifier | null): number {
  if (!p.kind) return text.trim() === p.ideal.trim() ? 1 : 0;
  if (!rbrm) throw new Error('pairs: a safety prompt needs the rubric classifier (--rbrm)');
  const safety = safetyReward(p.kind, rbrm.classify(lastUser(p.input), text).scores);
  const marks = p.kind === 'sensitive' && p.category ? COMPLIANCE[p.category] : undefined;
  return marks ? (safety + (compliant(text, marks) ? 1 : -1)) / 2 : safety;
}

/** The pairs of one prompt's candidates: the best against each clearly worse one, worst first. */
export function pairsOf(candidates: Candidate[], o: Pick<PairOptions, 'margin' | 'perPrompt'>): [Candidate, Candidate][] {
  // One candidate per text, the first given (the ideal, when a sample repeats it).
  const seen = new Set<string>();
  const distinct = candidates.filter((c) => {
    const t = c.text.trim();
    if (!t || seen.has(t)) return false;
    seen.add(t);
    return true;
  });
  // The ideal first among equals: it is the answer the score stands for.
  distinct.sort((a, b) => b.score - a.score || Number(b.ideal) - Number(a.ideal));
  const best = distinct[0];
  if (!best) return [];
  return distinct
    .filter((c) => best.score - c.score >= o.margin)
    .reverse()
    .slice(0, o.perPrompt)
    .map((c) => [best, c]);
}

/**
 * Samples the policy on every prompt, scores the answers and writes the pairs (OpenAI preference
 * JSONL lines) through `emit`; returns what was made.
 */
export function buildPairs(
  policy: { model: GPT; tok: Tokenizer },
  backend: Backend<Float32Array>,
  rbrm: RbrmClassifier | null,
  prompts: PairPrompt[],
  o: PairOptions,
  emit: (line: string) => void,
  opts: { chunk?: number; signal?: AbortSignal } = {},
): PairReport {
  const { model, tok } = policy;
  const stops = Object.values(tok.specials);
  const chunk = opts.chunk ?? Math.max(1, Math.floor(32 / o.samples));
  const sums = new Map<string, [number, number]>();
  // Helpful answers to the safe prompts: the off-topic non-refusals that harmful prompts are paired against.
  const helpful = prompts.filter((p) => p.kind && p.kind !== 'harmful').map((p) => p.ideal);
  const report: PairReport = { prompts: 0, pairs: 0, meanScore: {}, idealChosen: 0 };
  const progress = new Progress('pairs', prompts.length, 'prompts');
  for (let i = 0; i < prompts.length && !opts.signal?.aborted; i += chunk) {
    const part = prompts.slice(i, i + chunk);
    const ids = part.map((p) => Int32Array.from(renderPrompt(tok, p.input).ids));
    const gens = generate(
      model,
      backend,
      ids.flatMap((x) => Array.from({ length: o.samples }, () => x)),
      {
        maxTokens: Math.min(o.maxTokens, model.config.contextLength - Math.max(...ids.map((x) => x.length))),
        temperature: o.temperature,
        seed: o.seed + i,
        stopTokens: stops,
        decode: (t) => tok.decode(t),
      },
    );
    part.forEach((p, j) => {
      const sampled = gens.slice(j * o.samples, (j + 1) * o.samples).map((g) => ({ text: g.text ?? '', score: 0, ideal: false }));
      for (const c of sampled) c.score = scoreAnswer(p, c.text, rbrm);
      const kind = p.kind ?? 'task';
      const [s, n] = sums.get(kind) ?? [0, 0];
      sums.set(kind, [s + sampled.reduce((a, c) => a + c.score, 0), n + sampled.length]);
      const written =
        p.kind === 'harmful'
          ? [disallowedStandIn(p.category ?? 'harm', 'do that'), helpful[(i + j) % Math.max(1, helpful.length)]]
              .filter((t) => t !== undefined)
              .map((text) => ({ text, score: scoreAnswer(p, text, rbrm), ideal: false }))
          : [];
      for (const [chosen, rejected] of pairsOf([{ text: p.ideal, score: 1, ideal: true }, ...sampled, ...written], o)) {
        emit(preferenceLine({ prompt: p.input, chosen: chosen.text, rejected: rejected.text }));
        report.pairs++;
        if (chosen.ideal) report.idealChosen++;
      }
      report.prompts++;
    });
    progress.update(report.prompts, `${report.pairs} pairs`);
  }
  progress.done();
  for (const [k, [s, n]] of sums) report.meanScore[k] = s / n;
  return report;
}
