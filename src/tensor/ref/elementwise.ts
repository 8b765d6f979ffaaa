// Reference elementwise ops and reductions. Semantics: src/tensor/backend.ts.
import type { FloatArray } from '../backend.ts';

/** out = a + b; out may alias a or b (each element is read before it is written). */
export function add(out: FloatArray, a: FloatArray, b: FloatArray, n: number): void {
  for (let i = 0; i < n; i++) out[i] = a[i] + b[i];
}

/** y += alpha * x */
export function axpy(y: FloatArray, alpha: number, x: FloatArray, n: number): void {
  for (let i = 0; i < n; i++) y[i] += alpha * x[i];
}

/** x *= alpha */
export function scale(x: FloatArray, alpha: number, n: number): void {
  for (let i = 0; i < n; i++) x[i] *= alpha;
}

/** sum of x[i]^2; JS numbers are doubles, so this accumulates in double precision. */
export function sumSquares(x: FloatArray, n: number): number {
  let s = 0;
  for (let i = 0; i < n; i++) s += x[i] * x[i];
  return s;
}
