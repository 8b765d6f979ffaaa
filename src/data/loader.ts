// Streams (B, T) training batches from a corpus directory's shards.
//
// The token stream of each shard is cut into windows of T+1 tokens starting every T tokens
// (inputs = window[0..T), targets = window[1..T]). All windows of the split are visited once
// per epoch in an order shuffled from (seed, epoch); B consecutive windows of that order make a
// batch, and a last partial batch of an epoch is skipped. The position {epoch, cursor} (cursor
// = windows already consumed in this epoch) is all the state: a loader built with the same
// corpus, split, B, T and seed and given a saved position yields exactly the batches an
// uninterrupted run would have.
import { closeSync, openSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { mulberry32 } from '../tensor/index.ts';
import { readManifest } from './manifest.ts';
import { bytesPerToken, readShardHeader, SHARD_HEADER_BYTES, ShardError } from './shard.ts';

export interface LoaderPosition {
  epoch: number;
  cursor: number;
}
export interface Batch {
  inputs: Int32Array;
  targets: Int32Array;
  B: number;
  T: number;
  position: LoaderPosition;
}

export interface LoaderOptions {
  dir: string;
  split: 'train' | 'val';
  B: number;
  T: number;
  seed: number;
  position?: LoaderPosition;
  /** Check every shard's sha256 against the manifest on open (reads all shards once). */
  verify?: boolean;
}

export class ShardLoader {
  readonly B: number;
  readonly T: number;
  readonly windows: number;
  private readonly files: { path: string; fd: number; width: number; windows: number; first: number }[] = [];
  private order: Uint32Array = new Uint32Array(0);
  private orderEpoch = -1;
  private pos: LoaderPosition;
  private readonly buf: Buffer;

  constructor(private readonly o: LoaderOptions) {
    for (const [k, v] of [
      ['B', o.B],
      ['T', o.T],
    ] as const)
      if (!(Number.isInteger(v) && v >= 1)) throw new RangeError(`loader: ${k} must be a positive integer, got ${v}`);
    this.B = o.B;
    this.T = o.T;
    const m = readManifest(o.dir, { verify: o.verify });
    let first = 0;
    for (const s of m.splits[o.split].shards) {
      const path = join(o.dir, s.file);
      const h = readShardHeader(path);
      const windows = h.tokenCount > o.T ? Math.floor((h.tokenCount - 1) / o.T) : 0;
      this.files.push({ path, fd: openSync(path, 'r'), width: bytesPerToken(h.dtype), windows, first });
      first += windows;
    }
    this.windows = first;
    if (this.windows < this.B)
      throw new RangeError(
        `loader: ${o.split} split of ${o.dir} has ${this.windows} windows of T+1=${o.T + 1} tokens, fewer than B=${o.B}`,
      );
    this.pos = { ...(o.position ?? { epoch: 0, cursor: 0 }) };
    if (
      !(
        Number.isInteger(this.pos.epoch) &&
        this.pos.epoch >= 0 &&
        Number.isInteger(this.pos.cursor) &&
        this.pos.cursor >= 0 &&
        this.pos.cursor <= this.windows
      )
    ) {
      throw new RangeError(`loader: position ${JSON.stringify(this.pos)} is invalid (cursor must be an integer in [0, ${this.windows}])`);
    }
    this.buf = Buffer.alloc((o.T + 1) * 4);
  }

  /** Where the next batch starts; save it with a checkpoint and pass it back as `position`. */
  get position(): LoaderPosition {
    return { ...this.pos };
  }
  get batchesPerEpoch(): number {
    return Math.floor(this.windows / this.B);
  }

  next(): Batch {
    if (this.pos.cursor + this.B > this.windows) this.pos = { epoch: this.pos.epoch + 1, cursor: 0 };
    const order = this.epochOrder(this.pos.epoch);
    const { B, T } = this;
    const inputs = new Int32Array(B * T);
    const targets = new Int32Array(B * T);
    for (let b = 0; b < B; b++) {
      const w = this.readWindow(order[this.pos.cursor + b]);
      inputs.set(w.subarray(0, T), b * T);
      targets.set(w.subarray(1, T + 1), b * T);
    }
    this.pos = { epoch: this.pos.epoch, cursor: this.pos.cursor + B };
    return { inputs, targets, B, T, position: this.position };
  }

  close(): void {
    for (const f of this.files) closeSync(f.fd);
    this.files.length = 0;
  }

  private epochOrder(epoch: number): Uint32Array {
    if (this.orderEpoch !== epoch) {
      const order = Uint32Array.from({ length: this.windows }, (_, i) => i);
      const r = mulberry32((this.o.seed >>> 0) ^ Math.imul(epoch + 1, 0x9e3779b1));
      for (let i = order.length - 1; i > 0; i--) {
        const j = Math.floor(r() * (i + 1));
        const t = order[i];
        order[i] = order[j];
        order[j] = t;
      }
      this.order = order;
      this.orderEpoch = epoch;
    }
    return this.order;
  }

  private readWindow(w: number): Int32Array {
    // binary search for the shard holding window w
    let lo = 0,
      hi = this.files.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.files[mid].first <= w) lo = mid;
      else hi = mid - 1;
    }
    const f = this.files[lo];
    const n = (this.T + 1) * f.width;
    const got = readSync(f.fd, this.buf, 0, n, SHARD_HEADER_BYTES + (w - f.first) * this.T * f.width);
    if (got !== n)
      throw new ShardError(
        f.path,
        `short read: wanted ${n} bytes for window ${w - f.first}, got ${got} (file changed since it was opened?)`,
      );
    const out = new Int32Array(this.T + 1);
    for (let i = 0; i <= this.T; i++) out[i] = f.width === 2 ? this.buf.readUInt16LE(i * 2) : this.buf.readUInt32LE(i * 4);
    return out;
  }
}
