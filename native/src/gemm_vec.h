// The one vector type the GEMM kernels are written against, chosen by this translation unit's
// ISA flags. Included by gemm.h inside an anonymous namespace (see isa_impl.h), so each ISA
// gets its own copy. The kernels are templates over nothing but this struct and the tile sizes
// below, so the AVX2 build that the tests run here executes the same code as the AVX-512 one.
//
//   W        floats per vector
//   kMR      rows of the register tile (broadcasts of A)
//   kNV      vectors per row of the register tile, so NR = kNV * W columns (loads of B)
// A tile needs kMR * kNV accumulators + kNV B vectors + 1 broadcast in registers:
//   AVX-512: 12 x 2 -> 24 + 3 of 32 zmm;  AVX2: 6 x 2 -> 12 + 3 of 16 ymm;
//   generic (SSE2 or any 128-bit SIMD the compiler maps vector extensions to): 4 x 2 -> 8 + 3.

namespace gemm_impl {

#if defined(__AVX512F__)

constexpr int W = 16, kMR = 12, kNV = 2;
struct Vec { __m512 v; };
inline Vec vzero() { return {_mm512_setzero_ps()}; }
inline Vec vset1(float s) { return {_mm512_set1_ps(s)}; }
inline Vec vload(const float* p) { return {_mm512_loadu_ps(p)}; }
inline void vstore(float* p, Vec a) { _mm512_storeu_ps(p, a.v); }
inline Vec vfma(Vec a, Vec b, Vec c) { return {_mm512_fmadd_ps(a.v, b.v, c.v)}; }  // a*b + c
inline Vec vmul(Vec a, Vec b) { return {_mm512_mul_ps(a.v, b.v)}; }
inline Vec vadd(Vec a, Vec b) { return {_mm512_add_ps(a.v, b.v)}; }
inline float vsum(Vec a) {
  // Through memory: in GCC 12 _mm512_reduce_add_ps, extracts and even _mm512_castps512_ps256
  // trip -Wmaybe-uninitialized (_mm256_undefined_ps inside the headers). Runs once per dot product.
  alignas(64) float t[16];
  _mm512_store_ps(t, a.v);
  __m256 h = _mm256_add_ps(_mm256_load_ps(t), _mm256_load_ps(t + 8));
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}
inline void vprefetch(const void* p) { _mm_prefetch((const char*)p, _MM_HINT_T0); }

#elif defined(__AVX2__) && defined(__FMA__)

constexpr int W = 8, kMR = 6, kNV = 2;
struct Vec { __m256 v; };
inline Vec vzero() { return {_mm256_setzero_ps()}; }
inline Vec vset1(float s) { return {_mm256_set1_ps(s)}; }
inline Vec vload(const float* p) { return {_mm256_loadu_ps(p)}; }
inline void vstore(float* p, Vec a) { _mm256_storeu_ps(p, a.v); }
inline Vec vfma(Vec a, Vec b, Vec c) { return {_mm256_fmadd_ps(a.v, b.v, c.v)}; }
inline Vec vmul(Vec a, Vec b) { return {_mm256_mul_ps(a.v, b.v)}; }
inline Vec vadd(Vec a, Vec b) { return {_mm256_add_ps(a.v, b.v)}; }
inline float vsum(Vec a) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(a.v), _mm256_extractf128_ps(a.v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}
inline void vprefetch(const void* p) { _mm_prefetch((const char*)p, _MM_HINT_T0); }

#elif defined(__GNUC__)

// Portable: GCC/Clang vector extensions lower to SSE2 on baseline x86-64, NEON on arm64, or
// scalar code elsewhere. memcpy keeps loads and stores free of alignment assumptions.
constexpr int W = 4, kMR = 4, kNV = 2;
typedef float v4f __attribute__((vector_size(16)));
struct Vec { v4f v; };
inline Vec vzero() { return {v4f{0, 0, 0, 0}}; }
inline Vec vset1(float s) { return {v4f{s, s, s, s}}; }
inline Vec vload(const float* p) { Vec r; memcpy(&r.v, p, sizeof r.v); return r; }
inline void vstore(float* p, Vec a) { memcpy(p, &a.v, sizeof a.v); }
inline Vec vfma(Vec a, Vec b, Vec c) { return {a.v * b.v + c.v}; }
inline Vec vmul(Vec a, Vec b) { return {a.v * b.v}; }
inline Vec vadd(Vec a, Vec b) { return {a.v + b.v}; }
inline float vsum(Vec a) { return (a.v[0] + a.v[1]) + (a.v[2] + a.v[3]); }
inline void vprefetch(const void* p) { __builtin_prefetch(p); }

#else

// Any other compiler: plain arrays; the optimiser may or may not vectorise them.
constexpr int W = 4, kMR = 4, kNV = 2;
struct Vec { float v[4]; };
inline Vec vzero() { return {{0, 0, 0, 0}}; }
inline Vec vset1(float s) { return {{s, s, s, s}}; }
inline Vec vload(const float* p) { Vec r; memcpy(r.v, p, sizeof r.v); return r; }
inline void vstore(float* p, Vec a) { memcpy(p, a.v, sizeof a.v); }
inline Vec vfma(Vec a, Vec b, Vec c) { Vec r; for (int i = 0; i < 4; i++) r.v[i] = a.v[i] * b.v[i] + c.v[i]; return r; }
inline Vec vmul(Vec a, Vec b) { Vec r; for (int i = 0; i < 4; i++) r.v[i] = a.v[i] * b.v[i]; return r; }
inline Vec vadd(Vec a, Vec b) { Vec r; for (int i = 0; i < 4; i++) r.v[i] = a.v[i] + b.v[i]; return r; }
inline float vsum(Vec a) { return (a.v[0] + a.v[1]) + (a.v[2] + a.v[3]); }
inline void vprefetch(const void*) {}

#endif

constexpr int kNR = kNV * W;  // columns of the register tile

}  // namespace gemm_impl
