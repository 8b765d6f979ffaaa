// RoPE, interleaved pairs (x[2i], x[2i+1]) as llama.cpp's LLAMA rope. inp/out [B, T, NH, HS];
// cos/sin [maxT, HS/2], token t uses table row pos0 + t.
#pragma once

// out may alias inp exactly (in-place rope). `omp simd` is still valid then: pair i reads and
// writes only its own two elements, so no iteration depends on another. Without the pragma GCC
// sees possible overlap and falls back to scalar code when out == inp.
void rope_forward(float* out, const float* inp, const float* cos, const float* sin,
                  int64_t B, int64_t T, int64_t NH, int64_t HS, int64_t pos0) {
  int64_t half = HS / 2;
#pragma omp parallel for schedule(static) if (B * T * NH * HS > kParallelMinWork)
  for (int64_t bt = 0; bt < B * T; bt++) {
    int64_t t = bt % T;
    const float* c = cos + (pos0 + t) * half;
    const float* s = sin + (pos0 + t) * half;
    for (int64_t h = 0; h < NH; h++) {
      const float* x = inp + (bt * NH + h) * HS;
      float* o = out + (bt * NH + h) * HS;
#pragma omp simd
      for (int64_t i = 0; i < half; i++) {
        float x0 = x[2 * i], x1 = x[2 * i + 1];
        o[2 * i] = x0 * c[i] - x1 * s[i];
        o[2 * i + 1] = x0 * s[i] + x1 * c[i];
      }
    }
  }
}

// forward: (o0, o1) = R(theta) (x0, x1); the transpose R(-theta) carries the gradient back:
//   dx0 += d0*c + d1*s,  dx1 += -d0*s + d1*c
void rope_backward(float* dinp, const float* dout, const float* cos, const float* sin,
                   int64_t B, int64_t T, int64_t NH, int64_t HS, int64_t pos0) {
  int64_t half = HS / 2;
#pragma omp parallel for schedule(static) if (B * T * NH * HS > kParallelMinWork)
  for (int64_t bt = 0; bt < B * T; bt++) {
    int64_t t = bt % T;
    const float* c = cos + (pos0 + t) * half;
    const float* s = sin + (pos0 + t) * half;
    for (int64_t h = 0; h < NH; h++) {
      const float* d = dout + (bt * NH + h) * HS;
      float* dx = dinp + (bt * NH + h) * HS;
#pragma omp simd
      for (int64_t i = 0; i < half; i++) {
        float d0 = d[2 * i], d1 = d[2 * i + 1];
        dx[2 * i] += d0 * c[i] + d1 * s[i];
        dx[2 * i + 1] += -d0 * s[i] + d1 * c[i];
      }
    }
  }
}
