// Held-out accuracy of a vision checkpoint on the shapes scene set, per split and question type:
//   npx tsx scripts/eval-shapes.ts RUN_OR_CHECKPOINT [--scenes N] [--fashion N] [--relations N]
// (the seen split also with each question before its image), and the Debian sets' test splits
// (digits: 899 images; Fashion-MNIST: the first N of 10,000), and the unseen split by held-out
// combination and what each count question names.
// --relations N: the yes/no left/right questions of N more seen scenes, by how far apart the two
// shapes' centres are (where relations fail: between shapes close together, or everywhere).
import { parseArgs } from 'node:util';
import {
  DIGITS_QUESTION,
  FASHION_QUESTION,
  generateShapes,
  HELD_OUT_COMBOS,
  loadDigits,
  loadFashion,
  rgbToPixels,
} from '../src/data/index.ts';
import { labelledItems, normaliseAnswer, shapesItems, vqaAccuracy, vqaItem, type VqaItem } from '../src/evals/index.ts';
import { openCheckpoint } from '../src/model/index.ts';

const { values, positionals } = parseArgs({ allowPositionals: true, options: { scenes: { type: 'string', default: '100' }, fashion: { type: 'string', default: '10000' }, relations: { type: 'string', default: '0' } } });
if (!positionals[0]) {
  console.error('usage: npx tsx scripts/eval-shapes.ts RUN_OR_CHECKPOINT [--scenes N] [--fashion N] [--relations N]');
  process.exit(2);
}
const { model, tok } = await openCheckpoint(positionals[0]);
/** The splits' scenes: shapesItems' seed, and byCombination's, which walks the same scenes. */
const SCENE_SEED = 11;
const out: Record<string, unknown> = {};
// The three splits, and the seen split's questions again asked before their image ("text first":
// OpenAI's examples send the text part, then the image_url).
for (const [name, split, textFirst] of [
  ['seen', 'seen', false],
  ['unseen', 'unseen', false],
  ['phrasing', 'phrasing', false],
  ['textFirst', 'seen', true],
] as const) {
  const t0 = Date.now();
  const items = shapesItems(split, Number(values.scenes), SCENE_SEED, model.config.vision!.imageSize, textFirst);
  const r = vqaAccuracy(model, tok, items, { answers: true });
  out[name] = { ...r, answers: undefined };
  const types = Object.entries(r.byType)
    .map(([t, x]) => `${t} ${(100 * x.accuracy).toFixed(1)}% (${x.n})`)
    .join(', ');
  const label = textFirst ? `${split}, question first` : split;
  console.log(`${label}: ${(100 * r.accuracy).toFixed(1)}% of ${r.n} [${types}] in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  if (name === 'unseen') out.unseenByCombination = byCombination(items, r.answers!);
}

/**
 * The unseen split by held-out combination (each scene holds one, and its questions are about it):
 * colour, kind and existence, and count apart by what it names (the combination's colour, its kind,
 * or all shapes), where a combination's parts fail to reach counting.
 */
function byCombination(items: VqaItem[], answers: string[]): Record<string, Record<string, string>> {
  const scenes = generateShapes({ seed: SCENE_SEED, count: Number(values.scenes), split: 'unseen' });
  const table: Record<string, Record<string, [number, number]>> = {};
  let i = 0;
  for (const s of scenes) {
    const [c, k] = HELD_OUT_COMBOS.find(([hc, hk]) => s.scene.shapes.some((x) => x.colour === hc && x.kind === hk))!;
    for (const q of s.questions) {
      const what = q.type !== 'count' ? q.type : q.question.includes(c) ? 'count colour' : q.question.includes(k) ? 'count kind' : 'count all';
      const cell = ((table[`${c} ${k}`] ??= {})[what] ??= [0, 0]);
      cell[0] += normaliseAnswer(answers[i]) === normaliseAnswer(items[i].answer) ? 1 : 0;
      cell[1]++;
      i++;
    }
  }
  const cols = ['colour', 'kind', 'exist', 'count colour', 'count kind', 'count all'];
  console.log(`| unseen | ${cols.join(' | ')} |\n|---|${cols.map(() => '---|').join('')}`);
  const pct = ([right, n]: [number, number] = [0, 0]) => (n ? `${((100 * right) / n).toFixed(0)}% (${n})` : '-');
  for (const [combo, row] of Object.entries(table)) console.log(`| ${combo} | ${cols.map((t) => pct(row[t])).join(' | ')} |`);
  return Object.fromEntries(Object.entries(table).map(([combo, row]) => [combo, Object.fromEntries(cols.map((t) => [t, pct(row[t])]))]));
}
// The Debian sets, when `npm run vision-data` has extracted them.
const size = model.config.vision!.imageSize;
const sets: [string, () => VqaItem[]][] = [
  ['digits', () => labelledItems(loadDigits('test'), DIGITS_QUESTION, size, 'digit')],
  ['fashion', () => labelledItems(loadFashion('test', Number(values.fashion)), FASHION_QUESTION, size, 'clothing')],
];
for (const [name, items] of sets) {
  let list: VqaItem[];
  try {
    list = items();
  } catch (e) {
    console.log(`${name}: skipped (${(e as Error).message})`);
    continue;
  }
  const t0 = Date.now();
  const r = vqaAccuracy(model, tok, list);
  out[name] = r;
  console.log(`${name} (test split): ${(100 * r.accuracy).toFixed(1)}% of ${r.n} in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
}
if (Number(values.relations) > 0) {
  // Seed 5: scenes apart from the splits above (seed 11), the same as sessions 17-20's figures.
  const items: VqaItem[] = [],
    apart: number[] = [];
  for (const s of generateShapes({ seed: 5, count: Number(values.relations), split: 'seen', types: ['relation'] }))
    for (const q of s.questions) {
      const named = [...q.question.matchAll(/the (\w+) (\w+)/g)]
        .map(([, c, k]) => s.scene.shapes.find((x) => x.colour === c && x.kind === k))
        .filter((x) => x !== undefined);
      if (named.length !== 2) continue; // "What shape is left of the ...?" names one shape
      apart.push(Math.abs(named[0].x - named[1].x));
      items.push(vqaItem('relation', q.answer, rgbToPixels(s.rgb, size), q.question));
    }
  const r = vqaAccuracy(model, tok, items, { answers: true });
  const rows = [[0, 8, 'under 8 px'], [8, 16, '8-16 px'], [16, 32, '16-32 px'], [32, Infinity, '32 px or more'], [0, Infinity, 'all']] as const;
  console.log('| centres apart | yes/no left/right | questions |\n|---|---|---|');
  const byApart: Record<string, number> = {};
  for (const [lo, hi, name] of rows) {
    const at = apart.flatMap((d, i) => (d >= lo && d < hi ? [i] : []));
    const right = at.filter((i) => normaliseAnswer(r.answers![i]) === normaliseAnswer(items[i].answer)).length; // vqaAccuracy's match
    byApart[name] = right / at.length;
    console.log(`| ${name} | ${((100 * right) / at.length).toFixed(1)}% | ${at.length} |`);
  }
  out.relations = byApart;
}
console.log(JSON.stringify(out));
