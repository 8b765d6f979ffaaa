// BPE training: learn merges from a corpus until the vocabulary has vocabSize ids.
//
// The obvious version (count every adjacent pair in the corpus, merge the best, recount) costs a
// full pass per merge: 8k merges x 50 MB is hours. Instead, as nanochat's rustbpe does:
// 1. Pre-tokenise once and count distinct chunks ("words") with their frequencies. Merges never
//    cross chunk boundaries, so a word seen 10,000 times is processed once with weight 10,000.
// 2. Count pairs once, weighted; remember for every pair which words contain it.
// 3. Per merge, touch only the words that contain the chosen pair, applying the count changes
//    of the pairs around each occurrence. A max-heap picks the next pair; counts only ever fall
//    for existing pairs, so stale heap entries are refreshed when popped ("lazy deletion").
//
// Ties (equal counts) go to the smaller pair (left id, then right id), so training is
// deterministic. A merge whose bytes already exist as a token (x+yz after xy+z) is skipped: every
// token keeps a distinct byte string, which the rank lookup at encode time relies on.

import { CL100K_PATTERN, splitRegex } from './pretokenize.ts';
import { specialsAfter } from './special.ts';
import { Tokenizer } from './tokenizer.ts';

export const MIN_VOCAB = 256;
export const MAX_VOCAB = 65536;

export interface TrainProgress {
  phase: 'count' | 'merge';
  done: number;
  total: number;
  elapsedS: number;
  /** Items per second (bytes while counting, merges while merging). */
  rate: number;
  etaS: number;
}

export interface TrainOptions {
  vocabSize: number;
  pattern?: string;
  /** Called about once a second per phase, and at the end of each phase. */
  onProgress?: (p: TrainProgress) => void;
}

export interface TrainResult {
  tokenizer: Tokenizer;
  /** (left, right) -> merged id, in the order learned. */
  merges: [number, number, number][];
  distinctChunks: number;
  seconds: number;
}

export function checkVocabSize(n: number): void {
  if (!Number.isInteger(n) || n < MIN_VOCAB || n > MAX_VOCAB) {
    throw new RangeError(`vocab size must be an integer in [${MIN_VOCAB}, ${MAX_VOCAB}], got ${n}`);
  }
}

// ---------------------------------------------------------------------------- chunk counting

/** Distinct pre-token chunks of the texts with their counts. */
export function countChunks(
  texts: Iterable<string>,
  pattern: string = CL100K_PATTERN,
  onProgress?: TrainOptions['onProgress'],
  totalChars = 0,
): Map<string, number> {
  const counts = new Map<string, number>();
  const re = splitRegex(pattern);
  const t0 = performance.now();
  let last = t0,
    doneChars = 0;
  for (const text of texts) {
    re.lastIndex = 0;
    let m: RegExpExecArray | null;
    let n = 0;
    while ((m = re.exec(text)) !== null) {
      const s = m[0];
      counts.set(s, (counts.get(s) ?? 0) + 1);
      if (onProgress && (++n & 0xffff) === 0 && performance.now() - last > 1000) {
        last = performance.now();
        report(onProgress, 'count', doneChars + m.index, totalChars, t0);
      }
    }
    doneChars += text.length;
  }
  if (onProgress) report(onProgress, 'count', doneChars, Math.max(totalChars, doneChars), t0);
  return counts;
}

function report(cb: NonNullable<TrainOptions['onProgress']>, phase: TrainProgress['phase'], done: number, total: number, t0: number): void {
  const elapsedS = (performance.now() - t0) / 1000;
  const rate = done / Math.max(elapsedS, 1e-9);
  cb({ phase, done, total, elapsedS, rate, etaS: total > done && rate > 0 ? (total - done) / rate : 0 });
}

// ---------------------------------------------------------------------------- merging

export function trainBpe(texts: Iterable<string>, opts: TrainOptions): TrainResult {
  checkVocabSize(opts.vocabSize);
  const arr = Array.isArray(texts) ? (texts as string[]) : [...texts];
  const total = arr.reduce((s, t) => s + t.length, 0);
  const t0 = performance.now();
  const chunks = countChunks(arr, opts.pattern, opts.onProgress, total);
  const r = mergeChunks(chunks, opts);
  return { ...r, seconds: (performance.now() - t0) / 1000 };
}

/** Learns merges over counted chunks (exposed so callers can count incrementally, file by file). */
export function mergeChunks(chunks: Map<string, number>, opts: TrainOptions): Omit<TrainResult, 'seconds'> {
  checkVocabSize(opts.vocabSize);
  const t0 = performance.now();
  const enc = new TextEncoder();

  // Words as runs in one flat symbol array; a word shrinks in place as merges apply.
  const W = chunks.size;
  const wordCount = new Int32Array(W),
    wordStart = new Int32Array(W),
    wordLen = new Int32Array(W);
  const bytesOf: Uint8Array[] = [];
  let totalBytes = 0;
  for (const s of chunks.keys()) {
    const b = enc.encode(s);
    bytesOf.push(b);
    totalBytes += b.length;
  }
  const sym = new Int32Array(totalBytes);
  {
    let w = 0,
      at = 0;
    for (const c of chunks.values()) {
      const b = bytesOf[w];
      wordCount[w] = c;
      wordStart[w] = at;
      wordLen[w] = b.length;
      sym.set(b, at);
      at += b.length;
      w++;
    }
  }
  bytesOf.length = 0;

  // Pairs: id <-> (left, right), weighted count, and the words that (may) contain them.
  const pairId = new Map<number, number>();
  const pairLeft: number[] = [],
    pairRight: number[] = [],
    pairCount: number[] = [],
    pairWords: number[][] = [];
  const pairOf = (a: number, b: number): number => {
    const key = a * 65536 + b;
    let p = pairId.get(key);
    if (p === undefined) {
      p = pairLeft.length;
      pairId.set(key, p);
      pairLeft.push(a);
      pairRight.push(b);
      pairCount.push(0);
      pairWords.push([]);
    }
    return p;
  };
  for (let w = 0; w < W; w++) {
    const s = wordStart[w],
      c = wordCount[w];
    for (let i = s; i + 1 < s + wordLen[w]; i++) {
      const p = pairOf(sym[i], sym[i + 1]);
      pairCount[p] += c;
      const ws = pairWords[p];
      if (ws[ws.length - 1] !== w) ws.push(w);
    }
  }

  // Max-heap of (pair, count at push). Order: count desc, then left asc, then right asc.
  const heapP: number[] = [],
    heapC: number[] = [];
  const above = (i: number, j: number): boolean => {
    if (heapC[i] !== heapC[j]) return heapC[i] > heapC[j];
    const pi = heapP[i],
      pj = heapP[j];
    if (pairLeft[pi] !== pairLeft[pj]) return pairLeft[pi] < pairLeft[pj];
    return pairRight[pi] < pairRight[pj];
  };
  const swap = (i: number, j: number) => {
    const p = heapP[i];
    heapP[i] = heapP[j];
    heapP[j] = p;
    const c = heapC[i];
    heapC[i] = heapC[j];
    heapC[j] = c;
  };
  const push = (p: number, c: number) => {
    heapP.push(p);
    heapC.push(c);
    let i = heapP.length - 1;
    while (i > 0) {
      const up = (i - 1) >> 1;
      if (!above(i, up)) break;
      swap(i, up);
      i = up;
    }
  };
  const pop = (): void => {
    const last = heapP.length - 1;
    swap(0, last);
    heapP.pop();
    heapC.pop();
    let i = 0;
    for (;;) {
      const l = 2 * i + 1,
        r = l + 1;
      let best = i;
      if (l < heapP.length && above(l, best)) best = l;
      if (r < heapP.length && above(r, best)) best = r;
      if (best === i) break;
      swap(i, best);
      i = best;
    }
  };
  for (let p = 0; p < pairLeft.length; p++) if (pairCount[p] > 0) push(p, pairCount[p]);

  // Vocabulary so far: the 256 bytes, then one token per merge.
  const tokens: Uint8Array[] = [];
  for (let b = 0; b < 256; b++) tokens.push(Uint8Array.of(b));
  const seen = new Set<string>(tokens.map((t) => Buffer.from(t).toString('latin1')));
  const merges: [number, number, number][] = [];
  const stamp = new Int32Array(W).fill(-1);
  const touched: number[] = [];
  const pairStamp: number[] = [];
  const want = opts.vocabSize - 256;
  let last = performance.now();

  while (merges.length < want && heapP.length > 0) {
    const p = heapP[0],
      c = heapC[0];
    pop();
    if (pairCount[p] !== c) {
      if (pairCount[p] > 0) push(p, pairCount[p]);
      continue;
    }
    const a = pairLeft[p],
      b = pairRight[p];
    const bytes = new Uint8Array(tokens[a].length + tokens[b].length);
    bytes.set(tokens[a]);
    bytes.set(tokens[b], tokens[a].length);
    const key = Buffer.from(bytes).toString('latin1');
    if (seen.has(key)) {
      pairCount[p] = 0;
      continue;
    } // see the header: bytes must stay unique
    seen.add(key);
    const id = tokens.length;
    tokens.push(bytes);
    merges.push([a, b, id]);

    touched.length = 0;
    const ws = pairWords[p];
    pairWords[p] = [];
    for (let k = 0; k < ws.length; k++) {
      const w = ws[k];
      if (stamp[w] === id) continue;
      stamp[w] = id;
      const s = wordStart[w],
        cnt = wordCount[w];
      let len = wordLen[w];
      for (let i = s; i + 1 < s + len; i++) {
        if (sym[i] !== a || sym[i + 1] !== b) continue;
        // Occurrence at i: (prev,a) and (b,next) disappear, (prev,id) and (id,next) appear.
        if (i > s) {
          pairCount[pairOf(sym[i - 1], a)] -= cnt;
          const q = pairOf(sym[i - 1], id);
          pairCount[q] += cnt;
          pairWords[q].push(w);
          touched.push(q);
        }
        if (i + 2 < s + len) {
          pairCount[pairOf(b, sym[i + 2])] -= cnt;
          const q = pairOf(id, sym[i + 2]);
          pairCount[q] += cnt;
          pairWords[q].push(w);
          touched.push(q);
        }
        pairCount[p] -= cnt;
        sym[i] = id;
        sym.copyWithin(i + 1, i + 2, s + len);
        len--;
      }
      wordLen[w] = len;
    }
    for (const q of touched) {
      if (pairStamp[q] === id || pairCount[q] <= 0) continue;
      pairStamp[q] = id;
      push(q, pairCount[q]);
    }

    if (opts.onProgress && (merges.length & 63) === 0 && performance.now() - last > 1000) {
      last = performance.now();
      report(opts.onProgress, 'merge', merges.length, want, t0);
    }
  }
  if (opts.onProgress) report(opts.onProgress, 'merge', merges.length, want, t0);

  const tokenizer = new Tokenizer(tokens, specialsAfter(tokens.length), opts.pattern ?? CL100K_PATTERN);
  return { tokenizer, merges, distinctChunks: W };
}
