// GGUF v3: the file llama.cpp loads. A writer, a header reader, the validation both share, and
// the export of a tetra GPT as llama.cpp's "llama" architecture with a "gpt2" (byte-level BPE)
// tokenizer.
//
// Layout (ggml's docs/gguf.md), all little-endian:
//   "GGUF" | u32 version=3 | u64 tensor_count | u64 kv_count
//   kv_count x (string key | u32 value_type | value)          string = u64 byte length + UTF-8
//   tensor_count x (string name | u32 n_dims | u64 ne[n_dims] | u32 ggml_type | u64 offset)
//   zero padding to general.alignment | tensor data, each tensor at offset (a multiple of the
//   alignment) from the start of the data section
// ne is ggml's dimension order: ne[0] is the fastest-varying (contiguous) one, so a row-major
// [out, in] weight is written as ne = [in, out].
//
// Why validate so hard: llama.cpp aborts the whole process (no catchable error) on some bad
// files, e.g. a missing llama.feed_forward_length or head_count, or two tokens with the same
// text. Every file we write, and every file we hand to llama.cpp, passes validateLlamaGGUF first.
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { headSize, requireParams, validateConfig, type GPTConfig } from '../config.ts';
import { decodeF16, encodeF16, writeFileAtomicWith } from './safetensors.ts';

// ---------------------------------------------------------------------------------------------
// types

const VALUE_TYPES = [
  'uint8',
  'int8',
  'uint16',
  'int16',
  'uint32',
  'int32',
  'float32',
  'bool',
  'string',
  'array',
  'uint64',
  'int64',
  'float64',
] as const;
export type GGUFValueType = (typeof VALUE_TYPES)[number];
export type GGUFScalarType = Exclude<GGUFValueType, 'array'>;
type Scalar = number | bigint | boolean | string;

export interface GGUFKV {
  key: string;
  type: GGUFValueType;
  /** Element type when type is 'array'. */
  itemType?: GGUFScalarType;
  value: Scalar | Scalar[];
}

/** ggml tensor types we write and read (F32 = 0, F16 = 1 in ggml's enum). */
export type GGMLType = 'F32' | 'F16';
const GGML_TYPE_IDS: Record<GGMLType, number> = { F32: 0, F16: 1 };
const GGML_TYPE_BYTES: Record<GGMLType, number> = { F32: 4, F16: 2 };

export interface GGUFTensorIn {
  name: string /** ggml order: ne[0] contiguous. */;
  dims: number[];
  type: GGMLType;
  data: Float32Array;
}
export interface GGUFTensorInfo {
  name: string;
  dims: number[];
  type: GGMLType /** Relative to the data section. */;
  offset: number;
  bytes: number;
}

export interface GGUFHeader {
  version: number;
  metadata: Map<string, GGUFKV>;
  tensors: GGUFTensorInfo[];
  alignment: number;
  /** Absolute file offset of the data section. */
  dataOffset: number;
  fileSize: number;
}

export const GGUF_DEFAULT_ALIGNMENT = 32;
const MAX_NAME_BYTES = 63; // GGML_MAX_NAME is 64 including the terminating NUL
const MAX_DIMS = 4;

// ---------------------------------------------------------------------------------------------
// writing

class ByteWriter {
  buf = new Uint8Array(1 << 16);
  view = new DataView(this.buf.buffer);
  len = 0;
  private ensure(n: number) {
    if (this.len + n <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.len + n) cap *= 2;
    const b = new Uint8Array(cap);
    b.set(this.buf.subarray(0, this.len));
    this.buf = b;
    this.view = new DataView(b.buffer);
  }
  u8(v: number) {
    this.ensure(1);
    this.view.setUint8(this.len, v);
    this.len += 1;
  }
  /** A fixed-size little-endian number at the end. */
  private put(n: number, set: (at: number) => void): void {
    this.ensure(n);
    set(this.len);
    this.len += n;
  }
  i8(v: number) {
    this.ensure(1);
    this.view.setInt8(this.len, v);
    this.len += 1;
  }
  u16(v: number) {
    this.put(2, (at) => this.view.setUint16(at, v, true));
  }
  i16(v: number) {
    this.put(2, (at) => this.view.setInt16(at, v, true));
  }
  u32(v: number) {
    this.put(4, (at) => this.view.setUint32(at, v, true));
  }
  i32(v: number) {
    this.put(4, (at) => this.view.setInt32(at, v, true));
  }
  f32(v: number) {
    this.put(4, (at) => this.view.setFloat32(at, v, true));
  }
  f64(v: number) {
    this.put(8, (at) => this.view.setFloat64(at, v, true));
  }
  u64(v: number | bigint) {
    this.ensure(8);
    this.view.setBigUint64(this.len, BigInt(v), true);
    this.len += 8;
  }
  i64(v: number | bigint) {
    this.ensure(8);
    this.view.setBigInt64(this.len, BigInt(v), true);
    this.len += 8;
  }
  str(s: string) {
    const b = Buffer.from(s, 'utf8');
    this.u64(b.length);
    this.ensure(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
  }
  zeros(n: number) {
    this.ensure(n);
    this.buf.fill(0, this.len, this.len + n);
    this.len += n;
  }
  bytes() {
    return this.buf.subarray(0, this.len);
  }
}

function writeScalar(w: ByteWriter, type: GGUFScalarType, v: Scalar, key: string): void {
  const num = (lo: number, hi: number) => {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < lo || v > hi)
      throw new Error(`GGUF key ${key}: ${type} value ${String(v)} is not an integer in [${lo}, ${hi}]`);
    return v;
  };
  switch (type) {
    case 'uint8':
      return w.u8(num(0, 255));
    case 'int8':
      return w.i8(num(-128, 127));
    case 'uint16':
      return w.u16(num(0, 65535));
    case 'int16':
      return w.i16(num(-32768, 32767));
    case 'uint32':
      return w.u32(num(0, 2 ** 32 - 1));
    case 'int32':
      return w.i32(num(-(2 ** 31), 2 ** 31 - 1));
    case 'uint64':
      return w.u64(typeof v === 'bigint' ? v : num(0, Number.MAX_SAFE_INTEGER));
    case 'int64':
      return w.i64(typeof v === 'bigint' ? v : num(Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER));
    case 'float32':
    case 'float64':
      if (typeof v !== 'number') throw new Error(`GGUF key ${key}: ${type} value ${String(v)} is not a number`);
      return type === 'float32' ? w.f32(v) : w.f64(v);
    case 'bool':
      if (typeof v !== 'boolean') throw new Error(`GGUF key ${key}: bool value ${String(v)} is not a boolean`);
      return w.u8(v ? 1 : 0);
    case 'string':
      if (typeof v !== 'string') throw new Error(`GGUF key ${key}: string value ${String(v)} is not a string`);
      return w.str(v);
  }
}

/** Header bytes (through the padding before the data section) and where each tensor goes. */
function encodeHeader(metadata: GGUFKV[], tensors: GGUFTensorIn[], alignment: number): { header: Uint8Array; offsets: number[] } {
  const w = new ByteWriter();
  w.u8(0x47);
  w.u8(0x47);
  w.u8(0x55);
  w.u8(0x46); // "GGUF"
  w.u32(3);
  w.u64(tensors.length);
  w.u64(metadata.length);
  for (const kv of metadata) {
    w.str(kv.key);
    w.u32(VALUE_TYPES.indexOf(kv.type));
    if (kv.type === 'array') {
      if (!kv.itemType || kv.itemType === ('array' as string) || !Array.isArray(kv.value))
        throw new Error(`GGUF key ${kv.key}: an array needs itemType and a list value`);
      w.u32(VALUE_TYPES.indexOf(kv.itemType));
      w.u64(kv.value.length);
      for (const v of kv.value) writeScalar(w, kv.itemType, v, kv.key);
    } else {
      if (Array.isArray(kv.value)) throw new Error(`GGUF key ${kv.key}: a ${kv.type} cannot hold a list`);
      writeScalar(w, kv.type, kv.value, kv.key);
    }
  }
  const offsets: number[] = [];
  let offset = 0;
  for (const t of tensors) {
    w.str(t.name);
    w.u32(t.dims.length);
    for (const d of t.dims) w.u64(d);
    w.u32(GGML_TYPE_IDS[t.type]);
    w.u64(offset);
    offsets.push(offset);
    offset += alignUp(t.data.length * GGML_TYPE_BYTES[t.type], alignment);
  }
  w.zeros(alignUp(w.len, alignment) - w.len);
  return { header: w.bytes(), offsets };
}

const alignUp = (n: number, a: number) => Math.ceil(n / a) * a;

/**
 * Writes a GGUF file atomically (temp file, fsync, rename). Tensors are streamed one at a time,
 * so a file larger than memory's spare room can be written. Validates nothing about meaning:
 * callers check with validateLlamaGGUF first (exportGGUF does).
 */
export function writeGGUF(path: string, metadata: GGUFKV[], tensors: GGUFTensorIn[], alignment = GGUF_DEFAULT_ALIGNMENT): number {
  checkStructure(
    metadata,
    tensors.map((t) => ({ name: t.name, dims: t.dims, type: t.type, n: t.data.length })),
    path,
  );
  const { header, offsets } = encodeHeader(metadata, tensors, alignment);
  let size = header.length;
  writeFileAtomicWith(path, (write) => {
    write(header);
    for (let i = 0; i < tensors.length; i++) {
      const t = tensors[i];
      const pad = header.length + offsets[i] - size;
      if (pad) {
        write(new Uint8Array(pad));
        size += pad;
      }
      const bytes =
        t.type === 'F32' ? new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength) : new Uint8Array(encodeF16(t.data).buffer);
      write(bytes);
      size += bytes.length;
    }
  });
  return size;
}

/** Structural rules of the container itself: unique keys, alignment, tensor names and dims. */
function checkStructure(metadata: GGUFKV[], tensors: { name: string; dims: number[]; type: GGMLType; n: number }[], what: string): void {
  const keys = new Set<string>();
  for (const kv of metadata) {
    if (keys.has(kv.key)) throw new Error(`${what}: GGUF key ${kv.key} given twice`);
    keys.add(kv.key);
  }
  const names = new Set<string>();
  for (const t of tensors) {
    if (names.has(t.name)) throw new Error(`${what}: tensor ${t.name} given twice`);
    names.add(t.name);
    if (Buffer.byteLength(t.name) > MAX_NAME_BYTES)
      throw new Error(`${what}: tensor name ${t.name} is longer than ggml's ${MAX_NAME_BYTES} bytes`);
    if (t.dims.length < 1 || t.dims.length > MAX_DIMS || t.dims.some((d) => !Number.isInteger(d) || d < 1))
      throw new Error(`${what}: tensor ${t.name} has dims [${t.dims}]; ggml needs 1 to ${MAX_DIMS} positive dims`);
    const n = t.dims.reduce((a, b) => a * b, 1);
    if (n !== t.n) throw new Error(`${what}: tensor ${t.name} has dims [${t.dims}] (${n} values) but ${t.n} values`);
  }
}

// ---------------------------------------------------------------------------------------------
// reading

export class GGUFError extends Error {
  constructor(source: string, what: string) {
    super(`${source}: ${what}`);
    this.name = 'GGUFError';
  }
}

class NeedMore extends Error {}

class ByteReader {
  pos = 0;
  private view: DataView;
  constructor(
    readonly buf: Uint8Array,
    readonly complete: boolean,
    readonly fail: (what: string) => never,
  ) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }
  private need(n: number, what: string) {
    if (this.pos + n <= this.buf.length) return;
    if (!this.complete) throw new NeedMore();
    this.fail(`file ends inside the header (reading ${what} at byte ${this.pos})`);
  }
  u8() {
    this.need(1, 'u8');
    return this.view.getUint8(this.pos++);
  }
  i8() {
    this.need(1, 'i8');
    return this.view.getInt8(this.pos++);
  }
  /** A fixed-size little-endian number at the cursor. */
  private fixed(n: number, what: string, get: (at: number) => number): number {
    this.need(n, what);
    const v = get(this.pos);
    this.pos += n;
    return v;
  }
  u16() {
    return this.fixed(2, 'u16', (at) => this.view.getUint16(at, true));
  }
  i16() {
    return this.fixed(2, 'i16', (at) => this.view.getInt16(at, true));
  }
  u32() {
    return this.fixed(4, 'u32', (at) => this.view.getUint32(at, true));
  }
  i32() {
    return this.fixed(4, 'i32', (at) => this.view.getInt32(at, true));
  }
  f32() {
    return this.fixed(4, 'f32', (at) => this.view.getFloat32(at, true));
  }
  f64() {
    return this.fixed(8, 'f64', (at) => this.view.getFloat64(at, true));
  }
  u64(what: string, limit: number): number {
    this.need(8, what);
    const v = this.view.getBigUint64(this.pos, true);
    this.pos += 8;
    if (v > BigInt(limit)) this.fail(`${what} is ${v}, more than ${limit} (corrupt header?)`);
    return Number(v);
  }
  u64raw(): bigint {
    this.need(8, 'u64');
    const v = this.view.getBigUint64(this.pos, true);
    this.pos += 8;
    return v;
  }
  i64(): bigint {
    this.need(8, 'i64');
    const v = this.view.getBigInt64(this.pos, true);
    this.pos += 8;
    return v;
  }
  str(what: string): string {
    const n = this.u64(`length of ${what}`, this.complete ? this.buf.length - this.pos - 8 : Number.MAX_SAFE_INTEGER);
    this.need(n, what);
    const s = Buffer.from(this.buf.buffer, this.buf.byteOffset + this.pos, n).toString('utf8');
    this.pos += n;
    return s;
  }
}

const bigToNum = (v: bigint): number | bigint =>
  v <= BigInt(Number.MAX_SAFE_INTEGER) && v >= BigInt(Number.MIN_SAFE_INTEGER) ? Number(v) : v;

function readScalar(r: ByteReader, type: GGUFScalarType, key: string): Scalar {
  switch (type) {
    case 'uint8':
      return r.u8();
    case 'int8':
      return r.i8();
    case 'uint16':
      return r.u16();
    case 'int16':
      return r.i16();
    case 'uint32':
      return r.u32();
    case 'int32':
      return r.i32();
    case 'float32':
      return r.f32();
    case 'float64':
      return r.f64();
    case 'bool':
      return r.u8() !== 0;
    case 'string':
      return r.str(`a string in ${key}`);
    case 'uint64':
      return bigToNum(r.u64raw());
    case 'int64':
      return bigToNum(r.i64());
  }
}

function parseHeader(buf: Uint8Array, complete: boolean, fileSize: number, source: string): GGUFHeader {
  const fail = (what: string): never => {
    throw new GGUFError(source, `not a valid GGUF file: ${what}`);
  };
  const r = new ByteReader(buf, complete, fail);
  const magic = [r.u8(), r.u8(), r.u8(), r.u8()];
  if (String.fromCharCode(...magic) !== 'GGUF') fail(`magic is ${JSON.stringify(String.fromCharCode(...magic))}, expected "GGUF"`);
  const version = r.u32();
  if (version !== 2 && version !== 3) fail(`version ${version} is not supported (2 and 3 are)`);
  const nTensors = r.u64('tensor count', 1 << 20);
  const nKV = r.u64('metadata count', 1 << 20);
  const metadata = new Map<string, GGUFKV>();
  for (let i = 0; i < nKV; i++) {
    const key = r.str(`key #${i}`);
    const t = r.u32();
    if (t >= VALUE_TYPES.length) fail(`key ${key} has unknown value type ${t}`);
    const type = VALUE_TYPES[t];
    let kv: GGUFKV;
    if (type === 'array') {
      const it = r.u32();
      if (it >= VALUE_TYPES.length || VALUE_TYPES[it] === 'array') fail(`key ${key} is an array of unsupported type ${it}`);
      const itemType = VALUE_TYPES[it] as GGUFScalarType;
      const n = r.u64(`length of array ${key}`, fileSize);
      const value: Scalar[] = new Array(n);
      for (let j = 0; j < n; j++) value[j] = readScalar(r, itemType, key);
      kv = { key, type, itemType, value };
    } else {
      kv = { key, type, value: readScalar(r, type, key) };
    }
    if (metadata.has(key)) fail(`key ${key} appears twice`);
    metadata.set(key, kv);
  }
  const alignKV = metadata.get('general.alignment');
  let alignment = GGUF_DEFAULT_ALIGNMENT;
  if (alignKV) {
    const a = alignKV.value;
    if (alignKV.type !== 'uint32' || typeof a !== 'number' || a < 1 || (a & (a - 1)) !== 0)
      fail(`general.alignment must be a uint32 power of two, got ${alignKV.type} ${String(a)}`);
    alignment = a as number;
  }
  const tensors: GGUFTensorInfo[] = [];
  for (let i = 0; i < nTensors; i++) {
    const name = r.str(`tensor #${i} name`);
    const nd = r.u32();
    if (nd < 1 || nd > MAX_DIMS) fail(`tensor ${name} has ${nd} dims (ggml allows 1 to ${MAX_DIMS})`);
    const dims: number[] = [];
    for (let d = 0; d < nd; d++) dims.push(r.u64(`tensor ${name} dim ${d}`, 2 ** 40));
    const typeId = r.u32();
    const type = (Object.keys(GGML_TYPE_IDS) as GGMLType[]).find((k) => GGML_TYPE_IDS[k] === typeId);
    if (!type) fail(`tensor ${name} has ggml type ${typeId}; this reader handles F32 (0) and F16 (1)`);
    const offset = r.u64(`tensor ${name} offset`, fileSize);
    if (offset % alignment) fail(`tensor ${name} offset ${offset} is not a multiple of the alignment ${alignment}`);
    tensors.push({ name, dims, type: type!, offset, bytes: dims.reduce((a, b) => a * b, 1) * GGML_TYPE_BYTES[type!] });
  }
  const dataOffset = alignUp(r.pos, alignment);
  // Tensor data must lie inside the file and not overlap.
  const sorted = [...tensors].sort((a, b) => a.offset - b.offset);
  let end = 0,
    prev = '';
  for (const t of sorted) {
    if (t.offset < end) fail(`tensor ${t.name} (offset ${t.offset}) overlaps tensor ${prev}`);
    end = t.offset + t.bytes;
    prev = t.name;
    if (dataOffset + end > fileSize)
      fail(`tensor ${t.name} ends at byte ${dataOffset + end}, past the end of the ${fileSize}-byte file (truncated?)`);
  }
  checkStructure(
    [],
    tensors.map((t) => ({ ...t, n: t.bytes / GGML_TYPE_BYTES[t.type] })),
    source,
  );
  return { version, metadata, tensors, alignment, dataOffset, fileSize };
}

/** Reads and checks a GGUF header without reading the tensor data. */
export function readGGUFHeader(path: string): GGUFHeader {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    throw new GGUFError(path, `cannot open: ${(e as Error).message}`);
  }
  try {
    const size = fstatSync(fd).size;
    for (let chunk = Math.min(size, 1 << 20); ; chunk = Math.min(size, chunk * 4)) {
      const buf = new Uint8Array(chunk);
      readSync(fd, buf, 0, chunk, 0);
      try {
        return parseHeader(buf, chunk === size, size, path);
      } catch (e) {
        if (!(e instanceof NeedMore)) throw e;
      }
    }
  } finally {
    closeSync(fd);
  }
}

/** One tensor's values as float32. */
export function readGGUFTensor(path: string, header: GGUFHeader, name: string): Float32Array {
  const t = header.tensors.find((x) => x.name === name);
  if (!t) throw new GGUFError(path, `no tensor ${name}`);
  const raw = new Uint8Array(t.bytes);
  const fd = openSync(path, 'r');
  try {
    readSync(fd, raw, 0, t.bytes, header.dataOffset + t.offset);
  } finally {
    closeSync(fd);
  }
  return t.type === 'F32' ? new Float32Array(raw.buffer) : decodeF16(new Uint16Array(raw.buffer));
}

// ---------------------------------------------------------------------------------------------
// llama architecture: validation shared by export and load

/** Rules llama.cpp applies to a "llama" GGUF, checked here so a bad file gets an error, not an abort. */
export function validateLlamaGGUF(
  metadata: Map<string, GGUFKV>,
  tensors: { name: string; dims: number[]; type: GGMLType }[],
  source: string,
): void {
  const fail = (what: string): never => {
    throw new GGUFError(source, what);
  };
  const get = (key: string, type: GGUFValueType, required: boolean): GGUFKV | undefined => {
    const kv = metadata.get(key);
    if (!kv) {
      if (required) fail(`required key ${key} is missing (llama.cpp would abort loading it)`);
      return undefined;
    }
    if (kv.type !== type) fail(`key ${key} is a ${kv.type}, llama.cpp reads it as ${type}`);
    return kv;
  };
  const u32 = (key: string, required: boolean, min = 1): number | undefined => {
    const kv = get(key, 'uint32', required);
    if (kv && (kv.value as number) < min) fail(`key ${key} is ${kv.value}, must be >= ${min}`);
    return kv?.value as number | undefined;
  };
  const arch = get('general.architecture', 'string', true)!.value;
  if (arch !== 'llama') fail(`general.architecture is ${JSON.stringify(arch)}; this exporter and check cover "llama"`);
  u32('llama.context_length', true);
  const C = u32('llama.embedding_length', true)!;
  const L = u32('llama.block_count', true)!;
  const H = u32('llama.feed_forward_length', true)!;
  const NH = u32('llama.attention.head_count', true)!;
  const NKV = u32('llama.attention.head_count_kv', false) ?? NH;
  const eps = get('llama.attention.layer_norm_rms_epsilon', 'float32', true)!.value as number;
  if (!(eps > 0)) fail(`llama.attention.layer_norm_rms_epsilon is ${eps}, must be > 0`);
  const base = get('llama.rope.freq_base', 'float32', false)?.value as number | undefined;
  if (base !== undefined && !(base > 1)) fail(`llama.rope.freq_base is ${base}, must be > 1`);
  if (C % NH) fail(`llama.attention.head_count ${NH} does not divide llama.embedding_length ${C}`);
  if (NH % NKV) fail(`llama.attention.head_count_kv ${NKV} does not divide head_count ${NH}`);
  const HS = C / NH;
  const rot = u32('llama.rope.dimension_count', false) ?? HS;
  if (rot !== HS) fail(`llama.rope.dimension_count is ${rot}; llama.cpp requires the head size ${HS} for llama`);
  get('general.file_type', 'uint32', false);

  const model = get('tokenizer.ggml.model', 'string', true)!.value;
  if (model !== 'gpt2') fail(`tokenizer.ggml.model is ${JSON.stringify(model)}; tetra exports and checks byte-level BPE ("gpt2")`);
  get('tokenizer.ggml.pre', 'string', false);
  const tokensKV = get('tokenizer.ggml.tokens', 'array', true)!;
  if (tokensKV.itemType !== 'string') fail(`tokenizer.ggml.tokens is an array of ${tokensKV.itemType}, must be strings`);
  const tokens = tokensKV.value as string[];
  if (!tokens.length) fail('tokenizer.ggml.tokens is empty');
  const seen = new Map<string, number>();
  tokens.forEach((t, i) => {
    if (t === '') fail(`tokenizer.ggml.tokens[${i}] is empty`);
    const j = seen.get(t);
    if (j !== undefined)
      fail(`tokenizer.ggml.tokens[${i}] ${JSON.stringify(t)} repeats token ${j} (llama.cpp asserts every token text is unique)`);
    seen.set(t, i);
  });
  const V = tokens.length;
  const mergesKV = get('tokenizer.ggml.merges', 'array', true)!;
  if (mergesKV.itemType !== 'string' && (mergesKV.value as Scalar[]).length)
    fail(`tokenizer.ggml.merges is an array of ${mergesKV.itemType}, must be strings`);
  (mergesKV.value as string[]).forEach((m, i) => {
    // llama.cpp splits a merge at the first space after its first byte; both halves must exist.
    const sp = m.indexOf(' ', 1);
    if (sp < 1 || sp === m.length - 1) fail(`tokenizer.ggml.merges[${i}] ${JSON.stringify(m)} is not "left right"`);
  });
  const types = metadata.get('tokenizer.ggml.token_type');
  if (types) {
    if (types.type !== 'array' || types.itemType !== 'int32') fail('tokenizer.ggml.token_type must be an array of int32');
    if ((types.value as number[]).length !== V)
      fail(`tokenizer.ggml.token_type has ${(types.value as number[]).length} entries for ${V} tokens`);
    (types.value as number[]).forEach((t, i) => {
      if (t < 0 || t > 6) fail(`tokenizer.ggml.token_type[${i}] is ${t}, not a llama token type (0-6)`);
    });
  }
  for (const k of ['bos', 'eos', 'padding', 'unknown']) {
    const id = u32(`tokenizer.ggml.${k}_token_id`, false, 0);
    if (id !== undefined && id >= V) fail(`tokenizer.ggml.${k}_token_id ${id} is not below the ${V} tokens`);
  }
  const vs = u32('llama.vocab_size', false);
  if (vs !== undefined && vs !== V) fail(`llama.vocab_size ${vs} differs from the ${V} tokens in tokenizer.ggml.tokens`);

  const byName = new Map(tensors.map((t) => [t.name, t]));
  const want = (name: string, dims: number[], required = true) => {
    const t = byName.get(name);
    if (!t) {
      if (required) fail(`tensor ${name} is missing (ggml dims [${dims}])`);
      return;
    }
    if (t.dims.length !== dims.length || t.dims.some((d, i) => d !== dims[i]))
      fail(`tensor ${name} has ggml dims [${t.dims}], expected [${dims}]`);
    if (dims.length === 1 && t.type !== 'F32') fail(`tensor ${name} is ${t.type}; norm weights must be F32`);
    byName.delete(name);
  };
  want('token_embd.weight', [C, V]);
  for (let l = 0; l < L; l++) {
    const b = `blk.${l}`;
    want(`${b}.attn_norm.weight`, [C]);
    want(`${b}.attn_q.weight`, [C, C]);
    want(`${b}.attn_k.weight`, [C, HS * NKV]);
    want(`${b}.attn_v.weight`, [C, HS * NKV]);
    want(`${b}.attn_output.weight`, [C, C]);
    want(`${b}.ffn_norm.weight`, [C]);
    want(`${b}.ffn_gate.weight`, [C, H]);
    want(`${b}.ffn_up.weight`, [C, H]);
    want(`${b}.ffn_down.weight`, [H, C]);
  }
  want('output_norm.weight', [C]);
  want('output.weight', [C, V], false); // absent: llama.cpp uses token_embd (tied)
  if (byName.size) fail(`unexpected tensors for a ${L}-layer llama: ${[...byName.keys()].slice(0, 5).join(', ')}`);
}

/** Reads a GGUF header and checks it is a llama model llama.cpp will load; the header back. */
export function inspectLlamaGGUF(path: string): GGUFHeader {
  const h = readGGUFHeader(path);
  validateLlamaGGUF(h.metadata, h.tensors, path);
  return h;
}

// ---------------------------------------------------------------------------------------------
// export of a tetra GPT

/**
 * What the exporter needs from a tokenizer (src/tokenizer provides a function that builds it):
 * token texts in gpt2's byte-to-unicode spelling, merges as "left right" in rank order.
 */
export interface GGUFTokenizer {
  tokens: string[];
  merges: string[];
  /** llama token types: 1 normal, 3 control, 4 user-defined, 6 byte; default all 1. */
  tokenTypes?: number[];
  bosId?: number;
  eosId?: number;
  padId?: number;
  /** llama.cpp pre-tokenizer name, e.g. GPT4_PRETOKENIZER. */
  pre: string;
  /** Whether llama.cpp should prepend BOS when it tokenizes text (default false). */
  addBos?: boolean;
}

/**
 * The llama.cpp pre-tokenizer for the GPT-4 (cl100k) split pattern. llama.cpp maps "dbrx" to the
 * cl100k regex (DBRX uses OpenAI's cl100k tokenizer), with no other side effects; "llama-bpe"
 * (Llama 3) applies the same regex but also turns on add_bos and ignore_merges.
 */
export const GPT4_PRETOKENIZER = 'dbrx';

export interface ExportOptions {
  tokenizer: GGUFTokenizer;
  /** F16 halves the file; norm weights stay F32 as llama.cpp's converter does. */
  dtype?: GGMLType;
  name?: string;
  alignment?: number;
  /** A Jinja chat template (tokenizer.chat_template) for runtimes that render chats from the file, e.g. node-llama-cpp. */
  chatTemplate?: string;
}

/** Maps tetra parameter names to llama.cpp tensors with ggml dims; w_gate_up is split into gate and up. */
export function llamaTensors(config: GPTConfig, params: Map<string, Float32Array>, dtype: GGMLType = 'F32'): GGUFTensorIn[] {
  const C = config.nEmbd,
    H = config.mlpHidden,
    V = config.vocabSize;
  requireParams(config, params, 'exportGGUF');
  const P = (name: string) => params.get(name)!;
  // [out, in] row-major is ggml ne = [in, out]: the same bytes, dims reversed.
  const mat = (name: string, data: Float32Array, out: number, inp: number): GGUFTensorIn => ({ name, dims: [inp, out], type: dtype, data });
  const vec = (name: string, data: Float32Array): GGUFTensorIn => ({ name, dims: [data.length], type: 'F32', data });
  const t: GGUFTensorIn[] = [mat('token_embd.weight', P('wte'), V, C)];
  for (let l = 0; l < config.nLayer; l++) {
    const p = (k: string) => P(`blocks.${l}.${k}`),
      b = `blk.${l}`;
    const gateUp = p('w_gate_up'); // [2H, C]: rows 0..H-1 gate, H..2H-1 up
    t.push(
      vec(`${b}.attn_norm.weight`, p('attn_norm')),
      mat(`${b}.attn_q.weight`, p('wq'), C, C),
      mat(`${b}.attn_k.weight`, p('wk'), C, C),
      mat(`${b}.attn_v.weight`, p('wv'), C, C),
      mat(`${b}.attn_output.weight`, p('wo'), C, C),
      vec(`${b}.ffn_norm.weight`, p('mlp_norm')),
      mat(`${b}.ffn_gate.weight`, gateUp.subarray(0, H * C), H, C),
      mat(`${b}.ffn_up.weight`, gateUp.subarray(H * C, 2 * H * C), H, C),
      mat(`${b}.ffn_down.weight`, p('w_down'), C, H),
    );
  }
  t.push(vec('output_norm.weight', P('norm_f')));
  if (!config.tiedEmbeddings) t.push(mat('output.weight', P('lm_head'), V, C));
  return t;
}

export function llamaMetadata(config: GPTConfig, opts: ExportOptions): GGUFKV[] {
  const tok = opts.tokenizer,
    dtype = opts.dtype ?? 'F32';
  const u32 = (key: string, value: number): GGUFKV => ({ key, type: 'uint32', value });
  const f32 = (key: string, value: number): GGUFKV => ({ key, type: 'float32', value });
  const str = (key: string, value: string): GGUFKV => ({ key, type: 'string', value });
  const kv: GGUFKV[] = [
    str('general.architecture', 'llama'),
    str('general.name', opts.name ?? 'tetra'),
    u32('general.alignment', opts.alignment ?? GGUF_DEFAULT_ALIGNMENT),
    u32('general.file_type', dtype === 'F32' ? 0 : 1), // llama_ftype: ALL_F32 = 0, MOSTLY_F16 = 1
    u32('llama.context_length', config.contextLength),
    u32('llama.embedding_length', config.nEmbd),
    u32('llama.block_count', config.nLayer),
    u32('llama.feed_forward_length', config.mlpHidden),
    u32('llama.attention.head_count', config.nHead),
    u32('llama.attention.head_count_kv', config.nHead),
    f32('llama.attention.layer_norm_rms_epsilon', config.normEps),
    f32('llama.rope.freq_base', config.ropeBase),
    u32('llama.rope.dimension_count', headSize(config)),
    u32('llama.vocab_size', config.vocabSize),
    str('tokenizer.ggml.model', 'gpt2'),
    str('tokenizer.ggml.pre', tok.pre),
    { key: 'tokenizer.ggml.tokens', type: 'array', itemType: 'string', value: tok.tokens },
    { key: 'tokenizer.ggml.token_type', type: 'array', itemType: 'int32', value: tok.tokenTypes ?? tok.tokens.map(() => 1) },
    { key: 'tokenizer.ggml.merges', type: 'array', itemType: 'string', value: tok.merges },
  ];
  if (tok.bosId !== undefined) kv.push(u32('tokenizer.ggml.bos_token_id', tok.bosId));
  if (tok.eosId !== undefined) kv.push(u32('tokenizer.ggml.eos_token_id', tok.eosId));
  if (tok.padId !== undefined) kv.push(u32('tokenizer.ggml.padding_token_id', tok.padId));
  kv.push({ key: 'tokenizer.ggml.add_bos_token', type: 'bool', value: tok.addBos ?? false });
  if (opts.chatTemplate !== undefined) kv.push(str('tokenizer.chat_template', opts.chatTemplate));
  return kv;
}

/** Writes a tetra GPT as a llama.cpp GGUF; everything is validated before the first byte is written. */
export function exportGGUF(
  path: string,
  config: GPTConfig,
  params: Map<string, Float32Array>,
  opts: ExportOptions,
): { bytes: number; tensors: number } {
  validateConfig(config);
  const tok = opts.tokenizer;
  if (tok.tokens.length !== config.vocabSize)
    throw new Error(`exportGGUF: the tokenizer has ${tok.tokens.length} tokens but config.vocabSize is ${config.vocabSize}`);
  if (!tok.pre) throw new Error('exportGGUF: tokenizer.pre (llama.cpp pre-tokenizer name) is required, e.g. GPT4_PRETOKENIZER');
  const alignment = opts.alignment ?? GGUF_DEFAULT_ALIGNMENT;
  if (!Number.isInteger(alignment) || alignment < 1 || alignment & (alignment - 1))
    throw new Error(`exportGGUF: alignment must be a power of two, got ${alignment}`);
  const tensors = llamaTensors(config, params, opts.dtype ?? 'F32');
  const metadata = llamaMetadata(config, opts);
  validateLlamaGGUF(new Map(metadata.map((kv) => [kv.key, kv])), tensors, path);
  const bytes = writeGGUF(path, metadata, tensors, alignment);
  return { bytes, tensors: tensors.length };
}
