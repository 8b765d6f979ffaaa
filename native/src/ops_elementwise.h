// Elementwise ops and sum of squares. Memory bound: two threads only help on long vectors.
#pragma once

void add(float* out, const float* a, const float* b, int64_t n) {
  // out may alias a or b: element i is read before it is written, so no iteration depends on another.
#pragma omp parallel for simd schedule(static) if (n > kParallelMinWork)
  for (int64_t i = 0; i < n; i++) out[i] = a[i] + b[i];
}

void axpy(float* y, float alpha, const float* x, int64_t n) {
#pragma omp parallel for simd schedule(static) if (n > kParallelMinWork)
  for (int64_t i = 0; i < n; i++) y[i] += alpha * x[i];
}

void scale(float* x, float alpha, int64_t n) {
#pragma omp parallel for simd schedule(static) if (n > kParallelMinWork)
  for (int64_t i = 0; i < n; i++) x[i] *= alpha;
}

// The blocks (and so the rounding) depend only on n, never on the thread count: the global grad
// norm must not change when a run moves from 1 to 2 threads.
constexpr int64_t kSumBlocks = 256;
constexpr int64_t kSumMinBlock = 8192;

double sum_squares_block(const float* x, int64_t n) {
  double s = 0;
#pragma omp simd reduction(+ : s)
  for (int64_t i = 0; i < n; i++) s += (double)x[i] * (double)x[i];
  return s;
}

double sum_squares(const float* x, int64_t n) {
  if (n <= kSumMinBlock) return sum_squares_block(x, n);
  int64_t block = max_i64(kSumMinBlock, (n + kSumBlocks - 1) / kSumBlocks);
  int64_t nb = (n + block - 1) / block;
  double partial[kSumBlocks];
#pragma omp parallel for schedule(static) if (n > kParallelMinWork)
  for (int64_t b = 0; b < nb; b++) partial[b] = sum_squares_block(x + b * block, min_i64(block, n - b * block));
  double s = 0;
  for (int64_t b = 0; b < nb; b++) s += partial[b];
  return s;
}
