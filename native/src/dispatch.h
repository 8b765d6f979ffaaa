// Picks the kernel table for this CPU: the best ISA it supports, or the one TETRA_CPU names.
#pragma once
#include "kernels.h"

namespace tetra {
// Whether this CPU (and OS) can run the named table: "generic", "avx2" or "avx512".
bool isa_supported(const char* name);
// The table for a name, or nullptr when the name is unknown or the CPU lacks it.
const Kernels* isa_table(const char* name);
// The best supported table, lowered to TETRA_CPU when that is set.
const Kernels* isa_default(const char** error);
}  // namespace tetra
