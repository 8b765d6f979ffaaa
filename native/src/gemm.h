// GEMM kernels. Included inside an anonymous namespace by isa_impl.h.
// PLACEHOLDER: naive loops until the blocked kernel lands.
void gemm(const GemmArgs& a) {
  for (int64_t b = 0; b < a.batch; b++) {
    const float* A = a.A + b * a.strideA;
    const float* B = a.B + b * a.strideB;
    float* C = a.C + b * a.strideC;
    for (int64_t i = 0; i < a.M; i++)
      for (int64_t j = 0; j < a.N; j++) {
        float s = 0;
        for (int64_t p = 0; p < a.K; p++) {
          float x = a.transA ? A[p * a.lda + i] : A[i * a.lda + p];
          float y = a.transB ? B[j * a.ldb + p] : B[p * a.ldb + j];
          s += x * y;
        }
        float c = a.beta == 0.f ? 0.f : a.beta * C[i * a.ldc + j];
        C[i * a.ldc + j] = a.alpha * s + c;
      }
  }
}
