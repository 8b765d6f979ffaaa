// The cost of seeing: image tokens against text tokens through the same model, in the same run.
//
//   npm run bench:vision        (TETRA_BENCH_ROUNDS=5 rounds of ~TETRA_BENCH_SECONDS=1 s a side)
//
// The model is depth 4 (4 layers, width 256) over the byte tokenizer with image input
// TETRA_BENCH_VISION (default 64:8:128:16, what the shapes model uses: 64 patches of 8x8 pixels,
// each token reading a 16x16 window through a SwiGLU stem 128 wide; 64:8 is Fuyu's projection
// alone), context 512. A prompt is one shapes scene and its
// question as the chat format renders it (<|bos|> <|user|> <|image_start|> 64 slots, the
// question, <|end|> <|assistant|>); its text twin is the same number of text tokens.
//   prefill     KV-cache prefill (src/model/kvcache.ts step) of 1 and 8 prompts at once: image
//               prompts (patchify, projection, the decoder) against their text twins (the decoder)
//   train step  forward and backward of 16 scene conversations (all questions, loss on the
//               answers) against text rows of the same lengths, on one tape
// The sides take turns call by call (the machine is shared); each figure is the median over rounds,
// the ratio the median of the rounds' ratios.
// The last line is `image_prefill_vs_text <image tokens/s / text tokens/s>` at the worse of batch 1
// and 8 (goal >= 0.9: an image token should cost what a text token costs, as Fuyu's do).
import { generateShapes, rgbToPixels, shapesConversation } from '../src/data/index.ts';
import { configFromDepth, GPT, imageSlots, KVCache, parseVisionSpec, step, type ImageInput } from '../src/model/index.ts';
import { nativeBackend, nativeError, Tape } from '../src/tensor/index.ts';
import { byteTokenizer, renderPrompt } from '../src/tokenizer/index.ts';
import { shapesRows } from '../src/train/vision.ts';
import { padRows } from '../src/train/index.ts';
import { oneLineFailures } from './prereqs.ts';

oneLineFailures('bench:vision');

const rounds = Number(process.env.TETRA_BENCH_ROUNDS ?? 5);
const roundSeconds = Number(process.env.TETRA_BENCH_SECONDS ?? 1);
const THREADS = 2;
const median = (x: number[]) => [...x].sort((a, b) => a - b)[x.length >> 1];

const native = nativeBackend();
if (!native) {
  console.log(`bench:vision: native kernels unavailable (${nativeError()}); run \`npm run build:native\``);
  process.exit(1);
}
native.setThreads(THREADS);
const tok = byteTokenizer();
const vision = parseVisionSpec(process.env.TETRA_BENCH_VISION ?? '64:8:128:16');
const cfg = configFromDepth(4, { vocabSize: tok.idLimit, contextLength: 512, vision });
const model = GPT.init(cfg, 1);
const slots = imageSlots(cfg.vision!);

// Prompts: a scene and its first question.
const scenes = generateShapes({ seed: 1, count: 64, split: 'seen' });
const prompts = scenes.map((s) => {
  const r = renderPrompt(tok, shapesConversation(s, 1).slice(0, 1), { imageSlots: slots });
  return { ids: Int32Array.from(r.ids), images: { pixels: rgbToPixels(s.rgb), at: r.imagePositions } as ImageInput };
});
// Text twins: the same lengths, the image slots replaced by the question's bytes repeated.
const twins = prompts.map((p) => {
  const ids = p.ids.slice();
  const text = tok.encode('How many shapes are there? ');
  for (let j = 0; j < slots; j++) ids[p.images.at[0] + j] = text[j % text.length];
  return ids;
});

/**
 * Runs a and b in turns, call by call, for about 2 x `seconds`; returns each one's tokens per
 * second over its own calls. Taking turns call by call, both sides see the same machine: a
 * neighbour's load or a clock change in the middle of a round falls on both.
 */
function pairRate(seconds: number, a: () => number, b: () => number): [number, number] {
  const tokens = [0, 0],
    ms = [0, 0];
  const t0 = performance.now();
  for (let i = 0; performance.now() - t0 < 2 * seconds * 1000; i++) {
    const side = i & 1,
      t = performance.now();
    tokens[side] += (side ? b : a)();
    ms[side] += performance.now() - t;
  }
  return [(tokens[0] / ms[0]) * 1000, (tokens[1] / ms[1]) * 1000];
}

let cursor = 0;
function prefill(batch: number, withImages: boolean): number {
  const inputs = Array.from({ length: batch }, () => {
    const i = cursor++ % prompts.length;
    return { cache: new KVCache(cfg), tokens: withImages ? prompts[i].ids : twins[i], images: withImages ? prompts[i].images : undefined };
  });
  step(model, native!, inputs);
  return inputs.reduce((s, x) => s + x.tokens.length, 0);
}

// Training rows: scene conversations, and text rows of the same shape.
const rows = shapesRows(tok, cfg, { seed: 2, count: 64, split: 'train' });
const textRows = rows.map((r) => {
  const { images: _, ...rest } = r;
  return rest;
});
const trainTape = new Tape(native, 'f32', { recycle: true });
function trainStep(withImages: boolean): number {
  const at = (cursor++ * 16) % rows.length;
  const b = padRows((withImages ? rows : textRows).slice(at, at + 16), 64, cfg.contextLength);
  trainTape.reset();
  const { loss } = model.forward(trainTape, b.inputs, b.B, b.T, b.targets, -1, withImages ? b.images : undefined);
  trainTape.backward(loss!);
  return b.B * b.T;
}

const pairs: [string, () => number, () => number][] = [
  ['prefill x1', () => prefill(1, true), () => prefill(1, false)],
  ['prefill x8', () => prefill(8, true), () => prefill(8, false)],
  ['train step x16', () => trainStep(true), () => trainStep(false)],
];
for (const [, a, b] of pairs) a() + b(); // warm up (tape buffers, workspaces)
const results = new Map<string, { image: number[]; text: number[]; ratio: number[] }>(
  pairs.map(([k]) => [k, { image: [], text: [], ratio: [] }]),
);
for (let r = 0; r < rounds; r++)
  for (const [k, a, b] of pairs) {
    const [img, txt] = pairRate(roundSeconds, a, b),
      m = results.get(k)!;
    m.image.push(img);
    m.text.push(txt);
    m.ratio.push(img / txt);
  }

const stem = vision.stem ? `, a ${vision.stem}-wide stem over ${vision.window ?? vision.patchSize}-px windows` : ', projection only';
console.log(
  `bench:vision  depth 4, width 256, image ${vision.imageSize}px in ${vision.patchSize}px patches (${slots} image tokens${stem}), ` +
    `${native.isa()}, ${THREADS} threads`,
);
console.log(`prompt: ${prompts[0].ids.length} tokens (${slots} of them image slots)`);
console.log('| what | image tokens/s | text tokens/s | image / text |');
console.log('|---|---|---|---|');
const ratios: number[] = [];
for (const [what] of pairs) {
  const m = results.get(what)!,
    ratio = median(m.ratio);
  if (what.startsWith('prefill')) ratios.push(ratio);
  console.log(`| ${what} | ${median(m.image).toFixed(0)} | ${median(m.text).toFixed(0)} | ${ratio.toFixed(3)} |`);
}
console.log(`image_prefill_vs_text ${Math.min(...ratios).toFixed(3)}`);
