// RMSNorm over rows of C: rstd[n] = 1/sqrt(mean(inp[n]^2) + eps); out = inp * rstd * weight.
#pragma once

void rmsnorm_forward(float* out, float* rstd, const float* inp, const float* weight, int64_t N, int64_t C, float eps) {
#pragma omp parallel for schedule(static) if (N * C > kParallelMinWork)
  for (int64_t n = 0; n < N; n++) {
    const float* x = inp + n * C;
    float* o = out + n * C;
    float ss = 0;
#pragma omp simd reduction(+ : ss)
    for (int64_t c = 0; c < C; c++) ss += x[c] * x[c];
    float r = 1.0f / sqrtf(ss / (float)C + eps);
    rstd[n] = r;
#pragma omp simd
    for (int64_t c = 0; c < C; c++) o[c] = x[c] * r * weight[c];
  }
}

// forward: out[c] = inp[c] * r * weight[c], r = (mean_j inp[j]^2 + eps)^(-1/2), so
//   dinp[c] += dout[c] * weight[c] * r - inp[c] * r^3 / C * sum_j dout[j] * weight[j] * inp[j]
//   dweight[c] += sum_n dout[n, c] * inp[n, c] * r[n]
// dinp is per row, so rows go to threads. dweight sums over rows, so that pass goes to threads
// by channel block instead: each block walks the rows in order, with no race and no per-thread
// partial buffers, and the sum order (hence the result) is the same for any thread count.
void rmsnorm_backward(float* dinp, float* dweight, const float* dout, const float* inp, const float* weight,
                      const float* rstd, int64_t N, int64_t C) {
  bool par = N * C > kParallelMinWork;
#pragma omp parallel for schedule(static) if (par)
  for (int64_t n = 0; n < N; n++) {
    const float* x = inp + n * C;
    const float* d = dout + n * C;
    float* dx = dinp + n * C;
    float r = rstd[n];
    float dot = 0;
#pragma omp simd reduction(+ : dot)
    for (int64_t c = 0; c < C; c++) dot += d[c] * weight[c] * x[c];
    float k = dot * r * r * r / (float)C;
#pragma omp simd
    for (int64_t c = 0; c < C; c++) dx[c] += d[c] * weight[c] * r - x[c] * k;
  }
  const int64_t kLine = 16;
  int64_t nt = par ? max_threads() : 1;
  int64_t block = ((C + nt - 1) / nt + kLine - 1) / kLine * kLine;
  int64_t nb = (C + block - 1) / block;
#pragma omp parallel for schedule(static) if (nb > 1)
  for (int64_t b = 0; b < nb; b++) {
    int64_t c0 = b * block, c1 = min_i64(C, c0 + block);
    float* __restrict dw = dweight;
    for (int64_t n = 0; n < N; n++) {
      const float* __restrict x = inp + n * C;
      const float* __restrict d = dout + n * C;
      float r = rstd[n];
#pragma omp simd
      for (int64_t c = c0; c < c1; c++) dw[c] += d[c] * x[c] * r;
    }
  }
}
