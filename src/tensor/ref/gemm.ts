// Reference GEMM: the plain triple loop every native GEMM path is checked against.
import type { FloatArray, GemmArgs } from '../backend.ts';

export function gemm(a: GemmArgs<FloatArray>): void {
  const { transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc } = a;
  const batch = a.batch ?? 1;
  for (let b = 0; b < batch; b++) {
    const oa = b * (a.strideA ?? 0),
      ob = b * (a.strideB ?? 0),
      oc = b * (a.strideC ?? 0);
    for (let i = 0; i < M; i++) {
      for (let j = 0; j < N; j++) {
        let s = 0;
        for (let p = 0; p < K; p++) {
          const x = transA ? A[oa + p * lda + i] : A[oa + i * lda + p];
          const y = transB ? B[ob + j * ldb + p] : B[ob + p * ldb + j];
          s += x * y;
        }
        const c = oc + i * ldc + j;
        C[c] = beta === 0 ? alpha * s : alpha * s + beta * C[c];
      }
    }
  }
}
