// Elementwise, normalisation, embedding, RoPE, SwiGLU, softmax, cross-entropy and AdamW kernels.
// Included inside an anonymous namespace by isa_impl.h. Semantics: native/src/kernels.h.
// PLACEHOLDER: empty bodies until the kernels land.
void add(float*, const float*, const float*, int64_t) {}
void axpy(float*, float, const float*, int64_t) {}
void scale(float*, float, int64_t) {}
double sum_squares(const float*, int64_t) { return 0; }
void embedding_forward(float*, const float*, const int32_t*, int64_t, int64_t) {}
void embedding_backward(float*, const float*, const int32_t*, int64_t, int64_t) {}
void rmsnorm_forward(float*, float*, const float*, const float*, int64_t, int64_t, float) {}
void rmsnorm_backward(float*, float*, const float*, const float*, const float*, const float*, int64_t, int64_t) {}
void rope_forward(float*, const float*, const float*, const float*, int64_t, int64_t, int64_t, int64_t, int64_t) {}
void rope_backward(float*, const float*, const float*, const float*, int64_t, int64_t, int64_t, int64_t, int64_t) {}
void swiglu_forward(float*, const float*, int64_t, int64_t) {}
void swiglu_backward(float*, const float*, const float*, int64_t, int64_t) {}
void cross_entropy_forward(float*, float*, const float*, const int32_t*, int64_t, int64_t, int32_t) {}
void cross_entropy_backward(float*, const float*, const float*, const float*, const int32_t*, int64_t, int64_t, int32_t) {}
void softmax_forward(float*, const float*, int64_t, int64_t, float, bool) {}
void softmax_backward(float*, const float*, const float*, int64_t, int64_t, float) {}
void adamw_step(float*, const float*, float*, float*, int64_t, float, float, float, float, float, int64_t, float) {}
