// PLACEHOLDER: plain-loop reference kernels go here. Semantics: src/tensor/backend.ts.
import type { FloatArray } from '../backend.ts';

export function ropeForward(out: FloatArray, inp: FloatArray, cos: FloatArray, sin: FloatArray, B: number, T: number, NH: number, HS: number, pos0: number): void { throw new Error('not implemented'); }
export function ropeBackward(dinp: FloatArray, dout: FloatArray, cos: FloatArray, sin: FloatArray, B: number, T: number, NH: number, HS: number, pos0: number): void { throw new Error('not implemented'); }
