// PLACEHOLDER: plain-loop reference kernels go here. Semantics: src/tensor/backend.ts.
import type { FloatArray } from '../backend.ts';

export function swigluForward(out: FloatArray, inp: FloatArray, N: number, H: number): void { throw new Error('not implemented'); }
export function swigluBackward(dinp: FloatArray, dout: FloatArray, inp: FloatArray, N: number, H: number): void { throw new Error('not implemented'); }
