// fp32 GEMM. Included inside an anonymous namespace by isa_impl.h (once per ISA).
//
//   C[b] = alpha * op(A[b]) @ op(B[b]) + beta * C[b]        (semantics: GemmArgs in kernels.h)
//
// BLIS-style: for each NC-column panel of op(B) and KC-deep slice of K, op(B) is packed into
// NR-column slivers (each thread packs the slivers it uses into its own buffer), then a
// register-blocked MR x NR FMA micro-kernel sweeps each MC-row block of op(A): packed into
// MR-row slivers (per thread) when A is transposed, read in place when it is not. Packing B
// absorbs its transpose, so the micro-kernel sees one layout of B; ragged edges are packed with
// zeros and written back through a small tile. Two shortcuts skip packing B where it does not
// pay: few rows of C (decode-style GEMV, M <= MR) and few columns with contiguous dot products.
#include "gemm_vec.h"

namespace gemm_impl {

// ---------------------------------------------------------------------------- reference

// The plain triple loop (same as src/tensor/ref/gemm.ts): the fallback when a packing buffer
// cannot be allocated, and what the fast path below must agree with.
inline void gemm_naive(const GemmArgs& a, const float* A, const float* B, float* C) {
  for (int64_t i = 0; i < a.M; i++)
    for (int64_t j = 0; j < a.N; j++) {
      float s = 0;
      for (int64_t p = 0; p < a.K; p++) {
        float x = a.transA ? A[p * a.lda + i] : A[i * a.lda + p];
        float y = a.transB ? B[j * a.ldb + p] : B[p * a.ldb + j];
        s += x * y;
      }
      float& c = C[i * a.ldc + j];
      c = a.beta == 0.f ? a.alpha * s : a.alpha * s + a.beta * c;
    }
}

// ---------------------------------------------------------------------------- tuning

// Blocking for this machine's Zen cores (32 KiB L1d, 512 KiB L2 per core, shared L3):
// a KC x NR sliver of B (256 x 16 floats = 16 KiB on AVX2) stays in L1 while the micro-kernel
// streams an MC x KC block of A (<= 240 KiB) from L2; the KC x NC panel of B lives in L3.
constexpr int64_t kKC = 256;
constexpr int64_t kMC = (240 / kMR) * kMR;
constexpr int64_t kNC = (4096 / kNR) * kNR;

// Below this many flops a GEMM runs on one thread. An OpenMP team start costs ~7 us; one core
// does ~75 GFLOP/s, so splitting a GEMM over 2 threads only wins once it takes more than ~15 us
// alone (about 1 MFLOP). kParallelMinWork (common.h) is the floor for cheaper ops.
constexpr int64_t kGemmParallelMinFlops = int64_t(1) << 20;

// ---------------------------------------------------------------------------- buffers

// Grow-only, 64-byte aligned, one per thread and slot: slot 0 packs A, slot 1 packs B. Never
// freed: OpenMP pool threads persist, and a fresh malloc per call of these sizes would mmap and
// page-fault every time.
inline float* tl_buffer(int slot, int64_t n) {
  static thread_local float* ptr[2] = {nullptr, nullptr};
  static thread_local int64_t cap[2] = {0, 0};
  if (cap[slot] < n) {
    free(ptr[slot]);
    ptr[slot] = nullptr;
    cap[slot] = 0;
    void* q = nullptr;
    if (posix_memalign(&q, 64, size_t(n) * sizeof(float)) != 0) return nullptr;
    ptr[slot] = (float*)q;
    cap[slot] = n;
  }
  return ptr[slot];
}

inline void team_barrier(int nt) {
#ifdef _OPENMP
  if (nt > 1) {
#pragma omp barrier
  }
#else
  (void)nt;
#endif
}

// ---------------------------------------------------------------------------- micro-kernel

// C[0:mr, 0:nr] = alpha * sum_p A(:, p) (x) Bp[p] + beta * C, for an R x NR register tile.
// a_at(p, i) = A(i, p), op(A)'s element at row i, step p (ukernel below: packed or in place).
// Bp: kc rows of NR floats, bstride apart (a packed sliver, or B itself when it is not packed).
// beta == 0 never reads C. Partial tiles (mr < R or nr < NR) go through a local tile.
template <int R, class AAt>
inline void ukernel_body(int64_t kc, AAt a_at, const float* __restrict Bp, int64_t bstride,
                         float* C, int64_t ldc, float alpha, float beta, int mr, int nr) {
  Vec acc[R][kNV];
#pragma GCC unroll 16
  for (int i = 0; i < R; i++)
#pragma GCC unroll 4
    for (int v = 0; v < kNV; v++) acc[i][v] = vzero();
  // The C tile is touched only after the K loop: start fetching it now.
  for (int i = 0; i < mr; i++) vprefetch(C + i * ldc), vprefetch(C + i * ldc + kNR - 1);
#pragma GCC unroll 4
  for (int64_t p = 0; p < kc; p++) {
    Vec b[kNV];
#pragma GCC unroll 4
    for (int v = 0; v < kNV; v++) b[v] = vload(Bp + v * W);
#pragma GCC unroll 16
    for (int i = 0; i < R; i++) {
      Vec a = vset1(a_at(p, i));
#pragma GCC unroll 4
      for (int v = 0; v < kNV; v++) acc[i][v] = vfma(a, b[v], acc[i][v]);
    }
    Bp += bstride;
  }
  Vec va = vset1(alpha);
  if (mr == R && nr == kNR) {
    Vec vb = vset1(beta);
#pragma GCC unroll 16
    for (int i = 0; i < R; i++) {
      float* c = C + i * ldc;
#pragma GCC unroll 4
      for (int v = 0; v < kNV; v++) {
        Vec r = vmul(acc[i][v], va);
        if (beta != 0.f) r = vfma(vb, vload(c + v * W), r);
        vstore(c + v * W, r);
      }
    }
    return;
  }
  float tile[R * kNR];
  for (int i = 0; i < R; i++)
    for (int v = 0; v < kNV; v++) vstore(tile + i * kNR + v * W, vmul(acc[i][v], va));
  for (int i = 0; i < mr; i++) {
    float* c = C + i * ldc;
    const float* t = tile + i * kNR;
    if (beta == 0.f)
      for (int j = 0; j < nr; j++) c[j] = t[j];
    else
      for (int j = 0; j < nr; j++) c[j] = t[j] + beta * c[j];
  }
}

// A(i, p) = Ap[i * ars + p * acs]: a packed sliver (ars 1, acs kMR) or A read in place, either
// way round. In place, rows past mr re-read row mr - 1 (their results are never stored), so
// nothing past A's last row is touched.
template <int R>
inline void ukernel(int64_t kc, const float* __restrict Ap, int64_t ars, int64_t acs, const float* __restrict Bp,
                    int64_t bstride, float* C, int64_t ldc, float alpha, float beta, int mr, int nr) {
  if (ars == 1 && acs == kMR) {
    ukernel_body<R>(kc, [&](int64_t p, int i) { return Ap[p * kMR + i]; }, Bp, bstride, C, ldc, alpha, beta, mr, nr);
  } else {
    int64_t off[R];
#pragma GCC unroll 16
    for (int i = 0; i < R; i++) off[i] = (i < mr ? i : mr - 1) * ars;
    ukernel_body<R>(kc, [&](int64_t p, int i) { return Ap[p * acs + off[i]]; }, Bp, bstride, C, ldc, alpha, beta, mr, nr);
  }
}

// ---------------------------------------------------------------------------- packing

// op(A)[i][p] = transA ? A[p*lda + i] : A[i*lda + p]. Packs rows [0, mc) x cols [0, kc) of op(A)
// (A already offset to the block's corner) into MR-row slivers: sliver s holds kc steps of kMR
// floats, rows past mc are zero.
inline void pack_a(int64_t mc, int64_t kc, const float* A, int64_t lda, bool transA, float* Ap) {
  for (int64_t i0 = 0; i0 < mc; i0 += kMR, Ap += kMR * kc) {
    int mr = (int)min_i64(kMR, mc - i0);
    if (!transA) {
      const float* a = A + i0 * lda;
      if (mr == kMR) {
        for (int64_t p = 0; p < kc; p++)
#pragma GCC unroll 16
          for (int i = 0; i < kMR; i++) Ap[p * kMR + i] = a[i * lda + p];
      } else {
        for (int64_t p = 0; p < kc; p++)
          for (int i = 0; i < kMR; i++) Ap[p * kMR + i] = i < mr ? a[i * lda + p] : 0.f;
      }
    } else {
      const float* a = A + i0;
      if (mr == kMR) {
        // kMR contiguous floats per step: one fixed-size copy (a vector move or two).
        for (int64_t p = 0; p < kc; p++) memcpy(Ap + p * kMR, a + p * lda, sizeof(float) * kMR);
      } else {
        for (int64_t p = 0; p < kc; p++)
          for (int i = 0; i < kMR; i++) Ap[p * kMR + i] = i < mr ? a[p * lda + i] : 0.f;
      }
    }
  }
}

// op(B)[p][j] = transB ? B[j*ldb + p] : B[p*ldb + j]. Packs cols [j0, j1) (multiples of kNR
// except a ragged end at nc) x rows [0, kc) of op(B) into NR-column slivers of kc x kNR floats,
// stored at Bp + (j0 / kNR) * kNR * kc; columns past nc are zero.
inline void pack_b(int64_t j0, int64_t j1, int64_t kc, const float* B, int64_t ldb, bool transB, float* Bp) {
  for (int64_t j = j0; j < j1; j += kNR) {
    float* d = Bp + j * kc;  // (j / kNR) * kNR * kc
    int nr = (int)min_i64(kNR, j1 - j);
    if (!transB) {
      const float* b = B + j;
      if (nr == kNR) {
        for (int64_t p = 0; p < kc; p++)
#pragma GCC unroll 4
          for (int v = 0; v < kNV; v++) vstore(d + p * kNR + v * W, vload(b + p * ldb + v * W));
      } else {
        for (int64_t p = 0; p < kc; p++)
          for (int jj = 0; jj < kNR; jj++) d[p * kNR + jj] = jj < nr ? b[p * ldb + jj] : 0.f;
      }
    } else {
      const float* b = B + j * ldb;
      if (nr == kNR) {
        int64_t p = 0;
#if defined(__AVX2__)
        // 8 x 8 blocks through registers: 8 loads and 8 stores instead of 64 of each.
        for (; p + 8 <= kc; p += 8)
          for (int jb = 0; jb < kNR; jb += 8) transpose8(b + jb * ldb + p, ldb, d + p * kNR + jb, kNR);
#endif
        for (; p < kc; p++)
#pragma GCC unroll 32
          for (int jj = 0; jj < kNR; jj++) d[p * kNR + jj] = b[jj * ldb + p];
      } else {
        for (int64_t p = 0; p < kc; p++)
          for (int jj = 0; jj < kNR; jj++) d[p * kNR + jj] = jj < nr ? b[jj * ldb + p] : 0.f;
      }
    }
  }
}

// ---------------------------------------------------------------------------- packed path

struct Plan {
  int64_t mc, mblocks;  // MC-row blocks of C
  bool splitRows;       // threads take whole row blocks (else: each takes a share of the columns)
};

inline Plan plan_rows(int64_t M, int nt) {
  Plan pl;
  pl.splitRows = nt > 1 && M >= int64_t(nt) * kMR * 4;
  int64_t blocks = (M + kMC - 1) / kMC;
  // Threads take row blocks dynamically (see gemm_packed); several blocks per thread let a thread
  // that the OS preempts (this machine is shared) hand its share to the others, and keep the
  // ragged end short. Eight rather than four: on a Zen 5 core, 768 x 512 x 128 on 2 threads went
  // from 282 to 360 GFLOP/s (blocks of 48 rows instead of 96; one thread alone does 195).
  if (pl.splitRows) blocks = max_i64(blocks, int64_t(nt) * 8);
  int64_t mc = (M + blocks - 1) / blocks;
  pl.mc = min_i64(kMC, max_i64(2 * kMR, (mc + kMR - 1) / kMR * kMR));
  pl.mblocks = (M + pl.mc - 1) / pl.mc;
  return pl;
}

// One GEMM (one batch item), run by every thread of a team of nt (tid in [0, nt)); with nt == 1
// it is plain serial code. Bpack (kKC * kNC floats) and Apack are this thread's own.
//
// Each thread packs exactly the slivers of B it multiplies: all of them when the team splits
// rows, its own columns when it splits columns. A panel packed once and shared by the team
// (each thread packing a share, then a barrier) halves the packing but makes every thread read
// the other's half from another core's cache: on a 2-core AMD EPYC with AVX-512 (Zen 5) that
// held 2 threads to 1.35x one thread's speed (768 x 512 x 128: 221 GFLOP/s against 168 on one);
// private panels reached 1.7x (282), and 1.85x with the smaller row blocks of plan_rows. Packing
// all of B costs each thread about 4/M of its multiply.
inline void gemm_packed(const GemmArgs& g, const float* A, const float* B, float* C, float* Bpack,
                        float* Apack, int tid, int nt) {
  const Plan pl = plan_rows(g.M, nt);
  // op(A) = A is read in place: the micro-kernel's broadcasts walk MR rows side by side, which
  // the caches serve as well as a packed sliver, and the pack would transpose every element of
  // A through scalar loads (about 10% of a 384 x 128 x 128 product). A transposed A is packed:
  // read in place, each step's MR floats would sit on its own cache line.
  const bool packA = g.transA;
  for (int64_t jc = 0; jc < g.N; jc += kNC) {
    const int64_t nc = min_i64(kNC, g.N - jc);
    const int64_t nsl = (nc + kNR - 1) / kNR;
    // Slivers this thread computes (and packs): all of them when the team splits rows.
    const int64_t s0 = pl.splitRows ? 0 : nsl * tid / nt, s1 = pl.splitRows ? nsl : nsl * (tid + 1) / nt;
    for (int64_t pc = 0; pc < g.K; pc += kKC) {
      const int64_t kc = min_i64(kKC, g.K - pc);
      const float beta = pc == 0 ? g.beta : 1.f;
      const float* Bblk = g.transB ? B + jc * g.ldb + pc : B + pc * g.ldb + jc;
      pack_b(s0 * kNR, min_i64(s1 * kNR, nc), kc, Bblk, g.ldb, g.transB, Bpack);
      auto block = [&](int64_t ib) {
        const int64_t ic = ib * pl.mc, mc = min_i64(pl.mc, g.M - ic);
        const float* Ablk = g.transA ? A + pc * g.lda + ic : A + ic * g.lda + pc;
        if (packA) pack_a(mc, kc, Ablk, g.lda, g.transA, Apack);
        for (int64_t s = s0; s < s1; s++) {
          const int64_t j = s * kNR;
          const int nr = (int)min_i64(kNR, nc - j);
          const float* bp = Bpack + j * kc;
          for (int64_t ir = 0; ir < mc; ir += kMR) {
            const int mr = (int)min_i64(kMR, mc - ir);
            const float* ap = packA ? Apack + ir * kc : Ablk + ir * g.lda;
            ukernel<kMR>(kc, ap, packA ? 1 : g.lda, packA ? kMR : 1, bp, kNR, C + (ic + ir) * g.ldc + jc + j, g.ldc, g.alpha, beta, mr, nr);
          }
        }
      };
      if (pl.splitRows) {
        // Dynamic, not tid-strided: on a shared machine one thread may lose its core for a while.
#pragma omp for schedule(dynamic, 1) nowait
        for (int64_t ib = 0; ib < pl.mblocks; ib++) block(ib);
        // The next K slice adds to the same row blocks, perhaps on the other thread.
        team_barrier(nt);
      } else {
        for (int64_t ib = 0; ib < pl.mblocks; ib++) block(ib);
      }
    }
  }
}

// ---------------------------------------------------------------------------- few rows (M <= MR)

// Decode-style shapes: op(A) has a handful of rows, so B dominates the traffic and packing it
// would read it twice. op(A) (tiny) is packed into one sliver over all of K and the micro-kernel
// reads B rows in place; only a ragged last column sliver is packed. Columns [n0, n1) (n0 a
// multiple of kNR).
template <int R>
inline void gemm_few_rows_nn(const GemmArgs& g, const float* Ap, const float* B, float* C, int64_t n0, int64_t n1) {
  for (int64_t j = n0; j < n1; j += kNR) {
    const int nr = (int)min_i64(kNR, n1 - j);
    if (nr == kNR) {
      ukernel<R>(g.K, Ap, 1, kMR, B + j, g.ldb, C + j, g.ldc, g.alpha, g.beta, (int)g.M, nr);
    } else {
      float* bp = tl_buffer(1, g.K * kNR);  // sized by reserve()
      pack_b(0, nr, g.K, B + j, g.ldb, false, bp);
      ukernel<R>(g.K, Ap, 1, kMR, bp, kNR, C + j, g.ldc, g.alpha, g.beta, (int)g.M, nr);
    }
  }
}

// ---------------------------------------------------------------------------- dot products

// Decode shapes: y = x W^T with W [N, K] row-major (op(B) = B^T) and x a handful of rows. Every
// output is a dot product of two contiguous rows, and the whole cost is streaming W once from
// memory (21 MB a token for a depth-4 model with an 8k vocabulary, far more than L2): so W is
// read exactly once. Up to 4 rows of x (dot_seq below): W's rows in order, one sequential stream.
// More rows (batch 8): NRW rows of W at a time, each block of W rows used for every group of 4
// rows of x while it sits in L1.
//
// out(l, r) = alpha * dot(L[l], Rm[r]) + beta * out(l, r) for l < NL, r in [r0, r1): rows of
// length K (L rows K apart, Rm rows ldr apart); out(l, r) = C[l*cl + r*cr]. Used when op(A) has
// few rows and op(B) = B^T, and mirrored when op(B) has few columns and A is not transposed.
template <int NL, int NRW>
inline void dot_tile(int64_t K, const float* L, const float* rp, int64_t ldr, int64_t pf, float* C, int64_t cl, int64_t cr,
                     float alpha, float beta) {
  Vec acc[NL][NRW];
#pragma GCC unroll 4
  for (int l = 0; l < NL; l++)
#pragma GCC unroll 8
    for (int q = 0; q < NRW; q++) acc[l][q] = vzero();
  int64_t p = 0;
  for (; p + W <= K; p += W) {
    Vec x[NRW];
#pragma GCC unroll 8
    for (int q = 0; q < NRW; q++) x[q] = vload(rp + q * ldr + p);
    // One prefetch per cache line of each row, pf floats ahead (see dot_rows).
    if ((p & 15) == 0)
#pragma GCC unroll 8
      for (int q = 0; q < NRW; q++) vprefetch(rp + pf + q * ldr + p);
#pragma GCC unroll 4
    for (int l = 0; l < NL; l++) {
      Vec a = vload(L + l * K + p);
#pragma GCC unroll 8
      for (int q = 0; q < NRW; q++) acc[l][q] = vfma(a, x[q], acc[l][q]);
    }
  }
  for (int l = 0; l < NL; l++)
    for (int q = 0; q < NRW; q++) {
      float s = vsum(acc[l][q]);
      for (int64_t pp = p; pp < K; pp++) s += L[l * K + pp] * rp[q * ldr + pp];
      float& c = C[l * cl + q * cr];
      c = beta == 0.f ? alpha * s : alpha * s + beta * c;
    }
}

// NL rows of L against Rm rows [r0, r1): NRW at a time, then one at a time.
template <int NL, int NRW>
inline void dot_block(int64_t K, const float* L, const float* Rm, int64_t ldr, int64_t pf, int64_t r0, int64_t r1, float* C,
                      int64_t cl, int64_t cr, float alpha, float beta) {
  int64_t r = r0;
  for (; r + NRW <= r1; r += NRW) dot_tile<NL, NRW>(K, L, Rm + r * ldr, ldr, pf, C + r * cr, cl, cr, alpha, beta);
  for (; r < r1; r++) dot_tile<NL, 1>(K, L, Rm + r * ldr, ldr, pf, C + r * cr, cl, cr, alpha, beta);
}

// Register tiles: NL x NRW accumulators + NRW row vectors + 1 broadcast fit AVX2's 16 registers.
inline void dot_group(int64_t nl, int64_t K, const float* L, const float* Rm, int64_t ldr, int64_t pf, int64_t r0, int64_t r1,
                      float* C, int64_t cl, int64_t cr, float alpha, float beta) {
  switch (nl) {
    case 1: dot_block<1, 8>(K, L, Rm, ldr, pf, r0, r1, C, cl, cr, alpha, beta); return;
    case 2: dot_block<2, 4>(K, L, Rm, ldr, pf, r0, r1, C, cl, cr, alpha, beta); return;
    case 3: dot_block<3, 3>(K, L, Rm, ldr, pf, r0, r1, C, cl, cr, alpha, beta); return;
    default: dot_block<4, 2>(K, L, Rm, ldr, pf, r0, r1, C, cl, cr, alpha, beta); return;
  }
}

// One group of NL <= 4 rows of L: Rm's rows are read one after another, start to end, so the
// whole block of Rm is one sequential stream. (Tiles of several Rm rows read side by side are
// several streams of one row each, K floats long, too short for the prefetchers to ramp up on:
// a 21 MB decode's worth of 256-float rows streamed at 11 GB/s that way on one core here and
// 13 on two, against 16 and 27-80 in order, from DRAM and L3.) CH accumulators per L row keep
// enough independent FMA chains in flight.
template <int NL, int CH>
inline void dot_seq(int64_t K, const float* L, const float* Rm, int64_t ldr, int64_t r0, int64_t r1, float* C,
                    int64_t cl, int64_t cr, float alpha, float beta) {
  for (int64_t r = r0; r < r1; r++) {
    const float* w = Rm + r * ldr;
    Vec acc[NL][CH];
#pragma GCC unroll 4
    for (int l = 0; l < NL; l++)
#pragma GCC unroll 4
      for (int c = 0; c < CH; c++) acc[l][c] = vzero();
    int64_t p = 0;
    for (; p + CH * W <= K; p += CH * W) {
#pragma GCC unroll 4
      for (int c = 0; c < CH; c++) {
        const Vec x = vload(w + p + c * W);
#pragma GCC unroll 4
        for (int l = 0; l < NL; l++) acc[l][c] = vfma(vload(L + l * K + p + c * W), x, acc[l][c]);
      }
    }
    for (; p + W <= K; p += W) {
      const Vec x = vload(w + p);
#pragma GCC unroll 4
      for (int l = 0; l < NL; l++) acc[l][0] = vfma(vload(L + l * K + p), x, acc[l][0]);
    }
    for (int l = 0; l < NL; l++) {
      Vec a = acc[l][0];
      for (int c = 1; c < CH; c++) a = vadd(a, acc[l][c]);
      float s = vsum(a);
      for (int64_t pp = p; pp < K; pp++) s += L[l * K + pp] * w[pp];
      float& o = C[l * cl + r * cr];
      o = beta == 0.f ? alpha * s : alpha * s + beta * o;
    }
  }
}

inline void dot_rows(int64_t nl, int64_t K, const float* L, const float* Rm, int64_t ldr, int64_t r0, int64_t r1,
                     float* C, int64_t cl, int64_t cr, float alpha, float beta) {
  switch (nl) {
    case 1: dot_seq<1, 4>(K, L, Rm, ldr, r0, r1, C, cl, cr, alpha, beta); return;
    case 2: dot_seq<2, 2>(K, L, Rm, ldr, r0, r1, C, cl, cr, alpha, beta); return;
    case 3: dot_seq<3, 1>(K, L, Rm, ldr, r0, r1, C, cl, cr, alpha, beta); return;
    case 4: dot_seq<4, 1>(K, L, Rm, ldr, r0, r1, C, cl, cr, alpha, beta); return;
    default: break;
  }
  // More than one group of L rows: walk Rm in blocks of about 16 KiB so each block is still in
  // L1 when the next group reads it (streaming all of Rm once per group made batch 8 decode
  // read every weight four times).
  const int64_t rb = max_i64(8, (int64_t(4096) / max_i64(K, 1)) / 8 * 8);
  // Software prefetch (in floats of Rm): the next block while this one is used from L1. The
  // hardware prefetcher alone left batch 8 at half speed on weights streamed from DRAM (M=8,
  // 1408 x 256: 130-170 us with it, 260-340 without).
  const int64_t pf = rb * ldr;
  for (int64_t b0 = r0; b0 < r1; b0 += rb) {
    const int64_t b1 = min_i64(r1, b0 + rb);
    for (int64_t l = 0; l < nl; l += 4)
      dot_group(min_i64(4, nl - l), K, L + l * K, Rm, ldr, pf, b0, b1, C + l * cl, cl, cr, alpha, beta);
  }
}

// ---------------------------------------------------------------------------- dispatch

// Which path one GEMM takes (same for every batch item).
enum class Path { Packed, FewRowsNN, DotFewRows, DotFewCols };

// Up to this many rows of op(A), y = x W^T takes the dot-product path: packing W^T for the
// micro-kernel would read and transpose all of W for a handful of outputs per weight.
constexpr int64_t kDotMaxRows = 8;
// Weights (floats of W) from which a dot-product GEMM is split across threads whatever its flops.
// Measured here (2 cores, shared): a 1408 x 256 GEMV from DRAM took 25 us on 2 threads, 86-110
// on one.
constexpr int64_t kDotParallelMinWeights = 1 << 17;

inline Path choose_path(const GemmArgs& g) {
  if (g.transB && g.M <= kDotMaxRows) return Path::DotFewRows;
  if (g.M <= kMR) return g.transB ? Path::DotFewRows : Path::FewRowsNN;
  if (g.N <= 4 && !g.transA) return Path::DotFewCols;
  return Path::Packed;
}

// Sizes this thread's packing buffers for a path; false if memory ran out.
inline bool reserve(const GemmArgs& g, Path path) {
  switch (path) {
    case Path::Packed: return tl_buffer(0, kMC * kKC) && tl_buffer(1, kKC * kNC);
    case Path::FewRowsNN: return tl_buffer(0, g.K * kMR) && tl_buffer(1, g.K * kNR);
    case Path::DotFewRows: return tl_buffer(0, g.M * g.K) != nullptr;
    case Path::DotFewCols: return tl_buffer(1, g.N * g.K) != nullptr;
  }
  return false;
}

// Runs one batch item on a team of nt threads (tid in [0, nt)), after reserve() on each thread.
inline void gemm_one(const GemmArgs& g, Path path, const float* A, const float* B, float* C, int tid, int nt) {
  switch (path) {
    case Path::Packed: {
      gemm_packed(g, A, B, C, tl_buffer(1, kKC * kNC), tl_buffer(0, kMC * kKC), tid, nt);
      return;
    }
    case Path::FewRowsNN: {
      // Every thread packs the tiny op(A) itself (M x K floats) and takes a share of the columns.
      float* Ap = tl_buffer(0, g.K * kMR);
      pack_a(g.M, g.K, A, g.lda, g.transA, Ap);
      const int64_t nsl = (g.N + kNR - 1) / kNR;
      const int64_t n0 = nsl * tid / nt * kNR, n1 = min_i64(g.N, nsl * (tid + 1) / nt * kNR);
      if (n0 >= n1) return;
      switch (g.M) {
#define TETRA_GEMM_ROWS(r) case r: gemm_few_rows_nn<(r <= kMR ? r : kMR)>(g, Ap, B, C, n0, n1); break;
        TETRA_GEMM_ROWS(1) TETRA_GEMM_ROWS(2) TETRA_GEMM_ROWS(3) TETRA_GEMM_ROWS(4)
        TETRA_GEMM_ROWS(5) TETRA_GEMM_ROWS(6) TETRA_GEMM_ROWS(7) TETRA_GEMM_ROWS(8)
        TETRA_GEMM_ROWS(9) TETRA_GEMM_ROWS(10) TETRA_GEMM_ROWS(11) TETRA_GEMM_ROWS(12)
#undef TETRA_GEMM_ROWS
        default: gemm_few_rows_nn<kMR>(g, Ap, B, C, n0, n1);
      }
      return;
    }
    case Path::DotFewRows: {
      // op(A) rows made contiguous (copied if A is transposed); B's rows are op(B)'s columns.
      const float* L = A;
      if (g.transA || g.lda != g.K) {
        float* t = tl_buffer(0, g.M * g.K);
        for (int64_t i = 0; i < g.M; i++)
          for (int64_t p = 0; p < g.K; p++) t[i * g.K + p] = g.transA ? A[p * g.lda + i] : A[i * g.lda + p];
        L = t;
      }
      const int64_t r0 = g.N * tid / nt, r1 = g.N * (tid + 1) / nt;
      dot_rows(g.M, g.K, L, B, g.ldb, r0, r1, C, g.ldc, 1, g.alpha, g.beta);
      return;
    }
    case Path::DotFewCols: {
      // Mirror image: op(B)'s few columns made contiguous, rows of A (not transposed) dotted with them.
      const float* L = B;
      if (!g.transB || g.ldb != g.K) {
        float* t = tl_buffer(1, g.N * g.K);
        for (int64_t j = 0; j < g.N; j++)
          for (int64_t p = 0; p < g.K; p++) t[j * g.K + p] = g.transB ? B[j * g.ldb + p] : B[p * g.ldb + j];
        L = t;
      }
      const int64_t r0 = g.M * tid / nt, r1 = g.M * (tid + 1) / nt;
      dot_rows(g.N, g.K, L, A, g.lda, r0, r1, C, 1, g.ldc, g.alpha, g.beta);
      return;
    }
  }
}

// C = beta * C (K == 0: the product is empty). beta == 0 writes zeros without reading C.
inline void scale_c(const GemmArgs& g, float* C) {
  for (int64_t i = 0; i < g.M; i++)
    for (int64_t j = 0; j < g.N; j++) {
      float& c = C[i * g.ldc + j];
      c = g.beta == 0.f ? 0.f : g.beta * c;
    }
}

}  // namespace gemm_impl

// ---------------------------------------------------------------------------- entry point

void gemm(const GemmArgs& g) {
  using namespace gemm_impl;
  if (g.M <= 0 || g.N <= 0 || g.batch <= 0) return;
  auto itemA = [&](int64_t b) { return g.A + b * g.strideA; };
  auto itemB = [&](int64_t b) { return g.B + b * g.strideB; };
  auto itemC = [&](int64_t b) { return g.C + b * g.strideC; };
  if (g.K <= 0) {
    for (int64_t b = 0; b < g.batch; b++) scale_c(g, itemC(b));
    return;
  }
  const Path path = choose_path(g);
  const int64_t flops = 2 * g.M * g.N * g.K;
  int nt = (int)min_i64(max_threads(), 256);
  // Decode GEMVs are bound by streaming the weights, not by flops: a second thread adds memory
  // bandwidth well below the flop threshold.
  const bool streaming = path == Path::DotFewRows && g.N * g.K * g.batch >= kDotParallelMinWeights;
  if (flops * g.batch < max_i64(kGemmParallelMinFlops, kParallelMinWork) && !streaming) nt = 1;
#ifdef _OPENMP
  if (omp_in_parallel()) nt = 1;  // called from inside a parallel region: stay on this thread
#endif
  // Many small items (attention heads): one whole item per thread beats splitting each item.
  const bool perItem = nt > 1 && g.batch >= nt && (flops < 4 * kGemmParallelMinFlops || g.batch >= 4 * nt);
  if (nt == 1 || perItem) {
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1)
    for (int64_t b = 0; b < g.batch; b++) {
      if (reserve(g, path)) gemm_one(g, path, itemA(b), itemB(b), itemC(b), 0, 1);
      else gemm_naive(g, itemA(b), itemB(b), itemC(b));
    }
    return;
  }
  // One team splits each item.
  bool failed = !reserve(g, path);
  if (!failed) {
#pragma omp parallel num_threads(nt)
    {
#ifdef _OPENMP
      const int tid = omp_get_thread_num(), team = omp_get_num_threads();
#else
      const int tid = 0, team = 1;
#endif
      if (tid != 0 && !reserve(g, path)) {
#pragma omp atomic write
        failed = true;
      }
      team_barrier(team);
      bool stop;
#pragma omp atomic read
      stop = failed;
      if (!stop)
        for (int64_t b = 0; b < g.batch; b++) gemm_one(g, path, itemA(b), itemB(b), itemC(b), tid, team);
    }
  }
  if (failed)
    for (int64_t b = 0; b < g.batch; b++) gemm_naive(g, itemA(b), itemB(b), itemC(b));
}
