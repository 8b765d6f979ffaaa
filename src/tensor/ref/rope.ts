// Reference rotary position embedding, interleaved pairs. Semantics: src/tensor/backend.ts.
// inp, out [B, T, NH, HS]; cos, sin [maxT, HS/2]; token t uses table row pos0 + t.
import type { FloatArray } from '../backend.ts';

export function ropeForward(
  out: FloatArray,
  inp: FloatArray,
  cos: FloatArray,
  sin: FloatArray,
  B: number,
  T: number,
  NH: number,
  HS: number,
  pos0: number,
): void {
  const half = HS / 2;
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) {
      const row = (pos0 + t) * half;
      for (let h = 0; h < NH; h++) {
        const x = ((b * T + t) * NH + h) * HS;
        for (let i = 0; i < half; i++) {
          const c = cos[row + i],
            s = sin[row + i];
          const x0 = inp[x + 2 * i],
            x1 = inp[x + 2 * i + 1]; // both read first: out may alias inp
          out[x + 2 * i] = x0 * c - x1 * s;
          out[x + 2 * i + 1] = x0 * s + x1 * c;
        }
      }
    }
  }
}

export function ropeBackward(
  dinp: FloatArray,
  dout: FloatArray,
  cos: FloatArray,
  sin: FloatArray,
  B: number,
  T: number,
  NH: number,
  HS: number,
  pos0: number,
): void {
  // forward: (out0, out1) = (x0*c - x1*s, x0*s + x1*c), a rotation R(theta); its transpose is
  // R(-theta): dx0 = d0*c + d1*s, dx1 = -d0*s + d1*c.
  const half = HS / 2;
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) {
      const row = (pos0 + t) * half;
      for (let h = 0; h < NH; h++) {
        const x = ((b * T + t) * NH + h) * HS;
        for (let i = 0; i < half; i++) {
          const c = cos[row + i],
            s = sin[row + i];
          const d0 = dout[x + 2 * i],
            d1 = dout[x + 2 * i + 1];
          dinp[x + 2 * i] += d0 * c + d1 * s;
          dinp[x + 2 * i + 1] += -d0 * s + d1 * c;
        }
      }
    }
  }
}
