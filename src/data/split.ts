// Train/validation assignment by document: a pure function of the document's text hash, so the
// same document always lands in the same split whatever the order, the sources chosen or the
// machine, and no document is ever in both.
import { sha256U32 } from './hash.ts';

export type Split = 'train' | 'val';

/** valFraction in [0, 1): the share of documents (by hash) that go to validation. */
export function splitOf(docHashHex: string, valFraction: number): Split {
  if (!(valFraction >= 0 && valFraction < 1)) throw new RangeError(`valFraction must be in [0, 1), got ${valFraction}`);
  // salt the hash so the split is independent of any other use of the same sha256
  const u = sha256U32(`split:${docHashHex}`) / 2 ** 32;
  return u < valFraction ? 'val' : 'train';
}
