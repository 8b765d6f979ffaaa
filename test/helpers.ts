// Shared test utilities: a seeded RNG, array comparison with a stated bound, and access to the
// native backend (skipped with a reason where it is not built, unless CI requires it).
import assert from 'node:assert/strict';
import type { FloatArray, NativeBackend } from '../src/tensor/backend.ts';
import { nativeBackend, nativeError } from '../src/tensor/select.ts';
import { mulberry32 } from '../src/tensor/random.ts';

/** Seeded uniforms for test data. */
export const rng = (seed: number): (() => number) => mulberry32(seed);

/** Uniform values in [-scale, scale). */
export function randn32(n: number, r: () => number, scale = 1): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = (r() * 2 - 1) * scale;
  return a;
}
export function randn64(n: number, r: () => number, scale = 1): Float64Array {
  const a = new Float64Array(n);
  for (let i = 0; i < n; i++) a[i] = (r() * 2 - 1) * scale;
  return a;
}
export function randInts(n: number, hi: number, r: () => number): Int32Array {
  const a = new Int32Array(n);
  for (let i = 0; i < n; i++) a[i] = Math.floor(r() * hi);
  return a;
}

/**
 * Largest |a - b| / (|b| + floor) over the arrays, where floor = max|b| * 1e-3 keeps entries
 * that are near zero by cancellation from dominating. Returns the index of the worst element too.
 */
export function relErr(a: FloatArray, b: FloatArray): { err: number; at: number } {
  assert.equal(a.length, b.length, 'length mismatch');
  let scale = 0;
  for (let i = 0; i < b.length; i++) scale = Math.max(scale, Math.abs(b[i]));
  const floor = Math.max(scale * 1e-3, 1e-30);
  let err = 0,
    at = -1;
  for (let i = 0; i < a.length; i++) {
    const e = Math.abs(a[i] - b[i]) / (Math.abs(b[i]) + floor);
    if (!(e <= err)) {
      err = e;
      at = i;
    } // NaN counts as the worst
  }
  return { err, at };
}

export function assertClose(actual: FloatArray, expected: FloatArray, bound: number, what: string): void {
  const { err, at } = relErr(actual, expected);
  assert.ok(
    err <= bound,
    `${what}: relative error ${err.toExponential(2)} > ${bound} at [${at}] (got ${actual[at]}, want ${expected[at]})`,
  );
}

/**
 * The native backend, or a skip reason. With TETRA_REQUIRE_NATIVE=1 (CI) a missing addon is a
 * failure, so the native suites never silently skip there.
 */
export function requireNative(): { native: NativeBackend; skip?: undefined } | { native: null; skip: string } {
  const n = nativeBackend();
  if (n) return { native: n };
  const why = `native kernels unavailable: ${nativeError()}`;
  if (process.env.TETRA_REQUIRE_NATIVE === '1') throw new Error(`${why} (TETRA_REQUIRE_NATIVE=1)`);
  return { native: null, skip: why };
}

/** Every instruction set the tests must cover; the ones this CPU lacks come with a skip reason. */
export const ALL_ISAS = ['generic', 'avx2', 'avx512'] as const;

/** Runs fn with the native backend switched to each ISA in turn, restoring the original after. */
export function isaSkip(native: NativeBackend, isa: string): string | undefined {
  return native.available.includes(isa) ? undefined : `this CPU lacks ${isa}`;
}
export function withIsa<T>(native: NativeBackend, isa: string, fn: () => T): T {
  const before = native.isa();
  native.setIsa(isa);
  try {
    return fn();
  } finally {
    native.setIsa(before);
  }
}
