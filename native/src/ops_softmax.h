// Row softmax: out[n] = softmax(scale * inp[n]). With causal, the rows are T x T blocks (T = V)
// and row n sees only columns <= n % V; the rest of its row is written as 0. Used by the unfused
// attention benchmark, where each row is one query's scores.
#pragma once

// The max and sum reductions carry `omp simd reduction` so GCC may keep one partial per lane:
// without it the float sum is a strict left-to-right chain and stays scalar.
// The max is written `s > mx ? s : mx`, not fmaxf: GCC cannot inline fmaxf's NaN rule as a
// vector max on x86 and calls libm per element (measured 3x slower rows). A NaN input still
// reaches the output through its exp.
void softmax_forward(float* out, const float* inp, int64_t N, int64_t V, float scale, bool causal) {
#pragma omp parallel for schedule(static) if (N * V * 4 > kParallelMinWork)
  for (int64_t n = 0; n < N; n++) {
    const float* __restrict x = inp + n * V;
    float* __restrict o = out + n * V;
    int64_t valid = causal ? n % V + 1 : V;
    float mx = -FLT_MAX;
#pragma omp simd reduction(max : mx)
    for (int64_t v = 0; v < valid; v++) { float s = scale * x[v]; mx = s > mx ? s : mx; }
    float sum = 0;
#pragma omp simd reduction(+ : sum)
    for (int64_t v = 0; v < valid; v++) {
      float e = exp_approx(scale * x[v] - mx);
      o[v] = e;
      sum += e;
    }
    float inv = 1.0f / sum;
#pragma omp simd
    for (int64_t v = 0; v < valid; v++) o[v] *= inv;
    for (int64_t v = valid; v < V; v++) o[v] = 0.0f;
  }
}

// forward: out[v] = exp(scale*inp[v]) / sum_j exp(scale*inp[j]), so
//   dinp[v] += scale * out[v] * (dout[v] - sum_j dout[j] * out[j])
// Masked columns have out = 0, so they get 0 without knowing the mask.
void softmax_backward(float* dinp, const float* dout, const float* out, int64_t N, int64_t V, float scale) {
#pragma omp parallel for schedule(static) if (N * V * 4 > kParallelMinWork)
  for (int64_t n = 0; n < N; n++) {
    const float* __restrict d = dout + n * V;
    const float* __restrict o = out + n * V;
    float* __restrict dx = dinp + n * V;
    float dot = 0;
#pragma omp simd reduction(+ : dot)
    for (int64_t v = 0; v < V; v++) dot += d[v] * o[v];
#pragma omp simd
    for (int64_t v = 0; v < V; v++) dx[v] += scale * o[v] * (d[v] - dot);
  }
}
