// Reference softmax cross-entropy with an ignore index. Semantics: src/tensor/backend.ts.
// logits [N, V]; targets [N]; losses, lse [N]. Backward recomputes probabilities from lse, so
// no [N, V] probability tensor is ever stored.
import type { FloatArray } from '../backend.ts';

export function crossEntropyForward(
  losses: FloatArray,
  lse: FloatArray,
  logits: FloatArray,
  targets: Int32Array,
  N: number,
  V: number,
  ignoreIndex: number,
): void {
  for (let n = 0; n < N; n++) {
    const x = n * V;
    let max = -Infinity;
    for (let v = 0; v < V; v++) max = Math.max(max, logits[x + v]);
    let sum = 0;
    for (let v = 0; v < V; v++) sum += Math.exp(logits[x + v] - max);
    const l = max + Math.log(sum);
    lse[n] = l;
    const t = targets[n];
    if (t === ignoreIndex) {
      losses[n] = 0;
      continue;
    }
    if (!(t >= 0 && t < V)) throw new RangeError(`crossEntropyForward: targets[${n}] = ${t} is outside [0, ${V})`);
    losses[n] = l - logits[x + t];
  }
}

export function crossEntropyBackward(
  dlogits: FloatArray,
  dlosses: FloatArray,
  logits: FloatArray,
  lse: FloatArray,
  targets: Int32Array,
  N: number,
  V: number,
  ignoreIndex: number,
): void {
  // forward: losses[n] = lse[n] - logits[n, t], and d lse / d logits[v] = exp(logits[v] - lse)
  for (let n = 0; n < N; n++) {
    const t = targets[n];
    if (t === ignoreIndex) continue; // the loss was the constant 0
    if (!(t >= 0 && t < V)) throw new RangeError(`crossEntropyBackward: targets[${n}] = ${t} is outside [0, ${V})`);
    const x = n * V,
      d = dlosses[n];
    for (let v = 0; v < V; v++) {
      const p = Math.exp(logits[x + v] - lse[n]);
      dlogits[x + v] += d * (p - (v === t ? 1 : 0));
    }
  }
}
