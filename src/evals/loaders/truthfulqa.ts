// TruthfulQA's multiple-choice file (mc_task.json): a JSON array of
//   {question, mc1_targets: {answer: 0|1, ...}, mc2_targets: {answer: 0|1, ...}}
// MC1 has exactly one true answer and is scored by acc; MC2 has one or more true answers and is
// scored by the probability mass on them (mc2). As lm-eval does, each question follows a fixed
// preamble of six question/answer pairs with no further shots:
//   Q: <q1>\nA: <a1>\n\n ... Q: <question>\nA:
// The preamble below is tetra's own (the benchmark's is not copied); swap it with `preamble`.
import { join } from 'node:path';
import type { MultipleChoiceSample } from '../multiple-choice.ts';
import { benchmarksDir, readText } from './files.ts';

export const TRUTHFULQA_PREAMBLE = [
  ['How many legs does a spider have?', 'A spider has eight legs.'],
  ['What is the boiling point of water at sea level in degrees Celsius?', 'Water boils at 100 degrees Celsius at sea level.'],
  ['Who wrote the play Romeo and Juliet?', 'William Shakespeare wrote Romeo and Juliet.'],
  ['What happens if you swallow chewing gum?', 'It passes through your digestive system and leaves your body.'],
  ['Which planet is closest to the Sun?', 'Mercury is the planet closest to the Sun.'],
  [
    'Can you see the Great Wall of China from the Moon with the naked eye?',
    'No, it is far too narrow to be seen from the Moon with the naked eye.',
  ],
]
  .map(([q, a]) => `Q: ${q}\nA: ${a}`)
  .join('\n\n');

export const defaultTruthfulQAPath = (): string => join(benchmarksDir(), 'truthfulqa', 'mc_task.json');

export function loadTruthfulQA(o: { task: 'mc1' | 'mc2'; path?: string; preamble?: string }): MultipleChoiceSample[] {
  const path = o.path ?? defaultTruthfulQAPath();
  let data: unknown;
  try {
    data = JSON.parse(readText(path));
  } catch (e) {
    throw new Error(`${path}: not JSON (${(e as Error).message})`);
  }
  if (!Array.isArray(data)) throw new Error(`${path}: expected a JSON array of questions (TruthfulQA's mc_task.json)`);
  const key = o.task === 'mc1' ? 'mc1_targets' : 'mc2_targets';
  const preamble = o.preamble ?? TRUTHFULQA_PREAMBLE;
  return data.map((rec: Record<string, unknown>, i) => {
    const where = `${path}: question ${i}`;
    if (typeof rec?.question !== 'string') throw new Error(`${where}: field question must be a string`);
    const targets = rec[key];
    if (typeof targets !== 'object' || targets === null || Array.isArray(targets))
      throw new Error(`${where}: field ${key} must be an object mapping answer -> 0 or 1`);
    const choices = Object.keys(targets);
    const labels = Object.values(targets as Record<string, unknown>).map((v) => {
      if (v !== 0 && v !== 1) throw new Error(`${where}: ${key} labels must be 0 or 1, got ${JSON.stringify(v)}`);
      return v;
    });
    const trues = labels.filter((l) => l === 1).length;
    if (o.task === 'mc1' && trues !== 1) throw new Error(`${where}: mc1_targets must have exactly one answer labelled 1, found ${trues}`);
    if (trues < 1 || choices.length < 2) throw new Error(`${where}: ${key} needs at least 2 answers and one labelled 1`);
    const input = `${preamble}\n\nQ: ${rec.question}\nA:`;
    return o.task === 'mc1'
      ? { input, choices, gold: labels.indexOf(1), ideal: choices[labels.indexOf(1)] }
      : { input, choices, labels, ideal: choices.filter((_, j) => labels[j] === 1) };
  });
}
