// Hashes used by the pipeline: sha256 for identity (exact dedup, checksums, split assignment)
// because node:crypto does it natively at GB/s; a 32-bit FNV-1a mix for MinHash shingles where
// millions of short hashes are needed and crypto's per-call overhead would dominate.
import { createHash } from 'node:crypto';

export function sha256Hex(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** First 8 hex digits of sha256 as an unsigned 32-bit number. */
export function sha256U32(data: string): number {
  return parseInt(createHash('sha256').update(data).digest('hex').slice(0, 8), 16);
}

/** FNV-1a over UTF-16 code units, finished with a murmur3 avalanche so nearby strings spread. */
export function fnv1a32(s: string, seed = 0x811c9dc5): number {
  let h = seed >>> 0;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return fmix32(h);
}

export function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
