// Reference row softmax with optional causal masking. Semantics: src/tensor/backend.ts.
// inp, out [N, V]. With causal, rows are T x T blocks (T = V) and row n sees columns <= n % V.
import type { FloatArray } from '../backend.ts';

export function softmaxForward(out: FloatArray, inp: FloatArray, N: number, V: number, scale: number, causal: boolean): void {
  for (let n = 0; n < N; n++) {
    const x = n * V;
    const valid = causal ? (n % V) + 1 : V;
    let max = -Infinity;
    for (let v = 0; v < valid; v++) max = Math.max(max, scale * inp[x + v]);
    let sum = 0;
    for (let v = 0; v < valid; v++) sum += Math.exp(scale * inp[x + v] - max);
    for (let v = 0; v < V; v++) out[x + v] = v < valid ? Math.exp(scale * inp[x + v] - max) / sum : 0;
  }
}

export function softmaxBackward(dinp: FloatArray, dout: FloatArray, out: FloatArray, N: number, V: number, scale: number): void {
  // forward: out[v] = exp(scale*inp[v]) / sum_j exp(scale*inp[j]), so
  //   dinp[v] = scale * out[v] * (dout[v] - sum_j dout[j] * out[j]).
  // Masked columns have out = 0 and get 0, so no causal flag is needed here.
  for (let n = 0; n < N; n++) {
    const x = n * V;
    let dot = 0;
    for (let v = 0; v < V; v++) dot += dout[x + v] * out[x + v];
    for (let v = 0; v < V; v++) dinp[x + v] += scale * out[x + v] * (dout[x + v] - dot);
  }
}
