// Shared helpers for kernel sources. Included inside an anonymous namespace by isa_impl.h.

// Below this many floating-point operations an op runs single-threaded: an OpenMP team start
// costs about 7 us here, more than a small op takes in total.
constexpr int64_t kParallelMinWork = 1 << 15;

inline int max_threads() {
#ifdef _OPENMP
  return omp_get_max_threads();
#else
  return 1;
#endif
}

inline int64_t min_i64(int64_t a, int64_t b) { return a < b ? a : b; }
inline int64_t max_i64(int64_t a, int64_t b) { return a > b ? a : b; }
