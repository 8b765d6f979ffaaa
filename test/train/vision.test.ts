// Teaching a checkpoint to see (src/train/vision.ts) and the Debian image sets' parsers
// (src/data/vision-sets.ts): the stream resumes exactly, rows carry their images, a text
// checkpoint gains vision weights through the CLI and a tiny model learns from the scenes.
import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { COLOUR_NAMES, FASHION_CLASSES, greyToPixels, parseDigits, parseIdx, SHAPE_KINDS, shiftPixels } from '../../src/data/index.ts';
import { configFromDepth, imageSlots, latestCheckpoint, loadCheckpoint } from '../../src/model/index.ts';
import { byteTokenizer, openTokenizer } from '../../src/tokenizer/index.ts';
import { LABELLED_PER_ROW, labelledRow, SHIFT_BELOW, shapesRows, shapesSource } from '../../src/train/index.ts';
import { pretrainTinyBase } from '../fixtures/tiny-base.ts';

const tok = byteTokenizer();
const cfg = configFromDepth(1, { vocabSize: 264, nEmbd: 32, nHead: 2, contextLength: 256, vision: { imageSize: 16, patchSize: 8 } });

describe('the shapes training stream', () => {
  it('rows carry one image, its slots where the renderer put them, and only answers as targets', () => {
    for (const row of shapesRows(tok, cfg, { seed: 1, count: 20, split: 'train' })) {
      assert.equal(row.images!.at.length, 1);
      assert.equal(row.images!.pixels.length, 16 * 16 * 3);
      const at = row.images!.at[0];
      for (let j = 0; j < imageSlots(cfg.vision!); j++) assert.equal(row.inputs[at + j], tok.special('<|image_slot|>'));
      assert.ok(row.inputs.length <= 256, 'questions beyond the context are left out');
      const learned = Array.from(row.targets).filter((t) => t >= 0);
      assert.equal(learned.length, row.tokens);
      assert.ok(!learned.includes(tok.special('<|image_slot|>')));
    }
  });

  it('asks at most perScene questions of a scene (more images a step for the same tokens)', () => {
    const end = tok.special('<|end|>');
    const b = shapesSource(tok, cfg, { B: 20, seed: 4, perScene: 2 }).next();
    for (let r = 0; r < 20; r++) {
      const answers = Array.from(b.targets.subarray(r * b.T, (r + 1) * b.T)).filter((t) => t === end).length;
      assert.ok(answers >= 1 && answers <= 2, `row ${r}: ${answers} answers`);
    }
  });

  it('per answer: the same batch, with a weight per target that makes each answer weigh 1', () => {
    const end = tok.special('<|end|>');
    const plain = shapesSource(tok, cfg, { B: 6, seed: 5 }).next(),
      b = shapesSource(tok, cfg, { B: 6, seed: 5, perAnswer: true }).next();
    assert.equal(plain.weights, undefined);
    assert.deepEqual(b.inputs, plain.inputs);
    assert.deepEqual(b.targets, plain.targets);
    const w = b.weights!;
    for (let r = 0; r < b.B; r++) {
      const span = (a: ArrayLike<number>) => Array.from(a).slice(r * b.T, (r + 1) * b.T);
      const targets = span(b.targets),
        weights = span(w);
      const answers = targets.filter((t) => t === end).length;
      assert.ok(answers >= 2, `row ${r}: ${answers} answers`);
      let sum = 0;
      targets.forEach((t, i) => {
        if (t < 0) assert.equal(weights[i], 0);
        else sum += weights[i];
      });
      assert.ok(Math.abs(sum - answers) < 1e-4, `row ${r}: weights sum to ${sum}, ${answers} answers`);
      // within an answer every token weighs alike: a longer answer's tokens weigh less each
      const lengths = new Set<number>();
      for (let i = 0; i < targets.length; i++)
        if (targets[i] === end) {
          let j = i;
          while (j > 0 && targets[j - 1] >= 0) j--;
          lengths.add(i - j + 1);
          for (let k = j; k <= i; k++) assert.ok(Math.abs(weights[k] - 1 / (i - j + 1)) < 1e-6);
        }
      assert.ok(lengths.size > 1, `row ${r}: answers of one length only`);
    }
  });

  it('is a pure function of the seed and the batch number, so a resumed run continues exactly', () => {
    const a = shapesSource(tok, cfg, { B: 4, seed: 7 });
    a.next();
    a.next();
    const pos = JSON.parse(JSON.stringify(a.position));
    const third = a.next();
    const b = shapesSource(tok, cfg, { B: 4, seed: 7, position: pos }).next();
    assert.deepEqual(b.inputs, third.inputs);
    assert.deepEqual(b.images!.pixels, third.images!.pixels);
    assert.deepEqual(b.images!.at, third.images!.at);
  });

  it('textFirst: that share of images has its question before it; 0 leaves the batches as they were', () => {
    const images = { name: 'toy', grey: new Uint8Array(2 * 64).fill(0), size: 8, answers: ['7', '3'] };
    const mix = { sets: [{ set: { images, question: 'What digit is this?' }, share: 0.3 }] };
    const plain = shapesSource(tok, cfg, { B: 40, seed: 9, mix }).next(),
      zero = shapesSource(tok, cfg, { B: 40, seed: 9, mix, textFirst: 0 }).next();
    assert.deepEqual(zero.inputs, plain.inputs);
    assert.deepEqual(zero.images!.pixels, plain.images!.pixels);
    // An image is <|image_start|> and its slots: after <|user|> when it comes first, after the question's text otherwise.
    const start = tok.special('<|image_start|>'),
      user = tok.special('<|user|>');
    const firsts = (b: typeof plain) => Array.from(b.images!.at).map((at) => b.inputs[at - 2] !== user);
    assert.equal(plain.inputs[plain.images!.at[0] - 1], start);
    assert.ok(
      firsts(plain).every((f) => !f),
      'without textFirst every question follows its image',
    );
    const half = firsts(shapesSource(tok, cfg, { B: 40, seed: 9, mix, textFirst: 0.5 }).next());
    const n = half.filter(Boolean).length;
    assert.ok(n > 0.3 * half.length && n < 0.7 * half.length, `${n} of ${half.length} questions first`);
    assert.ok(firsts(shapesSource(tok, cfg, { B: 40, seed: 9, mix, textFirst: 1 }).next()).every(Boolean));
  });

  it('mixes text rows and labelled images by their shares', () => {
    const text = shapesRows(tok, cfg, { seed: 2, count: 1, split: 'train' }).map(({ images: _, ...r }) => r);
    const images = { name: 'toy', grey: new Uint8Array(2 * 64).fill(0), size: 8, answers: ['7', '3'] };
    const src = shapesSource(tok, cfg, {
      B: 200,
      seed: 3,
      mix: { text: { rows: text, share: 0.25 }, sets: [{ set: { images, question: 'What digit is this?' }, share: 0.25 }] },
    });
    const b = src.next();
    const perRow = Array.from({ length: 200 }, (_, r) => Array.from(b.images!.at).filter((a) => a >= r * b.T && a < (r + 1) * b.T).length);
    const textRows = perRow.filter((n) => n === 0).length;
    assert.ok(textRows > 30 && textRows < 70, `${textRows} text rows of 200`);
    const row = labelledRow(tok, cfg, { images, question: 'What digit is this?' }, [{ i: 0 }]);
    assert.equal(tok.decode(Array.from(row.targets).filter((t) => t >= 0)), '7<|end|>');
    const three = labelledRow(tok, cfg, { images, question: 'What digit is this?' }, [{ i: 1 }, { i: 0 }, { i: 1 }]);
    assert.equal(tok.decode(Array.from(three.targets).filter((t) => t >= 0)), '3<|end|>7<|end|>3<|end|>');
    assert.equal(three.images!.at.length, 3);
  });
});

describe('the Debian image sets', () => {
  it('parses the digits CSV (64 pixels 0..16 and a label), first half train, dark ink on white', () => {
    const line = (label: number, ink: number) => [...Array.from({ length: 64 }, (_, i) => (i === 9 ? ink : 0)), label].join(',');
    const csv = [line(3, 16), line(5, 8), line(9, 0), line(1, 16)].join('\n');
    const train = parseDigits(csv, 'train'),
      test = parseDigits(csv, 'test');
    assert.deepEqual(train.answers, ['3', '5']);
    assert.deepEqual(test.answers, ['9', '1']);
    assert.equal(train.grey[9], 0);
    assert.equal(train.grey[64 + 9], 128);
    assert.equal(train.grey[0], 255);
    assert.throws(() => parseDigits('1,2,3', 'train'), /line 1 is not 64 pixels and a label/);
  });

  it('parses IDX files and names the classes', () => {
    const img = Buffer.alloc(16 + 2 * 4);
    img.writeUInt32BE(2051, 0);
    img.writeUInt32BE(2, 4);
    img.writeUInt32BE(2, 8);
    img.writeUInt32BE(2, 12);
    img[16] = 255;
    const lab = Buffer.from([0, 0, 8, 1, 0, 0, 0, 2, 9, 1]);
    const set = parseIdx(img, lab, 'toy');
    assert.deepEqual(set.answers, [FASHION_CLASSES[9], FASHION_CLASSES[1]]);
    assert.equal(set.grey[0], 0);
    assert.throws(() => parseIdx(lab, img, 'swapped'), /not IDX image and label files/);
  });

  it('resizes grey images bilinearly to RGB in [0, 1]: constant stays constant, a dark left half stays dark on the left', () => {
    const grey = new Uint8Array(16);
    for (let y = 0; y < 4; y++) for (let x = 0; x < 4; x++) grey[y * 4 + x] = x < 2 ? 0 : 255;
    const px = greyToPixels({ name: 't', grey, size: 4, answers: ['a'] }, 0, 16);
    assert.equal(px.length, 16 * 16 * 3);
    assert.equal(px[(5 * 16 + 1) * 3], 0);
    assert.equal(px[(5 * 16 + 14) * 3 + 2], 1);
  });

  it('shifts an image by whole pixels, the uncovered strip repeating the edge; (0, 0) is the image itself', () => {
    const size = 6,
      px = Float32Array.from({ length: size * size * 3 }, (_, i) => i / (size * size * 3));
    assert.deepEqual(shiftPixels(px, size, 0, 0), px);
    const at = (a: Float32Array, y: number, x: number) => Array.from(a.subarray((y * size + x) * 3, (y * size + x) * 3 + 3));
    for (const [dx, dy] of [
      [2, 1],
      [-1, -3],
      [0, 2],
    ]) {
      const s = shiftPixels(px, size, dx, dy);
      for (let y = 0; y < size; y++)
        for (let x = 0; x < size; x++) {
          const sy = Math.min(size - 1, Math.max(0, y - dy)),
            sx = Math.min(size - 1, Math.max(0, x - dx));
          assert.deepEqual(at(s, y, x), at(px, sy, sx), `(${dx}, ${dy}) at (${y}, ${x})`);
        }
    }
    assert.throws(() => shiftPixels(px, 5, 1, 1), /is not 5x5x3/);
  });

  /** n copies of an 8x8 image with a dark 2x2 centre, and one batch of B rows drawn from them at 32x32. */
  const dotBatch = (n: number, B: number) => {
    const one = new Uint8Array(8 * 8).fill(255);
    one[3 * 8 + 3] = one[3 * 8 + 4] = one[4 * 8 + 3] = one[4 * 8 + 4] = 0;
    const grey = new Uint8Array(8 * 8 * n);
    for (let i = 0; i < n; i++) grey.set(one, i * 64);
    const images = { name: 'dot', grey, size: 8, answers: Array.from({ length: n }, () => '0') };
    const v = { ...cfg, vision: { imageSize: 32, patchSize: 8 } };
    const b = shapesSource(tok, v, {
      B,
      seed: 5,
      mix: { sets: [{ set: { images, question: 'What digit is this?' }, share: 0.999 }] },
    }).next();
    return { b, plain: greyToPixels(images, 0, 32) };
  };

  it('the training stream moves labelled images by at most 1/16 of the side, differently from draw to draw', () => {
    const { b, plain } = dotBatch(1, 64);
    const seen = new Set<string>();
    for (let i = 0; i < b.images!.at.length; i++) {
      const img = b.images!.pixels.subarray(i * 32 * 32 * 3, (i + 1) * 32 * 32 * 3);
      const moves = [];
      for (let dy = -2; dy <= 2; dy++)
        for (let dx = -2; dx <= 2; dx++) if (shiftPixels(plain, 32, dx, dy).every((x, j) => x === img[j])) moves.push(`${dx},${dy}`);
      assert.equal(moves.length, 1, `image ${i} is the centred image moved by at most 2 px`);
      seen.add(moves[0]);
    }
    assert.ok(seen.size >= 10, `${seen.size} different moves in 64 draws`);
  });

  it('leaves the images of a large set (SHIFT_BELOW or more) where they are', () => {
    const { b, plain } = dotBatch(SHIFT_BELOW, 32);
    assert.equal(b.images!.at.length, 32 * LABELLED_PER_ROW);
    for (let i = 0; i < 32 * LABELLED_PER_ROW; i++)
      assert.deepEqual(b.images!.pixels.subarray(i * 32 * 32 * 3, (i + 1) * 32 * 32 * 3), plain, `image ${i}`);
  });
});

describe('the shapes tokenizer (models/tokenizers/shapes-512.json)', () => {
  it('reads every word of the contract as one token and halves a scene row against bytes, losslessly', async () => {
    const shapesTok = await openTokenizer(join(import.meta.dirname, '..', '..', 'models', 'tokenizers', 'shapes-512.json'));
    for (const w of [...SHAPE_KINDS, ...COLOUR_NAMES, 'left', 'right', 'color', 'shape', 'many', 'image'])
      assert.equal(shapesTok.encode(` ${w}`).length, 1, w);
    const text = 'Is the red circle left of the blue square? a gray triangle, an orange circle and a purple square; 7; t-shirt';
    assert.equal(shapesTok.decode(shapesTok.encode(text)), text);
    const big = { ...cfg, contextLength: 1024, vision: { imageSize: 64, patchSize: 8 } };
    const rows = (t: typeof tok) => shapesRows(t, big, { seed: 3, count: 20, split: 'train' }).reduce((n, r) => n + r.inputs.length, 0);
    const [bpe, bytes] = [rows(shapesTok), rows(tok)];
    assert.ok(bpe < 0.6 * bytes, `${bpe} tokens against ${bytes}`);
  });
});

describe('tetra sft --data synth:shapes', () => {
  let base: string;
  before(async () => {
    base = await pretrainTinyBase(10);
  });

  /** `tetra sft ARGS`, and the summary it prints last ({"step":..., "val_loss":...}). */
  const tetraSft = (args: string[]): { step: number; val_loss: number | null } =>
    JSON.parse(
      execFileSync(process.execPath, ['bin/tetra.js', 'sft', ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
        .trim()
        .split('\n')
        .pop()!,
    );
  // What every run here shares: a 16x16 image, 4 rows a step, one thread.
  const common = (out: string) => [
    '--data',
    'synth:shapes',
    '--vision',
    '16:8',
    '--out',
    out,
    '--batch',
    '4',
    '--lr',
    '1e-3',
    '--warmup',
    '0',
    '--replicas',
    '1',
  ];
  const sft = (out: string, steps: number, extra: string[] = []) =>
    tetraSft(['--checkpoint', base, ...common(out), '--steps', String(steps), '--eval-every', '2', '--checkpoint-every', '2', ...extra]);
  const usageError = (f: () => unknown, message: RegExp) =>
    assert.throws(f, (e: { status: number; stderr: string }) => {
      assert.equal(e.status, 2);
      assert.match(e.stderr, message);
      return true;
    });

  it('gives a text checkpoint vision weights, keeps its text weights, trains and resumes', () => {
    const out = mkdtempSync(join(tmpdir(), 'tetra-vis-sft-'));
    const run = (steps: number, extra: string[] = []) => sft(out, steps, extra);
    usageError(
      () => run(1, ['--types', 'colour,shape']),
      /--types knows colour, kind, count, exist, relation, caption, side, list, got "shape"/,
    );
    const first = run(4, ['--types', 'side,side,relation,colour', '--per-answer', '--stop-at', '2']);
    assert.equal(first.step, 2);
    const resumed = run(4, ['--resume']);
    assert.equal(resumed.step, 4);
    assert.ok(Number.isFinite(resumed.val_loss));
    const ck = loadCheckpoint(join(out, 'init'));
    const start = loadCheckpoint(latestCheckpoint(join(base, 'checkpoints'))!);
    assert.deepEqual(ck.config.vision, { imageSize: 16, patchSize: 8 });
    assert.deepEqual(ck.params.get('blocks.0.wq'), start.params.get('blocks.0.wq'));
  });

  it('--init trains a model from nothing: random weights kept as OUT/base with the tokenizer, resumable, refused when mixed up', () => {
    const out = mkdtempSync(join(tmpdir(), 'tetra-vis-init-'));
    const fresh = (extra: string[], dir = out) =>
      tetraSft([...common(dir), '--eval-every', '0', '--checkpoint-every', '2', '--context', '256', ...extra]);
    const init = ['--init', '1:32:2', '--tokenizer', 'bytes'];
    usageError(
      () => fresh(['--init', '1:32', '--tokenizer', 'bytes', '--steps', '2']),
      /--init wants LAYERS:WIDTH:HEADS, e.g. 4:192:12, got "1:32"/,
    );
    usageError(() => fresh(['--init', '1:30:4', '--tokenizer', 'bytes', '--steps', '2']), /--init 1:30:4: config.nHead \(4\) must divide/);
    usageError(() => fresh(['--init', '1:32:2', '--steps', '2']), /--init needs --tokenizer/);
    usageError(() => fresh([...init, '--checkpoint', base, '--steps', '2']), /give --checkpoint or --init, not both/);
    usageError(() => sft(out, 2, ['--tokenizer', 'bytes']), /--tokenizer is for --init/);
    assert.equal(fresh([...init, '--steps', '4', '--stop-at', '2']).step, 2);
    const start = loadCheckpoint(join(out, 'base'));
    assert.equal(start.meta.step, 0);
    assert.deepEqual(start.meta.tokenizer, { name: 'bytes' });
    assert.deepEqual(
      [
        start.config.nLayer,
        start.config.nEmbd,
        start.config.nHead,
        start.config.vocabSize,
        start.config.contextLength,
        start.config.vision,
      ],
      [1, 32, 2, 264, 256, undefined],
    );
    // The weights are the seed's: the same --init and --seed elsewhere write the same base.
    const again = mkdtempSync(join(tmpdir(), 'tetra-vis-init-'));
    fresh([...init, '--steps', '1'], again);
    assert.deepEqual(loadCheckpoint(join(again, 'base')).params, start.params);
    assert.equal(fresh([...init, '--steps', '4', '--resume']).step, 4);
    const trained = loadCheckpoint(latestCheckpoint(join(out, 'checkpoints'))!);
    assert.deepEqual(trained.config.vision, { imageSize: 16, patchSize: 8 });
    assert.notDeepEqual(trained.params.get('blocks.0.wq'), start.params.get('blocks.0.wq'));
    usageError(
      () => fresh(['--init', '2:32:2', '--tokenizer', 'bytes', '--steps', '4', '--resume']),
      /holds a different model than --init 2:32:2/,
    );
  });

  it('--add-layers puts silent blocks on top: the init keeps every weight, the added block trains', () => {
    const out = mkdtempSync(join(tmpdir(), 'tetra-vis-deep-'));
    usageError(() => sft(out, 1, ['--add-layers', '1.5']), /--add-layers must be an integer in \[0, 16\], got 1.5/);
    const last = sft(out, 2, ['--add-layers', '1']);
    assert.equal(last.step, 2);
    const start = loadCheckpoint(latestCheckpoint(join(base, 'checkpoints'))!);
    const init = loadCheckpoint(join(out, 'init'));
    const L = start.config.nLayer;
    assert.equal(init.config.nLayer, L + 1);
    for (const [k, w] of start.params) assert.deepEqual(init.params.get(k), w, k);
    assert.ok(init.params.get(`blocks.${L}.w_down`)!.every((x) => x === 0));
    const trained = loadCheckpoint(latestCheckpoint(join(out, 'checkpoints'))!);
    assert.equal(trained.config.nLayer, L + 1);
    assert.ok(
      trained.params.get(`blocks.${L}.w_down`)!.some((x) => x !== 0),
      'the added block learned',
    );
    usageError(
      () => tetraSft(['--checkpoint', base, '--data', 'x.jsonl', '--out', out, '--add-layers', '1']),
      /--add-layers is for --data synth:shapes/,
    );
  });
});
