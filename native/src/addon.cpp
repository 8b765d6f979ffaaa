// N-API bindings: unpack JS arguments, check every buffer is large enough for the sizes given
// (a wrong size from JS must be an exception, never a write past the end), then call the kernel
// table chosen at load. Buffers are used in place: Float32Array/Int32Array memory, no copies.
#include <node_api.h>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <initializer_list>
#include <string>
#ifdef _OPENMP
#include <omp.h>
#endif
#include "dispatch.h"

using namespace tetra;

namespace {

const Kernels* K = nullptr;
const char* isa_warning = nullptr;

// ---------------------------------------------------------------------------- argument unpacking

struct Args {
  napi_env env;
  napi_value argv[20];
  size_t argc = 20;
  const char* op;
  bool failed = false;

  Args(napi_env e, napi_callback_info info, const char* opName) : env(e), op(opName) {
    napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  }
  void fail(const std::string& msg) {
    if (failed) return;
    failed = true;
    std::string m = std::string(op) + ": " + msg;
    napi_throw_range_error(env, nullptr, m.c_str());
  }
  napi_value at(size_t i, const char* name) {
    if (i >= argc) { fail(std::string("missing argument ") + name); return nullptr; }
    return argv[i];
  }
  template <typename T>
  T* typed(size_t i, const char* name, napi_typedarray_type want, const char* wantName, int64_t need) {
    napi_value v = at(i, name);
    if (failed) return nullptr;
    bool is = false;
    napi_is_typedarray(env, v, &is);
    napi_typedarray_type type;
    size_t length = 0;
    void* data = nullptr;
    if (is) napi_get_typedarray_info(env, v, &type, &length, &data, nullptr, nullptr);
    if (!is || type != want) { fail(std::string(name) + " must be a " + wantName); return nullptr; }
    if (need < 0) { fail(std::string("sizes for ") + name + " must be non-negative"); return nullptr; }
    if ((int64_t)length < need) {
      fail(std::string(name) + " has " + std::to_string(length) + " elements, needs at least " + std::to_string(need));
      return nullptr;
    }
    return static_cast<T*>(data);
  }
  float* f32(size_t i, const char* name, int64_t need) {
    return typed<float>(i, name, napi_float32_array, "Float32Array", need);
  }
  int32_t* i32(size_t i, const char* name, int64_t need) {
    return typed<int32_t>(i, name, napi_int32_array, "Int32Array", need);
  }
  int64_t size(size_t i, const char* name) {
    napi_value v = at(i, name);
    if (failed) return 0;
    double d = 0;
    if (napi_get_value_double(env, v, &d) != napi_ok || !(d >= 0) || d != std::floor(d) || d > 9.0e15) {
      fail(std::string(name) + " must be a non-negative integer");
      return 0;
    }
    return (int64_t)d;
  }
  int64_t integer(size_t i, const char* name) {
    napi_value v = at(i, name);
    if (failed) return 0;
    double d = 0;
    if (napi_get_value_double(env, v, &d) != napi_ok || d != std::floor(d)) { fail(std::string(name) + " must be an integer"); return 0; }
    return (int64_t)d;
  }
  float number(size_t i, const char* name) {
    napi_value v = at(i, name);
    if (failed) return 0;
    double d = 0;
    if (napi_get_value_double(env, v, &d) != napi_ok) { fail(std::string(name) + " must be a number"); return 0; }
    return (float)d;
  }
  // Argument i absent, undefined or null.
  bool none(size_t i) {
    if (i >= argc) return true;
    napi_valuetype t;
    napi_typeof(env, argv[i], &t);
    return t == napi_undefined || t == napi_null;
  }
  bool boolean(size_t i, const char* name) {
    napi_value v = at(i, name);
    if (failed) return false;
    bool b = false;
    if (napi_get_value_bool(env, v, &b) != napi_ok) { fail(std::string(name) + " must be a boolean"); return false; }
    return b;
  }
  // Token ids must index the table: an out-of-range id would read or write outside it.
  void check_ids(const int32_t* ids, int64_t n, int64_t V, const char* name, bool allowIgnore = false, int32_t ignore = 0) {
    if (failed) return;
    for (int64_t i = 0; i < n; i++) {
      if (allowIgnore && ids[i] == ignore) continue;
      if (ids[i] < 0 || ids[i] >= V) {
        fail(std::string(name) + "[" + std::to_string(i) + "] = " + std::to_string(ids[i]) + " is outside [0, " + std::to_string(V) + ")");
        return;
      }
    }
  }
};

napi_value undefined(napi_env env) { napi_value u; napi_get_undefined(env, &u); return u; }
napi_value num(napi_env env, double d) { napi_value v; napi_create_double(env, d, &v); return v; }
napi_value str(napi_env env, const char* s) { napi_value v; napi_create_string_utf8(env, s, NAPI_AUTO_LENGTH, &v); return v; }

// Elements a strided matrix of `rows` x `cols` (row stride ld) occupies, over `batch` copies.
int64_t span(int64_t rows, int64_t cols, int64_t ld, int64_t batch, int64_t stride) {
  if (rows == 0 || cols == 0 || batch == 0) return 0;
  return (batch - 1) * stride + (rows - 1) * ld + cols;
}

// ---------------------------------------------------------------------------- control

napi_value Info(napi_env env, napi_callback_info) {
  napi_value o;
  napi_create_object(env, &o);
  napi_set_named_property(env, o, "isa", str(env, K->name));
  napi_value avail;
  napi_create_array(env, &avail);
  uint32_t n = 0;
  for (const char* name : {"generic", "avx2", "avx512"})
    if (isa_table(name)) napi_set_element(env, avail, n++, str(env, name));
  napi_set_named_property(env, o, "available", avail);
#ifdef _OPENMP
  napi_set_named_property(env, o, "threads", num(env, omp_get_max_threads()));
  napi_set_named_property(env, o, "cores", num(env, omp_get_num_procs()));
#else
  napi_set_named_property(env, o, "threads", num(env, 1));
  napi_set_named_property(env, o, "cores", num(env, 1));
#endif
  if (isa_warning) napi_set_named_property(env, o, "warning", str(env, isa_warning));
  return o;
}

napi_value SetIsa(napi_env env, napi_callback_info info) {
  Args a(env, info, "setIsa");
  napi_value v = a.at(0, "isa");
  if (a.failed) return nullptr;
  char buf[32] = {0};
  size_t len = 0;
  napi_get_value_string_utf8(env, v, buf, sizeof buf, &len);
  const Kernels* k = isa_table(buf);
  if (!k) { a.fail(std::string("isa '") + buf + "' is unknown or unsupported on this CPU"); return nullptr; }
  K = k;
  return undefined(env);
}

napi_value SetThreads(napi_env env, napi_callback_info info) {
  Args a(env, info, "setThreads");
  int64_t n = a.size(0, "threads");
  if (a.failed) return nullptr;
  if (n < 1 || n > 1024) { a.fail("threads must be in [1, 1024]"); return nullptr; }
#ifdef _OPENMP
  omp_set_num_threads((int)n);
#endif
  return undefined(env);
}

// ---------------------------------------------------------------------------- gemm

// gemm(transA, transB, M, N, K, alpha, A, lda, strideA, B, ldb, strideB, beta, C, ldc, strideC, batch)
napi_value Gemm(napi_env env, napi_callback_info info) {
  Args a(env, info, "gemm");
  GemmArgs g{};
  g.transA = a.boolean(0, "transA");
  g.transB = a.boolean(1, "transB");
  g.M = a.size(2, "M"); g.N = a.size(3, "N"); g.K = a.size(4, "K");
  g.alpha = a.number(5, "alpha");
  g.lda = a.size(7, "lda"); g.strideA = a.size(8, "strideA");
  g.ldb = a.size(10, "ldb"); g.strideB = a.size(11, "strideB");
  g.beta = a.number(12, "beta");
  g.ldc = a.size(14, "ldc"); g.strideC = a.size(15, "strideC");
  g.batch = a.size(16, "batch");
  if (a.failed) return nullptr;
  int64_t aRows = g.transA ? g.K : g.M, aCols = g.transA ? g.M : g.K;
  int64_t bRows = g.transB ? g.N : g.K, bCols = g.transB ? g.K : g.N;
  if (aCols > 0 && g.lda < aCols) { a.fail("lda " + std::to_string(g.lda) + " < " + std::to_string(aCols) + " columns of A"); return nullptr; }
  if (bCols > 0 && g.ldb < bCols) { a.fail("ldb " + std::to_string(g.ldb) + " < " + std::to_string(bCols) + " columns of B"); return nullptr; }
  if (g.N > 0 && g.ldc < g.N) { a.fail("ldc " + std::to_string(g.ldc) + " < N = " + std::to_string(g.N)); return nullptr; }
  g.A = a.f32(6, "A", span(aRows, aCols, g.lda, g.batch, g.strideA));
  g.B = a.f32(9, "B", span(bRows, bCols, g.ldb, g.batch, g.strideB));
  g.C = a.f32(13, "C", span(g.M, g.N, g.ldc, g.batch, g.strideC));
  if (a.failed) return nullptr;
  if (g.M && g.N && g.batch) K->gemm(g);
  return undefined(env);
}

// ---------------------------------------------------------------------------- elementwise

napi_value Add(napi_env env, napi_callback_info info) {
  Args a(env, info, "add");
  int64_t n = a.size(3, "n");
  float* out = a.f32(0, "out", n); const float* x = a.f32(1, "a", n); const float* y = a.f32(2, "b", n);
  if (a.failed) return nullptr;
  K->add(out, x, y, n);
  return undefined(env);
}

napi_value Axpy(napi_env env, napi_callback_info info) {
  Args a(env, info, "axpy");
  int64_t n = a.size(3, "n");
  float* y = a.f32(0, "y", n); float alpha = a.number(1, "alpha"); const float* x = a.f32(2, "x", n);
  if (a.failed) return nullptr;
  K->axpy(y, alpha, x, n);
  return undefined(env);
}

napi_value Scale(napi_env env, napi_callback_info info) {
  Args a(env, info, "scale");
  int64_t n = a.size(2, "n");
  float* x = a.f32(0, "x", n); float alpha = a.number(1, "alpha");
  if (a.failed) return nullptr;
  K->scale(x, alpha, n);
  return undefined(env);
}

napi_value SumSquares(napi_env env, napi_callback_info info) {
  Args a(env, info, "sumSquares");
  int64_t n = a.size(1, "n");
  const float* x = a.f32(0, "x", n);
  if (a.failed) return nullptr;
  return num(env, K->sum_squares(x, n));
}

// ---------------------------------------------------------------------------- embedding

// embeddingForward(out, wte, tokens, N, C, V)
napi_value EmbeddingForward(napi_env env, napi_callback_info info) {
  Args a(env, info, "embeddingForward");
  int64_t N = a.size(3, "N"), C = a.size(4, "C"), V = a.size(5, "V");
  float* out = a.f32(0, "out", N * C); const float* wte = a.f32(1, "wte", V * C); const int32_t* tok = a.i32(2, "tokens", N);
  a.check_ids(tok, N, V, "tokens");
  if (a.failed) return nullptr;
  K->embedding_forward(out, wte, tok, N, C);
  return undefined(env);
}

// embeddingBackward(dwte, dout, tokens, N, C, V)
napi_value EmbeddingBackward(napi_env env, napi_callback_info info) {
  Args a(env, info, "embeddingBackward");
  int64_t N = a.size(3, "N"), C = a.size(4, "C"), V = a.size(5, "V");
  float* dwte = a.f32(0, "dwte", V * C); const float* dout = a.f32(1, "dout", N * C); const int32_t* tok = a.i32(2, "tokens", N);
  a.check_ids(tok, N, V, "tokens");
  if (a.failed) return nullptr;
  K->embedding_backward(dwte, dout, tok, N, C);
  return undefined(env);
}

// ---------------------------------------------------------------------------- rmsnorm

// rmsnormForward(out, rstd, inp, weight, N, C, eps)
napi_value RmsnormForward(napi_env env, napi_callback_info info) {
  Args a(env, info, "rmsnormForward");
  int64_t N = a.size(4, "N"), C = a.size(5, "C");
  float eps = a.number(6, "eps");
  float* out = a.f32(0, "out", N * C); float* rstd = a.f32(1, "rstd", N);
  const float* inp = a.f32(2, "inp", N * C); const float* w = a.f32(3, "weight", C);
  if (a.failed) return nullptr;
  K->rmsnorm_forward(out, rstd, inp, w, N, C, eps);
  return undefined(env);
}

// rmsnormBackward(dinp, dweight, dout, inp, weight, rstd, N, C)
napi_value RmsnormBackward(napi_env env, napi_callback_info info) {
  Args a(env, info, "rmsnormBackward");
  int64_t N = a.size(6, "N"), C = a.size(7, "C");
  float* dinp = a.f32(0, "dinp", N * C); float* dw = a.f32(1, "dweight", C);
  const float* dout = a.f32(2, "dout", N * C); const float* inp = a.f32(3, "inp", N * C);
  const float* w = a.f32(4, "weight", C); const float* rstd = a.f32(5, "rstd", N);
  if (a.failed) return nullptr;
  K->rmsnorm_backward(dinp, dw, dout, inp, w, rstd, N, C);
  return undefined(env);
}

// ---------------------------------------------------------------------------- rope

napi_value Rope(napi_env env, napi_callback_info info, bool backward) {
  Args a(env, info, backward ? "ropeBackward" : "ropeForward");
  int64_t B = a.size(4, "B"), T = a.size(5, "T"), NH = a.size(6, "NH"), HS = a.size(7, "HS"), pos0 = a.size(8, "pos0");
  if (a.failed) return nullptr;
  if (HS % 2) { a.fail("HS must be even, got " + std::to_string(HS)); return nullptr; }
  int64_t n = B * T * NH * HS;
  float* out = a.f32(0, backward ? "dinp" : "out", n);
  const float* inp = a.f32(1, backward ? "dout" : "inp", n);
  const float* c = a.f32(2, "cos", (pos0 + T) * (HS / 2));
  const float* s = a.f32(3, "sin", (pos0 + T) * (HS / 2));
  if (a.failed) return nullptr;
  (backward ? K->rope_backward : K->rope_forward)(out, inp, c, s, B, T, NH, HS, pos0);
  return undefined(env);
}
// ropeForward(out, inp, cos, sin, B, T, NH, HS, pos0)
napi_value RopeForward(napi_env env, napi_callback_info info) { return Rope(env, info, false); }
// ropeBackward(dinp, dout, cos, sin, B, T, NH, HS, pos0)
napi_value RopeBackward(napi_env env, napi_callback_info info) { return Rope(env, info, true); }

// ---------------------------------------------------------------------------- swiglu

// swigluForward(out, inp, N, H)
napi_value SwigluForward(napi_env env, napi_callback_info info) {
  Args a(env, info, "swigluForward");
  int64_t N = a.size(2, "N"), H = a.size(3, "H");
  float* out = a.f32(0, "out", N * H); const float* inp = a.f32(1, "inp", N * 2 * H);
  if (a.failed) return nullptr;
  K->swiglu_forward(out, inp, N, H);
  return undefined(env);
}

// swigluBackward(dinp, dout, inp, N, H)
napi_value SwigluBackward(napi_env env, napi_callback_info info) {
  Args a(env, info, "swigluBackward");
  int64_t N = a.size(3, "N"), H = a.size(4, "H");
  float* dinp = a.f32(0, "dinp", N * 2 * H); const float* dout = a.f32(1, "dout", N * H);
  const float* inp = a.f32(2, "inp", N * 2 * H);
  if (a.failed) return nullptr;
  K->swiglu_backward(dinp, dout, inp, N, H);
  return undefined(env);
}

// ---------------------------------------------------------------------------- cross-entropy

// crossEntropyForward(losses, lse, logits, targets, N, V, ignoreIndex)
napi_value CrossEntropyForward(napi_env env, napi_callback_info info) {
  Args a(env, info, "crossEntropyForward");
  int64_t N = a.size(4, "N"), V = a.size(5, "V");
  int32_t ignore = (int32_t)a.integer(6, "ignoreIndex");
  float* losses = a.f32(0, "losses", N); float* lse = a.f32(1, "lse", N);
  const float* logits = a.f32(2, "logits", N * V); const int32_t* t = a.i32(3, "targets", N);
  a.check_ids(t, N, V, "targets", true, ignore);
  if (a.failed) return nullptr;
  K->cross_entropy_forward(losses, lse, logits, t, N, V, ignore);
  return undefined(env);
}

// crossEntropyBackward(dlogits, dlosses, logits, lse, targets, N, V, ignoreIndex)
napi_value CrossEntropyBackward(napi_env env, napi_callback_info info) {
  Args a(env, info, "crossEntropyBackward");
  int64_t N = a.size(5, "N"), V = a.size(6, "V");
  int32_t ignore = (int32_t)a.integer(7, "ignoreIndex");
  float* dlogits = a.f32(0, "dlogits", N * V); const float* dl = a.f32(1, "dlosses", N);
  const float* logits = a.f32(2, "logits", N * V); const float* lse = a.f32(3, "lse", N);
  const int32_t* t = a.i32(4, "targets", N);
  a.check_ids(t, N, V, "targets", true, ignore);
  if (a.failed) return nullptr;
  K->cross_entropy_backward(dlogits, dl, logits, lse, t, N, V, ignore);
  return undefined(env);
}

// ---------------------------------------------------------------------------- softmax

// softmaxForward(out, inp, N, V, scale, causal)
napi_value SoftmaxForward(napi_env env, napi_callback_info info) {
  Args a(env, info, "softmaxForward");
  int64_t N = a.size(2, "N"), V = a.size(3, "V");
  float scale = a.number(4, "scale");
  bool causal = a.boolean(5, "causal");
  float* out = a.f32(0, "out", N * V); const float* inp = a.f32(1, "inp", N * V);
  if (a.failed) return nullptr;
  K->softmax_forward(out, inp, N, V, scale, causal);
  return undefined(env);
}

// softmaxBackward(dinp, dout, out, N, V, scale)
napi_value SoftmaxBackward(napi_env env, napi_callback_info info) {
  Args a(env, info, "softmaxBackward");
  int64_t N = a.size(3, "N"), V = a.size(4, "V");
  float scale = a.number(5, "scale");
  float* dinp = a.f32(0, "dinp", N * V); const float* dout = a.f32(1, "dout", N * V); const float* out = a.f32(2, "out", N * V);
  if (a.failed) return nullptr;
  K->softmax_backward(dinp, dout, out, N, V, scale);
  return undefined(env);
}

// ---------------------------------------------------------------------------- adamw

// adamwStep(param, grad, m, v, n, lr, beta1, beta2, eps, weightDecay, step, gradScale)
napi_value AdamwStep(napi_env env, napi_callback_info info) {
  Args a(env, info, "adamwStep");
  int64_t n = a.size(4, "n");
  float lr = a.number(5, "lr"), b1 = a.number(6, "beta1"), b2 = a.number(7, "beta2"), eps = a.number(8, "eps");
  float wd = a.number(9, "weightDecay");
  int64_t step = a.size(10, "step");
  float gs = a.number(11, "gradScale");
  float* p = a.f32(0, "param", n); const float* g = a.f32(1, "grad", n); float* m = a.f32(2, "m", n); float* v = a.f32(3, "v", n);
  if (a.failed) return nullptr;
  if (step < 1) { a.fail("step counts from 1, got " + std::to_string(step)); return nullptr; }
  K->adamw_step(p, g, m, v, n, lr, b1, b2, eps, wd, step, gs);
  return undefined(env);
}

// ---------------------------------------------------------------------------- attention

// Attention's optional key limits, argument i: null when absent (causal), else lim [B, Tq] checked
// against the kernel's contract, off+i+1 <= lim[b, i] <= Tk and non-decreasing in i, so no read
// goes past a row's keys.
const int32_t* attention_limits(Args& a, size_t i, int64_t B, int64_t Tq, int64_t Tk) {
  if (a.none(i)) return nullptr;
  const int32_t* lim = a.i32(i, "lim", B * Tq);
  if (a.failed) return nullptr;
  for (int64_t b = 0; b < B; b++)
    for (int64_t t = 0; t < Tq; t++) {
      const int64_t x = lim[b * Tq + t], lo = Tk - Tq + t + 1;
      if (x < lo || x > Tk || (t > 0 && x < lim[b * Tq + t - 1])) {
        a.fail("lim[" + std::to_string(b * Tq + t) + "] = " + std::to_string(x) + " must be in [" + std::to_string(lo) +
               ", " + std::to_string(Tk) + "] and at least the entry before it");
        return nullptr;
      }
    }
  return lim;
}

// attentionForward(out, lse, q, k, v, B, Tq, Tk, NH, HS, scale[, lim])
napi_value AttentionForward(napi_env env, napi_callback_info info) {
  Args a(env, info, "attentionForward");
  int64_t B = a.size(5, "B"), Tq = a.size(6, "Tq"), Tk = a.size(7, "Tk"), NH = a.size(8, "NH"), HS = a.size(9, "HS");
  float scale = a.number(10, "scale");
  if (a.failed) return nullptr;
  if (Tk < Tq) { a.fail("Tk (" + std::to_string(Tk) + ") must be >= Tq (" + std::to_string(Tq) + ")"); return nullptr; }
  float* out = a.f32(0, "out", B * Tq * NH * HS); float* lse = a.f32(1, "lse", B * NH * Tq);
  const float* q = a.f32(2, "q", B * Tq * NH * HS);
  const float* k = a.f32(3, "k", B * Tk * NH * HS); const float* v = a.f32(4, "v", B * Tk * NH * HS);
  const int32_t* lim = attention_limits(a, 11, B, Tq, Tk);
  if (a.failed) return nullptr;
  K->attention_forward(out, lse, q, k, v, B, Tq, Tk, NH, HS, scale, lim);
  return undefined(env);
}

// attentionBackward(dq, dk, dv, dout, q, k, v, out, lse, B, Tq, Tk, NH, HS, scale[, lim])
napi_value AttentionBackward(napi_env env, napi_callback_info info) {
  Args a(env, info, "attentionBackward");
  int64_t B = a.size(9, "B"), Tq = a.size(10, "Tq"), Tk = a.size(11, "Tk"), NH = a.size(12, "NH"), HS = a.size(13, "HS");
  float scale = a.number(14, "scale");
  if (a.failed) return nullptr;
  if (Tk < Tq) { a.fail("Tk (" + std::to_string(Tk) + ") must be >= Tq (" + std::to_string(Tq) + ")"); return nullptr; }
  int64_t nq = B * Tq * NH * HS, nk = B * Tk * NH * HS;
  float* dq = a.f32(0, "dq", nq); float* dk = a.f32(1, "dk", nk); float* dv = a.f32(2, "dv", nk);
  const float* dout = a.f32(3, "dout", nq); const float* q = a.f32(4, "q", nq);
  const float* k = a.f32(5, "k", nk); const float* v = a.f32(6, "v", nk);
  const float* out = a.f32(7, "out", nq); const float* lse = a.f32(8, "lse", B * NH * Tq);
  const int32_t* lim = attention_limits(a, 15, B, Tq, Tk);
  if (a.failed) return nullptr;
  K->attention_backward(dq, dk, dv, dout, q, k, v, out, lse, B, Tq, Tk, NH, HS, scale, lim);
  return undefined(env);
}

// ---------------------------------------------------------------------------- image windows

// windowsForward(out, pixels, count, S, P, W, stride)
napi_value WindowsForward(napi_env env, napi_callback_info info) {
  Args a(env, info, "windowsForward");
  int64_t count = a.size(2, "count"), S = a.size(3, "S"), P = a.size(4, "P"), W = a.size(5, "W"), stride = a.size(6, "stride");
  if (a.failed) return nullptr;
  if (P < 1 || S % P != 0) { a.fail("S (" + std::to_string(S) + ") must be a multiple of P (" + std::to_string(P) + ")"); return nullptr; }
  if (W < P || (W - P) % 2 != 0) { a.fail("W (" + std::to_string(W) + ") must be P or P plus an even number"); return nullptr; }
  if (stride < W * W * 3) { a.fail("stride (" + std::to_string(stride) + ") must hold a window's W*W*3 values"); return nullptr; }
  const int64_t G = S / P;
  float* out = a.f32(0, "out", count * G * G * stride); const float* pixels = a.f32(1, "pixels", count * S * S * 3);
  if (a.failed) return nullptr;
  K->windows_forward(out, pixels, count, S, P, W, stride);
  return undefined(env);
}

// ---------------------------------------------------------------------------- module

napi_value Init(napi_env env, napi_value exports) {
  K = isa_default(&isa_warning);
#ifdef _OPENMP
  const char* t = std::getenv("TETRA_THREADS");
  if (t && *t) {
    int n = std::atoi(t);
    if (n >= 1 && n <= 1024) omp_set_num_threads(n);
  } else {
    omp_set_num_threads(omp_get_num_procs());
  }
#endif
  struct { const char* name; napi_callback fn; } fns[] = {
      {"info", Info}, {"setIsa", SetIsa}, {"setThreads", SetThreads},
      {"gemm", Gemm},
      {"add", Add}, {"axpy", Axpy}, {"scale", Scale}, {"sumSquares", SumSquares},
      {"embeddingForward", EmbeddingForward}, {"embeddingBackward", EmbeddingBackward},
      {"rmsnormForward", RmsnormForward}, {"rmsnormBackward", RmsnormBackward},
      {"ropeForward", RopeForward}, {"ropeBackward", RopeBackward},
      {"swigluForward", SwigluForward}, {"swigluBackward", SwigluBackward},
      {"crossEntropyForward", CrossEntropyForward}, {"crossEntropyBackward", CrossEntropyBackward},
      {"softmaxForward", SoftmaxForward}, {"softmaxBackward", SoftmaxBackward},
      {"adamwStep", AdamwStep},
      {"attentionForward", AttentionForward}, {"attentionBackward", AttentionBackward},
      {"windowsForward", WindowsForward},
  };
  for (auto& f : fns) {
    napi_value v;
    napi_create_function(env, f.name, NAPI_AUTO_LENGTH, f.fn, nullptr, &v);
    napi_set_named_property(env, exports, f.name, v);
  }
  return exports;
}

}  // namespace

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
