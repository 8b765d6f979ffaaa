// Held-out accuracy of a vision checkpoint on the shapes scene set, per split and question type:
//   npx tsx scripts/eval-shapes.ts RUN_OR_CHECKPOINT [--scenes N] [--fashion N] [--relations N]
// (the seen split also with each question before its image), and the Debian sets' test splits
// (digits: 899 images; Fashion-MNIST: the first N of 10,000).
// --relations N: the yes/no left/right questions of N more seen scenes, by how far apart the two
// shapes' centres are (where relations fail: between shapes close together, or everywhere).
import { parseArgs } from 'node:util';
import { DIGITS_QUESTION, FASHION_QUESTION, generateShapes, loadDigits, loadFashion, rgbToPixels } from '../src/data/index.ts';
import { labelledItems, normaliseAnswer, shapesItems, vqaAccuracy, vqaItem, type VqaItem } from '../src/evals/index.ts';
import { openCheckpoint } from '../src/model/index.ts';

const { values, positionals } = parseArgs({ allowPositionals: true, options: { scenes: { type: 'string', default: '100' }, fashion: { type: 'string', default: '10000' }, relations: { type: 'string', default: '0' } } });
if (!positionals[0]) {
  console.error('usage: npx tsx scripts/eval-shapes.ts RUN_OR_CHECKPOINT [--scenes N] [--fashion N] [--relations N]');
  process.exit(2);
}
const { model, tok } = await openCheckpoint(positionals[0]);
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
  const r = vqaAccuracy(model, tok, shapesItems(split, Number(values.scenes), 11, model.config.vision!.imageSize, textFirst));
  out[name] = r;
  const types = Object.entries(r.byType)
    .map(([t, x]) => `${t} ${(100 * x.accuracy).toFixed(1)}% (${x.n})`)
    .join(', ');
  const label = textFirst ? `${split}, question first` : split;
  console.log(`${label}: ${(100 * r.accuracy).toFixed(1)}% of ${r.n} [${types}] in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
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
