// Sample pictures and a vision checkpoint's answers, for the README:
//   npx tsx scripts/vision-samples.ts RUN_OR_CHECKPOINT [--out docs/vision] [--scenes 4]
// writes OUT/scene-N.png (held-out scenes, shown 3x) and prints a markdown table of every question
// asked of them, the model's answer and the truth.
import { mkdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { generateShapes, rgbToPixels, SCENE_SIZE, type ShapesSplit } from '../src/data/index.ts';
import { vqaAccuracy, vqaItem } from '../src/evals/index.ts';
import { openCheckpoint } from '../src/model/index.ts';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { out: { type: 'string', default: 'docs/vision' }, scenes: { type: 'string', default: '4' } },
});
if (!positionals[0]) {
  console.error('usage: npx tsx scripts/vision-samples.ts RUN_OR_CHECKPOINT [--out DIR] [--scenes N]');
  process.exit(2);
}
const { model, tok } = await openCheckpoint(positionals[0]);
const size = model.config.vision?.imageSize;
if (!size) {
  console.error(`${positionals[0]}: the checkpoint has no image input`);
  process.exit(1);
}
mkdirSync(values.out!, { recursive: true });
const rows: string[] = ['| image | split | question | model | truth |', '|---|---|---|---|---|'];
let n = 0;
for (const split of ['seen', 'unseen'] as ShapesSplit[]) {
  for (const s of generateShapes({ seed: 99, count: Number(values.scenes) / 2, split })) {
    const file = join(values.out!, `scene-${++n}.png`);
    await sharp(Buffer.from(s.rgb), { raw: { width: SCENE_SIZE, height: SCENE_SIZE, channels: 3 } })
      .resize(3 * SCENE_SIZE, 3 * SCENE_SIZE, { kernel: 'nearest' })
      .png()
      .toFile(file);
    const pixels = rgbToPixels(s.rgb, size);
    for (const [i, q] of s.questions.entries()) {
      const r = vqaAccuracy(model, tok, [vqaItem(q.type, q.answer, pixels, q.question)], { answers: true });
      const said = r.answers![0];
      const img = i === 0 ? `![scene ${n}](${relative('.', file)})` : '';
      rows.push(`| ${img} | ${i === 0 ? split : ''} | ${q.question} | ${said}${r.accuracy === 1 ? '' : ' ✗'} | ${q.answer} |`);
    }
  }
}
console.log(rows.join('\n'));
