// PLACEHOLDER: plain-loop reference kernels go here. Semantics: src/tensor/backend.ts.
import type { FloatArray } from '../backend.ts';

export function attentionForward(out: FloatArray, lse: FloatArray, q: FloatArray, k: FloatArray, v: FloatArray, B: number, Tq: number, Tk: number, NH: number, HS: number, scale: number): void { throw new Error('not implemented'); }
export function attentionBackward(dq: FloatArray, dk: FloatArray, dv: FloatArray, dout: FloatArray, q: FloatArray, k: FloatArray, v: FloatArray, out: FloatArray, lse: FloatArray, B: number, Tq: number, Tk: number, NH: number, HS: number, scale: number): void { throw new Error('not implemented'); }
