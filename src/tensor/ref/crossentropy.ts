// PLACEHOLDER: plain-loop reference kernels go here. Semantics: src/tensor/backend.ts.
import type { FloatArray } from '../backend.ts';

export function crossEntropyForward(losses: FloatArray, lse: FloatArray, logits: FloatArray, targets: Int32Array, N: number, V: number, ignoreIndex: number): void { throw new Error('not implemented'); }
export function crossEntropyBackward(dlogits: FloatArray, dlosses: FloatArray, logits: FloatArray, lse: FloatArray, targets: Int32Array, N: number, V: number, ignoreIndex: number): void { throw new Error('not implemented'); }
