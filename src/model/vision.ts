// Image input, Fuyu-style: no image encoder. A square RGB image is cut into P x P patches in
// raster order; each patch's P*P*3 values (scaled to [-1, 1]) go through one linear projection
// into the model's width, plus a learned row and column embedding (the factorised 2D position of
// the encoder-free nanoVLM), and the results replace the embeddings of the image's slot tokens
// (<|image_slot|> x G*G, src/tokenizer/chat.ts). Every image token then costs what a text token
// costs: the projection is one small GEMM, the rest is the decoder. The sequence keeps its 1D
// RoPE positions, so image tokens also have their raster order.
//
//   vision.patch_in   [C, P*P*3]   patch -> width (with a stem: [C, H])
//   vision.patch_up   [2H, P*P*3]  optional stem (config.vision.stem = H): patch -> SwiGLU -> patch_in,
//                                  so a patch's edges and corners are read before the decoder
//   vision.colour_in  [C, 4]       optional (config.vision.colour): the window's ink mass and mean
//                                  colour -> width, while the stem reads ink alone (form apart from colour)
//   vision.row        [G, C]       row of the patch (G = imageSize / P)
//   vision.col        [G, C]       column of the patch
//
// With config.vision.xy the stem also reads the patch's row and column (one-hot, 2G values at the
// end of each patch), so position grows in the token as fast as what the pixels say. With
// config.vision.prefix an image's slot tokens attend to each other both ways (PaliGemma's prefix
// attention): a patch token sees the whole image, not only the patches before it in raster order.
//
// Pixels come in as Float32 HWC in [0, 1], imageSize x imageSize (src/vision decodes and resizes).
import { type Backend, refBackend, type Tape, Tensor } from '../tensor/index.ts';
import { linear, linearArgs } from './linear.ts';

export interface VisionConfig {
  /** Side of the square image the model sees, in pixels. */
  imageSize: number;
  /** Side of a patch, in pixels; it divides imageSize. */
  patchSize: number;
  /** Hidden width of a SwiGLU stem before the projection (absent: the projection alone, Fuyu's). */
  stem?: number;
  /**
   * Side of the window each patch token reads, centred on its patch (absent: the patch itself).
   * Wider than the patch, windows overlap as a convolution's do (kernel = window, stride = patch),
   * so a token sees a small shape whole; outside the image reads as 0 (mid-grey in [-1, 1]).
   */
  window?: number;
  /**
   * Colour apart from form: the stem reads each window's ink (1 - the pixel's smallest channel:
   * white 0, any strong colour near 1), and `vision.colour_in` adds the window's ink-weighted mean
   * colour and its ink mass. A token is then form + colour + position, so a colour seen on other
   * kinds reads the same on a kind it was never seen with (CLEVR CoGenT's held-out combinations).
   */
  colour?: boolean;
  /**
   * Where a patch is, also read by the stem: each patch's values end with a one-hot of its row and
   * one of its column (2G values), so position reaches the token through the same weights as its
   * pixels and grows as fast as they do. Without it, position is only the learned row and column
   * embeddings, which a trained stem's outputs outgrow about a hundredfold (bench/RESULTS.md,
   * session 16).
   */
  xy?: boolean;
  /**
   * Prefix attention over each image block: every slot token of an image sees all of the image's
   * slots, later ones included (imageLimits), while text keeps causal attention. Without it a
   * patch token sees only the patches before it in raster order.
   */
  prefix?: boolean;
}

/** Images of one batch (or one sequence): pixels back to back, and where each one's first slot is. */
export interface ImageInput {
  /** count x imageSize x imageSize x 3, HWC, values in [0, 1]. */
  pixels: Float32Array;
  /** Index of each image's first slot token among the batch's flattened tokens (B * T). */
  at: ArrayLike<number>;
}

/** Images as one ImageInput: their pixels back to back, with each one's first slot. */
export function packImages(pixels: readonly Float32Array[], at: ArrayLike<number>): ImageInput {
  if (pixels.length === 1) return { pixels: pixels[0], at };
  const out = new Float32Array(pixels.reduce((s, x) => s + x.length, 0));
  let o = 0;
  for (const x of pixels) {
    out.set(x, o);
    o += x.length;
  }
  return { pixels: out, at };
}

export const grid = (v: VisionConfig): number => v.imageSize / v.patchSize;
/** Slot tokens per image: the patches. */
export const imageSlots = (v: VisionConfig): number => grid(v) ** 2;
const windowOf = (v: VisionConfig): number => v.window ?? v.patchSize;
export const patchValues = (v: VisionConfig): number => windowOf(v) ** 2 * (v.colour ? 1 : 3) + (v.xy ? 2 * grid(v) : 0);
/** Colour values of a window (colour): ink mass and the ink-weighted mean R, G, B. */
export const COLOUR_VALUES = 4;
export const imageValues = (v: VisionConfig): number => v.imageSize * v.imageSize * 3;

/**
 * A vision spec as the command line writes it, SIZE:PATCH[:STEM[:WINDOW]][:colour][:xy][:prefix]
 * (e.g. 64:8, 64:8:128:16:colour:xy).
 */
export function parseVisionSpec(spec: string): VisionConfig {
  const m = /^(\d+):(\d+)(?::(\d+)(?::(\d+))?)?(:colour)?(:xy)?(:prefix)?$/.exec(spec);
  if (!m)
    throw new Error(
      `a vision spec is SIZE:PATCH[:STEM[:WINDOW]][:colour][:xy][:prefix], e.g. 64:8, 64:8:128:16 or ` +
        `64:8:128:16:colour:xy, got ${JSON.stringify(spec)}`,
    );
  const v: VisionConfig = { imageSize: Number(m[1]), patchSize: Number(m[2]) };
  if (m[3]) v.stem = Number(m[3]);
  if (m[4]) v.window = Number(m[4]);
  if (m[5]) v.colour = true;
  if (m[6]) v.xy = true;
  if (m[7]) v.prefix = true;
  validateVision(v);
  return v;
}

export function validateVision(v: VisionConfig): void {
  const ok = (x: number, lo: number, hi: number) => Number.isInteger(x) && x >= lo && x <= hi;
  if (!ok(v.imageSize, 2, 1024)) throw new Error(`config.vision.imageSize must be an integer in [2, 1024], got ${v.imageSize}`);
  if (!ok(v.patchSize, 1, v.imageSize) || v.imageSize % v.patchSize)
    throw new Error(`config.vision.patchSize must divide imageSize ${v.imageSize}, got ${v.patchSize}`);
  if (v.stem !== undefined && !ok(v.stem, 1, 4096)) throw new Error(`config.vision.stem must be an integer in [1, 4096], got ${v.stem}`);
  if (v.window !== undefined && (!ok(v.window, v.patchSize, v.imageSize) || (v.window - v.patchSize) % 2))
    throw new Error(
      `config.vision.window must be an integer from patchSize ${v.patchSize} to imageSize ${v.imageSize}, ` +
        `patchSize plus an even number, got ${v.window}`,
    );
}

export function visionParamShapes(v: VisionConfig, C: number): [string, number[]][] {
  return [
    ...(v.stem ? ([['vision.patch_up', [2 * v.stem, patchValues(v)]]] as [string, number[]][]) : []),
    ['vision.patch_in', [C, v.stem ?? patchValues(v)]],
    ...(v.colour ? ([['vision.colour_in', [C, COLOUR_VALUES]]] as [string, number[]][]) : []),
    ['vision.row', [grid(v), C]],
    ['vision.col', [grid(v), C]],
  ];
}

/**
 * Init std of a vision weight: the projection's outputs start near token embeddings' size (0.02);
 * a stem's pre-activations near unit size, its SwiGLU outputs about 0.5.
 */
export function visionInitStd(name: string, v: VisionConfig): number {
  if (name === 'vision.patch_up') return 1 / Math.sqrt(patchValues(v));
  if (name === 'vision.patch_in') return v.stem ? 0.04 / Math.sqrt(v.stem) : 0.02 / Math.sqrt(patchValues(v));
  return 0.02;
}

/**
 * Patches of `count` images, [count * G*G, W*W*3] (W the window, P without one): patch (gy, gx) of
 * image i is row i*G*G + gy*G + gx, its window's values in (py, px, channel) order, scaled from
 * [0, 1] to [-1, 1], 0 outside the image (`be`'s windowsForward; ink, with colour apart, here).
 * With xy, each row ends with its row and column one-hot.
 */
export function patchify(
  v: VisionConfig,
  pixels: Float32Array,
  count: number,
  into?: Float32Array,
  be: Backend<Float32Array> = refBackend as Backend<Float32Array>,
): Float32Array {
  const S = v.imageSize,
    P = v.patchSize,
    G = grid(v),
    W = windowOf(v),
    pad = (W - P) / 2,
    PV = patchValues(v);
  if (pixels.length !== count * imageValues(v)) throw new Error(`patchify: ${pixels.length} values is not ${count} images of ${S}x${S}x3`);
  const out = into ? into.subarray(0, count * G * G * PV) : new Float32Array(count * G * G * PV);
  if (!v.colour) be.windowsForward(out, pixels, count, S, P, W, PV);
  else
    for (let i = 0, o = 0; i < count; i++)
      for (let gy = 0; gy < G; gy++)
        for (let gx = 0; gx < G; gx++, o += PV) {
          // Ink, one value a pixel; outside the image reads 0 (a reused buffer is cleared first).
          out.fill(0, o, o + W * W);
          const x0 = gx * P - pad,
            lo = Math.max(0, x0),
            hi = Math.min(S, x0 + W);
          for (let wy = 0; wy < W; wy++) {
            const y = gy * P - pad + wy;
            if (y < 0 || y >= S) continue;
            for (let x = lo, t = o + wy * W + (lo - x0); x < hi; x++, t++) out[t] = inkAt(pixels, ((i * S + y) * S + x) * 3);
          }
        }
  if (v.xy)
    for (let p = 0, o = W * W * (v.colour ? 1 : 3); p < count * G * G; p++, o += PV) {
      out.fill(0, o, o + 2 * G);
      out[o + (Math.floor(p / G) % G)] = 1;
      out[o + G + (p % G)] = 1;
    }
  return out;
}

/** Ink of the RGB pixel at `at` (values in [0, 1]): 1 - its smallest channel, so white is 0. */
function inkAt(pixels: Float32Array, at: number): number {
  return 1 - Math.min(pixels[at], pixels[at + 1], pixels[at + 2]);
}

/** Gain on the colour values, so colour_in's outputs can grow as fast as the stem's. */
const COLOUR_GAIN = 4;

/**
 * Colour values of every window (config.vision.colour), [count * G*G, COLOUR_VALUES] in patchify's
 * order: the window's mean ink, then its ink-weighted mean R, G, B in [-1, 1] (0 without ink), all
 * times COLOUR_GAIN.
 */
export function colourValues(v: VisionConfig, pixels: Float32Array, count: number, into?: Float32Array): Float32Array {
  const S = v.imageSize,
    P = v.patchSize,
    G = grid(v),
    W = windowOf(v),
    pad = (W - P) / 2;
  const out = into ? into.subarray(0, count * G * G * COLOUR_VALUES) : new Float32Array(count * G * G * COLOUR_VALUES);
  let o = 0;
  for (let i = 0; i < count; i++)
    for (let gy = 0; gy < G; gy++)
      for (let gx = 0; gx < G; gx++, o += COLOUR_VALUES) {
        let m = 0,
          r = 0,
          g = 0,
          b = 0;
        for (let y = Math.max(0, gy * P - pad); y < Math.min(S, gy * P - pad + W); y++)
          for (let x = Math.max(0, gx * P - pad); x < Math.min(S, gx * P - pad + W); x++) {
            const at = ((i * S + y) * S + x) * 3,
              pr = pixels[at],
              pg = pixels[at + 1],
              pb = pixels[at + 2],
              ink = inkAt(pixels, at);
            m += ink;
            r += ink * (2 * pr - 1);
            g += ink * (2 * pg - 1);
            b += ink * (2 * pb - 1);
          }
        const k = COLOUR_GAIN / (m + 1e-3);
        out[o] = (COLOUR_GAIN * m) / (W * W);
        out[o + 1] = r * k;
        out[o + 2] = g * k;
        out[o + 3] = b * k;
      }
  return out;
}

/** Row and column index of every patch of `count` images, in patchify's order. */
function positions(v: VisionConfig, count: number): { rows: Int32Array; cols: Int32Array } {
  const G = grid(v),
    n = count * G * G;
  const rows = new Int32Array(n),
    cols = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    rows[i] = Math.floor((i % (G * G)) / G);
    cols[i] = i % G;
  }
  return { rows, cols };
}

export interface VisionWeights {
  /** The stem's [gate | up] projection, when config.vision.stem is set. */
  patchUp?: Tensor;
  /** Colour values -> width, when config.vision.colour is set. */
  colourIn?: Tensor;
  patchIn: Tensor;
  row: Tensor;
  col: Tensor;
}

/** Image count of an ImageInput, checked against the config. */
export function imageCount(v: VisionConfig, images: ImageInput): number {
  const n = images.pixels.length / imageValues(v);
  if (!Number.isInteger(n) || n !== images.at.length)
    throw new Error(
      `images: ${images.pixels.length} pixel values and ${images.at.length} positions do not match ${v.imageSize}x${v.imageSize}x3 images`,
    );
  return n;
}

/** Training: the image tokens' embeddings [count * G*G, C], on the tape. */
export function embedImages(tape: Tape, v: VisionConfig, w: VisionWeights, images: ImageInput): Tensor {
  const n = imageCount(v, images);
  const G = grid(v);
  const patches = patchify(v, images.pixels, n, undefined, tape.dtype === 'f32' ? tape.backend : undefined);
  const data = tape.dtype === 'f64' ? Float64Array.from(patches) : patches;
  let x = new Tensor(data, [n * G * G, patchValues(v)], { requiresGrad: false });
  if (w.patchUp) x = tape.swiglu(tape.linear(x, w.patchUp));
  x = tape.linear(x, w.patchIn);
  if (w.colourIn) {
    const cv = colourValues(v, images.pixels, n);
    const c = new Tensor(tape.dtype === 'f64' ? Float64Array.from(cv) : cv, [n * G * G, COLOUR_VALUES], { requiresGrad: false });
    x = tape.add(x, tape.linear(c, w.colourIn));
  }
  const { rows, cols } = positions(v, n);
  const pos = tape.add(tape.embedding(rows, [rows.length], w.row), tape.embedding(cols, [cols.length], w.col));
  return tape.add(pos, x, { inPlace: true });
}

/**
 * Attention key limits [rows, T] for prefix attention (Backend.attentionForward's lim): token t of
 * a row sees keys 0..off+t causally, and every slot of an image sees through its image's last
 * slot. at: each image's first slot among the rows' flattened tokens; off: keys already cached
 * before the row's first token. An image must lie within one row (its slots are consecutive).
 */
export function imageLimits(v: VisionConfig, at: ArrayLike<number>, rows: number, T: number, off = 0): Int32Array {
  const S = imageSlots(v);
  const lim = new Int32Array(rows * T);
  for (let i = 0; i < lim.length; i++) lim[i] = off + (i % T) + 1;
  for (const a of Array.from(at)) {
    const t = a % T;
    if (!(a >= 0 && a < rows * T && t + S <= T)) throw new Error(`imageLimits: an image at ${a} does not fit in its row of ${T} tokens`);
    lim.fill(off + t + S, a, a + S);
  }
  return lim;
}

/** Flattened token index of every slot of every image: image i's slots follow at[i]. */
export function slotIndices(v: VisionConfig, images: ImageInput): Int32Array {
  const S = imageSlots(v);
  const out = new Int32Array(images.at.length * S);
  for (let i = 0; i < images.at.length; i++) for (let j = 0; j < S; j++) out[i * S + j] = images.at[i] + j;
  return out;
}

// Inference's buffers, kept between calls so a prefill allocates nothing for its images.
let onePositionsCache: { G: number; rows: Int32Array; cols: Int32Array } | undefined;
function onePositions(v: VisionConfig): { rows: Int32Array; cols: Int32Array } {
  if (onePositionsCache?.G !== grid(v)) onePositionsCache = { G: grid(v), ...positions(v, 1) };
  return onePositionsCache;
}
const g = linearArgs();
const scratch: Float32Array[] = Array.from({ length: 6 }, () => new Float32Array(0));
function buffer(i: number, n: number): Float32Array {
  if (scratch[i].length < n) scratch[i] = new Float32Array(n);
  return scratch[i].subarray(0, n);
}

/**
 * Inference: writes the image tokens' embeddings over rows of x [N, C] (no tape), image i's slots
 * from row at[i]. All images go through patchify and the stem together: one GEMM for a batch's.
 */
export function embedImagesInto(
  be: Backend<Float32Array>,
  v: VisionConfig,
  w: VisionWeights,
  images: ImageInput,
  x: Float32Array,
  C: number,
): void {
  const n = imageCount(v, images);
  const G = grid(v),
    PV = patchValues(v),
    S = G * G;
  let patches = patchify(v, images.pixels, n, buffer(0, n * S * PV), be);
  let K = PV;
  if (w.patchUp) {
    // The stem: [gate | up] for every patch of every image, then SwiGLU down to H values a patch.
    const H = v.stem!,
      up = buffer(1, n * S * 2 * H);
    linear(be, g, up, patches, w.patchUp.data as Float32Array, n * S, 2 * H, PV);
    patches = buffer(2, n * S * H);
    be.swigluForward(patches, up, n * S, H);
    K = H;
  }
  const colour = w.colourIn ? colourValues(v, images.pixels, n, buffer(3, n * S * COLOUR_VALUES)) : null;
  // Every image's slots start from the same row + column embeddings: one table, copied in.
  const pos = buffer(4, S * C),
    cols = buffer(5, S * C),
    at0 = onePositions(v);
  be.embeddingForward(pos, w.row.data as Float32Array, at0.rows, S, C, G);
  be.embeddingForward(cols, w.col.data as Float32Array, at0.cols, S, C, G);
  be.add(pos, pos, cols, S * C);
  for (let i = 0; i < n; i++) {
    // An image's slots are consecutive rows of x: the projection writes straight into them.
    const at = images.at[i] * C;
    const rows = x.subarray(at, at + S * C);
    rows.set(pos);
    linear(be, g, rows, patches.subarray(i * S * K, (i + 1) * S * K), w.patchIn.data as Float32Array, S, C, K, 1);
    if (colour)
      linear(
        be,
        g,
        rows,
        colour.subarray(i * S * COLOUR_VALUES, (i + 1) * S * COLOUR_VALUES),
        w.colourIn!.data as Float32Array,
        S,
        C,
        COLOUR_VALUES,
        1,
      );
  }
}
