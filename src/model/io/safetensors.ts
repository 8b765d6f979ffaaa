// safetensors: the file format of model weights and optimizer state.
//
// Layout (https://github.com/huggingface/safetensors, "Format"):
//   u64 little-endian N | N bytes of UTF-8 JSON header | data section
// The header maps each tensor name to {dtype, shape, data_offsets: [begin, end]} with offsets
// relative to the start of the data section, plus an optional "__metadata__" string->string map.
// The data section holds every tensor's little-endian bytes back to back, with no holes.
//
// We write tensors in the order given (callers pass paramShapes order, so the same weights always
// give the same bytes), __metadata__ first, compact JSON, and pad the header with spaces so the
// data section starts 8-byte aligned. Values are held as Float32Array in memory; F16 is written
// with round-to-nearest-even and BF16 can be read (other frameworks' checkpoints).
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { dirname, basename, join } from 'node:path';
import { endianness } from 'node:os';

export type SafetensorsDType = 'F32' | 'F16' | 'BF16';

const DTYPE_BYTES: Record<SafetensorsDType, number> = { F32: 4, F16: 2, BF16: 2 };
// dtypes the format defines that we recognise but do not load (a clearer error than "unknown").
const OTHER_DTYPES = new Set(['BOOL', 'U8', 'I8', 'F8_E5M2', 'F8_E4M3', 'I16', 'U16', 'I32', 'U32', 'F64', 'I64', 'U64']);

export interface TensorIn {
  shape: readonly number[];
  data: Float32Array;
  /** Storage type in the file; defaults to the writer's dtype option. */
  dtype?: SafetensorsDType;
}

export interface TensorOut {
  shape: number[];
  /** dtype the tensor had in the file; data is always widened to float32. */
  dtype: SafetensorsDType;
  data: Float32Array;
}

export interface SafetensorsFile {
  tensors: Map<string, TensorOut>;
  metadata: Record<string, string>;
}

export interface WriteOptions {
  dtype?: 'F32' | 'F16';
  metadata?: Record<string, string>;
}

if (endianness() !== 'LE') throw new Error('tetra safetensors I/O assumes a little-endian host');

const numel = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

// ---------------------------------------------------------------------------------------------
// half-precision conversion

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** float32 -> IEEE binary16 bits, round to nearest, ties to even (what numpy and torch do). */
export function f32ToF16Bits(v: number): number {
  f32[0] = v;
  const x = u32[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 | (mant >>> 13) : 0); // NaN stays NaN (quiet), inf stays inf
  const e = exp - 127 + 15; // rebias
  if (e >= 0x1f) return sign | 0x7c00; // too large: inf
  if (e <= 0) {
    // f16 subnormal: value = h * 2^-24. With the implicit bit, mant is a 24-bit integer m and
    // value = m * 2^(exp-150), so h = m >> (14 - e) before rounding.
    if (e < -10) return sign; // below half the smallest subnormal: rounds to zero
    mant |= 0x800000;
    const shift = 14 - e;
    let h = mant >>> shift;
    const rem = mant & ((1 << shift) - 1),
      half = 1 << (shift - 1);
    if (rem > half || (rem === half && h & 1)) h++; // a carry into bit 10 gives the smallest normal: correct
    return sign | h;
  }
  let h = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && h & 1)) h++; // a carry may ripple into the exponent, up to inf: correct
  return sign | h;
}

let f16Table: Float32Array | null = null;
/** All 65536 half values as float32, built on first use (256 KiB). */
function f16ToF32Table(): Float32Array {
  if (f16Table) return f16Table;
  const t = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const s = h & 0x8000 ? -1 : 1,
      e = (h >>> 10) & 0x1f,
      m = h & 0x3ff;
    t[h] = e === 0 ? s * m * 2 ** -24 : e === 31 ? (m ? NaN : s * Infinity) : s * (1 + m / 1024) * 2 ** (e - 15);
  }
  return (f16Table = t);
}
export function f16BitsToF32(h: number): number {
  return f16ToF32Table()[h & 0xffff];
}

export function encodeF16(src: Float32Array): Uint16Array {
  const out = new Uint16Array(src.length);
  for (let i = 0; i < src.length; i++) out[i] = f32ToF16Bits(src[i]);
  return out;
}
export function decodeF16(src: Uint16Array): Float32Array {
  const t = f16ToF32Table(),
    out = new Float32Array(src.length);
  for (let i = 0; i < src.length; i++) out[i] = t[src[i]];
  return out;
}
function decodeBF16(src: Uint16Array): Float32Array {
  const out = new Float32Array(src.length),
    bits = new Uint32Array(out.buffer);
  for (let i = 0; i < src.length; i++) bits[i] = src[i] << 16;
  return out;
}

// ---------------------------------------------------------------------------------------------
// writing

/** The whole file as bytes. Tensors are stored in iteration order. */
export function encodeSafetensors(tensors: Iterable<[string, TensorIn]>, opts: WriteOptions = {}): Uint8Array {
  // The JSON is assembled by hand: an object literal would move integer-like names ("0", "1") to
  // the front and break the promise that the header lists tensors in the order given.
  const fields: string[] = [];
  if (opts.metadata) {
    for (const [k, v] of Object.entries(opts.metadata)) {
      if (typeof v !== 'string') throw new Error(`safetensors metadata "${k}" must be a string, got ${typeof v}`);
    }
    fields.push(`"__metadata__":${JSON.stringify(opts.metadata)}`);
  }
  const seen = new Set<string>();
  const parts: Uint8Array[] = [];
  let offset = 0;
  for (const [name, t] of tensors) {
    if (name === '__metadata__') throw new Error('safetensors: "__metadata__" is reserved and cannot name a tensor');
    if (seen.has(name)) throw new Error(`safetensors: tensor "${name}" given twice`);
    seen.add(name);
    for (const d of t.shape)
      if (!Number.isInteger(d) || d < 0) throw new Error(`safetensors: tensor "${name}" has a bad shape [${t.shape}]`);
    const n = numel(t.shape);
    if (t.data.length !== n)
      throw new Error(`safetensors: tensor "${name}" has shape [${t.shape}] (${n} values) but ${t.data.length} values`);
    const dtype = t.dtype ?? opts.dtype ?? 'F32';
    let bytes: Uint8Array;
    if (dtype === 'F32') bytes = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    else if (dtype === 'F16') bytes = new Uint8Array(encodeF16(t.data).buffer);
    else throw new Error(`safetensors: cannot write dtype ${dtype} (tensor "${name}"); write F32 or F16`);
    fields.push(`${JSON.stringify(name)}:${JSON.stringify({ dtype, shape: [...t.shape], data_offsets: [offset, offset + bytes.length] })}`);
    parts.push(bytes);
    offset += bytes.length;
  }
  let json = `{${fields.join(',')}}`;
  const jsonLen = Buffer.byteLength(json, 'utf8');
  json += ' '.repeat((8 - ((8 + jsonLen) % 8)) % 8);
  const headerBytes = Buffer.from(json, 'utf8');
  const out = new Uint8Array(8 + headerBytes.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  let at = 8 + headerBytes.length;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** A fresh hidden name beside `path` (`.NAME.tmp-…`): written, then renamed over it; or `tag` 'old' for moving it aside. */
export const tempSibling = (path: string, tag = 'tmp'): string =>
  join(dirname(path), `.${basename(path)}.${tag}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`);

/**
 * Writes a file so that a reader sees either the old file or the new one, never a torn one:
 * `fill` writes a sibling temp file through `write` (a part at a time, so a file larger than
 * memory's spare room can be written), then it is fsynced and renamed over the target.
 */
export function writeFileAtomicWith(path: string, fill: (write: (bytes: Uint8Array) => void) => void): void {
  const tmp = tempSibling(path);
  try {
    const fd = openSync(tmp, 'w');
    try {
      fill((buf) => {
        let off = 0;
        while (off < buf.length) off += writeSync(fd, buf, off, Math.min(buf.length - off, 1 << 28));
      });
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}

/** writeFileAtomicWith for bytes (or text, as UTF-8) already in memory. */
export function writeFileAtomic(path: string, bytes: Uint8Array | string): void {
  writeFileAtomicWith(path, (write) => write(typeof bytes === 'string' ? Buffer.from(bytes, 'utf8') : bytes));
}

export function writeSafetensors(path: string, tensors: Iterable<[string, TensorIn]>, opts: WriteOptions = {}): void {
  writeFileAtomic(path, encodeSafetensors(tensors, opts));
}

// ---------------------------------------------------------------------------------------------
// reading

export class SafetensorsError extends Error {
  constructor(source: string, what: string) {
    super(`${source}: not a valid safetensors file: ${what}`);
    this.name = 'SafetensorsError';
  }
}

/** Parses and validates a whole file held in memory; source names it in errors. */
export function decodeSafetensors(bytes: Uint8Array, source = '<buffer>'): SafetensorsFile {
  const fail = (what: string): never => {
    throw new SafetensorsError(source, what);
  };
  if (bytes.length < 8) fail(`${bytes.length} bytes is too short for the 8-byte header length`);
  const n64 = new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true);
  if (n64 > BigInt(bytes.length - 8))
    fail(`header length ${n64} is larger than the ${bytes.length - 8} bytes after it (truncated or not safetensors)`);
  const n = Number(n64);
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + n)));
  } catch (e) {
    fail(`header is not JSON (${(e as Error).message})`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) fail('header is not a JSON object');
  const h = header as Record<string, unknown>;
  const data = bytes.subarray(8 + n);

  const metadata: Record<string, string> = {};
  if ('__metadata__' in h) {
    const m = h.__metadata__;
    if (typeof m !== 'object' || m === null || Array.isArray(m)) fail('__metadata__ is not an object');
    for (const [k, v] of Object.entries(m as object)) {
      if (typeof v !== 'string') fail(`__metadata__["${k}"] is a ${typeof v}, must be a string`);
      metadata[k] = v as string;
    }
  }

  const entries: { name: string; dtype: SafetensorsDType; shape: number[]; begin: number; end: number }[] = [];
  for (const [name, e] of Object.entries(h)) {
    if (name === '__metadata__') continue;
    if (typeof e !== 'object' || e === null) fail(`tensor "${name}": entry is not an object`);
    const { dtype, shape, data_offsets: off } = e as Record<string, unknown>;
    if (typeof dtype !== 'string') fail(`tensor "${name}": dtype missing`);
    if (!((dtype as string) in DTYPE_BYTES)) {
      fail(
        OTHER_DTYPES.has(dtype as string)
          ? `tensor "${name}": dtype ${dtype} is not supported (F32, F16, BF16 are)`
          : `tensor "${name}": unknown dtype "${dtype}"`,
      );
    }
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0))
      fail(`tensor "${name}": shape ${JSON.stringify(shape)} is not a list of non-negative integers`);
    if (!Array.isArray(off) || off.length !== 2 || !off.every((d) => Number.isSafeInteger(d) && d >= 0))
      fail(`tensor "${name}": data_offsets ${JSON.stringify(off)} is not [begin, end]`);
    const [begin, end] = off as number[];
    if (begin > end) fail(`tensor "${name}": data_offsets [${begin}, ${end}] has begin after end`);
    if (end > data.length)
      fail(`tensor "${name}": data_offsets [${begin}, ${end}] runs past the ${data.length}-byte data section (truncated file?)`);
    const want = numel(shape as number[]) * DTYPE_BYTES[dtype as SafetensorsDType];
    if (end - begin !== want)
      fail(`tensor "${name}": data_offsets [${begin}, ${end}] hold ${end - begin} bytes but ${dtype} [${shape}] needs ${want}`);
    entries.push({ name, dtype: dtype as SafetensorsDType, shape: shape as number[], begin, end });
  }

  // The format requires the data section to be covered exactly: no overlaps, no holes.
  const byOffset = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let cursor = 0,
    prev = '';
  for (const e of byOffset) {
    if (e.begin < cursor)
      fail(`tensor "${e.name}": data_offsets [${e.begin}, ${e.end}] overlap tensor "${prev}" (which ends at ${cursor})`);
    if (e.begin > cursor) fail(`bytes [${cursor}, ${e.begin}) of the data section belong to no tensor (before "${e.name}")`);
    cursor = e.end;
    prev = e.name;
  }
  if (cursor !== data.length) fail(`the data section has ${data.length} bytes but the tensors cover ${cursor}`);

  const tensors = new Map<string, TensorOut>();
  for (const e of byOffset) {
    // file order, which is the order the writer was given
    // Copy: the bytes may be unaligned for a typed-array view, and the caller owns the result.
    // (Not data.slice: on a Buffer that returns a view, not a copy.)
    const raw = new Uint8Array(e.end - e.begin);
    raw.set(data.subarray(e.begin, e.end));
    const out =
      e.dtype === 'F32'
        ? new Float32Array(raw.buffer, 0, raw.length / 4)
        : e.dtype === 'F16'
          ? decodeF16(new Uint16Array(raw.buffer, 0, raw.length / 2))
          : decodeBF16(new Uint16Array(raw.buffer, 0, raw.length / 2));
    tensors.set(e.name, { shape: e.shape, dtype: e.dtype, data: out });
  }
  return { tensors, metadata };
}

export function readSafetensors(path: string): SafetensorsFile {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    throw new Error(`cannot read safetensors file ${path}: ${(e as Error).message}`);
  }
  return decodeSafetensors(bytes, path);
}
