// The generic kernel table. Flags for this file are set per target in binding.gyp.
#define TETRA_ISA_FN kernels_generic
#define TETRA_ISA_NAME "generic"
#include "isa_impl.h"
