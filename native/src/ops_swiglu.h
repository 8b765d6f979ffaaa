// SwiGLU: inp [N, 2H] = [gate | up] per row; out [N, H] = silu(gate) * up, silu(g) = g*sigmoid(g).
// The vector builds run whole vectors through simd::vsigmoid (GCC's vectorisation of the scalar
// sigmoid_approx, with its bit tricks for clamping and NaN, took about 1.7x as long) and the last
// H % VW columns through sigmoid_approx.
#pragma once

void swiglu_forward(float* out, const float* inp, int64_t N, int64_t H) {
#pragma omp parallel for schedule(static) if (N * H * 8 > kParallelMinWork)
  for (int64_t n = 0; n < N; n++) {
    const float* __restrict g = inp + n * 2 * H;
    const float* __restrict u = g + H;
    float* __restrict o = out + n * H;
    int64_t j = 0;
#ifdef TETRA_SIMD_VW
    using namespace simd;
    for (; j + VW <= H; j += VW) {
      const vfloat gv = vload(g + j);
      vstore(o + j, vmul(vmul(gv, vsigmoid(gv)), vload(u + j)));
    }
#endif
    for (; j < H; j++) o[j] = g[j] * sigmoid_approx(g[j]) * u[j];
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
    int64_t j = 0;
#ifdef TETRA_SIMD_VW
    using namespace simd;
    const vfloat one = vset1(1.0f);
    for (; j + VW <= H; j += VW) {
      const vfloat gv = vload(g + j), dv = vload(d + j), sig = vsigmoid(gv);
      const vfloat dsig = vmul(dv, sig);  // dout * sig
      vstore(dg + j, vfma(vmul(dsig, vload(u + j)), vfma(gv, vsub(one, sig), one), vload(dg + j)));
      vstore(du + j, vfma(dsig, gv, vload(du + j)));
    }
#endif
    for (; j < H; j++) {
      float sig = sigmoid_approx(g[j]);
      dg[j] += d[j] * u[j] * sig * (1.0f + g[j] * (1.0f - sig));
      du[j] += d[j] * g[j] * sig;
    }
  }
}
