// Token shards: one binary file per at most `maxTokens` tokens, documents concatenated with the
// encoder's end-of-text id after each (a document may continue in the next shard).
//
// Layout, little-endian, a 64-byte header then the tokens:
//   offset size  field
//        0    8  magic "TETRATOK"
//        8    4  version (1)
//       12    4  dtype: 1 = uint16, 2 = uint32 (uint16 when vocabSize <= 65536)
//       16    8  token count N (uint64)
//       24    4  vocabSize
//       28    4  eotId
//       32   32  sha256 of the token bytes (offset 64 .. end)
//       64  N*w  tokens
import { closeSync, fstatSync, openSync, readSync, renameSync, writeSync } from 'node:fs';
import { basename } from 'node:path';
import { createHash, type Hash } from 'node:crypto';

export const SHARD_MAGIC = 'TETRATOK';
export const SHARD_VERSION = 1;
export const SHARD_HEADER_BYTES = 64;
export const DTYPE_UINT16 = 1;
export const DTYPE_UINT32 = 2;

export class ShardError extends Error {
  constructor(
    readonly file: string,
    what: string,
  ) {
    super(`${file}: ${what}`);
  }
}

export interface ShardHeader {
  version: number;
  dtype: typeof DTYPE_UINT16 | typeof DTYPE_UINT32;
  tokenCount: number;
  vocabSize: number;
  eotId: number;
  sha256: string;
}

export function dtypeFor(vocabSize: number): typeof DTYPE_UINT16 | typeof DTYPE_UINT32 {
  return vocabSize <= 65536 ? DTYPE_UINT16 : DTYPE_UINT32;
}
export const bytesPerToken = (dtype: number): number => (dtype === DTYPE_UINT16 ? 2 : 4);

function encodeHeader(h: ShardHeader): Buffer {
  const b = Buffer.alloc(SHARD_HEADER_BYTES);
  b.write(SHARD_MAGIC, 0, 'latin1');
  b.writeUInt32LE(h.version, 8);
  b.writeUInt32LE(h.dtype, 12);
  b.writeBigUInt64LE(BigInt(h.tokenCount), 16);
  b.writeUInt32LE(h.vocabSize, 24);
  b.writeUInt32LE(h.eotId, 28);
  Buffer.from(h.sha256, 'hex').copy(b, 32);
  return b;
}

/** Reads and validates the header and the file size; does not read the tokens. */
export function readShardHeader(file: string): ShardHeader {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (e) {
    throw new ShardError(file, `cannot open shard (${(e as NodeJS.ErrnoException).code ?? e})`);
  }
  try {
    const size = fstatSync(fd).size;
    if (size < SHARD_HEADER_BYTES)
      throw new ShardError(file, `truncated: ${size} bytes is shorter than the ${SHARD_HEADER_BYTES}-byte header`);
    const b = Buffer.alloc(SHARD_HEADER_BYTES);
    readSync(fd, b, 0, SHARD_HEADER_BYTES, 0);
    const magic = b.toString('latin1', 0, 8);
    if (magic !== SHARD_MAGIC)
      throw new ShardError(file, `wrong magic ${JSON.stringify(magic)}, expected "${SHARD_MAGIC}" (not a tetra token shard)`);
    const version = b.readUInt32LE(8);
    if (version !== SHARD_VERSION) throw new ShardError(file, `unsupported version ${version}, this build reads version ${SHARD_VERSION}`);
    const dtype = b.readUInt32LE(12);
    if (dtype !== DTYPE_UINT16 && dtype !== DTYPE_UINT32)
      throw new ShardError(file, `unknown dtype code ${dtype}, expected ${DTYPE_UINT16} (uint16) or ${DTYPE_UINT32} (uint32)`);
    const count = b.readBigUInt64LE(16);
    const vocabSize = b.readUInt32LE(24);
    const eotId = b.readUInt32LE(28);
    if (dtype === DTYPE_UINT16 && vocabSize > 65536)
      throw new ShardError(file, `dtype uint16 cannot hold vocabSize ${vocabSize} (limit 65536)`);
    if (eotId >= vocabSize) throw new ShardError(file, `eotId ${eotId} is outside vocabSize ${vocabSize}`);
    const expected = BigInt(SHARD_HEADER_BYTES) + count * BigInt(bytesPerToken(dtype));
    if (BigInt(size) !== expected) {
      throw new ShardError(
        file,
        `${BigInt(size) < expected ? 'truncated' : 'trailing bytes'}: header says ${count} tokens (${expected} bytes) but the file ` +
          `has ${size} bytes`,
      );
    }
    return { version, dtype, tokenCount: Number(count), vocabSize, eotId, sha256: b.toString('hex', 32, 64) };
  } finally {
    closeSync(fd);
  }
}

/** Reads a whole shard, checking the payload checksum and that every id is < vocabSize. */
export function readShard(file: string): { header: ShardHeader; tokens: Uint16Array | Uint32Array } {
  const header = readShardHeader(file);
  const w = bytesPerToken(header.dtype);
  const buf = Buffer.alloc(header.tokenCount * w);
  const fd = openSync(file, 'r');
  try {
    readSync(fd, buf, 0, buf.length, SHARD_HEADER_BYTES);
  } finally {
    closeSync(fd);
  }
  const sum = createHash('sha256').update(buf).digest('hex');
  if (sum !== header.sha256)
    throw new ShardError(
      file,
      `checksum mismatch: tokens hash to ${sum.slice(0, 16)}..., header says ${header.sha256.slice(0, 16)}... (corrupt file)`,
    );
  const ab = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.length);
  const tokens = w === 2 ? new Uint16Array(ab) : new Uint32Array(ab);
  for (let i = 0; i < tokens.length; i++) {
    if (tokens[i] >= header.vocabSize) throw new ShardError(file, `token ${i} has id ${tokens[i]}, outside vocabSize ${header.vocabSize}`);
  }
  return { header, tokens };
}

export interface ShardInfo {
  file: string; // basename, relative to the manifest
  tokens: number;
  bytes: number;
  sha256: string; // of the whole file
}

/**
 * Streams token ids into shards named `${prefix}_000000.bin`, ... in `dir`, each with exactly
 * maxTokens tokens except the last. Files are written under a .tmp name and renamed when
 * complete, so a crash never leaves a file that looks finished.
 */
export class ShardWriter {
  readonly shards: ShardInfo[] = [];
  private readonly dtype: typeof DTYPE_UINT16 | typeof DTYPE_UINT32;
  private readonly buf: Uint16Array | Uint32Array;
  private fill = 0;
  private fd = -1;
  private path = '';
  private written = 0;
  private payloadHash: Hash | null = null;

  constructor(
    readonly dir: string,
    readonly prefix: string,
    readonly vocabSize: number,
    readonly eotId: number,
    readonly maxTokens: number,
  ) {
    if (!(Number.isInteger(maxTokens) && maxTokens >= 1)) throw new RangeError(`maxTokens must be a positive integer, got ${maxTokens}`);
    this.dtype = dtypeFor(vocabSize);
    const chunk = Math.min(maxTokens, 1 << 20);
    this.buf = this.dtype === DTYPE_UINT16 ? new Uint16Array(chunk) : new Uint32Array(chunk);
  }

  /** Appends a document's ids followed by the end-of-text id. */
  writeDocument(ids: ArrayLike<number>): void {
    for (let i = 0; i < ids.length; i++) this.push(ids[i]);
    this.push(this.eotId);
  }

  get tokenCount(): number {
    return this.shards.reduce((s, x) => s + x.tokens, 0) + this.written + this.fill;
  }

  private push(id: number): void {
    if (!(id >= 0 && id < this.vocabSize && Number.isInteger(id)))
      throw new RangeError(`token id ${id} is outside vocabSize ${this.vocabSize}`);
    if (this.fd < 0) this.open();
    this.buf[this.fill++] = id;
    if (this.fill === this.buf.length || this.written + this.fill === this.maxTokens) this.flush();
    if (this.written === this.maxTokens) this.closeShard();
  }

  private open(): void {
    this.path = `${this.dir}/${this.prefix}_${String(this.shards.length).padStart(6, '0')}.bin`;
    this.fd = openSync(`${this.path}.tmp`, 'w');
    writeSync(this.fd, Buffer.alloc(SHARD_HEADER_BYTES)); // placeholder until the count is known
    this.written = 0;
    this.payloadHash = createHash('sha256');
  }

  private flush(): void {
    if (!this.fill) return;
    const bytes = Buffer.from(this.buf.buffer, 0, this.fill * this.buf.BYTES_PER_ELEMENT);
    writeSync(this.fd, bytes);
    this.payloadHash!.update(bytes);
    this.written += this.fill;
    this.fill = 0;
  }

  private closeShard(): void {
    this.flush();
    const header = encodeHeader({
      version: SHARD_VERSION,
      dtype: this.dtype,
      tokenCount: this.written,
      vocabSize: this.vocabSize,
      eotId: this.eotId,
      sha256: this.payloadHash!.digest('hex'),
    });
    writeSync(this.fd, header, 0, header.length, 0);
    closeSync(this.fd);
    this.fd = -1;
    renameSync(`${this.path}.tmp`, this.path);
    const bytes = SHARD_HEADER_BYTES + this.written * bytesPerToken(this.dtype);
    this.shards.push({ file: basename(this.path), tokens: this.written, bytes, sha256: fileSha256(this.path) });
    this.written = 0;
  }

  /** Finishes the last shard. */
  close(): ShardInfo[] {
    if (this.fd >= 0) this.closeShard();
    return this.shards;
  }
}

export function fileSha256(file: string): string {
  const h = createHash('sha256');
  const fd = openSync(file, 'r');
  const b = Buffer.alloc(1 << 22);
  try {
    for (let n: number; (n = readSync(fd, b, 0, b.length, null)) > 0; ) h.update(b.subarray(0, n));
  } finally {
    closeSync(fd);
  }
  return h.digest('hex');
}
