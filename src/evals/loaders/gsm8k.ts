// GSM8K's format: JSONL with {question, answer}, where answer is worked reasoning whose last line
// is "#### <number>". The eval asks for chain-of-thought: k solved train problems, then the
// question,
//   Question: <q>\nAnswer: <reasoning ... #### 18>\n\nQuestion: <q>\nAnswer:
// and extracts the number from the model's reply: the one after "####" when the reply follows
// the format, else the last number in the reply (lm-eval's strict and flexible extractions), with
// thousands separators removed. It is correct when it equals the reference numerically.
import { join } from 'node:path';
import { benchmarksDir, readJsonl, str } from './files.ts';
import { fewShotPrompt, firstK } from './fewshot.ts';
import type { EvalTemplate, Metrics, Sample, SampleContext, SampleResult } from '../types.ts';

export interface Gsm8kSample extends Sample {
  input: string;
  /** The reference number, as written after "####" with commas removed. */
  ideal: string;
  question: string;
}

export interface Gsm8kOptions {
  /** Folder with train.jsonl and test.jsonl (default <benchmarks>/gsm8k). */
  dir?: string;
  split?: 'test' | 'train';
  /** Chain-of-thought shots from train.jsonl (default 8, as the chain-of-thought papers). */
  k?: number;
}

const NUMBER = /-?\d[\d,]*(?:\.\d+)?/g;
const clean = (s: string): string => s.replace(/,/g, '').replace(/\.$/, '');

/** The number after "####" in a reference answer. */
export function referenceAnswer(answer: string, where = 'answer'): string {
  const m = /####\s*(-?[\d,]*\.?\d+)/.exec(answer);
  if (!m) throw new Error(`${where}: no "#### <number>" line in the answer`);
  return clean(m[1]);
}

/** The model's answer: after "####" if present, else the last number; null when there is none. */
export function extractAnswer(reply: string): string | null {
  const strict = /####\s*(-?[\d,]*\.?\d+)/.exec(reply);
  if (strict) return clean(strict[1]);
  const all = reply.match(NUMBER);
  return all ? clean(all[all.length - 1]) : null;
}

export const sameNumber = (a: string | null, b: string): boolean => a !== null && Number(a) === Number(b);

const formatQ = (q: string): string => `Question: ${q}\nAnswer:`;

export function loadGsm8k(o: Gsm8kOptions = {}): Gsm8kSample[] {
  const dir = o.dir ?? join(benchmarksDir(), 'gsm8k');
  const split = o.split ?? 'test';
  const k = o.k ?? 8;
  const read = (name: string) => {
    const path = join(dir, `${name}.jsonl`);
    return readJsonl(path).map((r, i) => {
      const where = `${path}:${i + 1}`;
      const answer = str(r, 'answer', where);
      return { question: str(r, 'question', where), answer, ideal: referenceAnswer(answer, where) };
    });
  };
  const shots = k > 0 ? firstK(read('train'), k, `GSM8K shots (${join(dir, 'train.jsonl')})`) : [];
  const shotText = shots.map((s) => `${formatQ(s.question)} ${s.answer}`);
  return read(split).map((p) => ({
    input: fewShotPrompt({ shots: shotText, question: formatQ(p.question) }),
    ideal: p.ideal,
    question: p.question,
  }));
}

/** Generates a worked answer at temperature 0 and checks the extracted number. */
export class Gsm8kEval implements EvalTemplate<Gsm8kSample> {
  constructor(private readonly o: { maxTokens?: number } = {}) {}

  async evalSample(s: Gsm8kSample, ctx: SampleContext): Promise<SampleResult> {
    const fn = ctx.completionFns[0];
    const opts = { temperature: 0, maxTokens: this.o.maxTokens ?? 256, stop: ['Question:', '\n\n\n'] };
    const c = fn.complete
      ? await fn.complete(s.input, opts, ctx.signal)
      : await fn.chat([{ role: 'user', content: s.input }], opts, ctx.signal);
    const sampled = c.texts[0] ?? '';
    const picked = extractAnswer(sampled);
    const correct = sameNumber(picked, s.ideal);
    ctx.recorder.record({ type: 'sampling', sampleId: ctx.sampleId, data: { prompt: s.input, sampled } });
    ctx.recorder.record({ type: 'match', sampleId: ctx.sampleId, data: { correct, expected: s.ideal, picked } });
    return { sampleId: ctx.sampleId, correct, picked, expected: s.ideal };
  }

  aggregate(results: SampleResult[]): Metrics {
    return { n: results.length, accuracy: results.length ? results.filter((r) => r.correct === true).length / results.length : null };
  }
}
