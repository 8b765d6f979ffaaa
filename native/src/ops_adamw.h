// AdamW step, PyTorch semantics, with the gradient pre-multiplied by gradScale (the global-norm
// clip coefficient, or 1). step counts from 1.
#pragma once

void adamw_step(float* param, const float* grad, float* m, float* v, int64_t n, float lr, float beta1,
                float beta2, float eps, float weightDecay, int64_t step, float gradScale) {
  // Bias corrections in double: 1 - 0.999^step loses most of its digits in float for small steps.
  float bc1 = (float)(1.0 - pow((double)beta1, (double)step));
  float bc2 = (float)(1.0 - pow((double)beta2, (double)step));
  float decay = 1.0f - lr * weightDecay;  // p -= lr*wd*p, folded to one multiply
#pragma omp parallel for simd schedule(static) if (n * 12 > kParallelMinWork)
  for (int64_t i = 0; i < n; i++) {
    float g = grad[i] * gradScale;
    float mi = beta1 * m[i] + (1.0f - beta1) * g;
    float vi = beta2 * v[i] + (1.0f - beta2) * g * g;
    m[i] = mi;
    v[i] = vi;
    param[i] = param[i] * decay - lr * (mi / bc1) / (sqrtf(vi / bc2) + eps);
  }
}
