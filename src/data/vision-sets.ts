// Real images Debian ships, as questions a vision model answers in one word:
//
//   digits   python3-sklearn's 8x8 handwritten digits (sklearn/datasets/data/digits.csv.gz: 1,797
//            rows of 64 pixels 0..16 and the label), "What digit is this?" -> "0".."9". The split
//            is scikit-learn's own example's (plot_digits_classification: the first half trains,
//            the second half tests, unshuffled).
//   fashion  dataset-fashion-mnist (/usr/share/datasets/fashion-mnist: IDX files, 60,000 train and
//            10,000 test images of 28x28 grey), "What item of clothing is this?" -> FASHION_CLASSES.
//
// `npm run vision-data` extracts the files from the two Debian packages into data/debian (no
// install, no dependencies); the loaders look there first, then where the packages install them.
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { toPixels } from './pixels.ts';

export const DIGITS_FILE = 'usr/lib/python3/dist-packages/sklearn/datasets/data/digits.csv.gz';
export const FASHION_DIR = 'usr/share/datasets/fashion-mnist';
/** Fashion-MNIST's ten classes in label order, one lowercase word each. */
export const FASHION_CLASSES = ['t-shirt', 'trouser', 'pullover', 'dress', 'coat', 'sandal', 'shirt', 'sneaker', 'bag', 'boot'] as const;
export const DIGITS_QUESTION = 'What digit is this?';
export const FASHION_QUESTION = 'What item of clothing is this?';

/** Grey images of one size, with their answers. */
export interface LabelledImages {
  name: string;
  /** count x size x size grey levels, 0 (black) .. 255 (white). */
  grey: Uint8Array;
  size: number;
  answers: string[];
}

const ROOTS = () => [resolve('data/debian'), '/'];
function find(rel: string): string | null {
  for (const root of ROOTS()) if (existsSync(join(root, rel))) return join(root, rel);
  return null;
}
const missing = (what: string, pkg: string) =>
  new Error(`${what} not found (run \`npm run vision-data\`, which extracts it from Debian's ${pkg} package into data/debian)`);

/** The digits, split as scikit-learn's example splits them. Ink is dark on white, as the scenes are. */
export function loadDigits(split: 'train' | 'test'): LabelledImages {
  const file = find(DIGITS_FILE);
  if (!file) throw missing('the 8x8 digits', 'python3-sklearn');
  return parseDigits(gunzipSync(readFileSync(file)).toString('utf8'), split);
}

export function parseDigits(csv: string, split: 'train' | 'test'): LabelledImages {
  const rows = csv
    .split('\n')
    .filter((l) => l.trim())
    .map((l, i) => {
      const v = l.split(',').map(Number);
      if (v.length !== 65 || v.some((x) => !Number.isInteger(x))) throw new Error(`digits: line ${i + 1} is not 64 pixels and a label`);
      return v;
    });
  const half = Math.floor(rows.length / 2);
  const part = split === 'train' ? rows.slice(0, half) : rows.slice(half);
  const grey = new Uint8Array(part.length * 64);
  part.forEach((v, i) => {
    for (let p = 0; p < 64; p++) grey[i * 64 + p] = Math.round(255 - (v[p] * 255) / 16);
  });
  return { name: `digits-${split}`, grey, size: 8, answers: part.map((v) => String(v[64])) };
}

/** Fashion-MNIST's train (60,000) or test (10,000) split, inverted to dark on white. */
export function loadFashion(split: 'train' | 'test', limit = Number.POSITIVE_INFINITY): LabelledImages {
  const stem = split === 'train' ? 'train' : 't10k';
  const images = find(join(FASHION_DIR, `${stem}-images-idx3-ubyte.gz`)),
    labels = find(join(FASHION_DIR, `${stem}-labels-idx1-ubyte.gz`));
  if (!images || !labels) throw missing('Fashion-MNIST', 'dataset-fashion-mnist');
  return parseIdx(gunzipSync(readFileSync(images)), gunzipSync(readFileSync(labels)), `fashion-${split}`, limit);
}

/** IDX image and label files (big-endian magic 2051 / 2049, then the counts and sizes). */
export function parseIdx(img: Buffer, lab: Buffer, name: string, limit = Number.POSITIVE_INFINITY): LabelledImages {
  if (img.readUInt32BE(0) !== 2051 || lab.readUInt32BE(0) !== 2049) throw new Error(`${name}: not IDX image and label files`);
  const n = Math.min(img.readUInt32BE(4), lab.readUInt32BE(4), limit),
    h = img.readUInt32BE(8),
    w = img.readUInt32BE(12);
  if (h !== w) throw new Error(`${name}: images are ${w}x${h}, not square`);
  if (img.length < 16 + n * h * w || lab.length < 8 + n) throw new Error(`${name}: the files are shorter than their headers say`);
  const grey = new Uint8Array(n * h * w);
  for (let i = 0; i < grey.length; i++) grey[i] = 255 - img[16 + i];
  return { name, grey, size: h, answers: Array.from(lab.subarray(8, 8 + n), (l) => FASHION_CLASSES[l]) };
}

/** Image i as the model's input: grey resized (bilinear up, block average down) to size x size RGB in [0, 1]. */
export function greyToPixels(set: LabelledImages, i: number, size: number): Float32Array {
  const S = set.size;
  return toPixels(set.grey.subarray(i * S * S, (i + 1) * S * S), S, 1, size);
}
