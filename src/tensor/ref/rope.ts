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
  rotate(out, inp, cos, sin, 1, false, B, T, NH, HS, pos0);
}

/** The forward pass is a rotation R(theta) of each pair; its transpose is R(-theta), accumulated into dinp. */
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
  rotate(dinp, dout, cos, sin, -1, true, B, T, NH, HS, pos0);
}

/** (y0, y1) = (x0 c - x1 s, x0 s + x1 c) with s = sign * sin, written to out or added to it. */
function rotate(
  out: FloatArray,
  inp: FloatArray,
  cos: FloatArray,
  sin: FloatArray,
  sign: 1 | -1,
  accumulate: boolean,
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
          const c = cos[row + i];
          const s = sign * sin[row + i];
          const x0 = inp[x + 2 * i];
          const x1 = inp[x + 2 * i + 1]; // both read first: out may alias inp
          const y0 = x0 * c - x1 * s;
          const y1 = x0 * s + x1 * c;
          if (accumulate) {
            out[x + 2 * i] += y0;
            out[x + 2 * i + 1] += y1;
          } else {
            out[x + 2 * i] = y0;
            out[x + 2 * i + 1] = y1;
          }
        }
      }
    }
  }
}
