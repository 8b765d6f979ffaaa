// Byte-level BPE encoder/decoder. Encoding: split text with the pre-tokenisation pattern, then
// turn each chunk's UTF-8 bytes into tokens by repeatedly merging the adjacent pair whose
// concatenation has the lowest rank (id), leftmost first on ties. That is tiktoken's rule, so
// with cl100k's ranks the ids equal GPT-4's.
//
// Speed, measured against js-tiktoken on the same text (bench/tokenizer.ts):
// - chunks repeat (English text is mostly the same few thousand words), so each distinct chunk's
//   tokens are cached by its string; a hit costs one Map lookup and no UTF-8 encoding;
// - a miss encodes UTF-8 into a reused buffer and asks ByteVocab for ranks straight from that
//   buffer, where js-tiktoken builds a comma-joined string per candidate pair.

import { ByteVocab } from './vocab.ts';
import { CL100K_PATTERN, splitRegex } from './pretokenize.ts';
import { utf8Into, utf8Runs } from './utf8.ts';

const NO_RANK = 0x7fffffff;
// The chunk cache is dropped when it reaches this many entries, bounding memory on text with
// endless distinct chunks (random bytes, hashes) at the cost of refilling it.
const CACHE_LIMIT = 1 << 17;
// Chunks longer than this many bytes take the heap-based merge: the plain loop rescans all parts
// per merge, which is quadratic (64 KB of emoji took 2.2 s; a long whitespace run as bad).
const LONG_PIECE = 256;

export class Tokenizer {
  readonly vocab: ByteVocab;
  readonly pattern: string;
  /** Special token text -> id. */
  readonly specials: Readonly<Record<string, number>>;
  private readonly specialText = new Map<number, Uint8Array>();
  private readonly re: RegExp;
  private cache = new Map<string, number | number[]>();
  private buf = new Uint8Array(1024);
  private pos = new Int32Array(1025);
  private ranks = new Int32Array(1025);

  constructor(tokens: readonly Uint8Array[] | ByteVocab, specials: Record<string, number>, pattern: string = CL100K_PATTERN) {
    this.vocab = tokens instanceof ByteVocab ? tokens : new ByteVocab(tokens);
    for (let b = 0; b < 256; b++) {
      if (this.vocab.lookup(Uint8Array.of(b), 0, 1) < 0)
        throw new Error(`byte ${b} has no token: a byte-level vocabulary needs all 256 single bytes`);
    }
    this.pattern = pattern;
    this.re = splitRegex(pattern);
    const enc = new TextEncoder();
    for (const [text, id] of Object.entries(specials)) {
      if (!Number.isInteger(id) || id < this.vocab.size)
        throw new Error(`special token ${text} has id ${id}: special ids must come after the ${this.vocab.size} BPE ids`);
      if (this.specialText.has(id)) throw new Error(`special tokens share id ${id}`);
      this.specialText.set(id, enc.encode(text));
    }
    this.specials = Object.freeze({ ...specials });
  }

  /** Number of BPE ids (0..vocabSize-1); specials sit above. */
  get vocabSize(): number {
    return this.vocab.size;
  }

  /** One past the largest id this tokenizer can produce (embedding table rows). */
  get idLimit(): number {
    let m = this.vocab.size;
    for (const id of Object.values(this.specials)) m = Math.max(m, id + 1);
    return m;
  }

  /** The id of a special token; throws naming the known ones when absent. */
  special(name: string): number {
    const id = this.specials[name];
    if (id === undefined) throw new Error(`no special token ${name}; this tokenizer has ${Object.keys(this.specials).join(', ')}`);
    return id;
  }

  isSpecial(id: number): boolean {
    return this.specialText.has(id);
  }

  // ---------------------------------------------------------------------------- encode

  /** Token ids of ordinary text. Special-token text is encoded as the ordinary bytes it is. */
  encode(text: string): number[] {
    const out: number[] = [];
    this.encodeInto(text, out);
    return out;
  }

  /** Appends the ids of text to out (no intermediate arrays for callers that concatenate). */
  encodeInto(text: string, out: number[]): void {
    const re = this.re,
      cache = this.cache;
    re.lastIndex = 0;
    let m: RegExpExecArray | null;
    while ((m = re.exec(text)) !== null) {
      const piece = m[0];
      const hit = cache.get(piece);
      if (hit !== undefined) {
        if (typeof hit === 'number') out.push(hit);
        else for (let i = 0; i < hit.length; i++) out.push(hit[i]);
        continue;
      }
      const ids = this.encodePiece(piece);
      if (cache.size >= CACHE_LIMIT) cache.clear();
      cache.set(piece, ids.length === 1 ? ids[0] : ids);
      for (let i = 0; i < ids.length; i++) out.push(ids[i]);
    }
  }

  /** Number of tokens in text (what the API bills). */
  count(text: string): number {
    return this.encode(text).length;
  }

  /**
   * Token ids of any byte string, including invalid UTF-8: valid runs are encoded as text; each
   * invalid run is one chunk of raw bytes for BPE, so decodeBytes gives the input back exactly.
   */
  encodeBytes(bytes: Uint8Array): number[] {
    const out: number[] = [];
    const dec = new TextDecoder('utf-8', { fatal: true });
    for (const r of utf8Runs(bytes)) {
      if (r.valid) this.encodeInto(dec.decode(bytes.subarray(r.start, r.end)), out);
      else this.bpe(bytes.subarray(r.start, r.end), r.end - r.start, out);
    }
    return out;
  }

  private encodePiece(piece: string): number[] {
    let n = utf8Into(piece, 0, piece.length, this.buf);
    if (n < 0) {
      this.buf = new Uint8Array(piece.length * 3);
      n = utf8Into(piece, 0, piece.length, this.buf);
    }
    const out: number[] = [];
    this.bpe(this.buf, n, out);
    return out;
  }

  /**
   * tiktoken's merge rule on buf[0, n): parts are delimited by pos[0..m-1]; ranks[i] is the rank of
   * parts i and i+1 joined. Merge the lowest (leftmost on ties) until no joined pair is a token.
   * Quadratic in the part count, like the reference; chunks are short (words, digit triples).
   */
  private bpe(buf: Uint8Array, n: number, out: number[]): void {
    const vocab = this.vocab;
    if (n === 1) {
      out.push(vocab.lookup(buf, 0, 1));
      return;
    }
    const whole = vocab.lookup(buf, 0, n);
    if (whole >= 0) {
      out.push(whole);
      return;
    }
    if (n > LONG_PIECE) {
      bpeLong(vocab, buf, n, out);
      return;
    }
    if (this.pos.length < n + 1) {
      this.pos = new Int32Array(n + 1);
      this.ranks = new Int32Array(n + 1);
    }
    const pos = this.pos,
      ranks = this.ranks;
    for (let i = 0; i <= n; i++) pos[i] = i;
    let m = n + 1; // boundaries
    for (let i = 0; i + 2 < m; i++) {
      const r = vocab.lookup(buf, i, i + 2);
      ranks[i] = r < 0 ? NO_RANK : r;
    }
    while (m > 2) {
      let best = NO_RANK,
        at = -1;
      for (let i = 0; i + 2 < m; i++)
        if (ranks[i] < best) {
          best = ranks[i];
          at = i;
        }
      if (at < 0) break;
      // Join parts at and at+1: drop boundary at+1, then re-rank the pairs touching the new part.
      pos.copyWithin(at + 1, at + 2, m);
      ranks.copyWithin(at + 1, at + 2, m - 1);
      m--;
      if (at + 2 < m) {
        const r = vocab.lookup(buf, pos[at], pos[at + 2]);
        ranks[at] = r < 0 ? NO_RANK : r;
      } else ranks[at] = NO_RANK;
      if (at > 0) {
        const r = vocab.lookup(buf, pos[at - 1], pos[at + 1]);
        ranks[at - 1] = r < 0 ? NO_RANK : r;
      }
    }
    for (let i = 0; i + 1 < m; i++) out.push(vocab.lookup(buf, pos[i], pos[i + 1]));
  }

  // ---------------------------------------------------------------------------- decode

  /** The exact bytes of ids; special ids give their text form. Unknown ids throw. */
  decodeBytes(ids: ArrayLike<number>): Uint8Array {
    const vocab = this.vocab;
    let total = 0;
    for (let i = 0; i < ids.length; i++) total += this.tokenBytes(ids[i]).length;
    const out = new Uint8Array(total);
    let at = 0;
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i];
      if (id >= 0 && id < vocab.size) {
        const o = vocab.offsets[id],
          e = vocab.offsets[id + 1];
        for (let k = o; k < e; k++) out[at++] = vocab.bytes[k];
      } else {
        const t = this.tokenBytes(id);
        out.set(t, at);
        at += t.length;
      }
    }
    return out;
  }

  /** Text of ids; invalid UTF-8 (possible only for ids that split a character) becomes U+FFFD. */
  decode(ids: ArrayLike<number>): string {
    return new TextDecoder().decode(this.decodeBytes(ids));
  }

  tokenBytes(id: number): Uint8Array {
    if (Number.isInteger(id) && id >= 0 && id < this.vocab.size) return this.vocab.token(id);
    const s = this.specialText.get(id);
    if (s) return s;
    throw new RangeError(
      `token id ${id} is outside this tokenizer (BPE ids 0..${this.vocab.size - 1}, specials ${[...this.specialText.keys()].join(', ')})`,
    );
  }
}

/**
 * The same merge rule in O(n log n) for long chunks: parts form a linked list by start offset; a
 * min-heap holds candidate pairs keyed by (rank, start of left part), so the lowest rank wins and
 * ties go leftmost, exactly as in the scan. A heap entry records where its right part ended; after
 * merges around it that no longer matches and the entry is skipped.
 */
function bpeLong(vocab: ByteVocab, buf: Uint8Array, n: number, out: number[]): void {
  const end = new Int32Array(n); // end[start] = end of the part starting there; -1 once merged away
  const prev = new Int32Array(n + 1);
  for (let i = 0; i < n; i++) {
    end[i] = i + 1;
    prev[i] = i - 1;
  }
  prev[n] = n - 1;
  let size = 0;
  let keys = new Float64Array(n),
    ends = new Int32Array(n);
  const less = (i: number, j: number) => keys[i] < keys[j];
  const push = (start: number, stop: number) => {
    const r = vocab.lookup(buf, start, stop);
    if (r < 0) return;
    if (size === keys.length) {
      const k2 = new Float64Array(size * 2);
      k2.set(keys);
      keys = k2;
      const e2 = new Int32Array(size * 2);
      e2.set(ends);
      ends = e2;
    }
    let i = size++;
    keys[i] = r * 4294967296 + start;
    ends[i] = stop;
    while (i > 0) {
      const up = (i - 1) >> 1;
      if (!less(i, up)) break;
      const k = keys[i];
      keys[i] = keys[up];
      keys[up] = k;
      const e = ends[i];
      ends[i] = ends[up];
      ends[up] = e;
      i = up;
    }
  };
  const popTop = () => {
    size--;
    keys[0] = keys[size];
    ends[0] = ends[size];
    let i = 0;
    for (;;) {
      const l = 2 * i + 1,
        r = l + 1;
      let m = i;
      if (l < size && less(l, m)) m = l;
      if (r < size && less(r, m)) m = r;
      if (m === i) break;
      const k = keys[i];
      keys[i] = keys[m];
      keys[m] = k;
      const e = ends[i];
      ends[i] = ends[m];
      ends[m] = e;
      i = m;
    }
  };
  for (let i = 0; i + 1 < n; i++) push(i, i + 2);
  while (size > 0) {
    const start = keys[0] % 4294967296,
      stop = ends[0];
    popTop();
    const mid = end[start];
    if (mid < 0 || mid >= n || end[mid] !== stop) continue; // stale
    end[start] = stop;
    end[mid] = -1;
    prev[stop] = start;
    if (stop < n) push(start, end[stop]);
    if (start > 0) push(prev[start], stop);
  }
  for (let i = 0; i < n; i = end[i]) out.push(vocab.lookup(buf, i, end[i]));
}
