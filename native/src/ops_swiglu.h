// SwiGLU: inp [N, 2H] = [gate | up] per row; out [N, H] = silu(gate) * up, silu(g) = g*sigmoid(g).
#pragma once

void swiglu_forward(float* out, const float* inp, int64_t N, int64_t H) {
#pragma omp parallel for schedule(static) if (N * H * 8 > kParallelMinWork)
  for (int64_t n = 0; n < N; n++) {
    const float* __restrict g = inp + n * 2 * H;
    const float* __restrict u = g + H;
    float* __restrict o = out + n * H;
#pragma omp simd
    for (int64_t j = 0; j < H; j++) o[j] = g[j] * sigmoid_approx(g[j]) * u[j];
  }
}

// forward: out = g * sig(g) * u with sig' = sig * (1 - sig), so
//   dg += dout * u * sig * (1 + g * (1 - sig)),  du += dout * g * sig
void swiglu_backward(float* dinp, const float* dout, const float* inp, int64_t N, int64_t H) {
#pragma omp parallel for schedule(static) if (N * H * 12 > kParallelMinWork)
  for (int64_t n = 0; n < N; n++) {
    const float* __restrict g = inp + n * 2 * H;
    const float* __restrict u = g + H;
    const float* __restrict d = dout + n * H;
    float* __restrict dg = dinp + n * 2 * H;
    float* __restrict du = dg + H;
#pragma omp simd
    for (int64_t j = 0; j < H; j++) {
      float sig = sigmoid_approx(g[j]);
      dg[j] += d[j] * u[j] * sig * (1.0f + g[j] * (1.0f - sig));
      du[j] += d[j] * g[j] * sig;
    }
  }
}
