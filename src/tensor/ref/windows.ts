// Reference image windows (im2col for a vision stem). Semantics: src/tensor/backend.ts.
// pixels: count images of S x S x 3 (HWC, [0, 1]); out: one row of `stride` values a patch.
import type { FloatArray } from '../backend.ts';

export function windowsForward(out: FloatArray, pixels: FloatArray, count: number, S: number, P: number, W: number, stride: number): void {
  if (!(P >= 1 && S % P === 0)) throw new RangeError(`windowsForward: S (${S}) must be a multiple of P (${P})`);
  if (!(W >= P && (W - P) % 2 === 0)) throw new RangeError(`windowsForward: W (${W}) must be P or P plus an even number`);
  if (stride < W * W * 3) throw new RangeError(`windowsForward: stride (${stride}) must hold a window's W*W*3 values`);
  const G = S / P,
    pad = (W - P) / 2;
  if (pixels.length < count * S * S * 3)
    throw new RangeError(`windowsForward: pixels has ${pixels.length} elements, needs ${count * S * S * 3}`);
  if (out.length < count * G * G * stride)
    throw new RangeError(`windowsForward: out has ${out.length} elements, needs ${count * G * G * stride}`);
  for (let i = 0; i < count; i++)
    for (let gy = 0; gy < G; gy++)
      for (let gx = 0; gx < G; gx++) {
        const o = ((i * G + gy) * G + gx) * stride;
        for (let wy = 0; wy < W; wy++)
          for (let wx = 0; wx < W; wx++) {
            const y = gy * P - pad + wy,
              x = gx * P - pad + wx,
              inside = y >= 0 && y < S && x >= 0 && x < S;
            for (let c = 0; c < 3; c++) out[o + (wy * W + wx) * 3 + c] = inside ? 2 * pixels[((i * S + y) * S + x) * 3 + c] - 1 : 0;
          }
      }
}
