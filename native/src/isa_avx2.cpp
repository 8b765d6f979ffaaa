// The avx2 kernel table. Flags for this file are set per target in binding.gyp.
#define TETRA_ISA_FN kernels_avx2
#define TETRA_ISA_NAME "avx2"
#if defined(__x86_64__) || defined(_M_X64)
#include "isa_impl.h"
#else
namespace tetra { const Kernels* TETRA_ISA_FN() { return nullptr; } }
#endif
