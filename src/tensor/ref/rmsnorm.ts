// Reference RMSNorm over rows of C. Semantics: src/tensor/backend.ts.
// inp, out [N, C]; weight [C]; rstd [N] saved for backward.
import type { FloatArray as F } from '../backend.ts';

export function rmsnormForward(out: F, rstd: F, inp: F, weight: F, N: number, C: number, eps: number): void {
  for (let n = 0; n < N; n++) {
    const x = n * C;
    let ss = 0;
    for (let c = 0; c < C; c++) ss += inp[x + c] * inp[x + c];
    const r = 1 / Math.sqrt(ss / C + eps);
    rstd[n] = r;
    for (let c = 0; c < C; c++) out[x + c] = inp[x + c] * r * weight[c];
  }
}

export function rmsnormBackward(dinp: F, dweight: F, dout: F, inp: F, weight: F, rstd: F, N: number, C: number): void {
  // forward: out[c] = inp[c] * r * weight[c], with r = (mean_j inp[j]^2 + eps)^(-1/2), so
  //   dr/dinp[c] = -r^3 * inp[c] / C and
  //   dinp[c] = dout[c] * weight[c] * r - inp[c] * r^3 / C * sum_j dout[j] * weight[j] * inp[j]
  //   dweight[c] += dout[c] * inp[c] * r
  for (let n = 0; n < N; n++) {
    const x = n * C,
      r = rstd[n];
    let dot = 0;
    for (let c = 0; c < C; c++) dot += dout[x + c] * weight[c] * inp[x + c];
    const k = (dot * r * r * r) / C;
    for (let c = 0; c < C; c++) {
      dinp[x + c] += dout[x + c] * weight[c] * r - inp[x + c] * k;
      dweight[c] += dout[x + c] * inp[x + c] * r;
    }
  }
}
