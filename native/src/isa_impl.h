// Compiles every kernel once for the ISA this translation unit is built for (its -m flags set
// __AVX2__ / __AVX512F__) and fills that ISA's kernel table.
//
// Everything below lives in an anonymous namespace: the same inline functions and templates are
// compiled three times with different instruction sets, and with external linkage the linker
// would keep one copy (possibly the AVX-512 one) for all three tables, which crashes on CPUs
// without AVX-512. For the same reason kernel code avoids non-trivial std:: templates (their
// out-of-line copies are shared across translation units); <cmath> functions are plain libm calls.
#pragma once
#include <cmath>
#include <cstdint>
#include <cstring>
#include <cfloat>
#include <cstdlib>
#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>
#endif
#ifdef _OPENMP
#include <omp.h>
#endif
#include "kernels.h"

#ifndef TETRA_ISA_FN
#error "define TETRA_ISA_FN (e.g. kernels_avx2) before including isa_impl.h"
#endif
#ifndef TETRA_ISA_NAME
#error "define TETRA_ISA_NAME before including isa_impl.h"
#endif

namespace tetra {
namespace {
#include "common.h"
#include "simd.h"
#include "gemm.h"
#include "ops.h"
#include "attention.h"
}  // namespace

const Kernels* TETRA_ISA_FN() {
  static const Kernels table = {
      TETRA_ISA_NAME,
      gemm,
      add, axpy, scale, sum_squares,
      embedding_forward, embedding_backward,
      rmsnorm_forward, rmsnorm_backward,
      rope_forward, rope_backward,
      swiglu_forward, swiglu_backward,
      cross_entropy_forward, cross_entropy_backward,
      softmax_forward, softmax_backward,
      adamw_step,
      attention_forward, attention_backward,
      windows_forward,
  };
  return &table;
}
}  // namespace tetra
