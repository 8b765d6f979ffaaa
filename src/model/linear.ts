// Inference's matrix multiply, y[M, N] = beta * y + x[M, K] @ W^T with W [N, K] row-major (every
// weight matrix's layout), straight on the backend: the KV-cache step (kvcache.ts) and the image
// projection (vision.ts) both call it. The arguments object is reused by the caller, so a decode
// step allocates nothing for its GEMMs.
import type { Backend, GemmArgs } from '../tensor/index.ts';

/** GEMM arguments for `linear`, to keep and pass to every call; A/B/C and sizes are set per call. */
export function linearArgs(): GemmArgs<Float32Array> {
  return {
    transA: false,
    transB: true,
    M: 0,
    N: 0,
    K: 0,
    alpha: 1,
    A: new Float32Array(0),
    lda: 0,
    B: new Float32Array(0),
    ldb: 0,
    beta: 0,
    C: new Float32Array(0),
    ldc: 0,
  };
}

/** y[M, N] = beta * y + x[M, K] @ W^T, W [N, K] row-major. */
export function linear(
  be: Backend<Float32Array>,
  g: GemmArgs<Float32Array>,
  y: Float32Array,
  x: Float32Array,
  w: Float32Array,
  M: number,
  N: number,
  K: number,
  beta = 0,
): void {
  g.M = M;
  g.N = N;
  g.K = K;
  g.A = x;
  g.lda = K;
  g.B = w;
  g.ldb = K;
  g.C = y;
  g.ldc = N;
  g.beta = beta;
  be.gemm(g);
}
