// safetensors: a file built byte by byte from the format description (not by our writer) is read
// correctly, our writer produces exactly those bytes, round trips keep values, and every kind of
// corruption is refused with an error that names the file and the problem.
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import {
  decodeSafetensors,
  encodeSafetensors,
  f16BitsToF32,
  f32ToF16Bits,
  readSafetensors,
  writeSafetensors,
} from '../../../src/model/io/safetensors.ts';
import { randn32, rng } from '../../helpers.ts';

const dir = mkdtempSync(join(tmpdir(), 'tetra-st-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** u64 LE header length, the header text, then data bytes: the format, spelled out. */
function handFile(header: string, data: number[]): Uint8Array {
  const h = Buffer.from(header, 'utf8');
  const len = [h.length & 0xff, (h.length >> 8) & 0xff, 0, 0, 0, 0, 0, 0];
  return Uint8Array.from([...len, ...h, ...data]);
}

// "a": F32 [2] = [1.0, -2.5]   (0x3F800000, 0xC0200000)
// "b": F16 [1, 2] = [1.0, -0.5] (0x3C00, 0xB800)
const HEADER_AB =
  '{"__metadata__":{"format":"pt"},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F16","shape":[1,2],"data_offsets":[8,12]}}';
const DATA_AB = [0x00, 0x00, 0x80, 0x3f, 0x00, 0x00, 0x20, 0xc0, 0x00, 0x3c, 0x00, 0xb8];
// 8 + header length must be a multiple of 8: pad with spaces as the format allows.
const PADDED_AB = HEADER_AB + ' '.repeat((8 - ((8 + HEADER_AB.length) % 8)) % 8);

describe('safetensors: a hand-built file', () => {
  it('reads F32 and F16 tensors, shapes and metadata from bytes built from the spec', () => {
    const f = decodeSafetensors(handFile(PADDED_AB, DATA_AB));
    assert.deepEqual(f.metadata, { format: 'pt' });
    assert.deepEqual([...f.tensors.keys()], ['a', 'b']);
    assert.deepEqual(f.tensors.get('a'), { dtype: 'F32', shape: [2], data: Float32Array.from([1, -2.5]) });
    assert.deepEqual(f.tensors.get('b'), { dtype: 'F16', shape: [1, 2], data: Float32Array.from([1, -0.5]) });
  });

  it('reads BF16, a scalar, an unpadded header and tensors stored out of header order', () => {
    // "s": BF16 [] = 1.5 (0x3FC0) at [4, 6); "t": BF16 [2] = [-3, 0] (0xC040, 0x0000) at [0, 4)
    const header = '{"s":{"dtype":"BF16","shape":[],"data_offsets":[4,6]},"t":{"dtype":"BF16","shape":[2],"data_offsets":[0,4]}}';
    const f = decodeSafetensors(handFile(header, [0x40, 0xc0, 0x00, 0x00, 0xc0, 0x3f]));
    assert.deepEqual(f.metadata, {});
    assert.deepEqual(f.tensors.get('s'), { dtype: 'BF16', shape: [], data: Float32Array.from([1.5]) });
    assert.deepEqual(f.tensors.get('t'), { dtype: 'BF16', shape: [2], data: Float32Array.from([-3, 0]) });
  });

  it('our writer produces exactly those bytes', () => {
    const bytes = encodeSafetensors(
      [
        ['a', { shape: [2], data: Float32Array.from([1, -2.5]) }],
        ['b', { shape: [1, 2], data: Float32Array.from([1, -0.5]), dtype: 'F16' }],
      ],
      { metadata: { format: 'pt' } },
    );
    assert.deepEqual(Buffer.from(bytes), Buffer.from(handFile(PADDED_AB, DATA_AB)));
  });
});

describe('safetensors: round trips', () => {
  it('F32 is bit exact, keeps the given order (integer-like names too) and aligns the data section to 8 bytes', () => {
    const r = rng(1);
    const tensors: [string, { shape: number[]; data: Float32Array }][] = [
      ['wte', { shape: [5, 3], data: randn32(15, r) }],
      ['10', { shape: [3], data: randn32(3, r) }],
      ['2', { shape: [], data: Float32Array.from([Math.PI]) }],
      ['empty', { shape: [0, 4], data: new Float32Array(0) }],
      ['blocks.0.wq', { shape: [1, 1, 7], data: Float32Array.from([0, -0, Infinity, -Infinity, 1e-45, 3.4e38, -1]) }],
    ];
    const path = join(dir, 'rt.safetensors');
    writeSafetensors(path, tensors, { metadata: { step: '12', note: 'ünïcødé' } });
    assert.deepEqual(
      readdirSync(dir).filter((f) => f.includes('tmp')),
      [],
      'the temp file is renamed away',
    );
    const f = readSafetensors(path);
    assert.deepEqual(
      [...f.tensors.keys()],
      tensors.map(([n]) => n),
    );
    for (const [name, t] of tensors) {
      assert.deepEqual(f.tensors.get(name)!.shape, t.shape, name);
      assert.deepEqual(new Uint8Array(f.tensors.get(name)!.data.buffer), new Uint8Array(t.data.buffer), `${name} bits`);
    }
    assert.deepEqual(f.metadata, { step: '12', note: 'ünïcødé' });
    const bytes = encodeSafetensors(tensors);
    const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    assert.equal((8 + n) % 8, 0);
    assert.deepEqual(Buffer.from(encodeSafetensors(tensors)), Buffer.from(bytes), 'same input, same bytes');
  });

  it('F16 stores the nearest half of every value (within half an ulp, 2^-11 relative)', () => {
    const data = randn32(4096, rng(2), 8);
    const f = decodeSafetensors(encodeSafetensors([['x', { shape: [64, 64], data }]], { dtype: 'F16' }));
    const got = f.tensors.get('x')!;
    assert.equal(got.dtype, 'F16');
    for (let i = 0; i < data.length; i++) {
      if (Math.abs(data[i]) < 2 ** -14) continue; // subnormal halves have absolute, not relative, precision
      assert.ok(Math.abs(got.data[i] - data[i]) <= Math.abs(data[i]) * 2 ** -11, `x[${i}] ${data[i]} -> ${got.data[i]}`);
    }
  });
});

describe('safetensors: float16 conversion', () => {
  it('rounds to nearest with ties to even, including at the subnormal and overflow edges', () => {
    const cases: [number, number][] = [
      [1, 0x3c00],
      [-2, 0xc000],
      [0.5, 0x3800],
      [0, 0],
      [-0, 0x8000],
      [1 + 2 ** -11, 0x3c00], // tie between 0x3C00 (even) and 0x3C01: even
      [1 + 3 * 2 ** -11, 0x3c02], // tie between 0x3C01 and 0x3C02 (even): even
      [1 + 2 ** -11 + 2 ** -20, 0x3c01], // just above the tie: up
      [65504, 0x7bff],
      [65519, 0x7bff],
      [65520, 0x7c00],
      [1e6, 0x7c00],
      [-Infinity, 0xfc00],
      [2 ** -14, 0x0400], // smallest normal
      [2 ** -24, 0x0001], // smallest subnormal
      [2 ** -25, 0x0000], // tie between 0 (even) and 1: zero
      [1.5 * 2 ** -25, 0x0001],
      [3 * 2 ** -25, 0x0002], // 1.5 ulp: tie, 2 is even
      [2 ** -26, 0x0000],
      [-(2 ** -24), 0x8001],
      [2 ** -14 - 2 ** -25, 0x0400], // halfway between the largest subnormal (odd) and the smallest normal
    ];
    for (const [v, h] of cases) assert.equal(f32ToF16Bits(v).toString(16), h.toString(16), `f16(${v})`);
    const nan = f32ToF16Bits(NaN);
    assert.ok((nan & 0x7c00) === 0x7c00 && (nan & 0x3ff) !== 0, 'NaN stays NaN');
  });

  it('every finite half survives half -> float -> half, and the result is the nearest half', () => {
    for (let h = 0; h < 0x10000; h++) {
      if ((h & 0x7c00) === 0x7c00 && h & 0x3ff) continue; // NaN payloads
      assert.equal(f32ToF16Bits(f16BitsToF32(h)), h, `half 0x${h.toString(16)}`);
    }
    const r = rng(3);
    for (let i = 0; i < 2000; i++) {
      const x = Math.fround((r() * 2 - 1) * 2 ** (r() * 40 - 26));
      const h = f32ToF16Bits(x),
        y = f16BitsToF32(h);
      for (const nb of [h - 1, h + 1]) {
        if (nb < 0 || nb > 0xffff || (nb & 0x7fff) > 0x7c00 || (h ^ nb) & 0x8000) continue;
        assert.ok(Math.abs(x - y) <= Math.abs(x - f16BitsToF32(nb)), `${x}: 0x${h.toString(16)} is not the nearest`);
      }
    }
  });
});

describe('safetensors: corrupt files are refused with the file name and the problem', () => {
  const bad = (name: string, bytes: Uint8Array, pattern: RegExp) => {
    const path = join(dir, `${name}.safetensors`);
    writeFileSync(path, bytes);
    assert.throws(
      () => readSafetensors(path),
      (e: Error) => {
        assert.ok(e.message.includes(path), `error names the file: ${e.message}`);
        assert.match(e.message, pattern);
        return true;
      },
    );
  };
  const entry = (dtype: string, shape: number[], off: [number, number]) => JSON.stringify({ dtype, shape, data_offsets: off });

  it('a file shorter than the length field', () => bad('short', Uint8Array.from([1, 2, 3]), /too short/));
  it('a header length larger than the file', () => {
    const f = handFile(PADDED_AB, DATA_AB);
    f[0] = 0xff;
    f[1] = 0xff;
    bad('hugeheader', f, /header length 65535 is larger than the \d+ bytes after it/);
  });
  it('a header that is not JSON', () => bad('notjson', handFile('{"a": {"dtype": "F32",', [0, 0, 0, 0]), /header is not JSON/));
  it('a header that is JSON but not an object', () => bad('array', handFile('[1,2]', []), /not a JSON object/));
  it('a truncated file: offsets past the data section', () =>
    bad('truncated', handFile(PADDED_AB, DATA_AB.slice(0, 10)), /tensor "b": data_offsets \[8, 12\] runs past the 10-byte data section/));
  it('offsets that do not match shape times dtype size', () =>
    bad('size', handFile(`{"a":${entry('F32', [3], [0, 8])}}`, new Array(8).fill(0)), /tensor "a".*hold 8 bytes but F32 \[3\] needs 12/));
  it('overlapping tensors', () =>
    bad('overlap', handFile(`{"a":${entry('F32', [2], [0, 8])},"b":${entry('F32', [1], [4, 8])}}`, new Array(8).fill(0)), /overlap/));
  it('a hole in the data section', () =>
    bad(
      'hole',
      handFile(`{"a":${entry('F32', [1], [0, 4])},"b":${entry('F32', [1], [8, 12])}}`, new Array(12).fill(0)),
      /bytes \[4, 8\) of the data section belong to no tensor/,
    ));
  it('bytes after the last tensor', () =>
    bad('trailing', handFile(`{"a":${entry('F32', [1], [0, 4])}}`, new Array(6).fill(0)), /6 bytes but the tensors cover 4/));
  it('an unknown dtype', () => bad('dtype', handFile(`{"a":${entry('F33', [1], [0, 4])}}`, [0, 0, 0, 0]), /unknown dtype "F33"/));
  it('a real but unsupported dtype', () =>
    bad('i64', handFile(`{"a":${entry('I64', [1], [0, 8])}}`, new Array(8).fill(0)), /dtype I64 is not supported/));
  it('a negative or fractional shape', () => bad('shape', handFile(`{"a":${entry('F32', [-1], [0, 4])}}`, [0, 0, 0, 0]), /shape \[-1\]/));
  it('metadata values that are not strings', () =>
    bad('meta', handFile(`{"__metadata__":{"step":12}}`, []), /__metadata__\["step"\] is a number/));
  it('a missing file', () =>
    assert.throws(() => readSafetensors(join(dir, 'nope.safetensors')), /cannot read safetensors file .*nope.safetensors/));
});

describe('safetensors: the writer refuses bad input', () => {
  it('data length that does not match the shape, duplicate names, the reserved name', () => {
    assert.throws(
      () => encodeSafetensors([['a', { shape: [2, 2], data: new Float32Array(3) }]]),
      /"a" has shape \[2,2\] \(4 values\) but 3 values/,
    );
    assert.throws(
      () =>
        encodeSafetensors([
          ['a', { shape: [1], data: new Float32Array(1) }],
          ['a', { shape: [1], data: new Float32Array(1) }],
        ]),
      /"a" given twice/,
    );
    assert.throws(() => encodeSafetensors([['__metadata__', { shape: [1], data: new Float32Array(1) }]]), /reserved/);
  });
});
