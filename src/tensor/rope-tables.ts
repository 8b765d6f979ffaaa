// cos/sin tables for RoPE: row t holds the angles t * base^(-2i/HS) for i < HS/2.
import { alloc, type DType } from './tensor.ts';
import type { FloatArray } from './backend.ts';

export function ropeTables(maxT: number, HS: number, base = 10000, dtype: DType = 'f32'): { cos: FloatArray; sin: FloatArray } {
  if (HS % 2) throw new Error(`ropeTables: head size ${HS} must be even`);
  const half = HS / 2;
  const cos = alloc(dtype, maxT * half),
    sin = alloc(dtype, maxT * half);
  for (let t = 0; t < maxT; t++) {
    for (let i = 0; i < half; i++) {
      const angle = t * base ** ((-2 * i) / HS);
      cos[t * half + i] = Math.cos(angle);
      sin[t * half + i] = Math.sin(angle);
    }
  }
  return { cos, sin };
}
