{
  # One addon, three kernel tables. Each ISA's translation unit is its own static library so it can
  # carry its own -m flags; the shipped binary never uses -march=native and picks a table at runtime.
  "target_defaults": {
    "cflags_cc!": ["-fno-exceptions"],
    "cflags_cc": ["-std=c++17", "-O3", "-fPIC", "-fopenmp", "-fno-math-errno", "-ffp-contract=fast", "-Wall", "-Wno-unused-function"],
    "cflags": ["-O3", "-fPIC"],
  },
  "targets": [
    {
      "target_name": "tetra_generic",
      "type": "static_library",
      "sources": ["native/src/isa_generic.cpp"],
    },
    {
      "target_name": "tetra_avx2",
      "type": "static_library",
      "sources": ["native/src/isa_avx2.cpp"],
      "conditions": [["target_arch=='x64'", { "cflags_cc": ["-mavx2", "-mfma", "-mf16c"] }]],
    },
    {
      "target_name": "tetra_avx512",
      "type": "static_library",
      "sources": ["native/src/isa_avx512.cpp"],
      "conditions": [["target_arch=='x64'", { "cflags_cc": ["-mavx2", "-mfma", "-mf16c", "-mavx512f", "-mavx512bw", "-mavx512dq", "-mavx512vl"] }]],
    },
    {
      "target_name": "tetra",
      "sources": ["native/src/addon.cpp", "native/src/dispatch.cpp"],
      "dependencies": ["tetra_generic", "tetra_avx2", "tetra_avx512"],
      "libraries": ["-fopenmp"],
      "ldflags": ["-fopenmp"],
    },
  ],
}
