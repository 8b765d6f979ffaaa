#include "dispatch.h"
#include <cstdlib>
#include <cstring>
#include <initializer_list>

namespace tetra {

bool isa_supported(const char* name) {
  if (std::strcmp(name, "generic") == 0) return true;
#if defined(__x86_64__) || defined(_M_X64)
  // __builtin_cpu_supports also checks that the OS saves the wide registers (XCR0).
  __builtin_cpu_init();
  if (std::strcmp(name, "avx2") == 0) return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  if (std::strcmp(name, "avx512") == 0)
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl") &&
           __builtin_cpu_supports("fma");
#endif
  return false;
}

const Kernels* isa_table(const char* name) {
  if (!isa_supported(name)) return nullptr;
  if (std::strcmp(name, "generic") == 0) return kernels_generic();
  if (std::strcmp(name, "avx2") == 0) return kernels_avx2();
  if (std::strcmp(name, "avx512") == 0) return kernels_avx512();
  return nullptr;
}

const Kernels* isa_default(const char** error) {
  *error = nullptr;
  const char* forced = std::getenv("TETRA_CPU");
  if (forced && *forced) {
    const Kernels* k = isa_table(forced);
    if (k) return k;
    *error = "TETRA_CPU names an unknown ISA or one this CPU lacks (use generic, avx2 or avx512)";
  }
  for (const char* name : {"avx512", "avx2", "generic"}) {
    const Kernels* k = isa_table(name);
    if (k) return k;
  }
  return kernels_generic();
}

}  // namespace tetra
