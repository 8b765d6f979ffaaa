// Exact and near-duplicate removal.
//
// Exact: sha256 of the normalised text; the first document with a given hash is kept.
//
// Near: MinHash over word 5-gram shingles with LSH banding. A document is a near duplicate when
// some earlier kept document shares a band AND their estimated Jaccard similarity (fraction of
// equal MinHash slots) is >= NEAR_DUP_THRESHOLD = 0.8. 64 hashes in 16 bands of 4 rows make
// banding find pairs from about J = (1/16)^(1/4) = 0.5 up, so the 0.8 decision is taken by the
// signature comparison, not by the S-curve. Documents with fewer than 5 words have one shingle
// (the whole text), so for them near dedup reduces to exact dedup.
import { fmix32, fnv1a32, sha256Hex } from './hash.ts';

export const SHINGLE_WORDS = 5;
export const NUM_HASHES = 64;
export const BANDS = 16;
export const ROWS = NUM_HASHES / BANDS;
export const NEAR_DUP_THRESHOLD = 0.8;

export class ExactDeduper {
  private readonly seen = new Set<string>();
  /** True the first time this text is offered. */
  add(text: string): boolean {
    const h = sha256Hex(text).slice(0, 32); // 128 bits: collisions are not a practical concern
    if (this.seen.has(h)) return false;
    this.seen.add(h);
    return true;
  }
  get size(): number {
    return this.seen.size;
  }
}

/** Word shingles: lowercase words (letters/digits) joined in windows of SHINGLE_WORDS. */
export function shingleHashes(text: string): Uint32Array {
  const words = text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];
  if (words.length < SHINGLE_WORDS) return Uint32Array.of(fnv1a32(words.join(' ')));
  const out = new Uint32Array(words.length - SHINGLE_WORDS + 1);
  for (let i = 0; i < out.length; i++) out[i] = fnv1a32(words.slice(i, i + SHINGLE_WORDS).join(' '));
  return out;
}

// Permutation i is h -> fmix32(h ^ SALT[i]): independent-looking 32-bit hash families, cheap.
const SALT = Uint32Array.from({ length: NUM_HASHES }, (_, i) => fmix32(0x9e3779b9 + i * 0x632be5ab));

export function minhash(text: string): Uint32Array {
  const sig = new Uint32Array(NUM_HASHES).fill(0xffffffff);
  for (const h of shingleHashes(text)) {
    for (let i = 0; i < NUM_HASHES; i++) {
      const v = fmix32(h ^ SALT[i]);
      if (v < sig[i]) sig[i] = v;
    }
  }
  return sig;
}

export function estimatedJaccard(a: Uint32Array, b: Uint32Array, bOffset = 0): number {
  let eq = 0;
  for (let i = 0; i < NUM_HASHES; i++) if (a[i] === b[bOffset + i]) eq++;
  return eq / NUM_HASHES;
}

export class NearDeduper {
  private readonly bands: Map<number, number>[] = Array.from({ length: BANDS }, () => new Map());
  private sigs = new Uint32Array(NUM_HASHES * 1024);
  private count = 0;
  constructor(readonly threshold = NEAR_DUP_THRESHOLD) {}

  /** Returns true (and remembers the document) unless it is a near duplicate of one kept earlier. */
  add(text: string): boolean {
    const sig = minhash(text);
    const keys = new Array<number>(BANDS);
    for (let b = 0; b < BANDS; b++) {
      let h = 0x2545f491 ^ b;
      for (let r = 0; r < ROWS; r++) h = fmix32(h ^ sig[b * ROWS + r]) + r;
      // two independent 32-bit halves -> a 53-bit Map key, so unrelated bands rarely collide
      keys[b] = (fmix32(h) >>> 0) * 2097152 + (sig[b * ROWS] & 0x1fffff);
      const other = this.bands[b].get(keys[b]);
      if (other !== undefined && estimatedJaccard(sig, this.sigs, other * NUM_HASHES) >= this.threshold) return false;
    }
    if ((this.count + 1) * NUM_HASHES > this.sigs.length) {
      const grown = new Uint32Array(this.sigs.length * 2);
      grown.set(this.sigs);
      this.sigs = grown;
    }
    this.sigs.set(sig, this.count * NUM_HASHES);
    for (let b = 0; b < BANDS; b++) if (!this.bands[b].has(keys[b])) this.bands[b].set(keys[b], this.count);
    this.count++;
    return true;
  }
  get size(): number {
    return this.count;
  }
}
