// PLACEHOLDER: plain-loop reference kernels go here. Semantics: src/tensor/backend.ts.
import type { FloatArray } from '../backend.ts';

export function embeddingForward(out: FloatArray, wte: FloatArray, tokens: Int32Array, N: number, C: number, V: number): void { throw new Error('not implemented'); }
export function embeddingBackward(dwte: FloatArray, dout: FloatArray, tokens: Int32Array, N: number, C: number, V: number): void { throw new Error('not implemented'); }
