// Non-GEMM, non-attention kernels: elementwise ops and reductions, embedding, RMSNorm, RoPE,
// SwiGLU, row softmax, softmax cross-entropy, AdamW and image windows, one header per family. Included inside an
// anonymous namespace by isa_impl.h and so compiled once per ISA (generic, avx2, avx512) from this
// one source: the loops are written for GCC's auto-vectoriser, with `omp simd` where a reduction
// must be allowed to reassociate. Semantics: native/src/kernels.h and src/tensor/backend.ts; the
// plain-loop references are src/tensor/ref/*.ts.
//
// Threads: OpenMP over rows (or over channel blocks) only when an op's work exceeds
// kParallelMinWork. Every reduction is split the same way whatever the thread count, so results
// are bitwise identical with 1 or 2 threads.
#include "ops_math.h"
#include "ops_elementwise.h"
#include "ops_embedding.h"
#include "ops_rmsnorm.h"
#include "ops_rope.h"
#include "ops_swiglu.h"
#include "ops_softmax.h"
#include "ops_crossentropy.h"
#include "ops_adamw.h"
#include "ops_windows.h"
