// The kernel table: every native op, one function pointer each. Each ISA translation unit
// (isa_generic.cpp, isa_avx2.cpp, isa_avx512.cpp) compiles the same kernel sources with its own
// -m flags and fills one table; dispatch.cpp picks the table at runtime from CPUID and TETRA_CPU.
//
// Conventions (llm.c style): outputs first, then inputs, then sizes. Row-major, contiguous
// unless a stride is given. B = batch, T = time, C = channels, NH = heads, HS = head size,
// V = vocab, H = hidden. Backward kernels ACCUMULATE into their gradient outputs (+=), so
// residual branches and tied weights need no extra adds; callers zero gradients first.
// The semantics of each op are stated once, in src/tensor/backend.ts, and implemented plainly
// in src/tensor/ref/: the native kernels must match those.
#pragma once
#include <cstdint>

namespace tetra {

struct GemmArgs {
  // C[b] = alpha * op(A[b]) @ op(B[b]) + beta * C[b], for b in [0, batch).
  // op(A) is M x K, op(B) is K x N, C is M x N. op(X) = X^T when transX.
  // A[b] starts at A + b*strideA (likewise B, C). lda/ldb/ldc are row strides in elements.
  // beta == 0 means C is write-only (NaNs in C are not propagated), as in BLAS.
  bool transA, transB;
  int64_t M, N, K;
  float alpha;
  const float* A; int64_t lda; int64_t strideA;
  const float* B; int64_t ldb; int64_t strideB;
  float beta;
  float* C; int64_t ldc; int64_t strideC;
  int64_t batch;
};

struct Kernels {
  const char* name;  // "generic" | "avx2" | "avx512"

  // ---- gemm (native/src/gemm.h)
  void (*gemm)(const GemmArgs& a);

  // ---- elementwise and reductions (native/src/ops.h)
  void (*add)(float* out, const float* a, const float* b, int64_t n);        // out = a + b (out may alias)
  void (*axpy)(float* y, float alpha, const float* x, int64_t n);            // y += alpha * x
  void (*scale)(float* x, float alpha, int64_t n);                           // x *= alpha
  double (*sum_squares)(const float* x, int64_t n);                          // sum x^2 in double

  // ---- embedding (ops.h). tokens are ids in [0, V); the binding checks the range.
  void (*embedding_forward)(float* out, const float* wte, const int32_t* tokens, int64_t N, int64_t C);
  void (*embedding_backward)(float* dwte, const float* dout, const int32_t* tokens, int64_t N, int64_t C);

  // ---- RMSNorm (ops.h): rstd[n] = 1/sqrt(mean(inp[n]^2) + eps); out = inp * rstd * weight
  void (*rmsnorm_forward)(float* out, float* rstd, const float* inp, const float* weight, int64_t N, int64_t C, float eps);
  void (*rmsnorm_backward)(float* dinp, float* dweight, const float* dout, const float* inp, const float* weight,
                           const float* rstd, int64_t N, int64_t C);

  // ---- RoPE (ops.h), interleaved pairs (x[2i], x[2i+1]) as llama.cpp's LLAMA rope:
  // inp/out [B, T, NH, HS]; cos/sin [maxT, HS/2]; token t uses table row pos0 + t. out may alias inp.
  void (*rope_forward)(float* out, const float* inp, const float* cos, const float* sin,
                       int64_t B, int64_t T, int64_t NH, int64_t HS, int64_t pos0);
  // dinp += R(-theta) dout
  void (*rope_backward)(float* dinp, const float* dout, const float* cos, const float* sin,
                        int64_t B, int64_t T, int64_t NH, int64_t HS, int64_t pos0);

  // ---- SwiGLU (ops.h): inp [N, 2H] = [gate | up]; out [N, H] = silu(gate) * up
  void (*swiglu_forward)(float* out, const float* inp, int64_t N, int64_t H);
  void (*swiglu_backward)(float* dinp, const float* dout, const float* inp, int64_t N, int64_t H);

  // ---- softmax cross-entropy (ops.h): logits [N, V], targets [N].
  // losses[n] = lse[n] - logits[n, targets[n]]; rows with targets[n] == ignoreIndex get loss 0
  // (lse still written). Backward: dlogits[n] += dlosses[n] * (softmax(logits[n]) - onehot).
  void (*cross_entropy_forward)(float* losses, float* lse, const float* logits, const int32_t* targets,
                                int64_t N, int64_t V, int32_t ignoreIndex);
  void (*cross_entropy_backward)(float* dlogits, const float* dlosses, const float* logits, const float* lse,
                                 const int32_t* targets, int64_t N, int64_t V, int32_t ignoreIndex);

  // ---- row softmax (ops.h): out[n] = softmax(inp[n] * scale) over the first `valid(n)` columns,
  // where causal=true means row n of each T x T block only sees columns <= n % T (others get 0).
  void (*softmax_forward)(float* out, const float* inp, int64_t N, int64_t V, float scale, bool causal);
  // dinp += scale * out * (dout - sum(dout * out))
  void (*softmax_backward)(float* dinp, const float* dout, const float* out, int64_t N, int64_t V, float scale);

  // ---- AdamW (ops.h), PyTorch semantics with the gradient pre-multiplied by gradScale
  // (gradScale = clip coefficient from the global norm, or 1):
  //   g = grad*gradScale; p -= lr*weightDecay*p; m = b1*m + (1-b1)*g; v = b2*v + (1-b2)*g^2;
  //   p -= lr * (m / (1-b1^step)) / (sqrt(v / (1-b2^step)) + eps)        (step counts from 1)
  void (*adamw_step)(float* param, const float* grad, float* m, float* v, int64_t n, float lr, float beta1,
                     float beta2, float eps, float weightDecay, int64_t step, float gradScale);

  // ---- causal self-attention (native/src/attention.h), flash style.
  // q [B, Tq, NH, HS]; k, v [B, Tk, NH, HS] with Tk >= Tq; query i sits at position Tk - Tq + i and
  // attends to keys 0..Tk-Tq+i. out [B, Tq, NH, HS]; lse [B, NH, Tq] = logsumexp of the scaled scores
  // (kept for backward). Never materialises more than a tile of the Tq x Tk score matrix per head.
  // lim [B, Tq] or null: query i attends to keys 0..lim[b, i]-1 instead (prefix attention over an
  // image block), with off+i+1 <= lim[b, i] <= Tk and lim non-decreasing in i (the caller checks).
  void (*attention_forward)(float* out, float* lse, const float* q, const float* k, const float* v,
                            int64_t B, int64_t Tq, int64_t Tk, int64_t NH, int64_t HS, float scale,
                            const int32_t* lim);
  // dq, dk, dv accumulate (+=). Uses out and lse from the forward pass and the same lim.
  void (*attention_backward)(float* dq, float* dk, float* dv, const float* dout, const float* q, const float* k,
                             const float* v, const float* out, const float* lse, int64_t B, int64_t Tq, int64_t Tk,
                             int64_t NH, int64_t HS, float scale, const int32_t* lim);

  // ---- image windows (ops_windows.h): each patch's W x W x 3 window of count S x S x 3 images in
  // [0, 1] as 2p - 1 (0 past the edge), one row of `stride` floats a patch (the rest left as is)
  void (*windows_forward)(float* out, const float* pixels, int64_t count, int64_t S, int64_t P, int64_t W, int64_t stride);
};

// One table per ISA, each defined in its own translation unit.
const Kernels* kernels_generic();
const Kernels* kernels_avx2();
const Kernels* kernels_avx512();

}  // namespace tetra
