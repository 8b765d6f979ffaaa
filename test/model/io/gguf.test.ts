// GGUF: the writer's bytes match a file spelled out by hand from the format description; the
// export maps every tetra parameter to the right llama.cpp tensor with reversed dims (w_gate_up
// split into gate then up, norms kept F32 in F16 files, no output.weight when tied); and files
// llama.cpp would abort on (missing feed_forward_length or head_count, duplicate token texts, wrong
// key types) are refused before writing and when inspected, as are corrupt files.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { GPTConfig } from '../../../src/model/config.ts';
import {
  exportGGUF,
  inspectLlamaGGUF,
  llamaMetadata,
  llamaTensors,
  readGGUFHeader,
  readGGUFTensor,
  validateLlamaGGUF,
  writeGGUF,
  type GGUFKV,
} from '../../../src/model/io/gguf.ts';
import { f16BitsToF32, f32ToF16Bits } from '../../../src/model/io/safetensors.ts';
import { randomParams, tinyVocab } from './llama-fixture.ts';

const dir = mkdtempSync(join(tmpdir(), 'tetra-gguf-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const config: GPTConfig = {
  vocabSize: 270,
  contextLength: 32,
  nLayer: 2,
  nEmbd: 16,
  nHead: 2,
  mlpHidden: 24,
  tiedEmbeddings: false,
  ropeBase: 500000,
  normEps: 1e-6,
};
const tokenizer = tinyVocab(config.vocabSize);
const params = randomParams(config, 3);

// little-endian encoders for the hand-built file
const u32 = (v: number) => [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, v >>> 24];
const u64 = (v: number) => [...u32(v), 0, 0, 0, 0];
const str = (s: string) => [...u64(Buffer.byteLength(s)), ...Buffer.from(s)];
const f32 = (v: number) => [...new Uint8Array(Float32Array.of(v).buffer)];

describe('gguf: container bytes', () => {
  it('writeGGUF produces the bytes the format description gives, and the reader reads them back', () => {
    const expected = Uint8Array.from([
      0x47,
      0x47,
      0x55,
      0x46,
      ...u32(3),
      ...u64(1),
      ...u64(2), // "GGUF", version, tensor count, kv count
      ...str('general.alignment'),
      ...u32(4),
      ...u32(32), // type 4 = uint32
      ...str('t.list'),
      ...u32(9),
      ...u32(5),
      ...u64(2),
      ...u32(1),
      ...u32(0xfffffffe), // array (9) of int32 (5): [1, -2]
      ...str('w'),
      ...u32(2),
      ...u64(3),
      ...u64(1),
      ...u32(0),
      ...u64(0), // 2 dims [3, 1], F32 (0), offset 0
    ]);
    const padded = [...expected, ...new Array((32 - (expected.length % 32)) % 32).fill(0), ...f32(1), ...f32(-2), ...f32(0.5)];
    const path = join(dir, 'hand.gguf');
    const meta: GGUFKV[] = [
      { key: 'general.alignment', type: 'uint32', value: 32 },
      { key: 't.list', type: 'array', itemType: 'int32', value: [1, -2] },
    ];
    const size = writeGGUF(path, meta, [{ name: 'w', dims: [3, 1], type: 'F32', data: Float32Array.of(1, -2, 0.5) }]);
    assert.equal(size, padded.length);
    assert.deepEqual([...readFileSync(path)], padded);
    const h = readGGUFHeader(path);
    assert.equal(h.version, 3);
    assert.deepEqual(h.metadata.get('t.list'), meta[1]);
    assert.deepEqual(h.tensors, [{ name: 'w', dims: [3, 1], type: 'F32', offset: 0, bytes: 12 }]);
    assert.equal(h.dataOffset % 32, 0);
    assert.deepEqual(readGGUFTensor(path, h, 'w'), Float32Array.of(1, -2, 0.5));
  });

  it('every value type survives a round trip', () => {
    const meta: GGUFKV[] = [
      { key: 'a.u8', type: 'uint8', value: 255 },
      { key: 'a.i8', type: 'int8', value: -128 },
      { key: 'a.u16', type: 'uint16', value: 65535 },
      { key: 'a.i16', type: 'int16', value: -32768 },
      { key: 'a.u32', type: 'uint32', value: 2 ** 32 - 1 },
      { key: 'a.i32', type: 'int32', value: -(2 ** 31) },
      { key: 'a.f32', type: 'float32', value: 0.5 },
      { key: 'a.f64', type: 'float64', value: Math.PI },
      { key: 'a.bool', type: 'bool', value: true },
      { key: 'a.str', type: 'string', value: 'héllo ✓' },
      { key: 'a.u64', type: 'uint64', value: 2 ** 40 },
      { key: 'a.i64', type: 'int64', value: -(2 ** 40) },
      { key: 'a.big', type: 'uint64', value: 2n ** 63n },
      { key: 'a.strs', type: 'array', itemType: 'string', value: ['', 'x y', 'Ġthe'] },
    ];
    const path = join(dir, 'types.gguf');
    writeGGUF(path, meta, []);
    const h = readGGUFHeader(path);
    for (const kv of meta) assert.deepEqual(h.metadata.get(kv.key), kv, kv.key);
    assert.throws(
      () => writeGGUF(path, [{ key: 'x', type: 'uint8', value: 256 }], []),
      /GGUF key x: uint8 value 256 is not an integer in \[0, 255\]/,
    );
  });

  it('a header larger than the first read (a 100k-token vocabulary) is read in full', () => {
    const tokens = Array.from({ length: 150_000 }, (_, i) => `tok${i}`); // ~2.5 MB of header
    const path = join(dir, 'big-header.gguf');
    writeGGUF(
      path,
      [{ key: 'tokenizer.ggml.tokens', type: 'array', itemType: 'string', value: tokens }],
      [{ name: 'x', dims: [2], type: 'F32', data: Float32Array.of(3, 4) }],
    );
    const h = readGGUFHeader(path);
    assert.deepEqual(h.metadata.get('tokenizer.ggml.tokens')!.value, tokens);
    assert.deepEqual(readGGUFTensor(path, h, 'x'), Float32Array.of(3, 4));
  });
});

describe('gguf: export of a tetra GPT', () => {
  it('F32: metadata, tensor names, reversed dims, gate/up split and alignment', () => {
    const path = join(dir, 'model-f32.gguf');
    exportGGUF(path, config, params, { tokenizer, name: 'tiny' });
    const h = inspectLlamaGGUF(path);
    const v = (k: string) => h.metadata.get(k)?.value;
    const t = (k: string) => h.metadata.get(k)?.type;
    assert.equal(v('general.architecture'), 'llama');
    assert.equal(v('general.name'), 'tiny');
    assert.equal(v('general.file_type'), 0);
    for (const [k, want] of [
      ['context_length', 32],
      ['embedding_length', 16],
      ['block_count', 2],
      ['feed_forward_length', 24],
      ['attention.head_count', 2],
      ['attention.head_count_kv', 2],
      ['rope.dimension_count', 8],
      ['vocab_size', 270],
    ] as const) {
      assert.equal(v(`llama.${k}`), want, k);
      assert.equal(t(`llama.${k}`), 'uint32', `${k} must be uint32: llama.cpp checks the type`);
    }
    assert.equal(v('llama.attention.layer_norm_rms_epsilon'), Math.fround(1e-6));
    assert.equal(v('llama.rope.freq_base'), 500000);
    assert.equal(v('tokenizer.ggml.model'), 'gpt2');
    assert.equal(v('tokenizer.ggml.pre'), 'dbrx');
    assert.deepEqual(v('tokenizer.ggml.tokens'), tokenizer.tokens);
    assert.deepEqual(v('tokenizer.ggml.merges'), tokenizer.merges);
    assert.deepEqual(v('tokenizer.ggml.token_type'), tokenizer.tokenTypes);
    assert.equal(v('tokenizer.ggml.bos_token_id'), 267);
    assert.equal(v('tokenizer.ggml.add_bos_token'), false);

    const dims = Object.fromEntries(h.tensors.map((x) => [x.name, x.dims]));
    assert.equal(h.tensors.length, 1 + 9 * 2 + 2);
    assert.deepEqual(dims['token_embd.weight'], [16, 270]);
    assert.deepEqual(dims['output.weight'], [16, 270]);
    assert.deepEqual(dims['blk.1.attn_q.weight'], [16, 16]);
    assert.deepEqual(dims['blk.1.ffn_gate.weight'], [16, 24]);
    assert.deepEqual(dims['blk.1.ffn_up.weight'], [16, 24]);
    assert.deepEqual(dims['blk.1.ffn_down.weight'], [24, 16]);
    assert.deepEqual(dims['blk.0.attn_norm.weight'], [16]);
    for (const x of h.tensors) assert.equal(x.offset % 32, 0, `${x.name} aligned`);

    const gateUp = params.get('blocks.1.w_gate_up')!;
    assert.deepEqual(readGGUFTensor(path, h, 'blk.1.ffn_gate.weight'), gateUp.slice(0, 24 * 16), 'gate = rows 0..H-1');
    assert.deepEqual(readGGUFTensor(path, h, 'blk.1.ffn_up.weight'), gateUp.slice(24 * 16), 'up = rows H..2H-1');
    assert.deepEqual(
      readGGUFTensor(path, h, 'blk.0.attn_k.weight'),
      params.get('blocks.0.wk'),
      'linear weights keep their bytes (no q/k permutation)',
    );
    assert.deepEqual(readGGUFTensor(path, h, 'output_norm.weight'), params.get('norm_f'));
    assert.deepEqual(readGGUFTensor(path, h, 'token_embd.weight'), params.get('wte'));
  });

  it('F16 with tied embeddings: matrices F16, norms F32, file_type 1, no output.weight', () => {
    const tied = { ...config, tiedEmbeddings: true };
    const p = randomParams(tied, 4);
    const path = join(dir, 'model-f16.gguf');
    exportGGUF(path, tied, p, { tokenizer, dtype: 'F16' });
    const h = inspectLlamaGGUF(path);
    assert.equal(h.metadata.get('general.file_type')!.value, 1);
    assert.ok(!h.tensors.some((x) => x.name === 'output.weight'));
    for (const x of h.tensors) assert.equal(x.type, x.dims.length === 1 ? 'F32' : 'F16', x.name);
    const wq = p.get('blocks.0.wq')!;
    assert.deepEqual(
      readGGUFTensor(path, h, 'blk.0.attn_q.weight'),
      wq.map((x) => f16BitsToF32(f32ToF16Bits(x))),
    );
    assert.deepEqual(readGGUFTensor(path, h, 'blk.0.ffn_norm.weight'), p.get('blocks.0.mlp_norm'));
  });
});

describe('gguf: files llama.cpp would abort on are refused', () => {
  const tensors = llamaTensors(config, params);
  const meta = () => new Map(llamaMetadata(config, { tokenizer }).map((kv) => [kv.key, kv]));
  const refuse = (edit: (m: Map<string, GGUFKV>) => void, pattern: RegExp, t = tensors) => {
    const m = meta();
    edit(m);
    assert.throws(() => validateLlamaGGUF(m, t, 'x.gguf'), pattern);
  };

  it('the exporter validates: a clean export passes', () => validateLlamaGGUF(meta(), tensors, 'x.gguf'));
  it('missing feed_forward_length', () =>
    refuse((m) => m.delete('llama.feed_forward_length'), /x.gguf: required key llama.feed_forward_length is missing/));
  it('missing head_count', () =>
    refuse((m) => m.delete('llama.attention.head_count'), /required key llama.attention.head_count is missing/));
  it('every other required key', () => {
    for (const k of [
      'general.architecture',
      'llama.context_length',
      'llama.embedding_length',
      'llama.block_count',
      'llama.attention.layer_norm_rms_epsilon',
      'tokenizer.ggml.model',
      'tokenizer.ggml.tokens',
      'tokenizer.ggml.merges',
    ]) {
      refuse((m) => m.delete(k), new RegExp(`required key ${k.replace(/\./g, '\\.')} is missing`));
    }
  });
  it('a key of the wrong type', () =>
    refuse(
      (m) => m.set('llama.block_count', { key: 'llama.block_count', type: 'int32', value: 2 }),
      /llama.block_count is a int32, llama.cpp reads it as uint32/,
    ));
  it('two tokens with the same text', () =>
    refuse((m) => {
      const toks = [...tokenizer.tokens];
      toks[269] = toks[5];
      m.set('tokenizer.ggml.tokens', { key: 'tokenizer.ggml.tokens', type: 'array', itemType: 'string', value: toks });
    }, /tokenizer.ggml.tokens\[269\] .* repeats token 5/));
  it('a merge that is not "left right"', () =>
    refuse(
      (m) => m.set('tokenizer.ggml.merges', { key: 'tokenizer.ggml.merges', type: 'array', itemType: 'string', value: ['ab'] }),
      /merges\[0\] "ab" is not "left right"/,
    ));
  it('a special token id past the vocabulary', () =>
    refuse(
      (m) => m.set('tokenizer.ggml.eos_token_id', { key: 'tokenizer.ggml.eos_token_id', type: 'uint32', value: 270 }),
      /eos_token_id 270 is not below the 270 tokens/,
    ));
  it('head_count that does not divide the width', () =>
    refuse(
      (m) => m.set('llama.attention.head_count', { key: 'llama.attention.head_count', type: 'uint32', value: 3 }),
      /head_count 3 does not divide llama.embedding_length 16/,
    ));
  it('a missing or misshapen tensor, an F16 norm', () => {
    refuse(
      () => {},
      /tensor blk.1.ffn_up.weight is missing \(ggml dims \[16,24\]\)/,
      tensors.filter((x) => x.name !== 'blk.1.ffn_up.weight'),
    );
    refuse(
      () => {},
      /tensor blk.0.ffn_down.weight has ggml dims \[16,24\], expected \[24,16\]/,
      tensors.map((x) => (x.name === 'blk.0.ffn_down.weight' ? { ...x, dims: [16, 24] } : x)),
    );
    refuse(
      () => {},
      /output_norm.weight is F16; norm weights must be F32/,
      tensors.map((x) => (x.name === 'output_norm.weight' ? { ...x, type: 'F16' as const } : x)),
    );
  });

  it('exportGGUF checks before writing: nothing is created for a bad tokenizer', () => {
    const path = join(dir, 'never.gguf');
    const dup = { ...tokenizer, tokens: tokenizer.tokens.map((t, i) => (i === 260 ? tokenizer.tokens[0] : t)) };
    assert.throws(() => exportGGUF(path, config, params, { tokenizer: dup }), /repeats token 0/);
    assert.throws(
      () => exportGGUF(path, config, params, { tokenizer: { ...tokenizer, tokens: tokenizer.tokens.slice(1) } }),
      /the tokenizer has 269 tokens but config.vocabSize is 270/,
    );
    const missing = new Map(params);
    missing.delete('blocks.1.w_down');
    assert.throws(() => exportGGUF(path, config, missing, { tokenizer }), /parameter blocks.1.w_down \[16,24\] is missing/);
    assert.ok(!existsSync(path));
  });

  it('inspectLlamaGGUF refuses a hand-written file without feed_forward_length (the check to run before llama.cpp)', () => {
    const path = join(dir, 'no-ffn.gguf');
    writeGGUF(
      path,
      llamaMetadata(config, { tokenizer }).filter((kv) => kv.key !== 'llama.feed_forward_length'),
      tensors,
    );
    assert.throws(() => inspectLlamaGGUF(path), /no-ffn.gguf: required key llama.feed_forward_length is missing/);
  });
});

describe('gguf: corrupt files', () => {
  const good = join(dir, 'good.gguf');
  exportGGUF(good, config, params, { tokenizer });
  const bytes = readFileSync(good);
  const bad = (name: string, b: Uint8Array, pattern: RegExp) => {
    const path = join(dir, name);
    writeFileSync(path, b);
    assert.throws(
      () => readGGUFHeader(path),
      (e: Error) => e.message.startsWith(path) && pattern.test(e.message),
    );
  };
  it('wrong magic', () => {
    const b = Uint8Array.from(bytes);
    b[0] = 0x58;
    bad('magic.gguf', b, /magic is "XGUF", expected "GGUF"/);
  });
  it('an unsupported version', () => {
    const b = Uint8Array.from(bytes);
    b[4] = 1;
    bad('v1.gguf', b, /version 1 is not supported/);
  });
  it('a file cut inside the header', () => bad('cut-header.gguf', bytes.subarray(0, 200), /file ends inside the header|past the end/));
  it('a file cut inside the tensor data', () =>
    bad(
      'cut-data.gguf',
      bytes.subarray(0, bytes.length - 100),
      /tensor output.weight ends at byte \d+, past the end of the \d+-byte file \(truncated\?\)/,
    ));
  it('an absurd string length', () => {
    const b = Uint8Array.from(bytes);
    b[24 + 7] = 0x7f;
    bad('strlen.gguf', b, /length of key #0 is \d+, more than/);
  });
  it('a missing file', () => assert.throws(() => readGGUFHeader(join(dir, 'none.gguf')), /none.gguf: cannot open/));
});
