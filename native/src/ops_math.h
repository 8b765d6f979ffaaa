// Scalar math helpers the op kernels inline into their loops. Written with plain float and
// integer operations (no libm calls, no data-dependent branches) so that GCC vectorises the
// loops that call them under every ISA's flags; a call to expf keeps a loop scalar.
#pragma once

inline float bits_to_float(uint32_t u) { return __builtin_bit_cast(float, u); }
inline uint32_t float_to_bits(float f) { return __builtin_bit_cast(uint32_t, f); }

// exp(x) for softmax, cross-entropy and sigmoid, whose callers only pass x <= 0 (plus rounding).
// Range reduction x = n*ln2 + r with |r| <= ln2/2, the degree-7 Taylor polynomial of e^r
// (truncation error <= 0.35^8/8! * e^0.35 ~ 7e-9), and 2^n built from exponent bits.
// Measured against double exp on [-87, 0] and [0, 88] (every 1e-4, plus 1e6 random points), in
// the vectorised loop: max relative error 1.0e-7 (under 1 ulp) in the generic build, 7.7e-8 with
// FMA. The op tests hold everything that uses it to 1e-5 or looser.
// Edges: below -88 the input is clamped so the exponent bits come out 0 and the result is exactly
// 0 (exp is denormal there anyway, from about -87.7 down); -inf gives 0; NaN gives NaN; above
// about 88.03 the result is inf, and beyond 88.7 it is garbage (no caller goes there).
//
// Why the clamp works on the bits: written as `x < -88 ? -88 : x`, GCC propagates the constant
// into a copy of the whole polynomial on the clamped path and then refuses to if-convert the two
// copies (float ops may trap), so the loop stays scalar. As unsigned integers, floats below -88
// (down to -inf) are exactly the bit patterns above 0xC2B00000, so one unsigned min clamps them;
// negative NaNs are patterns above -inf's and would be clamped too, so they are made NaN again.
inline float exp_approx(float x) {
  uint32_t xu = float_to_bits(x);
  uint32_t isnan = (uint32_t)(((int32_t)0x7F800000 - (int32_t)(xu & 0x7FFFFFFFu)) >> 31);  // all ones for NaN
  const uint32_t kMinus88 = 0xC2B00000u;
  xu = (xu < kMinus88 ? xu : kMinus88) | (isnan & 0x7FC00000u);
  x = bits_to_float(xu);
  // Round x*log2(e) to an integer by adding 1.5*2^23: the float add then drops the fraction.
  const float kRound = 12582912.0f;
  float n = (x * 1.44269504088896341f + kRound) - kRound;
  // ln2 split in two: 0.693359375 has 10 significant bits, so n * 0.693359375 is exact for |n| <= 128.
  float r = x - n * 0.693359375f;
  r = r - n * -2.12194440e-4f;
  float p = 1.0f / 5040.0f;
  p = p * r + 1.0f / 720.0f;
  p = p * r + 1.0f / 120.0f;
  p = p * r + 1.0f / 24.0f;
  p = p * r + 1.0f / 6.0f;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  return p * bits_to_float((uint32_t)((int32_t)n + 127) << 23);
}

// sigmoid(g) = 1/(1 + e^-g) for g >= 0 and e^g/(1 + e^g) for g < 0, both from e = exp(-|g|) <= 1,
// so nothing overflows and small sigmoids keep their relative precision (1 - 1/(1+e) would
// cancel). The choice between the two is a bit select on g's sign, for the same reason as above.
inline float sigmoid_approx(float g) {
  float e = exp_approx(-fabsf(g));
  float inv = 1.0f / (1.0f + e);
  uint32_t neg = (uint32_t)(((int32_t)float_to_bits(g)) >> 31);  // all ones when g < 0 (or -0)
  return bits_to_float((float_to_bits(e * inv) & neg) | (float_to_bits(inv) & ~neg));
}
