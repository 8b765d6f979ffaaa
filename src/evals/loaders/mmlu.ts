// MMLU's public format: one headerless CSV per subject and split,
//   <dir>/dev/<subject>_dev.csv, <dir>/val/<subject>_val.csv, <dir>/test/<subject>_test.csv
// rows: question, A, B, C, D, answer letter. The subject comes from the file name. k-shot
// prompts take the first k dev rows of the same subject (lm-eval's MMLU default):
//
//   The following are multiple choice questions (with answers) about <subject>.
//
//   <dev question>
//   A. ...
//   ...
//   Answer: B
//
//   <question>
//   ...
//   Answer:
//
// and the choices scored are the letters " A" .. " D". Translated copies (the GPT-4 report's
// MMLU in 26 languages) use the same layout in their own folder, e.g. <benchmarks>/mmlu/fr;
// the description and "Answer" may be localised through the options. Files with a header row
// naming Question, A, B, C, D, Answer (and optionally Subject) are read by column name, so a
// translation shipped as one CSV with a Subject column loads too.
import { existsSync, readdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { MultipleChoiceSample } from '../multiple-choice.ts';
import { benchmarksDir, parseCsv, readText } from './files.ts';
import { fewShotPrompt, firstK } from './fewshot.ts';

export interface MmluQuestion {
  subject: string;
  question: string;
  choices: [string, string, string, string];
  answer: number;
}

export interface MmluOptions {
  /** Folder with dev/, val/, test/ (default <benchmarks>/mmlu, or <benchmarks>/mmlu/<language>). */
  dir?: string;
  /** A translated copy's folder name under <benchmarks>/mmlu (ignored when dir is given). */
  language?: string;
  split?: 'test' | 'val' | 'dev';
  /** Shots from the dev split (default 5, as the GPT-4 report and lm-eval). */
  k?: number;
  /** Only these subjects (file-name form, e.g. "high_school_physics"). */
  subjects?: string[];
  /** The word before the answer letter (default "Answer"); localise for translated copies. */
  answerWord?: string;
  /** The line before the shots (default the English one above; "" for none). */
  description?: (subject: string) => string;
}

export const MMLU_LETTERS = ['A', 'B', 'C', 'D'] as const;
const englishDescription = (subject: string) =>
  `The following are multiple choice questions (with answers) about ${subject.replace(/_/g, ' ')}.\n\n`;

/** Questions of one MMLU CSV file (headerless per-subject, or with a header row). */
export function readMmluCsv(path: string, subjectFromName?: string): MmluQuestion[] {
  const rows = parseCsv(readText(path));
  if (!rows.length) return [];
  const head = rows[0].map((c) => c.trim().toLowerCase());
  const col = (name: string) => head.indexOf(name);
  const hasHeader = col('question') >= 0 && col('answer') >= 0;
  const idx = hasHeader
    ? { q: col('question'), a: col('a'), b: col('b'), c: col('c'), d: col('d'), ans: col('answer'), subj: col('subject') }
    : { q: 0, a: 1, b: 2, c: 3, d: 4, ans: 5, subj: -1 };
  if (hasHeader && [idx.a, idx.b, idx.c, idx.d].some((i) => i < 0))
    throw new Error(`${path}: header must name columns A, B, C and D, got ${rows[0].join(', ')}`);
  return rows.slice(hasHeader ? 1 : 0).map((r, i) => {
    const where = `${path}:${i + (hasHeader ? 2 : 1)}`;
    if (r.length < (hasHeader ? head.length : 6))
      throw new Error(`${where}: expected ${hasHeader ? head.length : 6} columns (question, A, B, C, D, answer), got ${r.length}`);
    const letter = r[idx.ans].trim().toUpperCase();
    const answer = MMLU_LETTERS.indexOf(letter as 'A');
    if (answer < 0) throw new Error(`${where}: answer must be one of A, B, C, D, got ${JSON.stringify(r[idx.ans])}`);
    const subject = (idx.subj >= 0 ? r[idx.subj].trim() : '') || subjectFromName;
    if (!subject) throw new Error(`${where}: no subject (name the file <subject>_<split>.csv or add a Subject column)`);
    return {
      subject,
      question: r[idx.q].trim(),
      choices: [r[idx.a], r[idx.b], r[idx.c], r[idx.d]].map((c) => c.trim()) as MmluQuestion['choices'],
      answer,
    };
  });
}

/** One question as it appears in a prompt; with the answer for shots, ending in "Answer:" otherwise. */
export function formatMmlu(q: MmluQuestion, answerWord = 'Answer', withAnswer = false): string {
  const lines = [
    q.question,
    ...q.choices.map((c, i) => `${MMLU_LETTERS[i]}. ${c}`),
    `${answerWord}:${withAnswer ? ` ${MMLU_LETTERS[q.answer]}` : ''}`,
  ];
  return lines.join('\n');
}

function readSplit(dir: string, split: string): MmluQuestion[] {
  const sub = join(dir, split);
  if (existsSync(sub)) {
    const suffix = `_${split}.csv`;
    return readdirSync(sub)
      .filter((f) => f.endsWith(suffix))
      .sort()
      .flatMap((f) => readMmluCsv(join(sub, f), basename(f, suffix)));
  }
  // A translation shipped as CSVs with a Subject column directly in dir: they are its test split.
  if (split === 'test' && existsSync(dir))
    return readdirSync(dir)
      .filter((f) => f.endsWith('.csv'))
      .sort()
      .flatMap((f) => readMmluCsv(join(dir, f)));
  return [];
}

export function loadMmlu(o: MmluOptions = {}): MultipleChoiceSample[] {
  const dir = o.dir ?? join(benchmarksDir(), 'mmlu', o.language ?? '');
  const split = o.split ?? 'test';
  const k = o.k ?? 5;
  const describe = o.description ?? englishDescription;
  const wanted = o.subjects ? new Set(o.subjects) : null;
  const questions = readSplit(dir, split).filter((q) => !wanted || wanted.has(q.subject));
  if (!questions.length)
    throw new Error(
      `no MMLU ${split} questions${wanted ? ` for ${[...wanted].join(', ')}` : ''} under ${dir}: expected ` +
        `${join(dir, split, '<subject>_' + split + '.csv')} (see README, "Benchmarks and sandbox")`,
    );
  const dev = new Map<string, MmluQuestion[]>();
  if (k > 0) for (const q of readSplit(dir, 'dev')) (dev.get(q.subject) ?? dev.set(q.subject, []).get(q.subject)!).push(q);
  return questions.map((q) => {
    const shots =
      k > 0
        ? firstK(
            dev.get(q.subject) ?? [],
            k,
            `MMLU ${q.subject}: shots come from ${join(dir, 'dev', q.subject + '_dev.csv')} (or pass k: 0)`,
          )
        : [];
    return {
      input: fewShotPrompt({
        description: describe(q.subject),
        shots: shots.map((s) => formatMmlu(s, o.answerWord, true)),
        question: formatMmlu(q, o.answerWord),
      }),
      choices: [...MMLU_LETTERS],
      gold: q.answer,
      ideal: MMLU_LETTERS[q.answer],
      subject: q.subject,
    };
  });
}
