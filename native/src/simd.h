// The vector type of the kernels written with intrinsics (attention, the SwiGLU and sigmoid
// loops), one per ISA, with the exp they share. Included inside an anonymous namespace by
// isa_impl.h, so each ISA gets its own copy. The generic build has no vector type
// (TETRA_SIMD_VW undefined): its callers keep plain loops, which the compiler auto-vectorises as
// far as baseline SSE2 allows. __AVX512F__ is tested first because the avx512 translation unit
// also defines __AVX2__. (The GEMM has its own, gemm_vec.h: a struct shaped for its templates.)

// GCC 12 reports its own AVX-512 intrinsics' deliberately undefined pass-through operands
// (_mm512_undefined_ps) as maybe-uninitialized once inlined (GCC bug 105593, fixed in 13).
#if defined(__AVX512F__) && defined(__GNUC__) && !defined(__clang__) && __GNUC__ < 13
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#define TETRA_SIMD_POP_DIAGNOSTIC
#endif

namespace simd {

#if defined(__AVX512F__)
#define TETRA_SIMD_VW 16
typedef __m512 vfloat;
inline vfloat vload(const float* p) { return _mm512_loadu_ps(p); }
inline void vstore(float* p, vfloat x) { _mm512_storeu_ps(p, x); }
inline vfloat vset1(float x) { return _mm512_set1_ps(x); }
inline vfloat vfma(vfloat a, vfloat b, vfloat c) { return _mm512_fmadd_ps(a, b, c); }
inline vfloat vadd(vfloat a, vfloat b) { return _mm512_add_ps(a, b); }
inline vfloat vsub(vfloat a, vfloat b) { return _mm512_sub_ps(a, b); }
inline vfloat vmul(vfloat a, vfloat b) { return _mm512_mul_ps(a, b); }
inline vfloat vmax(vfloat a, vfloat b) { return _mm512_max_ps(a, b); }
inline vfloat vdiv(vfloat a, vfloat b) { return _mm512_div_ps(a, b); }
// -|x|, and per lane `neg` where x's sign bit is set, else `pos`.
inline vfloat vneg_abs(vfloat x) { return _mm512_castsi512_ps(_mm512_or_epi32(_mm512_castps_si512(x), _mm512_set1_epi32(INT32_MIN))); }
inline vfloat vselect_sign(vfloat x, vfloat neg, vfloat pos) { return _mm512_mask_blend_ps(_mm512_movepi32_mask(_mm512_castps_si512(x)), pos, neg); }
inline float vsum(vfloat x) { return _mm512_reduce_add_ps(x); }
inline float vhmax(vfloat x) { return _mm512_reduce_max_ps(x); }
inline vfloat vround(vfloat x) { return _mm512_roundscale_ps(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
// 2^n for integral n in [-126, 127], and 0 in the lanes where keep is false.
inline vfloat vpow2_or_zero(vfloat n, vfloat x, float lo) {
  const __m512i bits = _mm512_slli_epi32(_mm512_add_epi32(_mm512_cvtps_epi32(n), _mm512_set1_epi32(127)), 23);
  const __mmask16 keep = _mm512_cmp_ps_mask(x, _mm512_set1_ps(lo), _CMP_GT_OQ);
  return _mm512_maskz_mov_ps(keep, _mm512_castsi512_ps(bits));
}
#elif defined(__AVX2__) && defined(__FMA__)
#define TETRA_SIMD_VW 8
typedef __m256 vfloat;
inline vfloat vload(const float* p) { return _mm256_loadu_ps(p); }
inline void vstore(float* p, vfloat x) { _mm256_storeu_ps(p, x); }
inline vfloat vset1(float x) { return _mm256_set1_ps(x); }
inline vfloat vfma(vfloat a, vfloat b, vfloat c) { return _mm256_fmadd_ps(a, b, c); }
inline vfloat vadd(vfloat a, vfloat b) { return _mm256_add_ps(a, b); }
inline vfloat vsub(vfloat a, vfloat b) { return _mm256_sub_ps(a, b); }
inline vfloat vmul(vfloat a, vfloat b) { return _mm256_mul_ps(a, b); }
inline vfloat vmax(vfloat a, vfloat b) { return _mm256_max_ps(a, b); }
inline vfloat vdiv(vfloat a, vfloat b) { return _mm256_div_ps(a, b); }
inline vfloat vneg_abs(vfloat x) { return _mm256_or_ps(x, _mm256_set1_ps(-0.0f)); }
inline vfloat vselect_sign(vfloat x, vfloat neg, vfloat pos) { return _mm256_blendv_ps(pos, neg, x); }
inline float vsum(vfloat x) {
  __m128 h = _mm_add_ps(_mm256_castps256_ps128(x), _mm256_extractf128_ps(x, 1));
  h = _mm_add_ps(h, _mm_movehl_ps(h, h));
  h = _mm_add_ss(h, _mm_shuffle_ps(h, h, 1));
  return _mm_cvtss_f32(h);
}
inline float vhmax(vfloat x) {
  __m128 h = _mm_max_ps(_mm256_castps256_ps128(x), _mm256_extractf128_ps(x, 1));
  h = _mm_max_ps(h, _mm_movehl_ps(h, h));
  h = _mm_max_ss(h, _mm_shuffle_ps(h, h, 1));
  return _mm_cvtss_f32(h);
}
inline vfloat vround(vfloat x) { return _mm256_round_ps(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
inline vfloat vpow2_or_zero(vfloat n, vfloat x, float lo) {
  const __m256i bits = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
  const __m256 keep = _mm256_cmp_ps(x, _mm256_set1_ps(lo), _CMP_GT_OQ);
  return _mm256_and_ps(keep, _mm256_castsi256_ps(bits));
}
#endif

// exp(x) for x <= 88: attention takes exp of a score minus a bound on it, the sigmoid of -|g|.
// A libm expf call per score cost more than both of attention's tile products together at
// HS = 32, and the plain-C version of this does not auto-vectorise here: under the default
// -ftrapping-math GCC will not if-convert the float compare that zeroes masked lanes. So:
// intrinsics in the vector builds (vexp_bounded), and the scalar paths use ops_math.h's
// exp_approx, the same method. x < -87 (including -inf, the causal mask) gives exactly 0.
// exp(x) = 2^n * exp(r), n = round(x / ln2), |r| <= ln2/2, exp(r) by its degree-7 Taylor
// polynomial (truncation error < 5e-9 relative).
constexpr float kExpLo = -87.0f;
constexpr float kLog2e = 1.44269504088896341f;
constexpr float kLn2Hi = 0.693145751953125f;  // ln2 split in two so n * ln2_hi is exact
constexpr float kLn2Lo = 1.42860682030941723e-6f;

#ifdef TETRA_SIMD_VW
inline vfloat vexp_bounded(vfloat x) {
  const vfloat xc = vmax(x, vset1(kExpLo));
  const vfloat n = vround(vmul(xc, vset1(kLog2e)));
  vfloat r = vfma(n, vset1(-kLn2Hi), xc);
  r = vfma(n, vset1(-kLn2Lo), r);
  vfloat p = vset1(1.0f / 5040);
  p = vfma(p, r, vset1(1.0f / 720));
  p = vfma(p, r, vset1(1.0f / 120));
  p = vfma(p, r, vset1(1.0f / 24));
  p = vfma(p, r, vset1(1.0f / 6));
  p = vfma(p, r, vset1(0.5f));
  p = vfma(p, r, vset1(1.0f));
  p = vfma(p, r, vset1(1.0f));
  return vmul(p, vpow2_or_zero(n, x, kExpLo));
}
#endif

#ifdef TETRA_SIMD_VW
constexpr int64_t VW = TETRA_SIMD_VW;

// sigmoid(g) from e = exp(-|g|) <= 1, as ops_math.h's sigmoid_approx: 1/(1+e) for g >= 0 and
// e/(1+e) below, so nothing overflows and small values keep their relative precision. NaN is not
// carried through (the callers multiply by g, which is).
inline vfloat vsigmoid(vfloat g) {
  const vfloat e = vexp_bounded(vneg_abs(g));
  const vfloat inv = vdiv(vset1(1.0f), vadd(vset1(1.0f), e));
  return vselect_sign(g, vmul(e, inv), inv);
}
#endif

}  // namespace simd

#ifdef TETRA_SIMD_POP_DIAGNOSTIC
#pragma GCC diagnostic pop
#undef TETRA_SIMD_POP_DIAGNOSTIC
#endif
