// Image bytes to a model's input: size x size RGB floats in [0, 1], from S x S bytes of 1 (grey)
// or 3 (RGB) channels. A smaller size averages each block of pixels when S is a multiple of it (no
// detail skipped); otherwise pixels are sampled bilinearly, pixel centres onto the source grid,
// edges clamped.
export function toPixels(src: Uint8Array, S: number, channels: 1 | 3, size: number): Float32Array {
  if (src.length !== S * S * channels) throw new Error(`toPixels: ${src.length} bytes is not ${S}x${S}x${channels}`);
  const out = new Float32Array(size * size * 3);
  const at = (y: number, x: number, c: number) =>
    src[(Math.min(S - 1, Math.max(0, y)) * S + Math.min(S - 1, Math.max(0, x))) * channels + (channels === 1 ? 0 : c)];
  const k = S / size;
  const block = size < S && Number.isInteger(k);
  for (let y = 0; y < size; y++)
    for (let x = 0; x < size; x++)
      for (let c = 0; c < 3; c++) {
        let v: number;
        if (block) {
          v = 0;
          for (let dy = 0; dy < k; dy++) for (let dx = 0; dx < k; dx++) v += at(y * k + dy, x * k + dx, c);
          v /= k * k;
        } else {
          const sy = ((y + 0.5) * S) / size - 0.5,
            sx = ((x + 0.5) * S) / size - 0.5;
          const y0 = Math.floor(sy),
            x0 = Math.floor(sx),
            fy = sy - y0,
            fx = sx - x0;
          v =
            (1 - fy) * ((1 - fx) * at(y0, x0, c) + fx * at(y0, x0 + 1, c)) +
            fy * ((1 - fx) * at(y0 + 1, x0, c) + fx * at(y0 + 1, x0 + 1, c));
        }
        out[(y * size + x) * 3 + c] = v / 255;
      }
  return out;
}

/**
 * Training augmentation: the image moved by (dx, dy) whole pixels (right and down for positive),
 * size x size RGB as toPixels makes them; the strip uncovered repeats the nearest edge pixel,
 * which is the background in the labelled sets (a digit or garment drawn on a plain ground).
 */
export function shiftPixels(pixels: Float32Array, size: number, dx: number, dy: number): Float32Array {
  if (pixels.length !== size * size * 3) throw new Error(`shiftPixels: ${pixels.length} values is not ${size}x${size}x3`);
  const out = new Float32Array(pixels.length);
  const clamp = (v: number) => Math.min(size - 1, Math.max(0, v));
  for (let y = 0; y < size; y++) {
    const sy = clamp(y - dy);
    for (let x = 0; x < size; x++) {
      const from = (sy * size + clamp(x - dx)) * 3,
        to = (y * size + x) * 3;
      out[to] = pixels[from];
      out[to + 1] = pixels[from + 1];
      out[to + 2] = pixels[from + 2];
    }
  }
  return out;
}
