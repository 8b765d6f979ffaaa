import { describe, it } from 'node:test';
import { refBackend } from '../../src/tensor/ref/index.ts';
import { ALL_ISAS, assertClose, isaSkip, randn32, requireNative, rng, withIsa } from '../helpers.ts';

const { native, skip } = requireNative();

describe('native gemm matches the reference', { skip }, () => {
  for (const isa of ALL_ISAS) {
    it(`${isa}: a small square product`, { skip: native ? isaSkip(native, isa) : skip }, () => {
      const r = rng(1);
      const M = 5, N = 7, K = 3;
      const A = randn32(M * K, r), B = randn32(K * N, r);
      const want = new Float32Array(M * N), got = new Float32Array(M * N);
      refBackend.gemm({ transA: false, transB: false, M, N, K, alpha: 1, A, lda: K, B, ldb: N, beta: 0, C: want, ldc: N });
      withIsa(native!, isa, () => native!.gemm({ transA: false, transB: false, M, N, K, alpha: 1, A, lda: K, B, ldb: N, beta: 0, C: got, ldc: N }));
      assertClose(got, want, 1e-5, 'C');
    });
  }
});
