// PLACEHOLDER: plain-loop reference kernels go here. Semantics: src/tensor/backend.ts.
import type { FloatArray } from '../backend.ts';

export function adamwStep(param: FloatArray, grad: FloatArray, m: FloatArray, v: FloatArray, n: number, lr: number, beta1: number, beta2: number, eps: number, weightDecay: number, step: number, gradScale: number): void { throw new Error('not implemented'); }
