// Fused causal self-attention, forward and backward, flash style. Included inside an anonymous
// namespace by isa_impl.h (compiled once per ISA). Semantics: native/src/kernels.h; the plain
// reference is src/tensor/ref/attention.ts.
//
// q [B, Tq, NH, HS]; k, v [B, Tk, NH, HS]; out [B, Tq, NH, HS]; lse [B, NH, Tq]. Query i sits at
// position off + i (off = Tk - Tq) and sees keys 0..off+i, or with lim [B, Tq] (prefix attention:
// an image block's tokens see the whole block) keys 0..lim[b, i]-1, lim non-decreasing in i and
// at least off+i+1, so every loop bound below stays a per-row end that grows with the row. One
// head's time steps are ld = NH*HS floats apart, so tiles are read in place with that row stride;
// nothing is permuted.
//
// Forward: for each (b, h, query tile of BQ rows), walk key tiles of BK keys up to the diagonal
// with an online softmax (running max m and sum l per row), so at most one BQ x BK tile of the
// Tq x Tk score matrix exists per thread. With fewer query tiles than threads (decode at batch 1
// with few heads) the keys are split into ranges whose partial max, sum and output are merged.
// Backward (FlashAttention-2 order): for each key tile,
// walk the query tiles at or below the diagonal, rebuild P = exp(S - lse), and accumulate dk, dv
// for the tile in per-thread scratch; dq is accumulated directly (no two threads share a
// (b, h) pair) or, when there are fewer pairs than threads, into per-thread copies summed at the end.
//
// Helpers live in attn_detail:: so they cannot collide with other kernel headers' names once all
// of them share isa_impl.h's anonymous namespace.

// GCC 12 reports its own AVX-512 intrinsics' deliberately undefined pass-through operands
// (_mm512_undefined_ps) as maybe-uninitialized once inlined here (GCC bug 105593, fixed in 13).
#if defined(__AVX512F__) && defined(__GNUC__) && !defined(__clang__) && __GNUC__ < 13
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#define TETRA_ATTN_POP_DIAGNOSTIC
#endif

namespace attn_detail {

using namespace simd;

constexpr int64_t BQ = 32;  // query rows per tile
constexpr int64_t BK = 64;  // keys per tile (the vectorised score-row width)

// Score columns computed for a tile with `cols` keys: whole tiles compute BK, short ones (the
// last tile, all of decode at Tk < 64, T = 64 in blocks of 32 queries) round up to 16 so the
// vector loops need no tails in any build.
inline int64_t score_width(int64_t cols) { int64_t w = (cols + 15) / 16 * 16; return w < BK ? w : BK; }

// ---------------------------------------------------------------------------- tile product
// C[M x N] += A[M x K] * B[K x N] with A(i, p) = A[i*ars + p*acs] (so A may be read transposed),
// B rows ldb apart and C rows ldc apart, both contiguous along N. Every product of the kernel
// (Q K^T, P V, dO V^T, P^T dO, dS K, dS^T Q) is this shape once K and V tiles are transposed.

#ifdef TETRA_SIMD_VW

// MR rows x NV vectors of C held in registers across the whole K loop; Set: C is overwritten
// (never read) instead of added to.
template <int MR, int NV, bool Set>
inline void tile_kernel(float* C, int64_t ldc, const float* A, int64_t ars, int64_t acs, const float* B, int64_t ldb,
                        int64_t K) {
  vfloat acc[MR][NV];
  for (int i = 0; i < MR; i++)
    for (int v = 0; v < NV; v++) acc[i][v] = Set ? vset1(0.0f) : vload(C + i * ldc + v * VW);
  for (int64_t p = 0; p < K; p++) {
    vfloat b[NV];
    for (int v = 0; v < NV; v++) b[v] = vload(B + p * ldb + v * VW);
    for (int i = 0; i < MR; i++) {
      const vfloat a = vset1(A[i * ars + p * acs]);
      for (int v = 0; v < NV; v++) acc[i][v] = vfma(a, b[v], acc[i][v]);
    }
  }
  for (int i = 0; i < MR; i++)
    for (int v = 0; v < NV; v++) vstore(C + i * ldc + v * VW, acc[i][v]);
}

template <int NV, bool Set>
inline void tile_columns(float* C, int64_t ldc, const float* A, int64_t ars, int64_t acs, const float* B,
                         int64_t ldb, int64_t M, int64_t K) {
  // 6 rows x 2 vectors is 12 accumulators: enough independent FMA chains to keep both FMA units
  // busy (4 rows left them waiting on latency), and 15 of AVX2's 16 registers with the loads.
  int64_t i = 0;
  for (; i + 6 <= M; i += 6) tile_kernel<6, NV, Set>(C + i * ldc, ldc, A + i * ars, ars, acs, B, ldb, K);
  if (M - i >= 4) tile_kernel<4, NV, Set>(C + i * ldc, ldc, A + i * ars, ars, acs, B, ldb, K), i += 4;
  if (M - i >= 2) tile_kernel<2, NV, Set>(C + i * ldc, ldc, A + i * ars, ars, acs, B, ldb, K), i += 2;
  if (M - i >= 1) tile_kernel<1, NV, Set>(C + i * ldc, ldc, A + i * ars, ars, acs, B, ldb, K);
}
#endif

// C += A B, or C = A B with set (C's old values never read: no clearing pass before).
inline void tile_gemm(float* C, int64_t ldc, const float* A, int64_t ars, int64_t acs, const float* B, int64_t ldb,
                      int64_t M, int64_t N, int64_t K, bool set = false) {
  int64_t n = 0;
#ifdef TETRA_SIMD_VW
  if (set) {
    for (; n + 2 * VW <= N; n += 2 * VW) tile_columns<2, true>(C + n, ldc, A, ars, acs, B + n, ldb, M, K);
    for (; n + VW <= N; n += VW) tile_columns<1, true>(C + n, ldc, A, ars, acs, B + n, ldb, M, K);
  } else {
    for (; n + 2 * VW <= N; n += 2 * VW) tile_columns<2, false>(C + n, ldc, A, ars, acs, B + n, ldb, M, K);
    for (; n + VW <= N; n += VW) tile_columns<1, false>(C + n, ldc, A, ars, acs, B + n, ldb, M, K);
  }
#endif
  // The generic build does everything here; vector builds only the last N % VW columns
  // (HS = 17 leaves one).
  if (n == N) return;
  for (int64_t i = 0; i < M; i++) {
    float* c = C + i * ldc;
    if (set)
      for (int64_t j = n; j < N; j++) c[j] = 0.0f;
    for (int64_t p = 0; p < K; p++) {
      const float a = A[i * ars + p * acs];
      const float* b = B + p * ldb;
      for (int64_t j = n; j < N; j++) c[j] += a * b[j];
    }
  }
}

// ---------------------------------------------------------------------------- small row helpers

// t[d*BK + c] = x[c*ld + d] for c < cols, 0 for cols <= c < nc: a K or V tile as [HS, BK].
inline void transpose_tile(float* t, const float* x, int64_t ld, int64_t cols, int64_t nc, int64_t HS) {
  int64_t c = 0;
#if defined(__AVX2__)
  // 8 x 8 blocks through registers, then scalar edges.
  const int64_t hs8 = HS / 8 * 8;
  for (; c + 8 <= cols; c += 8) {
    for (int64_t d = 0; d < hs8; d += 8) transpose8(x + c * ld + d, ld, t + d * BK + c, BK);
    for (int64_t cc = c; cc < c + 8; cc++)
      for (int64_t d = hs8; d < HS; d++) t[d * BK + cc] = x[cc * ld + d];
  }
#endif
  for (; c < cols; c++)
    for (int64_t d = 0; d < HS; d++) t[d * BK + c] = x[c * ld + d];
  for (int64_t d = 0; d < HS; d++)
    for (int64_t c = cols; c < nc; c++) t[d * BK + c] = 0.0f;
}

// Largest of s[0..n), n a multiple of 16.
inline float row_max(const float* s, int64_t n) {
#ifdef TETRA_SIMD_VW
  vfloat m = vload(s);
  for (int64_t c = VW; c < n; c += VW) m = vmax(m, vload(s + c));
  return vhmax(m);
#else
  float mx = s[0];
  for (int64_t c = 1; c < n; c++) mx = s[c] > mx ? s[c] : mx;
  return mx;
#endif
}

// s[c] = exp(a * s[c] - sub) for c in [0, n), n a multiple of 16; returns the sum.
inline float row_exp_sum(float* s, int64_t n, float a, float sub) {
#ifdef TETRA_SIMD_VW
  const vfloat va = vset1(a), vs = vset1(sub);
  vfloat sum = vset1(0.0f);
  for (int64_t c = 0; c < n; c += VW) {
    const vfloat p = vexp_bounded(vsub(vmul(va, vload(s + c)), vs));
    vstore(s + c, p);
    sum = vadd(sum, p);
  }
  return vsum(sum);
#else
  float sum = 0;
  for (int64_t c = 0; c < n; c++) {
    s[c] = exp_approx(a * s[c] - sub);
    sum += s[c];
  }
  return sum;
#endif
}

inline int thread_id() {
#ifdef _OPENMP
  return omp_get_thread_num();
#else
  return 0;
#endif
}

inline float* alloc_floats(int64_t n) { return static_cast<float*>(std::malloc(sizeof(float) * (n > 0 ? n : 1))); }

// One past the last key query i of batch row b sees: off + i + 1 (causal), or lim's entry.
inline int64_t key_end(const int32_t* lim, int64_t b, int64_t i, int64_t Tq, int64_t off) {
  return lim ? int64_t(lim[b * Tq + i]) : off + i + 1;
}

// ---------------------------------------------------------------------------- forward

// Floats of per-thread scratch forward_tile needs.
inline int64_t forward_scratch(int64_t HS) { return 2 * BQ * HS + HS * BK + BQ * BK + 2 * BQ; }

// Decode (one query row): the tile path below would transpose a BK x HS key tile to score a
// single row against it. Here each score is a dot product of two contiguous HS-vectors (a key row
// read in place) and P V sums value rows read in place, in chunks of up to BQ * BK keys with the
// same online softmax, leaving O, m and l where forward_tile does. qt: the query row; kh, vh: key
// 0 of the head. Both loops keep several independent FMA chains in flight (four keys at a time
// for the scores; eight output vectors held in registers across the keys for P V): one chain per
// key, or O updated through memory, left them latency-bound at a few times this cost.
inline void forward_row(const float* qt, const float* kh, const float* vh, int64_t ld, int64_t kbeg, int64_t kend,
                        int64_t HS, float scale, float* ws) {
  float* Qs = ws;
  float* O = Qs + BQ * HS;
  float* S = O + BQ * HS + HS * BK;  // BQ * BK scores
  float* m = S + BQ * BK;
  float* l = m + BQ;
  for (int64_t d = 0; d < HS; d++) Qs[d] = scale * qt[d];
  std::memset(O, 0, sizeof(float) * HS);
  m[0] = -INFINITY;
  l[0] = 0.0f;
  constexpr int64_t kChunk = BQ * BK;
  for (int64_t j0 = kbeg; j0 < kend; j0 += kChunk) {
    const int64_t cols = min_i64(kChunk, kend - j0), nc = (cols + 15) / 16 * 16;
    const float* kc = kh + j0 * ld;
    int64_t c = 0;
#ifdef TETRA_SIMD_VW
    const int64_t hv = HS / VW * VW;  // the vector part of a row
    for (; c + 4 <= cols; c += 4) {
      const float* k0 = kc + c * ld;
      vfloat a0 = vset1(0.0f), a1 = a0, a2 = a0, a3 = a0;
      for (int64_t d = 0; d < hv; d += VW) {
        const vfloat x = vload(Qs + d);
        a0 = vfma(x, vload(k0 + d), a0);
        a1 = vfma(x, vload(k0 + ld + d), a1);
        a2 = vfma(x, vload(k0 + 2 * ld + d), a2);
        a3 = vfma(x, vload(k0 + 3 * ld + d), a3);
      }
      float s0 = vsum(a0), s1 = vsum(a1), s2 = vsum(a2), s3 = vsum(a3);
      for (int64_t d = hv; d < HS; d++) {
        s0 += Qs[d] * k0[d]; s1 += Qs[d] * k0[ld + d]; s2 += Qs[d] * k0[2 * ld + d]; s3 += Qs[d] * k0[3 * ld + d];
      }
      S[c] = s0; S[c + 1] = s1; S[c + 2] = s2; S[c + 3] = s3;
    }
#endif
    for (; c < cols; c++) {
      const float* kr = kc + c * ld;
      float s = 0.0f;
      for (int64_t d = 0; d < HS; d++) s += Qs[d] * kr[d];
      S[c] = s;
    }
    for (int64_t c2 = cols; c2 < nc; c2++) S[c2] = -INFINITY;
    const float mt = row_max(S, nc);
    const float mx = mt > m[0] ? mt : m[0];
    const float alpha = exp_approx(m[0] - mx);
    l[0] = l[0] * alpha + row_exp_sum(S, nc, 1.0f, mx);
    m[0] = mx;
    if (alpha != 1.0f)
      for (int64_t d = 0; d < HS; d++) O[d] *= alpha;
    const float* vc = vh + j0 * ld;
    int64_t d0 = 0;
#ifdef TETRA_SIMD_VW
    // Eight vectors of O at a time (all of HS = 64 with AVX2), then fewer.
    for (; d0 + 8 * VW <= HS; d0 += 8 * VW) {
      vfloat o[8];
      for (int i = 0; i < 8; i++) o[i] = vload(O + d0 + i * VW);
      for (int64_t c2 = 0; c2 < cols; c2++) {
        const vfloat p = vset1(S[c2]);
        const float* vr = vc + c2 * ld + d0;
        for (int i = 0; i < 8; i++) o[i] = vfma(p, vload(vr + i * VW), o[i]);
      }
      for (int i = 0; i < 8; i++) vstore(O + d0 + i * VW, o[i]);
    }
    for (; d0 + VW <= HS; d0 += VW) {
      vfloat o0 = vload(O + d0), o1 = vset1(0.0f);
      int64_t c2 = 0;
      for (; c2 + 2 <= cols; c2 += 2) {
        o0 = vfma(vset1(S[c2]), vload(vc + c2 * ld + d0), o0);
        o1 = vfma(vset1(S[c2 + 1]), vload(vc + (c2 + 1) * ld + d0), o1);
      }
      if (c2 < cols) o0 = vfma(vset1(S[c2]), vload(vc + c2 * ld + d0), o0);
      vstore(O + d0, vadd(o0, o1));
    }
#endif
    for (int64_t c2 = 0; c2 < cols; c2++) {
      const float pc = S[c2];
      const float* vr = vc + c2 * ld;
      for (int64_t d = d0; d < HS; d++) O[d] += pc * vr[d];
    }
  }
}

// Query rows i0..i0+rows of head (b, h) against the keys in [kbeg, kstop) they may see (kbeg a
// multiple of BK), leaving the unnormalised output O and the running max m and sum l in ws
// (forward_scratch_outputs says where).
inline void forward_tile(const float* q, const float* k, const float* v, const int32_t* lim, int64_t b, int64_t h,
                         int64_t i0, int64_t rows, int64_t kbeg, int64_t kstop, int64_t Tq, int64_t Tk, int64_t NH,
                         int64_t HS, float scale, float* ws) {
  const int64_t ld = NH * HS, off = Tk - Tq;
  float* Qs = ws;             // [rows, HS]  scale * q, so S below is already scaled
  float* O = Qs + BQ * HS;    // [rows, HS]  unnormalised output
  float* Kt = O + BQ * HS;    // [HS, BK]    key tile, transposed
  float* S = Kt + HS * BK;    // [rows, BK]  scores, then probabilities (unnormalised)
  float* m = S + BQ * BK;     // [rows]      running max
  float* l = m + BQ;          // [rows]      running sum of exp(score - m)

  const float* qt = q + (b * Tq + i0) * ld + h * HS;
  if (rows == 1) {
    const int64_t kend = min_i64(key_end(lim, b, i0, Tq, off), kstop);
    forward_row(qt, k + b * Tk * ld + h * HS, v + b * Tk * ld + h * HS, ld, kbeg, kend, HS, scale, ws);
    return;
  }
  for (int64_t r = 0; r < rows; r++)
    for (int64_t d = 0; d < HS; d++) Qs[r * HS + d] = scale * qt[r * ld + d];
  std::memset(O, 0, sizeof(float) * rows * HS);
  for (int64_t r = 0; r < rows; r++) { m[r] = -INFINITY; l[r] = 0.0f; }

  const float* kh = k + b * Tk * ld + h * HS;
  const float* vh = v + b * Tk * ld + h * HS;
  // One past the last key the last row sees: tiles above the diagonal are never visited.
  const int64_t kend = min_i64(key_end(lim, b, i0 + rows - 1, Tq, off), kstop);
  for (int64_t j0 = kbeg; j0 < kend; j0 += BK) {
    const int64_t cols = min_i64(BK, kend - j0), nc = score_width(cols);
    transpose_tile(Kt, kh + j0 * ld, ld, cols, nc, HS);
    tile_gemm(S, BK, Qs, HS, 1, Kt, BK, rows, nc, HS, true);  // S = (scale Q) K^T
    for (int64_t r = 0; r < rows; r++) {
      float* s = S + r * BK;
      const int64_t visible = min_i64(key_end(lim, b, i0 + r, Tq, off) - j0, cols);  // keys j0..j0+visible-1
      if (visible <= 0) {  // the whole tile is in this row's future: it adds nothing
        std::memset(s, 0, sizeof(float) * nc);
        continue;
      }
      for (int64_t c = visible; c < nc; c++) s[c] = -INFINITY;
      const float mt = row_max(s, nc);
      if (m[r] == -INFINITY) {  // the row's first visible tile: nothing summed yet to rescale
        l[r] = row_exp_sum(s, nc, 1.0f, mt);
        m[r] = mt;
        continue;
      }
      const float mx = mt > m[r] ? mt : m[r];
      const float alpha = exp_approx(m[r] - mx);  // rescales what earlier tiles summed
      l[r] = l[r] * alpha + row_exp_sum(s, nc, 1.0f, mx);
      m[r] = mx;
      if (alpha != 1.0f)
        for (int64_t d = 0; d < HS; d++) O[r * HS + d] *= alpha;
    }
    tile_gemm(O, HS, S, BK, 1, vh + j0 * ld, ld, rows, HS, cols);  // O += P V
  }
}

// Where forward_tile leaves O [rows, HS], m [rows] and l [rows] in its scratch.
inline float* scratch_O(float* ws, int64_t HS) { return ws + BQ * HS; }
inline float* scratch_m(float* ws, int64_t HS) { return ws + 2 * BQ * HS + HS * BK + BQ * BK; }
inline float* scratch_l(float* ws, int64_t HS) { return scratch_m(ws, HS) + BQ; }

// out = O / l and lse = m + log(l) for the rows forward_tile left in ws.
inline void forward_finish(float* out, float* lse, float* ws, int64_t b, int64_t h, int64_t i0, int64_t rows,
                           int64_t Tq, int64_t NH, int64_t HS) {
  const float* O = scratch_O(ws, HS);
  const float* m = scratch_m(ws, HS);
  const float* l = scratch_l(ws, HS);
  float* ot = out + (b * Tq + i0) * NH * HS + h * HS;
  for (int64_t r = 0; r < rows; r++) {
    const float inv = 1.0f / l[r];
    for (int64_t d = 0; d < HS; d++) ot[r * NH * HS + d] = O[r * HS + d] * inv;
    lse[(b * NH + h) * Tq + i0 + r] = m[r] + std::log(l[r]);
  }
}

// ---------------------------------------------------------------------------- backward

inline int64_t backward_scratch(int64_t HS) { return 4 * HS * BK + 2 * BQ * BK; }

// Key tile j0..j0+BK of head (b, h): dk and dv for those keys, and their share of dq (added at
// dqh, whose rows are dq_ld apart). D[i] = rowsum(dout_i * out_i) for this head.
inline void backward_key_tile(float* dqh, int64_t dq_ld, float* dk, float* dv, const float* dout, const float* q,
                              const float* k, const float* v, const float* lse, const float* D, const int32_t* lim,
                              int64_t b, int64_t h, int64_t j0, int64_t Tq, int64_t Tk, int64_t NH, int64_t HS,
                              float scale, float* ws) {
  const int64_t ld = NH * HS, off = Tk - Tq;
  const int64_t cols = min_i64(BK, Tk - j0), nc = score_width(cols);
  float* Kt = ws;              // [HS, BK]
  float* Vt = Kt + HS * BK;    // [HS, BK]
  float* dKt = Vt + HS * BK;   // [BK, HS]  this tile's dk, summed over query tiles
  float* dVt = dKt + BK * HS;  // [BK, HS]
  float* P = dVt + BK * HS;    // [BQ, BK]
  float* dS = P + BQ * BK;     // [BQ, BK]  dP, then scale * dS

  const float* kt = k + (b * Tk + j0) * ld + h * HS;
  const float* vt = v + (b * Tk + j0) * ld + h * HS;
  transpose_tile(Kt, kt, ld, cols, nc, HS);
  transpose_tile(Vt, vt, ld, cols, nc, HS);
  std::memset(dKt, 0, sizeof(float) * cols * HS);
  std::memset(dVt, 0, sizeof(float) * cols * HS);

  const float* lseh = lse + (b * NH + h) * Tq;
  // Queries before j0 - off cannot see this tile: start at the diagonal, or (lim) at the first
  // query whose prefix block reaches into the tile.
  int64_t first = max_i64(0, j0 - off);
  while (lim && first > 0 && key_end(lim, b, first - 1, Tq, off) > j0) first--;
  for (int64_t i0 = first; i0 < Tq; i0 += BQ) {
    const int64_t rows = min_i64(BQ, Tq - i0);
    const float* qt = q + (b * Tq + i0) * ld + h * HS;
    const float* dot = dout + (b * Tq + i0) * ld + h * HS;
    // Keys of this tile that the tile's last query row sees: the rest of the tile is masked for
    // every row (P = 0, dS = 0), so the products skip those columns (a query tile on the
    // diagonal of a 64-key tile sees half of it). Skipped terms are exact zeros.
    const int64_t kv = min_i64(cols, key_end(lim, b, i0 + rows - 1, Tq, off) - j0), ncq = score_width(kv);

    // forward: P = exp(scale * Q K^T - lse) under the causal mask
    tile_gemm(P, BK, qt, ld, 1, Kt, BK, rows, ncq, HS, true);
    for (int64_t r = 0; r < rows; r++) {
      float* p = P + r * BK;
      const int64_t visible = min_i64(key_end(lim, b, i0 + r, Tq, off) - j0, cols);
      for (int64_t c = 0; c < ncq; c++) p[c] *= scale;  // then mask, so any sign of scale works
      for (int64_t c = max_i64(visible, 0); c < ncq; c++) p[c] = -INFINITY;
      row_exp_sum(p, ncq, 1.0f, lseh[i0 + r]);
    }
    // forward: out = P V, so dV += P^T dO and dP = dO V^T
    tile_gemm(dVt, HS, P, 1, BK, dot, ld, kv, HS, rows);
    tile_gemm(dS, BK, dot, ld, 1, Vt, BK, rows, ncq, HS, true);
    // softmax: dS = P * (dP - rowsum(dP * P)), and rowsum(dP * P) = rowsum(dO * O) = D
    for (int64_t r = 0; r < rows; r++) {
      const float Di = D[i0 + r];
      float* ds = dS + r * BK;
      const float* p = P + r * BK;
      for (int64_t c = 0; c < ncq; c++) ds[c] = scale * p[c] * (ds[c] - Di);
    }
    // forward: S = scale * Q K^T, so dQ += scale dS K and dK += scale dS^T Q
    tile_gemm(dqh + i0 * dq_ld, dq_ld, dS, BK, 1, kt, ld, rows, HS, kv);
    tile_gemm(dKt, HS, dS, 1, BK, qt, ld, kv, HS, rows);
  }

  float* dkt = dk + (b * Tk + j0) * ld + h * HS;
  float* dvt = dv + (b * Tk + j0) * ld + h * HS;
  for (int64_t c = 0; c < cols; c++)
    for (int64_t d = 0; d < HS; d++) {
      dkt[c * ld + d] += dKt[c * HS + d];
      dvt[c * ld + d] += dVt[c * HS + d];
    }
}

// D[i] = dout_i . out_i for the Tq queries of head (b, h).
inline void backward_rowdots(float* D, const float* dout, const float* out, int64_t b, int64_t h, int64_t Tq,
                             int64_t NH, int64_t HS) {
  const int64_t ld = NH * HS;
  for (int64_t i = 0; i < Tq; i++) {
    const float* a = dout + (b * Tq + i) * ld + h * HS;
    const float* o = out + (b * Tq + i) * ld + h * HS;
    float s = 0;
#pragma omp simd reduction(+ : s)
    for (int64_t d = 0; d < HS; d++) s += a[d] * o[d];
    D[i] = s;
  }
}

// Multiply-adds one pass of either direction costs, roughly (the causal half of Tq x Tk x HS x 2).
inline int64_t attention_work(int64_t B, int64_t Tq, int64_t Tk, int64_t NH, int64_t HS) {
  return B * NH * Tq * (Tk - Tq / 2) * HS * 2;
}

}  // namespace attn_detail

// ---------------------------------------------------------------------------- entry points

void attention_forward(float* out, float* lse, const float* q, const float* k, const float* v, int64_t B, int64_t Tq,
                       int64_t Tk, int64_t NH, int64_t HS, float scale, const int32_t* lim) {
  using namespace attn_detail;
  const int64_t nqt = (Tq + BQ - 1) / BQ;
  const int64_t units = B * NH * nqt;
  // Decode rows (Tq = 1) take forward_row, several times faster per score than the tiles: a
  // team start (~7 us) only pays for itself over a long cache.
  const int64_t minWork = Tq == 1 ? 8 * kParallelMinWork : kParallelMinWork;
  const bool parallel = attention_work(B, Tq, Tk, NH, HS) >= minWork && units > 0;
  const int threads = parallel ? max_threads() : 1;
  const int64_t nkt = (Tk + BK - 1) / BK;

  if (!parallel || (units == 1 && nkt < 2 * threads)) {
    // One thread: no team, and scratch that outlives the call (decode calls this once per layer
    // and sequence; a team start and a malloc cost more than the work at short caches).
    static thread_local float* ws = nullptr;
    static thread_local int64_t cap = 0;
    const int64_t need = forward_scratch(HS);
    if (cap < need) {
      std::free(ws);
      ws = alloc_floats(need);
      cap = ws ? need : 0;
    }
    if (ws) {
      for (int64_t u = 0; u < units; u++) {
        const int64_t qt = u / (B * NH), bh = u % (B * NH);
        const int64_t i0 = qt * BQ, rows = min_i64(BQ, Tq - i0);
        forward_tile(q, k, v, lim, bh / NH, bh % NH, i0, rows, 0, Tk, Tq, Tk, NH, HS, scale, ws);
        forward_finish(out, lse, ws, bh / NH, bh % NH, i0, rows, Tq, NH, HS);
      }
      return;
    }
  }
  if (units >= threads || nkt < 2 * threads) {
    // Query tiles in parallel; each owns its rows of out and lse.
#pragma omp parallel if (parallel && units > 1)
    {
      float* ws = alloc_floats(forward_scratch(HS));
      // Later query tiles see more keys: hand them out first so the dynamic schedule ends even.
#pragma omp for schedule(dynamic, 1)
      for (int64_t u = 0; u < units; u++) {
        const int64_t qt = nqt - 1 - u / (B * NH), bh = u % (B * NH);
        const int64_t i0 = qt * BQ, rows = min_i64(BQ, Tq - i0);
        forward_tile(q, k, v, lim, bh / NH, bh % NH, i0, rows, 0, Tk, Tq, Tk, NH, HS, scale, ws);
        forward_finish(out, lse, ws, bh / NH, bh % NH, i0, rows, Tq, NH, HS);
      }
      std::free(ws);
    }
    return;
  }

  // Fewer query tiles than threads over a long key range: decode (Tq = 1) at batch 1 with few
  // heads. Split each tile's keys into `parts` ranges of whole key tiles, run them in parallel
  // with their own running max and sum, then merge: M = max m_p, l = sum l_p exp(m_p - M),
  // O = sum O_p exp(m_p - M).
  // Two ranges per thread, so one descheduled or slower thread does not hold up the rest.
  const int64_t parts = min_i64((threads + units - 1) / units * 2, nkt);
  const int64_t span = (nkt + parts - 1) / parts * BK;  // keys per range, whole tiles
  const int64_t per = forward_scratch(HS);
  float* partial = alloc_floats(units * parts * per);
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads)
  for (int64_t w = 0; w < units * parts; w++) {
    const int64_t u = w / parts, p = w % parts;
    const int64_t qt = u / (B * NH), bh = u % (B * NH);
    const int64_t i0 = qt * BQ, rows = min_i64(BQ, Tq - i0);
    float* ws = partial + w * per;
    forward_tile(q, k, v, lim, bh / NH, bh % NH, i0, rows, p * span, (p + 1) * span, Tq, Tk, NH, HS, scale, ws);
  }
  for (int64_t u = 0; u < units; u++) {
    const int64_t qt = u / (B * NH), bh = u % (B * NH);
    const int64_t i0 = qt * BQ, rows = min_i64(BQ, Tq - i0);
    float* first = partial + u * parts * per;
    float* O = scratch_O(first, HS);
    float* m = scratch_m(first, HS);
    float* l = scratch_l(first, HS);
    for (int64_t p = 1; p < parts; p++) {
      float* ws = first + p * per;
      const float* Op = scratch_O(ws, HS);
      const float* mp = scratch_m(ws, HS);
      const float* lp = scratch_l(ws, HS);
      for (int64_t r = 0; r < rows; r++) {
        if (mp[r] == -INFINITY) continue;  // this range was wholly in the row's future
        const float M = mp[r] > m[r] ? mp[r] : m[r];
        const float a = exp_approx(m[r] - M), ap = exp_approx(mp[r] - M);
        for (int64_t d = 0; d < HS; d++) O[r * HS + d] = O[r * HS + d] * a + Op[r * HS + d] * ap;
        l[r] = l[r] * a + lp[r] * ap;
        m[r] = M;
      }
    }
    forward_finish(out, lse, first, bh / NH, bh % NH, i0, rows, Tq, NH, HS);
  }
  std::free(partial);
}

void attention_backward(float* dq, float* dk, float* dv, const float* dout, const float* q, const float* k,
                        const float* v, const float* out, const float* lse, int64_t B, int64_t Tq, int64_t Tk,
                        int64_t NH, int64_t HS, float scale, const int32_t* lim) {
  using namespace attn_detail;
  if (B * NH * Tq == 0) return;
  const int64_t ld = NH * HS;
  const int64_t nkt = (Tk + BK - 1) / BK;
  const bool parallel = attention_work(B, Tq, Tk, NH, HS) >= kParallelMinWork;
  const int threads = parallel ? max_threads() : 1;

  if (B * NH >= threads || nkt == 1) {
    // Heads in parallel: the (b, h) pairs' dq, dk, dv slices are disjoint, so no races.
#pragma omp parallel if (parallel && B * NH > 1)
    {
      float* ws = alloc_floats(backward_scratch(HS));
      float* D = alloc_floats(Tq);
#pragma omp for schedule(dynamic, 1)
      for (int64_t bh = 0; bh < B * NH; bh++) {
        const int64_t b = bh / NH, h = bh % NH;
        backward_rowdots(D, dout, out, b, h, Tq, NH, HS);
        float* dqh = dq + b * Tq * ld + h * HS;
        for (int64_t j = 0; j < nkt; j++)
          backward_key_tile(dqh, ld, dk, dv, dout, q, k, v, lse, D, lim, b, h, j * BK, Tq, Tk, NH, HS, scale, ws);
      }
      std::free(D);
      std::free(ws);
    }
    return;
  }

  // Fewer heads than threads (B * NH = 1 at batch 1 with one head): key tiles of one head in
  // parallel. Their dk, dv rows are disjoint, but all of them add to every later query's dq, so
  // each thread sums dq into its own [Tq, HS] copy and the copies are added at the end.
  float* D = alloc_floats(Tq);
  float* dq_copies = alloc_floats(int64_t(threads) * Tq * HS);
  for (int64_t bh = 0; bh < B * NH; bh++) {
    const int64_t b = bh / NH, h = bh % NH;
    backward_rowdots(D, dout, out, b, h, Tq, NH, HS);
    // Zeroed here, not by each thread: the runtime may start fewer threads than asked for.
    std::memset(dq_copies, 0, sizeof(float) * threads * Tq * HS);
#pragma omp parallel num_threads(threads)
    {
      float* mine = dq_copies + int64_t(thread_id()) * Tq * HS;
      float* ws = alloc_floats(backward_scratch(HS));
      // Early key tiles meet the most queries; dynamic scheduling in order balances the tail.
#pragma omp for schedule(dynamic, 1)
      for (int64_t j = 0; j < nkt; j++)
        backward_key_tile(mine, HS, dk, dv, dout, q, k, v, lse, D, lim, b, h, j * BK, Tq, Tk, NH, HS, scale, ws);
      std::free(ws);
      // The implicit barrier above means every copy is complete.
#pragma omp for schedule(static)
      for (int64_t i = 0; i < Tq; i++) {
        float* dqi = dq + (b * Tq + i) * ld + h * HS;
        for (int t = 0; t < threads; t++) {
          const float* c = dq_copies + (int64_t(t) * Tq + i) * HS;
          for (int64_t d = 0; d < HS; d++) dqi[d] += c[d];
        }
      }
    }
  }
  std::free(dq_copies);
  std::free(D);
}

#ifdef TETRA_ATTN_POP_DIAGNOSTIC
#pragma GCC diagnostic pop
#undef TETRA_ATTN_POP_DIAGNOSTIC
#endif
