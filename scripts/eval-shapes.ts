// Held-out accuracy of a vision checkpoint on the shapes scene set, per split and question type:
//   npx tsx scripts/eval-shapes.ts RUN_OR_CHECKPOINT [--scenes N] [--fashion N]
// and the Debian sets' test splits (digits: 899 images; Fashion-MNIST: the first N of 10,000).
import { parseArgs } from 'node:util';
import { DIGITS_QUESTION, FASHION_QUESTION, loadDigits, loadFashion } from '../src/data/index.ts';
import { labelledItems, shapesItems, vqaAccuracy, type VqaItem } from '../src/evals/index.ts';
import { openCheckpoint } from '../src/model/index.ts';

const { values, positionals } = parseArgs({ allowPositionals: true, options: { scenes: { type: 'string', default: '100' }, fashion: { type: 'string', default: '10000' } } });
if (!positionals[0]) {
  console.error('usage: npx tsx scripts/eval-shapes.ts RUN_OR_CHECKPOINT [--scenes N]');
  process.exit(2);
}
const { model, tok } = await openCheckpoint(positionals[0]);
const out: Record<string, unknown> = {};
for (const split of ['seen', 'unseen', 'phrasing'] as const) {
  const t0 = Date.now();
  const r = vqaAccuracy(model, tok, shapesItems(split, Number(values.scenes), 11, model.config.vision!.imageSize));
  out[split] = r;
  const types = Object.entries(r.byType)
    .map(([t, x]) => `${t} ${(100 * x.accuracy).toFixed(1)}% (${x.n})`)
    .join(', ');
  console.log(`${split}: ${(100 * r.accuracy).toFixed(1)}% of ${r.n} [${types}] in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
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
console.log(JSON.stringify(out));
