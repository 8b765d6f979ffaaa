// Reference AdamW step, PyTorch semantics. Semantics: src/tensor/backend.ts.
import type { FloatArray } from '../backend.ts';

export function adamwStep(
  param: FloatArray,
  grad: FloatArray,
  m: FloatArray,
  v: FloatArray,
  n: number,
  lr: number,
  beta1: number,
  beta2: number,
  eps: number,
  weightDecay: number,
  step: number,
  gradScale: number,
): void {
  if (!(step >= 1)) throw new RangeError(`adamwStep: step counts from 1, got ${step}`);
  const bc1 = 1 - beta1 ** step,
    bc2 = 1 - beta2 ** step;
  for (let i = 0; i < n; i++) {
    const g = grad[i] * gradScale;
    let p = param[i];
    p -= lr * weightDecay * p; // decoupled weight decay: applied to p, not added to g
    const mi = beta1 * m[i] + (1 - beta1) * g;
    const vi = beta2 * v[i] + (1 - beta2) * g * g;
    m[i] = mi;
    v[i] = vi;
    p -= (lr * (mi / bc1)) / (Math.sqrt(vi / bc2) + eps);
    param[i] = p;
  }
}
