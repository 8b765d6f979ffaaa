// The compute backend contract: every op tetra's models run, stated once here. Two backends
// implement it: the plain TypeScript reference (src/tensor/ref/, also in float64 for gradient
// checks) and the native C++ kernels (src/tensor/native.ts over native/). They must agree.
//
// Conventions (llm.c style): outputs first, then inputs, then sizes. Row-major, contiguous
// unless a stride is given. B = batch, T = time, C = channels, NH = heads, HS = head size,
// V = vocab, H = hidden, N = rows. Backward ops ACCUMULATE into their gradient outputs (+=), so
// residual branches and tied weights need no extra adds; callers zero gradients first.

export type FloatArray = Float32Array | Float64Array;

/** C[b] = alpha * op(A[b]) @ op(B[b]) + beta * C[b] for b < batch; op(X) = X^T when transX. */
export interface GemmArgs<F extends FloatArray = FloatArray> {
  transA: boolean;
  transB: boolean;
  /** op(A) is M x K, op(B) is K x N, C is M x N. */
  M: number;
  N: number;
  K: number;
  alpha: number;
  A: F;
  /** Row stride of A as stored (>= its column count). */
  lda: number;
  /** Elements between consecutive batch matrices of A (0 broadcasts one A to every batch). */
  strideA?: number;
  B: F;
  ldb: number;
  strideB?: number;
  /** beta = 0 makes C write-only (NaN in C is not propagated), as in BLAS. */
  beta: number;
  C: F;
  ldc: number;
  strideC?: number;
  /** Default 1. */
  batch?: number;
}

export interface Backend<F extends FloatArray = FloatArray> {
  readonly name: string;

  // ---- gemm
  gemm(a: GemmArgs<F>): void;

  // ---- elementwise and reductions
  /** out = a + b (out may alias a or b). */
  add(out: F, a: F, b: F, n: number): void;
  /** y += alpha * x */
  axpy(y: F, alpha: number, x: F, n: number): void;
  /** x *= alpha */
  scale(x: F, alpha: number, n: number): void;
  /** sum of x[i]^2, accumulated in double precision. */
  sumSquares(x: F, n: number): number;

  // ---- embedding: out[n] = wte[tokens[n]]; wte [V, C]; every token must be in [0, V).
  embeddingForward(out: F, wte: F, tokens: Int32Array, N: number, C: number, V: number): void;
  /** dwte[tokens[n]] += dout[n] */
  embeddingBackward(dwte: F, dout: F, tokens: Int32Array, N: number, C: number, V: number): void;

  // ---- RMSNorm over rows of C: rstd[n] = 1/sqrt(mean(inp[n]^2) + eps); out = inp * rstd * weight
  rmsnormForward(out: F, rstd: F, inp: F, weight: F, N: number, C: number, eps: number): void;
  /** dinp += d/dinp, dweight += d/dweight, from dout and the forward's rstd. */
  rmsnormBackward(dinp: F, dweight: F, dout: F, inp: F, weight: F, rstd: F, N: number, C: number): void;

  // ---- RoPE with interleaved pairs (x[2i], x[2i+1]), as llama.cpp's LLAMA rope:
  // (x0, x1) -> (x0*cos - x1*sin, x0*sin + x1*cos) with cos/sin [maxT, HS/2] at row pos0 + t.
  // inp/out [B, T, NH, HS]; out may alias inp. HS must be even.
  ropeForward(out: F, inp: F, cos: F, sin: F, B: number, T: number, NH: number, HS: number, pos0: number): void;
  /** dinp += rotation by -theta of dout. */
  ropeBackward(dinp: F, dout: F, cos: F, sin: F, B: number, T: number, NH: number, HS: number, pos0: number): void;

  // ---- SwiGLU: inp [N, 2H] = [gate | up] per row; out [N, H] = silu(gate) * up.
  swigluForward(out: F, inp: F, N: number, H: number): void;
  swigluBackward(dinp: F, dout: F, inp: F, N: number, H: number): void;

  // ---- softmax cross-entropy: logits [N, V], targets [N] in [0, V) or ignoreIndex.
  // losses[n] = lse[n] - logits[n, targets[n]] (0 where the target is ignoreIndex; lse always set).
  crossEntropyForward(losses: F, lse: F, logits: F, targets: Int32Array, N: number, V: number, ignoreIndex: number): void;
  /** dlogits[n] += dlosses[n] * (softmax(logits[n]) - onehot(targets[n])); ignored rows add 0. */
  crossEntropyBackward(dlogits: F, dlosses: F, logits: F, lse: F, targets: Int32Array, N: number, V: number, ignoreIndex: number): void;

  // ---- row softmax: out[n] = softmax(scale * inp[n]). With causal, the rows are T x T blocks
  // (T = V) and row n sees only columns <= n % V; the rest of the row is 0.
  softmaxForward(out: F, inp: F, N: number, V: number, scale: number, causal: boolean): void;
  /** dinp += scale * out * (dout - sum(dout * out)) */
  softmaxBackward(dinp: F, dout: F, out: F, N: number, V: number, scale: number): void;

  // ---- AdamW (PyTorch semantics), with the gradient pre-multiplied by gradScale (the global
  // norm clip coefficient, or 1). step counts from 1.
  //   g = grad*gradScale; p -= lr*weightDecay*p; m = b1*m + (1-b1)*g; v = b2*v + (1-b2)*g^2
  //   p -= lr * (m/(1-b1^step)) / (sqrt(v/(1-b2^step)) + eps)
  adamwStep(
    param: F,
    grad: F,
    m: F,
    v: F,
    n: number,
    lr: number,
    beta1: number,
    beta2: number,
    eps: number,
    weightDecay: number,
    step: number,
    gradScale: number,
  ): void;

  // ---- causal self-attention, fused (flash style).
  // q [B, Tq, NH, HS]; k, v [B, Tk, NH, HS], Tk >= Tq. Query i sits at position Tk - Tq + i and
  // attends to keys 0..Tk-Tq+i with scores scale * q.k. out [B, Tq, NH, HS];
  // lse [B, NH, Tq] = logsumexp of each query's scaled scores, kept for backward.
  // lim [B, Tq] (prefix attention): query i attends to keys 0..lim[b, i]-1 instead, where
  // Tk-Tq+i+1 <= lim[b, i] <= Tk and lim never decreases along i (Tape.attention checks).
  attentionForward(
    out: F,
    lse: F,
    q: F,
    k: F,
    v: F,
    B: number,
    Tq: number,
    Tk: number,
    NH: number,
    HS: number,
    scale: number,
    lim?: Int32Array | null,
  ): void;
  /** dq, dk, dv accumulate (+=); out and lse come from the forward pass with the same lim. */
  attentionBackward(
    dq: F,
    dk: F,
    dv: F,
    dout: F,
    q: F,
    k: F,
    v: F,
    out: F,
    lse: F,
    B: number,
    Tq: number,
    Tk: number,
    NH: number,
    HS: number,
    scale: number,
    lim?: Int32Array | null,
  ): void;

  // ---- image windows (im2col for a vision stem): pixels holds count images of S x S x 3 (HWC,
  // values in [0, 1]). For each image i and patch (gy, gx) of its G x G grid (G = S / P), writes
  // the W x W x 3 window with its top-left corner at (gy * P - (W - P) / 2, gx * P - (W - P) / 2),
  // as 2 * pixel - 1 and 0 past the image's edge, at out[((i * G + gy) * G + gx) * stride]; a
  // row's values after the first W * W * 3 are left as they are. W must be P plus an even number.
  windowsForward(out: F, pixels: F, count: number, S: number, P: number, W: number, stride: number): void;
}

/** A backend that runs native kernels also names the instruction set it runs them with. */
export interface NativeBackend extends Backend<Float32Array> {
  /** The instruction sets this CPU can run, best last: e.g. ['generic', 'avx2']. */
  readonly available: readonly string[];
  /** The one in use now. */
  isa(): string;
  setIsa(isa: string): void;
  threads(): number;
  setThreads(n: number): void;
}
