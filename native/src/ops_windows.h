// Image windows (im2col for a vision stem): every patch's window of an image, in [-1, 1].
#pragma once

// pixels: count images of S x S x 3 (HWC, values in [0, 1]). For each image and each patch
// (gy, gx) of its G x G grid (G = S / P), writes the W x W x 3 window whose top-left corner is
// (gy * P - (W - P) / 2, gx * P - (W - P) / 2) as 2 * pixel - 1, and 0 where the window reaches
// past the image, at out + ((i * G + gy) * G + gx) * stride. Values from W * W * 3 to stride in
// each row are left as they are (the caller's own per-patch values). W == P gives plain patches.
void windows_forward(float* out, const float* pixels, int64_t count, int64_t S, int64_t P, int64_t W, int64_t stride) {
  const int64_t G = S / P, pad = (W - P) / 2, rows = count * G * G;
#pragma omp parallel for schedule(static) if (rows * W * W * 3 > kParallelMinWork)
  for (int64_t r = 0; r < rows; r++) {
    const int64_t i = r / (G * G), gy = (r / G) % G, gx = r % G;
    const int64_t x0 = gx * P - pad, lo = x0 < 0 ? 0 : x0, hi = x0 + W > S ? S : x0 + W;
    float* o = out + r * stride;
    for (int64_t wy = 0; wy < W; wy++, o += W * 3) {
      const int64_t y = gy * P - pad + wy;
      if (y < 0 || y >= S) {
        memset(o, 0, (size_t)(W * 3) * sizeof(float));
        continue;
      }
      const float* __restrict p = pixels + ((i * S + y) * S + lo) * 3;
      float* __restrict d = o + (lo - x0) * 3;
      for (int64_t c = 0; c < (lo - x0) * 3; c++) o[c] = 0.0f;
      const int64_t n = (hi - lo) * 3;
#pragma omp simd
      for (int64_t c = 0; c < n; c++) d[c] = 2.0f * p[c] - 1.0f;
      for (int64_t c = (hi - x0) * 3; c < W * 3; c++) o[c] = 0.0f;
    }
  }
}
