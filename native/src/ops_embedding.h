// Token embedding: out[n] = wte[tokens[n]], and the scatter-add backward.
#pragma once

void embedding_forward(float* out, const float* wte, const int32_t* tokens, int64_t N, int64_t C) {
#pragma omp parallel for schedule(static) if (N * C > kParallelMinWork)
  for (int64_t n = 0; n < N; n++) memcpy(out + n * C, wte + (int64_t)tokens[n] * C, (size_t)C * sizeof(float));
}

// dwte[tokens[n]] += dout[n]. Rows cannot be split across threads (two rows with the same token
// would race on one dwte row), so threads own disjoint channel blocks and each walks every token
// in order: no race, and every dwte element sums its rows in the same order as one thread would.
void embedding_backward(float* dwte, const float* dout, const int32_t* tokens, int64_t N, int64_t C) {
  // Blocks are whole 64-byte lines so that two threads never write the same cache line.
  const int64_t kLine = 16;
  int64_t nt = (N * C > kParallelMinWork) ? max_threads() : 1;
  int64_t block = ((C + nt - 1) / nt + kLine - 1) / kLine * kLine;
  int64_t nb = (C + block - 1) / block;
#pragma omp parallel for schedule(static) if (nb > 1)
  for (int64_t b = 0; b < nb; b++) {
    int64_t c0 = b * block, c1 = min_i64(C, c0 + block);
    for (int64_t n = 0; n < N; n++) {
      float* __restrict d = dwte + (int64_t)tokens[n] * C;
      const float* __restrict g = dout + n * C;
#pragma omp simd
      for (int64_t c = c0; c < c1; c++) d[c] += g[c];
    }
  }
}
