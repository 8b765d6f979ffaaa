import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  loadEncoder,
  ManifestError,
  ShardError,
  ShardWriter,
  readManifest,
  readShard,
  readShardHeader,
  writeManifest,
  DTYPE_UINT16,
  DTYPE_UINT32,
  SHARD_HEADER_BYTES,
  MANIFEST_VERSION,
  type Manifest,
  type ShardInfo,
} from './imports.ts';
import { tempDir } from './fixtures.ts';

function writeShards(dir: string, docs: number[][], vocabSize: number, maxTokens: number): ShardInfo[] {
  const w = new ShardWriter(dir, 'train', vocabSize, vocabSize - 1, maxTokens);
  for (const d of docs) w.writeDocument(d);
  return w.close();
}

function manifestFor(dir: string, train: ShardInfo[], vocabSize = 257): Manifest {
  const sum = (s: ShardInfo[]) => s.reduce((a, x) => a + x.tokens, 0);
  const m: Manifest = {
    version: MANIFEST_VERSION,
    name: 't',
    createdAt: '',
    tokenizer: { name: 'bytes', vocabSize, eotId: vocabSize - 1 },
    normalisation: '',
    dedup: { exact: '', near: '' },
    split: { valFraction: 0, rule: '' },
    shardMaxTokens: 0,
    sources: [],
    excludedSources: [],
    splits: { train: { documents: 0, tokens: sum(train), shards: train }, val: { documents: 0, tokens: 0, shards: [] } },
  };
  writeManifest(dir, m);
  return m;
}

describe('token shards', () => {
  it('round-trips uint16 tokens with an end-of-text after each document, split at exactly maxTokens', () => {
    const dir = tempDir();
    const shards = writeShards(
      dir,
      [
        [1, 2, 3],
        [4, 5],
        [6, 7, 8, 9],
      ],
      257,
      4,
    );
    assert.deepEqual(
      shards.map((s) => s.tokens),
      [4, 4, 4],
    );
    const all = shards.flatMap((s) => [...readShard(join(dir, s.file)).tokens]);
    assert.deepEqual(all, [1, 2, 3, 256, 4, 5, 256, 6, 7, 8, 9, 256]);
    const h = readShardHeader(join(dir, shards[0].file));
    assert.equal(h.dtype, DTYPE_UINT16);
    assert.equal(readFileSync(join(dir, shards[0].file)).length, SHARD_HEADER_BYTES + 4 * 2);
  });

  it('uses uint32 when the vocabulary exceeds 65536 and keeps ids above 65535 intact', () => {
    const dir = tempDir();
    const [s] = writeShards(dir, [[70000, 65536, 0]], 100000, 1000);
    const { header, tokens } = readShard(join(dir, s.file));
    assert.equal(header.dtype, DTYPE_UINT32);
    assert.deepEqual([...tokens], [70000, 65536, 0, 99999]);
  });

  it('writes the header fields little-endian at the documented offsets', () => {
    const dir = tempDir();
    const [s] = writeShards(dir, [[65, 66]], 257, 100);
    const b = readFileSync(join(dir, s.file));
    assert.equal(b.toString('latin1', 0, 8), 'TETRATOK');
    assert.deepEqual(
      [b.readUInt32LE(8), b.readUInt32LE(12), Number(b.readBigUInt64LE(16)), b.readUInt32LE(24), b.readUInt32LE(28)],
      [1, 1, 3, 257, 256],
    );
    assert.deepEqual([b.readUInt16LE(64), b.readUInt16LE(66), b.readUInt16LE(68)], [65, 66, 256]);
  });

  it('refuses a token id outside the vocabulary when writing', () => {
    const w = new ShardWriter(tempDir(), 'train', 257, 256, 10);
    assert.throws(() => w.writeDocument([257]), /token id 257 is outside vocabSize 257/);
  });

  it('the byte encoder gives UTF-8 bytes, with the specials (end-of-text 257) after them', async () => {
    const e = await loadEncoder('bytes');
    assert.deepEqual(Array.from(e.encode('h\u00e9<|endoftext|>')), [104, 0xc3, 0xa9, ...Buffer.from('<|endoftext|>')]);
    assert.equal(e.eotId, 257);
    assert.equal(e.vocabSize, 264);
  });
});

describe('corrupt shards give an error naming the file and the fault', () => {
  function oneShard(): string {
    const dir = tempDir();
    const [s] = writeShards(dir, [[1, 2, 3, 4, 5]], 257, 100);
    return join(dir, s.file);
  }
  const expectShardError = (f: string, re: RegExp) =>
    assert.throws(
      () => readShard(f),
      (e: unknown) => e instanceof ShardError && e.message.startsWith(f) && re.test(e.message),
    );

  it('truncated tokens', () => {
    const f = oneShard();
    truncateSync(f, SHARD_HEADER_BYTES + 3);
    expectShardError(f, /truncated: header says 6 tokens \(76 bytes\) but the file has 67 bytes/);
  });
  it('truncated header', () => {
    const f = oneShard();
    truncateSync(f, 10);
    expectShardError(f, /truncated: 10 bytes is shorter than the 64-byte header/);
  });
  it('wrong magic', () => {
    const f = oneShard();
    const b = readFileSync(f);
    b.write('NOTTOKEN', 0, 'latin1');
    writeFileSync(f, b);
    expectShardError(f, /wrong magic "NOTTOKEN"/);
  });
  it('wrong dtype', () => {
    const f = oneShard();
    const b = readFileSync(f);
    b.writeUInt32LE(7, 12);
    writeFileSync(f, b);
    expectShardError(f, /unknown dtype code 7/);
  });
  it('wrong version', () => {
    const f = oneShard();
    const b = readFileSync(f);
    b.writeUInt32LE(9, 8);
    writeFileSync(f, b);
    expectShardError(f, /unsupported version 9/);
  });
  it('a flipped token byte (checksum)', () => {
    const f = oneShard();
    const b = readFileSync(f);
    b[SHARD_HEADER_BYTES + 2] ^= 1;
    writeFileSync(f, b);
    expectShardError(f, /checksum mismatch/);
  });
  it('trailing bytes', () => {
    const f = oneShard();
    writeFileSync(f, Buffer.concat([readFileSync(f), Buffer.from([0, 0])]));
    expectShardError(f, /trailing bytes/);
  });
  it('a missing file', () => {
    expectShardError('/nonexistent/train_000000.bin', /cannot open shard \(ENOENT\)/);
  });
});

describe('manifest', () => {
  it('reads back a manifest whose shards all match', () => {
    const dir = tempDir();
    manifestFor(dir, writeShards(dir, [[1, 2], [3]], 257, 3));
    assert.equal(readManifest(dir, { verify: true }).splits.train.tokens, 5);
  });
  it('names a shard that is missing', () => {
    const dir = tempDir();
    const shards = writeShards(dir, [[1, 2], [3]], 257, 3);
    manifestFor(dir, shards);
    rmSync(join(dir, shards[1].file));
    assert.throws(
      () => readManifest(dir),
      (e: unknown) => e instanceof ManifestError && e.message.includes(join(dir, 'train_000001.bin')) && /is missing/.test(e.message),
    );
  });
  it('names a shard whose size or contents differ from the manifest', () => {
    const dir = tempDir();
    const shards = writeShards(
      dir,
      [
        [1, 2],
        [3, 4],
      ],
      257,
      3,
    );
    manifestFor(dir, shards);
    copyFileSync(join(dir, shards[0].file), join(dir, shards[1].file)); // same size, other tokens
    assert.throws(() => readManifest(dir, { verify: true }), new RegExp(`${join(dir, 'train_000001.bin')}: sha256 .* differs`));
    truncateSync(join(dir, shards[1].file), 68);
    assert.throws(() => readManifest(dir), new RegExp(`${join(dir, 'train_000001.bin')}: size 68 bytes, manifest says 70`));
  });
  it('says how to make a manifest when there is none', () => {
    const dir = tempDir();
    assert.throws(() => readManifest(dir), /no manifest \(build the corpus with `tetra data build/);
  });
});
