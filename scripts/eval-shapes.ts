// Held-out accuracy of a vision checkpoint on the shapes scene set, per split and question type:
//   npx tsx scripts/eval-shapes.ts RUN_OR_CHECKPOINT [--scenes N]
import { parseArgs } from 'node:util';
import { shapesItems, vqaAccuracy } from '../src/evals/index.ts';
import { openCheckpoint } from '../src/model/index.ts';

const { values, positionals } = parseArgs({ allowPositionals: true, options: { scenes: { type: 'string', default: '100' } } });
if (!positionals[0]) {
  console.error('usage: npx tsx scripts/eval-shapes.ts RUN_OR_CHECKPOINT [--scenes N]');
  process.exit(2);
}
const { model, tok } = await openCheckpoint(positionals[0]);
const out: Record<string, unknown> = {};
for (const split of ['seen', 'unseen', 'phrasing'] as const) {
  const t0 = Date.now();
  const r = vqaAccuracy(model, tok, shapesItems(split, Number(values.scenes), 11));
  out[split] = r;
  const types = Object.entries(r.byType)
    .map(([t, x]) => `${t} ${(100 * x.accuracy).toFixed(1)}% (${x.n})`)
    .join(', ');
  console.log(`${split}: ${(100 * r.accuracy).toFixed(1)}% of ${r.n} [${types}] in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
}
console.log(JSON.stringify(out));
