// PLACEHOLDER: plain-loop reference kernels go here. Semantics: src/tensor/backend.ts.
import type { FloatArray } from '../backend.ts';

export function softmaxForward(out: FloatArray, inp: FloatArray, N: number, V: number, scale: number, causal: boolean): void { throw new Error('not implemented'); }
export function softmaxBackward(dinp: FloatArray, dout: FloatArray, out: FloatArray, N: number, V: number, scale: number): void { throw new Error('not implemented'); }
