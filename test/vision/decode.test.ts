// The image decoder: PNG, JPEG, WebP and still GIF decode to upright, white-flattened RGB floats
// stretched to a square; every bad input (truncated, random, oversize, animated, mislabelled, not
// on the whitelist) rejects with an ImageDecodeError carrying the right reason and nothing else.
// Fixtures are made with sharp at test time.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import sharp from 'sharp';
import { DEFAULT_DECODE_LIMITS, decodeImage, ImageDecodeError, type ImageDecodeReason } from '../../src/vision/decode.ts';

type Fmt = 'png' | 'jpeg' | 'webp' | 'gif';
const WHITE = [1, 1, 1];
const RED = [1, 0, 0];

/** An RGB picture w x h, each pixel from f(x, y). */
function raw(w: number, h: number, f: (x: number, y: number) => number[]): Buffer {
  const b = Buffer.alloc(w * h * 3);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) b.set(f(x, y), (y * w + x) * 3);
  return b;
}

function encode(b: Buffer, w: number, h: number, fmt: Fmt | 'tiff', channels: 1 | 3 | 4 = 3): Promise<Buffer> {
  return sharp(b, { raw: { width: w, height: h, channels } })
    .toFormat(fmt)
    .toBuffer();
}

/** 64x64 white with a red 32x32 square in the top-left corner. */
function redSquare(fmt: Fmt): Promise<Buffer> {
  return encode(
    raw(64, 64, (x, y) => (x < 32 && y < 32 ? [255, 0, 0] : [255, 255, 255])),
    64,
    64,
    fmt,
  );
}

/** A noisy picture, so its encodings are long enough to cut into many pieces. */
function noise(w: number, h: number, fmt: Fmt): Promise<Buffer> {
  let s = 12345;
  const rnd = () => ((s = (s * 1103515245 + 12345) >>> 0) >>> 16) & 255;
  return encode(
    raw(w, h, () => [rnd(), rnd(), rnd()]),
    w,
    h,
    fmt,
  );
}

function px(p: Float32Array, size: number, x: number, y: number): number[] {
  const i = (y * size + x) * 3;
  return [p[i], p[i + 1], p[i + 2]];
}

function near(got: number[], want: number[], tol: number, what: string): void {
  assert.ok(
    got.every((v, i) => Math.abs(v - want[i]) <= tol),
    `${what}: got [${got.map((v) => v.toFixed(3))}], want [${want}]`,
  );
}

async function rejects(p: Promise<unknown>, reason: ImageDecodeReason, message?: RegExp): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof ImageDecodeError, `not an ImageDecodeError: ${e}`);
    assert.equal(e.reason, reason, e.message);
    if (message) assert.match(e.message, message);
    return true;
  });
}

const crcTable = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(b: Uint8Array): number {
  let c = 0xffffffff;
  for (const v of b) c = crcTable[(c ^ v) & 255] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

describe('decodeImage', () => {
  for (const fmt of ['png', 'jpeg', 'webp', 'gif'] as const) {
    it(`round-trips a ${fmt} red square on white`, async () => {
      const r = await decodeImage(await redSquare(fmt), { size: 32, mime: `image/${fmt}` });
      assert.equal(r.format, fmt);
      assert.equal(r.width, 32);
      assert.equal(r.height, 32);
      assert.equal(r.pixels.length, 32 * 32 * 3);
      assert.ok(r.pixels.every((v) => v >= 0 && v <= 1));
      const tol = fmt === 'png' || fmt === 'gif' ? 0.01 : 0.1;
      near(px(r.pixels, 32, 4, 4), RED, tol, 'top-left');
      near(px(r.pixels, 32, 12, 12), RED, tol, 'inside the square');
      near(px(r.pixels, 32, 24, 24), WHITE, tol, 'bottom-right');
      near(px(r.pixels, 32, 24, 4), WHITE, tol, 'top-right');
      near(px(r.pixels, 32, 4, 24), WHITE, tol, 'bottom-left');
    });
  }

  it('stretches a non-square image to the square (fit fill) and upscales', async () => {
    // 40 wide x 10 high, left quarter red: stretched to 16x16 the left quarter of every row is red.
    const b = await encode(
      raw(40, 10, (x) => (x < 10 ? [255, 0, 0] : [255, 255, 255])),
      40,
      10,
      'png',
    );
    const r = await decodeImage(b, { size: 16 });
    for (const y of [0, 8, 15]) {
      near(px(r.pixels, 16, 1, y), RED, 0.02, `row ${y} left`);
      near(px(r.pixels, 16, 12, y), WHITE, 0.02, `row ${y} right`);
    }
  });

  it('applies the EXIF orientation before resizing', async () => {
    // 64 wide x 32 high, left half red. Orientation 6 means "rotate 90 degrees clockwise to
    // display", which sends the left half to the top.
    const pic = raw(64, 32, (x) => (x < 32 ? [255, 0, 0] : [255, 255, 255]));
    const plain = await sharp(pic, { raw: { width: 64, height: 32, channels: 3 } })
      .jpeg({ quality: 95 })
      .toBuffer();
    const rotated = await sharp(pic, { raw: { width: 64, height: 32, channels: 3 } })
      .jpeg({ quality: 95 })
      .withMetadata({ orientation: 6 })
      .toBuffer();
    assert.equal((await sharp(rotated).metadata()).orientation, 6);
    const a = await decodeImage(plain, { size: 32 });
    near(px(a.pixels, 32, 4, 16), RED, 0.1, 'unrotated left');
    near(px(a.pixels, 32, 28, 16), WHITE, 0.1, 'unrotated right');
    const b = await decodeImage(rotated, { size: 32 });
    near(px(b.pixels, 32, 16, 4), RED, 0.1, 'rotated top');
    near(px(b.pixels, 32, 16, 28), WHITE, 0.1, 'rotated bottom');
    near(px(b.pixels, 32, 4, 8), px(b.pixels, 32, 28, 8), 0.1, 'the top rows are one colour across');
  });

  it('flattens alpha onto white', async () => {
    // Left half fully transparent black, right half opaque blue.
    const b = Buffer.alloc(16 * 16 * 4);
    for (let y = 0; y < 16; y++) for (let x = 8; x < 16; x++) b.set([0, 0, 255, 255], (y * 16 + x) * 4);
    for (const fmt of ['png', 'webp'] as const) {
      const r = await decodeImage(await encode(b, 16, 16, fmt, 4), { size: 16 });
      near(px(r.pixels, 16, 2, 8), WHITE, 0.02, `${fmt} transparent half`);
      near(px(r.pixels, 16, 13, 8), [0, 0, 1], 0.05, `${fmt} opaque half`);
    }
  });

  it('gives three channels for greyscale and 16-bit input', async () => {
    const grey = await sharp(Buffer.alloc(8 * 8, 128), { raw: { width: 8, height: 8, channels: 1 } })
      .toColourspace('b-w')
      .png()
      .toBuffer();
    assert.equal((await sharp(grey).metadata()).channels, 1);
    const g = await decodeImage(grey, { size: 4 });
    assert.equal(g.pixels.length, 4 * 4 * 3);
    near(px(g.pixels, 4, 1, 1), [128 / 255, 128 / 255, 128 / 255], 0.01, 'grey');
    const deep = await sharp(
      raw(8, 8, () => [255, 0, 0]),
      { raw: { width: 8, height: 8, channels: 3 } },
    )
      .toColourspace('rgb16')
      .png()
      .toBuffer();
    assert.equal((await sharp(deep).metadata()).depth, 'ushort');
    near(px((await decodeImage(deep, { size: 4 })).pixels, 4, 2, 2), RED, 0.01, '16-bit');
  });

  it('rejects every 1/8 prefix of a PNG, JPEG, WebP and GIF as corrupt', async () => {
    for (const fmt of ['png', 'jpeg', 'webp', 'gif'] as const) {
      const b = await noise(96, 96, fmt);
      for (let k = 1; k < 8; k++) {
        const cut = b.subarray(0, Math.floor((b.length * k) / 8));
        await rejects(decodeImage(cut, { size: 8 }), 'corrupt');
      }
      await decodeImage(b, { size: 8 }); // the whole file is fine
    }
  });

  it('rejects random bytes as format, or as corrupt behind a valid signature', async () => {
    let s = 987654321;
    const rnd = () => ((s = (s * 1103515245 + 12345) >>> 0) >>> 16) & 255;
    const junk = (n: number) => Uint8Array.from({ length: n }, rnd);
    await rejects(decodeImage(new Uint8Array(0), { size: 8 }), 'format', /empty/);
    for (const n of [1, 7, 64, 1000, 20000]) await rejects(decodeImage(junk(n), { size: 8 }), 'format');
    const heads = [
      [0x89, ...Buffer.from('PNG\r\n\x1a\n', 'latin1')],
      [0xff, 0xd8, 0xff],
      [...Buffer.from('GIF89a')],
      [...Buffer.from('RIFF'), 0, 1, 0, 0, ...Buffer.from('WEBP')],
    ];
    for (const h of heads) {
      for (const n of [0, 10, 300, 5000]) {
        await rejects(decodeImage(Uint8Array.from([...h, ...junk(n)]), { size: 8 }), 'corrupt');
      }
    }
    // Random bytes spliced into the middle of a valid PNG.
    const png = await noise(64, 64, 'png');
    for (let t = 0; t < 8; t++) {
      const b = Uint8Array.from(png);
      const at = 40 + ((rnd() * 97 + rnd()) % (b.length - 80));
      b.set(junk(16), at);
      await rejects(decodeImage(b, { size: 8 }), 'corrupt');
    }
  });

  it('refuses an image over the pixel limit from its header, before decoding', async () => {
    // A real 1x1 PNG whose IHDR now claims 100000 x 100000 (CRC fixed): only the header is valid,
    // so a decode attempt would fail as corrupt; too_large shows the check came first.
    const png = Uint8Array.from(
      await sharp({ create: { width: 1, height: 1, channels: 3, background: 'red' } })
        .png()
        .toBuffer(),
    );
    const v = new DataView(png.buffer);
    assert.equal(Buffer.from(png.subarray(12, 16)).toString('latin1'), 'IHDR');
    v.setUint32(16, 100000);
    v.setUint32(20, 100000);
    v.setUint32(29, crc32(png.subarray(12, 29)));
    assert.equal((await sharp(png, { limitInputPixels: false }).metadata()).width, 100000);
    await rejects(decodeImage(png, { size: 8 }), 'too_large', /100000x100000 = 10000000000 pixels; the limit is 16777216/);

    const b = await sharp({ create: { width: 300, height: 200, channels: 3, background: 'blue' } })
      .png()
      .toBuffer();
    await rejects(
      decodeImage(b, { size: 8, limits: { maxBytes: 1e6, maxPixels: 200 * 200 } }),
      'too_large',
      /300x200 = 60000 pixels; the limit is 40000/,
    );
    await decodeImage(b, { size: 8, limits: { maxBytes: 1e6, maxPixels: 300 * 200 } });
    await rejects(decodeImage(b, { size: 8, limits: { maxBytes: 100, maxPixels: 1e6 } }), 'too_large', /bytes; the limit is 100$/);
    assert.deepEqual(DEFAULT_DECODE_LIMITS, { maxBytes: 20 * 1024 * 1024, maxPixels: 4096 * 4096 });
  });

  it('refuses animated GIF and WebP', async () => {
    const frame = (c: string) =>
      sharp({ create: { width: 8, height: 8, channels: 3, background: c } })
        .png()
        .toBuffer();
    const frames = [await frame('red'), await frame('blue')];
    for (const fmt of ['gif', 'webp'] as const) {
      const b = await sharp(frames, { join: { animated: true } })
        .toFormat(fmt)
        .toBuffer();
      assert.equal((await sharp(b).metadata()).pages, 2);
      await rejects(decodeImage(b, { size: 8 }), 'animated', /2 frames/);
    }
  });

  it('refuses a mislabelled image, naming the label and the real format', async () => {
    const png = await redSquare('png');
    await rejects(decodeImage(png, { size: 8, mime: 'image/jpeg' }), 'mislabelled', /image\/jpeg.*PNG/);
    await rejects(decodeImage(png, { size: 8, mime: 'application/octet-stream' }), 'mislabelled');
    await decodeImage(png, { size: 8, mime: 'IMAGE/PNG; charset=binary' });
    await decodeImage(await redSquare('jpeg'), { size: 8, mime: 'image/jpg' });
  });

  it('refuses formats off the whitelist: SVG, TIFF, AVIF, BMP', async () => {
    const svg = '<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="9" height="9"><rect width="9" height="9"/></svg>';
    await rejects(decodeImage(Buffer.from(svg), { size: 8 }), 'format', /SVG/);
    await rejects(decodeImage(Buffer.from(svg), { size: 8, mime: 'image/svg+xml' }), 'format', /SVG/);
    const tiff = await encode(
      raw(8, 8, () => [1, 2, 3]),
      8,
      8,
      'tiff',
    );
    await rejects(decodeImage(tiff, { size: 8 }), 'format', /TIFF/);
    const avif = await sharp({ create: { width: 8, height: 8, channels: 3, background: 'red' } })
      .avif({ effort: 0 })
      .toBuffer();
    await rejects(decodeImage(avif, { size: 8 }), 'format', /AVIF/);
    await rejects(decodeImage(Buffer.from('BM\0\0\0\0'), { size: 8 }), 'format', /BMP/);
  });

  it('rejects a bad size or limit with RangeError', async () => {
    const png = await redSquare('png');
    for (const size of [0, -1, 2.5, 5000, Number.NaN]) await assert.rejects(decodeImage(png, { size }), RangeError);
    await assert.rejects(decodeImage(png, { size: 8, limits: { maxBytes: 0, maxPixels: 10 } }), RangeError);
  });
});
