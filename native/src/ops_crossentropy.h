// Softmax cross-entropy with an ignore index: logits [N, V], targets [N].
// losses[n] = lse[n] - logits[n, targets[n]] (0 where ignored; lse always written). The backward
// recomputes each probability from lse, so no [N, V] probability tensor is ever stored.
#pragma once

void cross_entropy_forward(float* losses, float* lse, const float* logits, const int32_t* targets,
                           int64_t N, int64_t V, int32_t ignoreIndex) {
#pragma omp parallel for schedule(static) if (N * V * 4 > kParallelMinWork)
  for (int64_t n = 0; n < N; n++) {
    const float* __restrict x = logits + n * V;
    float mx = -FLT_MAX;  // max as a select, not fmaxf: see softmax_forward
#pragma omp simd reduction(max : mx)
    for (int64_t v = 0; v < V; v++) mx = x[v] > mx ? x[v] : mx;
    float sum = 0;
#pragma omp simd reduction(+ : sum)
    for (int64_t v = 0; v < V; v++) sum += exp_approx(x[v] - mx);
    float l = mx + logf(sum);
    lse[n] = l;
    int32_t t = targets[n];
    losses[n] = t == ignoreIndex ? 0.0f : l - x[t];
  }
}

// forward: losses[n] = lse[n] - logits[n, t], with d lse / d logits[v] = exp(logits[v] - lse), so
//   dlogits[n, v] += dlosses[n] * (exp(logits[n, v] - lse[n]) - [v == t]); ignored rows add 0.
void cross_entropy_backward(float* dlogits, const float* dlosses, const float* logits, const float* lse,
                            const int32_t* targets, int64_t N, int64_t V, int32_t ignoreIndex) {
#pragma omp parallel for schedule(static) if (N * V * 4 > kParallelMinWork)
  for (int64_t n = 0; n < N; n++) {
    int32_t t = targets[n];
    if (t == ignoreIndex) continue;
    const float* __restrict x = logits + n * V;
    float* __restrict dx = dlogits + n * V;
    float d = dlosses[n], l = lse[n];
#pragma omp simd
    for (int64_t v = 0; v < V; v++) dx[v] += d * exp_approx(x[v] - l);
    dx[t] -= d;
  }
}
