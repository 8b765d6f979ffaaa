// Image input (src/model/vision.ts): patch order, the patch path's gradients against finite
// differences, KV-cache inference against the training pass with images, and checkpoints.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  configFromDepth,
  GPT,
  imageSlots,
  KVCache,
  loadCheckpoint,
  paramCount,
  patchify,
  saveCheckpoint,
  step,
  type VisionConfig,
} from '../../src/model/index.ts';
import {
  colourValues,
  embedImages,
  imageLimits,
  packImages,
  parseVisionSpec,
  slotIndices,
  validateVision,
  visionParamShapes,
} from '../../src/model/vision.ts';
import { defaultBackend, refBackend, Tape, Tensor } from '../../src/tensor/index.ts';
import { assertGradClose, numericGrad } from '../gradcheck.ts';
import { assertClose, randn64, rng } from '../helpers.ts';

const v: VisionConfig = { imageSize: 4, patchSize: 2 };

describe('patchify', () => {
  it('puts pixel (y, x, c) in patch (y/P, x/P) at ((y%P)*P + x%P)*3 + c, scaled to [-1, 1]', () => {
    const vc: VisionConfig = { imageSize: 6, patchSize: 3 };
    const r = rng(1);
    const pixels = Float32Array.from({ length: 2 * 6 * 6 * 3 }, () => r());
    const out = patchify(vc, pixels, 2);
    for (let i = 0; i < 2; i++)
      for (let y = 0; y < 6; y++)
        for (let x = 0; x < 6; x++)
          for (let c = 0; c < 3; c++) {
            const patch = i * 4 + Math.floor(y / 3) * 2 + Math.floor(x / 3);
            const at = patch * 27 + ((y % 3) * 3 + (x % 3)) * 3 + c;
            assert.equal(out[at], Math.fround(2 * pixels[((i * 6 + y) * 6 + x) * 3 + c] - 1));
          }
  });

  it('with a window, gives each patch the W x W pixels centred on it, 0 outside the image', () => {
    const vc: VisionConfig = { imageSize: 6, patchSize: 2, window: 4 };
    const r = rng(2);
    const pixels = Float32Array.from({ length: 2 * 6 * 6 * 3 }, () => r());
    const out = patchify(vc, pixels, 2);
    assert.equal(out.length, 2 * 9 * 48);
    for (let i = 0; i < 2; i++)
      for (let gy = 0; gy < 3; gy++)
        for (let gx = 0; gx < 3; gx++)
          for (let wy = 0; wy < 4; wy++)
            for (let wx = 0; wx < 4; wx++)
              for (let c = 0; c < 3; c++) {
                const y = gy * 2 - 1 + wy,
                  x = gx * 2 - 1 + wx;
                const inside = y >= 0 && y < 6 && x >= 0 && x < 6;
                const want = inside ? Math.fround(2 * pixels[((i * 6 + y) * 6 + x) * 3 + c] - 1) : 0;
                assert.equal(out[((i * 9 + gy * 3 + gx) * 16 + wy * 4 + wx) * 3 + c], want);
              }
    assert.throws(() => validateVision({ imageSize: 6, patchSize: 2, window: 3 }), /window must be an integer from patchSize 2/);
  });

  it('with colour apart from form, gives each pixel its ink; with xy, ends each patch with its row and column, one-hot', () => {
    const vc: VisionConfig = { imageSize: 6, patchSize: 2, window: 4, colour: true, xy: true };
    const r = rng(5);
    const pixels = Float32Array.from({ length: 2 * 6 * 6 * 3 }, () => r());
    // A reused buffer full of junk must come back the same as a fresh one.
    const into = new Float32Array(2 * 9 * (16 + 6) + 5).fill(7);
    for (const out of [patchify(vc, pixels, 2), patchify(vc, pixels, 2, into)]) {
      assert.equal(out.length, 2 * 9 * (16 + 6));
      for (let i = 0; i < 2; i++)
        for (let gy = 0; gy < 3; gy++)
          for (let gx = 0; gx < 3; gx++) {
            const at = (i * 9 + gy * 3 + gx) * 22;
            for (let wy = 0; wy < 4; wy++)
              for (let wx = 0; wx < 4; wx++) {
                const y = gy * 2 - 1 + wy,
                  x = gx * 2 - 1 + wx;
                const p = ((i * 6 + y) * 6 + x) * 3;
                const inside = y >= 0 && y < 6 && x >= 0 && x < 6;
                assert.equal(out[at + wy * 4 + wx], inside ? Math.fround(1 - Math.min(pixels[p], pixels[p + 1], pixels[p + 2])) : 0);
              }
            assert.deepEqual(
              [...out.subarray(at + 16, at + 22)],
              [0, 1, 2, 0, 1, 2].map((k, j) => (k === (j < 3 ? gy : gx) ? 1 : 0)),
            );
          }
    }
  });

  it('colour values: nothing where there is no ink, and the same colour whatever the form', () => {
    // 8x8 white image, 4x4 patches: a red 3x3 square in patch (0, 0), a red plus of 5 pixels in
    // patch (0, 1), a gray pixel in patch (1, 0), nothing in patch (1, 1).
    const vc: VisionConfig = { imageSize: 8, patchSize: 4, colour: true };
    const px = new Float32Array(8 * 8 * 3).fill(1);
    const paint = (x: number, y: number, rgb: number[]) => px.set(rgb, (y * 8 + x) * 3);
    const red = [220 / 255, 30 / 255, 30 / 255];
    for (let y = 0; y < 3; y++) for (let x = 0; x < 3; x++) paint(x, y, red);
    for (const [x, y] of [
      [5, 1],
      [4, 1],
      [6, 1],
      [5, 0],
      [5, 2],
    ])
      paint(x, y, red);
    paint(1, 5, [0.5, 0.5, 0.5]);
    const cv = colourValues(vc, px, 1);
    const at = (p: number) => [...cv.subarray(p * 4, p * 4 + 4)];
    const [square, plus, gray, blank] = [0, 1, 2, 3].map(at);
    assert.deepEqual(blank, [0, 0, 0, 0]);
    // Ink mass follows the pixels inked; the mean colour does not depend on the form.
    assert.ok(Math.abs(square[0] / plus[0] - 9 / 5) < 1e-5, `${square[0]} / ${plus[0]}`);
    for (let c = 1; c < 4; c++) {
      assert.ok(Math.abs(square[c] - plus[c]) < 1e-3, `channel ${c}: ${square[c]} vs ${plus[c]}`);
      assert.ok(Math.abs(square[c] / 4 - (2 * red[c - 1] - 1)) < 1e-3, `channel ${c} is the colour in [-1, 1], times the gain`);
      assert.ok(Math.abs(gray[c]) < 1e-3, 'gray is 0 in [-1, 1]');
    }
    assert.ok(gray[0] > 0 && gray[0] < plus[0]);
  });

  it('rejects pixels that are not whole images, naming the size', () => {
    assert.throws(() => patchify(v, new Float32Array(47), 1), /47 values is not 1 images of 4x4x3/);
  });
});

describe('parseVisionSpec', () => {
  it('reads SIZE:PATCH, with a stem, and with a stem and a window', () => {
    assert.deepEqual(parseVisionSpec('64:8'), { imageSize: 64, patchSize: 8 });
    assert.deepEqual(parseVisionSpec('64:8:128'), { imageSize: 64, patchSize: 8, stem: 128 });
    assert.deepEqual(parseVisionSpec('64:8:128:16'), { imageSize: 64, patchSize: 8, stem: 128, window: 16 });
    assert.deepEqual(parseVisionSpec('64:8:128:16:colour:xy'), {
      imageSize: 64,
      patchSize: 8,
      stem: 128,
      window: 16,
      colour: true,
      xy: true,
    });
    assert.deepEqual(parseVisionSpec('64:8:128:xy'), { imageSize: 64, patchSize: 8, stem: 128, xy: true });
    assert.deepEqual(parseVisionSpec('64:8:128:16:colour:xy:prefix'), {
      ...parseVisionSpec('64:8:128:16:colour:xy'),
      prefix: true,
    });
  });

  it('names the form for malformed specs and the limit for impossible ones', () => {
    for (const bad of ['64', '64:8:', '64x8', '64:8:128:16:2', '64:8:xy:colour', '64:8:prefix:xy', ''])
      assert.throws(() => parseVisionSpec(bad), /SIZE:PATCH\[:STEM\[:WINDOW\]\]/, bad);
    assert.throws(() => parseVisionSpec('64:7'), /patchSize must divide imageSize 64/);
    assert.throws(() => parseVisionSpec('64:8:128:13'), /window must be an integer from patchSize 8/);
    assert.throws(() => parseVisionSpec('64:8:0'), /stem must be an integer in \[1, 4096\]/);
  });
});

describe('the patch path on the tape (float64, reference backend)', () => {
  for (const [what, v] of [
    ['the projection', { imageSize: 4, patchSize: 2 }],
    ['a SwiGLU stem and the projection', { imageSize: 4, patchSize: 2, stem: 3 }],
    ['a stem over overlapping windows', { imageSize: 4, patchSize: 2, stem: 3, window: 4 }],
    ['colour apart from form', { imageSize: 4, patchSize: 2, stem: 3, window: 4, colour: true }],
    ['colour apart from form and the stem reading where', { imageSize: 4, patchSize: 2, stem: 3, window: 4, colour: true, xy: true }],
  ] as [string, VisionConfig][])
    it(`matches finite differences for ${what}, the row and column embeddings and the token embeddings`, () => {
      const C = 6,
        V = 7,
        N = 12; // two sequences of 6 tokens; one image of 4 slots in each
      const r = rng(3);
      const param = (shape: number[], name: string) =>
        new Tensor(
          randn64(
            shape.reduce((a, b) => a * b, 1),
            r,
            0.5,
          ),
          shape,
          { requiresGrad: true, name },
        );
      const shapes = Object.fromEntries(visionParamShapes(v, C));
      const w = {
        patchUp: v.stem ? param(shapes['vision.patch_up'], 'u') : undefined,
        patchIn: param(shapes['vision.patch_in'], 'p'),
        colourIn: v.colour ? param(shapes['vision.colour_in'], 'k') : undefined,
        row: param(shapes['vision.row'], 'r'),
        col: param(shapes['vision.col'], 'c'),
      };
      const wte = param([V, C], 'wte'),
        head = param([V, C], 'head');
      const tokens = Int32Array.from({ length: N }, () => Math.floor(r() * V));
      const targets = Int32Array.from({ length: N }, () => Math.floor(r() * V));
      const images = { pixels: Float32Array.from({ length: 2 * 48 }, () => r()), at: [1, 7] };
      const loss = (tape: Tape) => {
        const x = tape.overwriteRows(tape.embedding(tokens, [N], wte), slotIndices(v, images), embedImages(tape, v, w, images));
        return tape.crossEntropy(tape.linear(x, head), targets);
      };
      const tape = new Tape(refBackend, 'f64');
      tape.backward(loss(tape));
      for (const t of [w.patchIn, w.row, w.col, wte, head, ...(w.patchUp ? [w.patchUp] : []), ...(w.colourIn ? [w.colourIn] : [])]) {
        const numeric = numericGrad(() => loss(new Tape(refBackend, 'f64')).data[0], t.data as Float64Array);
        assertGradClose(t.grad as Float64Array, numeric, t.name!, 1e-5);
      }
      // The slot tokens' own embeddings were replaced: their rows of wte get nothing from the slots.
      const slotToken = tokens[1];
      if (!Array.from(tokens).some((t, i) => t === slotToken && (i < 1 || (i >= 5 && i < 7) || i >= 11)))
        assert.ok((wte.grad as Float64Array).subarray(slotToken * C, (slotToken + 1) * C).every((g) => g === 0));
    });

  it('overwriteRows refuses rows outside x and a y of the wrong shape', () => {
    const tape = new Tape(refBackend, 'f64');
    const x = new Tensor(new Float64Array(12), [4, 3]);
    assert.throws(() => tape.overwriteRows(x, Int32Array.of(4), new Tensor(new Float64Array(3), [1, 3])), /row 4 is outside x's 4 rows/);
    assert.throws(() => tape.overwriteRows(x, Int32Array.of(0, 1), new Tensor(new Float64Array(3), [1, 3])), /must be \[2, 3\]/);
  });
});

describe('a GPT with image input', () => {
  const be = defaultBackend();
  const cfg = configFromDepth(2, {
    vocabSize: 40,
    nEmbd: 32,
    nHead: 4,
    mlpHidden: 48,
    contextLength: 32,
    vision: { imageSize: 8, patchSize: 4 },
  });
  const model = GPT.init(cfg, 5);
  const S = imageSlots(cfg.vision!);
  const r = rng(9);
  const image = () => Float32Array.from({ length: 8 * 8 * 3 }, () => r());
  const tokens = Int32Array.from([1, 2, 3, 3, 3, 3, 4, 5, 6, 7]);
  const img = image();

  it('adds the vision parameters after the text ones, so a text layout is unchanged', () => {
    const text = configFromDepth(2, { ...cfg, vision: undefined });
    assert.equal(paramCount(cfg) - paramCount(text), 32 * 48 + 2 * 2 * 32);
    assert.equal(S, 4);
  });

  it('KV-cache inference with an image gives the training pass logits, and the image changes only what follows it', () => {
    const full = model.forward(new Tape(be, 'f32', { grad: false }), tokens, 1, tokens.length, undefined, -1, { pixels: img, at: [2] });
    const cache = new KVCache(cfg);
    const prefill = step(model, be, [{ cache, tokens: tokens.slice(0, 8), images: { pixels: img, at: [2] } }], true);
    const got = new Float32Array(tokens.length * 40);
    got.set(prefill);
    for (let i = 8; i < tokens.length; i++) got.set(step(model, be, [{ cache, tokens: tokens.slice(i, i + 1) }]), i * 40);
    assertClose(got, full.logits.data as Float32Array, 1e-4, 'logits');
    const other = model.forward(new Tape(be, 'f32', { grad: false }), tokens, 1, tokens.length, undefined, -1, {
      pixels: image(),
      at: [2],
    });
    const a = full.logits.data as Float32Array,
      b = other.logits.data as Float32Array;
    assert.deepEqual(a.subarray(0, 2 * 40), b.subarray(0, 2 * 40), 'tokens before the image');
    assert.notDeepEqual(a.subarray(9 * 40), b.subarray(9 * 40), 'tokens after the image');
  });

  it('refuses images for a text-only model and an image that does not fit in the new tokens', () => {
    const text = GPT.init(configFromDepth(2, { ...cfg, vision: undefined }), 1);
    assert.throws(
      () => text.forward(new Tape(be, 'f32', { grad: false }), tokens, 1, tokens.length, undefined, -1, { pixels: img, at: [2] }),
      /without image input/,
    );
    assert.throws(
      () => step(model, be, [{ cache: new KVCache(cfg), tokens: tokens.slice(0, 4), images: { pixels: img, at: [2] } }]),
      /does not fit/,
    );
  });

  it('with a patch stem and overlapping windows, KV-cache inference matches the training pass, and the stem is part of what is saved', () => {
    const sc = { ...cfg, vision: { imageSize: 8, patchSize: 4, stem: 16, window: 6 } };
    const m = GPT.init(sc, 6);
    assert.equal(paramCount(sc) - paramCount(cfg), 2 * 16 * 108 + 32 * 16 - 32 * 48);
    const full = m.forward(new Tape(be, 'f32', { grad: false }), tokens, 1, tokens.length, undefined, -1, { pixels: img, at: [2] });
    const got = step(m, be, [{ cache: new KVCache(sc), tokens, images: { pixels: img, at: [2] } }], true);
    assertClose(got, full.logits.data as Float32Array, 1e-4, 'logits');
    const dir = join(mkdtempSync(join(tmpdir(), 'tetra-vision-')), 'ckpt');
    saveCheckpoint(dir, { config: sc, params: m.weights(), meta: { step: 0, tokensSeen: 0 } as never });
    const back = loadCheckpoint(dir);
    assert.deepEqual(back.config.vision, sc.vision);
    assert.deepEqual(back.params.get('vision.patch_up'), m.weights().get('vision.patch_up'));
  });

  it('with colour apart from form and the stem reading where, KV-cache inference matches the training pass', () => {
    const sc = { ...cfg, vision: { imageSize: 8, patchSize: 4, stem: 16, window: 6, colour: true, xy: true } };
    const m = GPT.init(sc, 6);
    const full = m.forward(new Tape(be, 'f32', { grad: false }), tokens, 1, tokens.length, undefined, -1, { pixels: img, at: [2] });
    const got = step(m, be, [{ cache: new KVCache(sc), tokens, images: { pixels: img, at: [2] } }], true);
    assertClose(got, full.logits.data as Float32Array, 1e-4, 'logits');
  });

  it('a batch of sequences with images, without, and with two, gives each sequence its own logits, call after call', () => {
    // One step embeds every sequence's images together (one stem GEMM) in reused buffers: each
    // sequence must still get what it gets alone, and a smaller call after a bigger one too.
    const sc = { ...cfg, vision: { imageSize: 8, patchSize: 4, stem: 16, window: 6 } };
    const m = GPT.init(sc, 7);
    const two = Int32Array.from([1, 3, 3, 3, 3, 2, 3, 3, 3, 3, 4, 5]);
    const seqs = [
      { tokens, images: { pixels: img, at: [2] } },
      { tokens: tokens.slice(0, 5) },
      { tokens: two, images: packImages([image(), image()], [1, 6]) },
    ];
    const alone = seqs.map((s) => step(m, be, [{ cache: new KVCache(sc), ...s }], true));
    for (let round = 0; round < 2; round++) {
      const together = step(
        m,
        be,
        seqs.map((s) => ({ cache: new KVCache(sc), ...s })),
        true,
      );
      let o = 0;
      seqs.forEach((s, i) => {
        assertClose(together.subarray(o, o + s.tokens.length * 40), alone[i], 1e-4, `sequence ${i}, round ${round}`);
        o += s.tokens.length * 40;
      });
    }
    assertClose(step(m, be, [{ cache: new KVCache(sc), ...seqs[0] }], true), alone[0], 0, 'alone again, after the batch');
  });

  it('imageLimits: slots see through their image, every other token its causal keys, after any cached ones', () => {
    // two rows of 8, images (4 slots) at row 0's 2..5 and row 1's 4..7
    assert.deepEqual(Array.from(imageLimits(cfg.vision!, [2, 12], 2, 8)), [1, 2, 6, 6, 6, 6, 7, 8, 1, 2, 3, 4, 8, 8, 8, 8]);
    assert.deepEqual(Array.from(imageLimits(cfg.vision!, [1], 1, 6, 10)), [11, 15, 15, 15, 15, 16]);
    assert.throws(() => imageLimits(cfg.vision!, [5], 1, 8), /an image at 5 does not fit in its row of 8 tokens/);
    assert.throws(() => imageLimits(cfg.vision!, [6], 2, 8), /an image at 6 does not fit/);
  });

  it('with prefix attention, every slot sees the whole image, and KV-cache inference matches the training pass', () => {
    const sc = { ...cfg, vision: { imageSize: 8, patchSize: 4, stem: 16, window: 6, colour: true, xy: true, prefix: true } };
    const m = GPT.init(sc, 8);
    const fwd = (pixels: Float32Array, at: number[], B: number, toks: Int32Array) =>
      m.forward(new Tape(be, 'f32', { grad: false }), toks, B, toks.length / B, undefined, -1, { pixels, at }).logits.data as Float32Array;
    // Two rows with their images at different places: each row as one KV-cache prefill.
    const row2 = Int32Array.from([1, 2, 3, 4, 3, 3, 3, 3, 5, 6]);
    const img2 = image();
    const batch = fwd(packImages([img, img2], [2, 14]).pixels, [2, 14], 2, Int32Array.from([...tokens, ...row2]));
    const one = step(m, be, [{ cache: new KVCache(sc), tokens, images: { pixels: img, at: [2] } }], true);
    const two = step(m, be, [{ cache: new KVCache(sc), tokens: row2, images: { pixels: img2, at: [4] } }], true);
    assertClose(one, batch.subarray(0, 10 * 40), 1e-4, 'row 0');
    assertClose(two, batch.subarray(10 * 40), 1e-4, 'row 1');
    // The image's last patch (bottom right, pixels y, x >= 5, outside the first window) reaches its first slot's logits
    // (position 2), which causal attention would keep from it; the tokens before the image stay.
    const moved = img.slice();
    for (let y = 5; y < 8; y++)
      for (let x = 5; x < 8; x++) for (let c = 0; c < 3; c++) moved[(y * 8 + x) * 3 + c] = 1 - img[(y * 8 + x) * 3 + c];
    const base = fwd(img, [2], 1, tokens),
      after = fwd(moved, [2], 1, tokens);
    assert.deepEqual(after.subarray(0, 2 * 40), base.subarray(0, 2 * 40), 'tokens before the image');
    assert.notDeepEqual(after.subarray(2 * 40, 3 * 40), base.subarray(2 * 40, 3 * 40), "the first slot sees the image's last patch");
    const causal = GPT.init({ ...sc, vision: { ...sc.vision, prefix: false } }, 8);
    const cf = (pixels: Float32Array) =>
      causal.forward(new Tape(be, 'f32', { grad: false }), tokens, 1, 10, undefined, -1, { pixels, at: [2] }).logits.data as Float32Array;
    assert.deepEqual(cf(moved).subarray(2 * 40, 3 * 40), cf(img).subarray(2 * 40, 3 * 40), 'without prefix, the first slot does not');
  });

  it('keeps the vision weights and config through a checkpoint', () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'tetra-vision-')), 'ckpt');
    saveCheckpoint(dir, { config: cfg, params: model.weights(), meta: { step: 0, tokensSeen: 0 } as never });
    const back = loadCheckpoint(dir);
    assert.deepEqual(back.config.vision, cfg.vision);
    assert.deepEqual(back.params.get('vision.patch_in'), model.weights().get('vision.patch_in'));
  });
});
