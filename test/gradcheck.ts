// Finite-difference gradient checking in float64, for backward kernels and composites.
import assert from 'node:assert/strict';

/**
 * Central differences of a scalar function with respect to every element of x (x is perturbed
 * in place and restored). With float64 and h = 1e-5 the truncation error is about h^2 * f''' and
 * the rounding error about 1e-16 / h, so agreement to ~1e-7 relative is expected.
 */
export function numericGrad(f: () => number, x: Float64Array, h = 1e-5): Float64Array {
  const g = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const old = x[i];
    x[i] = old + h;
    const fp = f();
    x[i] = old - h;
    const fm = f();
    x[i] = old;
    g[i] = (fp - fm) / (2 * h);
  }
  return g;
}

/** Weighted sum sum(out * w): a scalar loss whose gradient with respect to out is exactly w. */
export function dot(out: ArrayLike<number>, w: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < out.length; i++) s += out[i] * w[i];
  return s;
}

/**
 * Asserts analytic and numeric gradients agree: |a - n| <= tol * (|n| + max|n| * 1e-3) elementwise.
 */
export function assertGradClose(analytic: Float64Array, numeric: Float64Array, what: string, tol = 1e-6): void {
  assert.equal(analytic.length, numeric.length, `${what}: length`);
  let scale = 0;
  for (const v of numeric) scale = Math.max(scale, Math.abs(v));
  const floor = Math.max(scale * 1e-3, 1e-12);
  for (let i = 0; i < numeric.length; i++) {
    const e = Math.abs(analytic[i] - numeric[i]) / (Math.abs(numeric[i]) + floor);
    assert.ok(e <= tol, `${what}[${i}]: analytic ${analytic[i]} vs numeric ${numeric[i]} (relative error ${e.toExponential(2)} > ${tol})`);
  }
}
