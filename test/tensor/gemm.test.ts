// Native GEMM vs the reference triple loop, for every ISA and at 1 and 2 threads.
//
// Error bound: the reference accumulates in double, the native kernel in fp32 with blocked partial
// sums; relErr (test/helpers.ts) divides by |want| + 1e-3 * max|want|, so entries near zero are
// judged against 1e-3 of the largest, and fp32 accumulation of K terms shows up there as up to
// ~1e-5 * sqrt(K) (measured over these cases: worst 0.94e-5 * sqrt(K)). Each case is checked
// against 4e-5 * sqrt(K) (times 2 where alpha/beta add roundings and cancellation); a wrong index,
// a dropped tile or a read of padding errs by O(1) or NaN.
//
// Padding (lda/ldb/ldc beyond the column count) holds NaN in A and B, so reading it poisons the
// result, and a sentinel in C that must come back bit-for-bit unchanged.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { NativeBackend } from '../../src/tensor/backend.ts';
import { refBackend } from '../../src/tensor/ref/index.ts';
import { ALL_ISAS, assertClose, isaSkip, randn32, requireNative, rng, withIsa } from '../helpers.ts';

const { native, skip } = requireNative();

interface Case {
  name: string;
  transA: boolean;
  transB: boolean;
  M: number;
  N: number;
  K: number;
  alpha?: number;
  beta?: number;
  /** Extra elements per row beyond the stored column count. */
  padA?: number;
  padB?: number;
  padC?: number;
  batch?: number;
  /** Broadcast one A (or B) to every batch item. */
  shareA?: boolean;
  shareB?: boolean;
  /** Fill C with NaN before the call (only meaningful with beta = 0). */
  nanC?: boolean;
}

const C_SENTINEL = 7777;

interface Built {
  args: Parameters<NativeBackend['gemm']>[0];
  C0: Float32Array;
  padC: number[]; // indices of C padding
}

function build(c: Case, seed: number): Built {
  const r = rng(seed);
  const batch = c.batch ?? 1;
  const [aRows, aCols] = c.transA ? [c.K, c.M] : [c.M, c.K];
  const [bRows, bCols] = c.transB ? [c.N, c.K] : [c.K, c.N];
  const lda = aCols + (c.padA ?? 0),
    ldb = bCols + (c.padB ?? 0),
    ldc = c.N + (c.padC ?? 0);
  const strideA = c.shareA ? 0 : aRows * lda,
    strideB = c.shareB ? 0 : bRows * ldb,
    strideC = c.M * ldc;
  const matrix = (rows: number, cols: number, ld: number, items: number, pad: number) => {
    const x = randn32(Math.max(1, items) * rows * ld, r);
    for (let i = 0; i < x.length; i++) if (i % ld >= cols) x[i] = pad;
    return x;
  };
  const A = matrix(aRows, aCols, lda, c.shareA ? 1 : batch, NaN);
  const B = matrix(bRows, bCols, ldb, c.shareB ? 1 : batch, NaN);
  const C = matrix(c.M, c.N, ldc, batch, C_SENTINEL);
  const padC: number[] = [];
  for (let i = 0; i < C.length; i++) {
    if (i % ldc >= c.N) padC.push(i);
    else if (c.nanC) C[i] = NaN;
  }
  return {
    args: {
      transA: c.transA,
      transB: c.transB,
      M: c.M,
      N: c.N,
      K: c.K,
      alpha: c.alpha ?? 1,
      beta: c.beta ?? 0,
      A,
      lda,
      strideA,
      B,
      ldb,
      strideB,
      C,
      ldc,
      strideC,
      batch,
    },
    C0: C.slice(),
    padC,
  };
}

const combos = [
  [false, false],
  [false, true],
  [true, false],
  [true, true],
] as const;
const tn = (tA: boolean, tB: boolean) => `${tA ? 'T' : 'N'}${tB ? 'T' : 'N'}`;

const cases: Case[] = [];
for (const [tA, tB] of combos) {
  const t = tn(tA, tB);
  cases.push(
    { name: `${t} 1x1x1`, transA: tA, transB: tB, M: 1, N: 1, K: 1 },
    { name: `${t} sizes off the vector width and tile (13x29x17)`, transA: tA, transB: tB, M: 13, N: 29, K: 17 },
    { name: `${t} large ragged 300x257x129 (several row blocks, team split)`, transA: tA, transB: tB, M: 300, N: 257, K: 129 },
    { name: `${t} K deeper than one KC slice (70x45x600)`, transA: tA, transB: tB, M: 70, N: 45, K: 600 },
    // Row blocks taken dynamically, K slices adding to them in turn: a block's next slice may run
    // on the other thread, so each slice must finish before the next starts.
    { name: `${t} team split over rows, several KC slices (300x70x600)`, transA: tA, transB: tB, M: 300, N: 70, K: 600, beta: 0.5 },
    { name: `${t} M=1 (decode GEMV)`, transA: tA, transB: tB, M: 1, N: 1000, K: 700 },
    {
      name: `${t} M=1, K a whole number of unrolled steps, odd N split across threads`,
      transA: tA,
      transB: tB,
      M: 1,
      N: 2053,
      K: 256,
      beta: 1,
    },
    { name: `${t} M=2, K under one vector step`, transA: tA, transB: tB, M: 2, N: 515, K: 5, padA: 1 },
    { name: `${t} M=4 rows, K with a vector tail`, transA: tA, transB: tB, M: 4, N: 300, K: 300, alpha: 0.5, beta: -1 },
    { name: `${t} few rows, M=5 wide N`, transA: tA, transB: tB, M: 5, N: 333, K: 650 },
    { name: `${t} batch-8 decode, M=8 (two row groups, W walked in L1 blocks)`, transA: tA, transB: tB, M: 8, N: 1029, K: 259 },
    {
      name: `${t} M=7 over weights big enough to split across threads`,
      transA: tA,
      transB: tB,
      M: 7,
      N: 700,
      K: 203,
      padA: 2,
      padB: 1,
      padC: 3,
      beta: 0.5,
    },
    { name: `${t} N=1`, transA: tA, transB: tB, M: 900, N: 1, K: 600 },
    { name: `${t} N=3`, transA: tA, transB: tB, M: 777, N: 3, K: 500 },
    {
      name: `${t} alpha=-0.5, beta=0 with NaN in C (C is write-only)`,
      transA: tA,
      transB: tB,
      M: 37,
      N: 41,
      K: 23,
      alpha: -0.5,
      nanC: true,
    },
    { name: `${t} alpha=0.7, beta=1.3 accumulates into C`, transA: tA, transB: tB, M: 150, N: 140, K: 90, alpha: 0.7, beta: 1.3 },
    { name: `${t} beta=1 accumulates (few rows)`, transA: tA, transB: tB, M: 3, N: 77, K: 40, beta: 1 },
    {
      name: `${t} lda/ldb/ldc wider than the columns: padding untouched`,
      transA: tA,
      transB: tB,
      M: 31,
      N: 45,
      K: 27,
      padA: 3,
      padB: 5,
      padC: 7,
      beta: 0.5,
    },
    {
      name: `${t} padded big (team split) with NaN C and beta=0`,
      transA: tA,
      transB: tB,
      M: 130,
      N: 99,
      K: 140,
      padA: 1,
      padB: 2,
      padC: 3,
      nanC: true,
    },
    { name: `${t} padded few rows`, transA: tA, transB: tB, M: 2, N: 300, K: 500, padA: 4, padB: 3, padC: 9, beta: 2 },
    { name: `${t} batched with strides, many small items`, transA: tA, transB: tB, M: 40, N: 36, K: 50, batch: 9, beta: 0.25 },
    { name: `${t} batched with strideA=0 (A broadcast), big items`, transA: tA, transB: tB, M: 200, N: 150, K: 80, batch: 3, shareA: true },
    {
      name: `${t} batched with strideB=0 (B broadcast), few rows`,
      transA: tA,
      transB: tB,
      M: 4,
      N: 260,
      K: 300,
      batch: 5,
      shareB: true,
      padC: 2,
    },
  );
}
// Seeded random ragged shapes over all transposes.
{
  const r = rng(42);
  const dim = (hi: number) => 1 + Math.floor(r() * hi);
  for (let i = 0; i < 16; i++) {
    const [tA, tB] = combos[i % 4];
    cases.push({
      name: `random #${i} ${tn(tA, tB)}`,
      transA: tA,
      transB: tB,
      M: dim(i < 8 ? 40 : 160),
      N: dim(i < 8 ? 40 : 160),
      K: dim(i < 8 ? 40 : 300),
      alpha: r() < 0.5 ? 1 : r() * 2 - 1,
      beta: r() < 0.5 ? 0 : r() * 2 - 1,
      padA: Math.floor(r() * 3),
      padB: Math.floor(r() * 3),
      padC: Math.floor(r() * 3),
      batch: 1 + Math.floor(r() * 3),
      shareA: r() < 0.2,
    });
  }
}

// Reference results, computed once per case.
const want = new Map<Case, Float32Array>();
function reference(c: Case, seed: number): Float32Array {
  let w = want.get(c);
  if (!w) {
    const { args } = build(c, seed);
    refBackend.gemm(args);
    w = args.C as Float32Array;
    want.set(c, w);
  }
  return w;
}

function boundFor(c: Case): number {
  const scaled = (c.alpha ?? 1) !== 1 || ((c.beta ?? 0) !== 0 && (c.beta ?? 0) !== 1);
  return 4e-5 * Math.sqrt(c.K) * (scaled ? 2 : 1);
}

function withThreads<T>(n: NativeBackend, threads: number, fn: () => T): T {
  const before = n.threads();
  n.setThreads(threads);
  try {
    return fn();
  } finally {
    n.setThreads(before);
  }
}

describe('native gemm matches the reference', { skip }, () => {
  for (const isa of ALL_ISAS) {
    for (const threads of [1, 2]) {
      describe(`${isa}, ${threads} thread${threads > 1 ? 's' : ''}`, { skip: native ? isaSkip(native, isa) : skip }, () => {
        cases.forEach((c, k) => {
          it(c.name, () => {
            const seed = 1000 + k;
            const expected = reference(c, seed);
            const { args, C0, padC } = build(c, seed);
            withIsa(native!, isa, () => withThreads(native!, threads, () => native!.gemm(args)));
            const got = args.C as Float32Array;
            for (const i of padC) assert.equal(got[i], C0[i], `C padding at [${i}] was written`);
            assertClose(got, expected, boundFor(c), `C (${c.M}x${c.N}x${c.K})`);
          });
        });
      });
    }
  }
});

describe('native gemm argument checks', { skip }, () => {
  const M = 4,
    N = 5,
    K = 6;
  const ok = () => ({
    transA: false,
    transB: false,
    M,
    N,
    K,
    alpha: 1,
    A: new Float32Array(M * K),
    lda: K,
    B: new Float32Array(K * N),
    ldb: N,
    beta: 0,
    C: new Float32Array(M * N),
    ldc: N,
  });
  for (const name of ['A', 'B', 'C'] as const) {
    it(`a too-short ${name} throws a RangeError naming ${name}`, () => {
      const args = ok();
      args[name] = new Float32Array(args[name].length - 1);
      assert.throws(
        () => native!.gemm(args),
        (e: Error) => e instanceof RangeError && new RegExp(`\\b${name}\\b`).test(e.message),
      );
    });
  }
  it('a batch that runs past the end of C throws a RangeError naming C', () => {
    const args = { ...ok(), batch: 2, strideC: M * N };
    assert.throws(
      () => native!.gemm(args),
      (e: Error) => e instanceof RangeError && /\bC\b/.test(e.message),
    );
  });
  it('K = 0 with beta = 0 zeroes C (NaN included) and with beta = 2 scales it', () => {
    const args = { ...ok(), K: 0, lda: 1, ldb: N, A: new Float32Array(0), B: new Float32Array(0) };
    args.C.fill(NaN);
    native!.gemm(args);
    assert.deepEqual([...args.C], new Array(M * N).fill(0));
    args.C.fill(3);
    native!.gemm({ ...args, beta: 2 });
    assert.deepEqual([...args.C], new Array(M * N).fill(6));
  });
});
