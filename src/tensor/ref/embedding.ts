// Reference token embedding lookup and its scatter-add backward. Semantics: src/tensor/backend.ts.
// out [N, C], wte [V, C], tokens [N] in [0, V).
import type { FloatArray } from '../backend.ts';

export function embeddingForward(out: FloatArray, wte: FloatArray, tokens: Int32Array, N: number, C: number, V: number): void {
  for (let n = 0; n < N; n++) {
    const t = tokens[n];
    if (!(t >= 0 && t < V)) throw new RangeError(`embeddingForward: tokens[${n}] = ${t} is outside [0, ${V})`);
    for (let c = 0; c < C; c++) out[n * C + c] = wte[t * C + c];
  }
}

export function embeddingBackward(dwte: FloatArray, dout: FloatArray, tokens: Int32Array, N: number, C: number, V: number): void {
  for (let n = 0; n < N; n++) {
    const t = tokens[n];
    if (!(t >= 0 && t < V)) throw new RangeError(`embeddingBackward: tokens[${n}] = ${t} is outside [0, ${V})`);
    // forward: out[n, c] = wte[t, c]; a token seen twice collects both rows' gradients.
    for (let c = 0; c < C; c++) dwte[t * C + c] += dout[n * C + c];
  }
}
