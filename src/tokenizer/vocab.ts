// The byte vocabulary of a BPE tokenizer: token id -> byte string, and its inverse as an
// open-addressing hash over byte ranges. The inverse is what BPE asks on every candidate merge
// ("is bytes[start, end) a token, and which?"); js-tiktoken answers it by building a
// comma-joined string key per question, which is most of its encode time. Here the question is
// answered from the piece buffer directly: hash the range, probe, compare bytes.

export class ByteVocab {
  /** All token byte strings laid end to end; token i is bytes[offsets[i], offsets[i+1]). */
  readonly bytes: Uint8Array;
  readonly offsets: Int32Array;
  readonly size: number;
  private readonly slots: Int32Array; // id + 1, 0 = empty
  private readonly mask: number;

  constructor(tokens: readonly Uint8Array[]) {
    this.size = tokens.length;
    let total = 0;
    for (const t of tokens) total += t.length;
    this.bytes = new Uint8Array(total);
    this.offsets = new Int32Array(tokens.length + 1);
    let at = 0;
    for (let i = 0; i < tokens.length; i++) {
      this.offsets[i] = at;
      this.bytes.set(tokens[i], at);
      at += tokens[i].length;
    }
    this.offsets[tokens.length] = at;
    let cap = 16;
    while (cap < tokens.length * 2) cap *= 2;
    this.slots = new Int32Array(cap);
    this.mask = cap - 1;
    for (let id = 0; id < tokens.length; id++) {
      const t = tokens[id];
      if (t.length === 0) throw new Error(`token ${id} is empty: every token must have at least one byte`);
      if (this.lookup(t, 0, t.length) >= 0) throw new Error(`token ${id} repeats the bytes of token ${this.lookup(t, 0, t.length)}`);
      let h = hashRange(t, 0, t.length) & this.mask;
      while (this.slots[h] !== 0) h = (h + 1) & this.mask;
      this.slots[h] = id + 1;
    }
  }

  /** The id of the token whose bytes are buf[start, end), or -1. */
  lookup(buf: Uint8Array, start: number, end: number): number {
    const len = end - start;
    const bytes = this.bytes,
      offsets = this.offsets,
      slots = this.slots,
      mask = this.mask;
    let h = hashRange(buf, start, end) & mask;
    for (;;) {
      const s = slots[h];
      if (s === 0) return -1;
      const id = s - 1;
      const o = offsets[id];
      if (offsets[id + 1] - o === len) {
        let k = 0;
        while (k < len && bytes[o + k] === buf[start + k]) k++;
        if (k === len) return id;
      }
      h = (h + 1) & mask;
    }
  }

  token(id: number): Uint8Array {
    return this.bytes.subarray(this.offsets[id], this.offsets[id + 1]);
  }

  tokens(): Uint8Array[] {
    const out: Uint8Array[] = [];
    for (let i = 0; i < this.size; i++) out.push(this.token(i));
    return out;
  }
}

/** FNV-1a over bytes, 32-bit. */
export function hashRange(buf: Uint8Array, start: number, end: number): number {
  let h = 0x811c9dc5;
  for (let i = start; i < end; i++) h = Math.imul(h ^ buf[i], 0x01000193);
  return (h ^ (h >>> 15)) >>> 0;
}
