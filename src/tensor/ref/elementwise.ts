// PLACEHOLDER: plain-loop reference kernels go here. Semantics: src/tensor/backend.ts.
import type { FloatArray } from '../backend.ts';

export function add(out: FloatArray, a: FloatArray, b: FloatArray, n: number): void { throw new Error('not implemented'); }
export function axpy(y: FloatArray, alpha: number, x: FloatArray, n: number): void { throw new Error('not implemented'); }
export function scale(x: FloatArray, alpha: number, n: number): void { throw new Error('not implemented'); }
export function sumSquares(x: FloatArray, n: number): number { throw new Error('not implemented'); }
