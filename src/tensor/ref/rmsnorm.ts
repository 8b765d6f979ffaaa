// PLACEHOLDER: plain-loop reference kernels go here. Semantics: src/tensor/backend.ts.
import type { FloatArray } from '../backend.ts';

export function rmsnormForward(out: FloatArray, rstd: FloatArray, inp: FloatArray, weight: FloatArray, N: number, C: number, eps: number): void { throw new Error('not implemented'); }
export function rmsnormBackward(dinp: FloatArray, dweight: FloatArray, dout: FloatArray, inp: FloatArray, weight: FloatArray, rstd: FloatArray, N: number, C: number): void { throw new Error('not implemented'); }
