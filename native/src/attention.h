// Fused causal self-attention, forward and backward. Included inside an anonymous namespace by
// isa_impl.h. Semantics: native/src/kernels.h.
// PLACEHOLDER: empty bodies until the kernels land.
void attention_forward(float*, float*, const float*, const float*, const float*, int64_t, int64_t, int64_t,
                       int64_t, int64_t, float) {}
void attention_backward(float*, float*, float*, const float*, const float*, const float*, const float*,
                        const float*, const float*, int64_t, int64_t, int64_t, int64_t, int64_t, float) {}
