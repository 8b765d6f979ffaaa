// Reference SwiGLU. Semantics: src/tensor/backend.ts.
// inp [N, 2H] = [gate | up] per row; out [N, H] = silu(gate) * up, silu(g) = g * sigmoid(g).
import type { FloatArray } from '../backend.ts';

export function swigluForward(out: FloatArray, inp: FloatArray, N: number, H: number): void {
  for (let n = 0; n < N; n++) {
    for (let j = 0; j < H; j++) {
      const g = inp[n * 2 * H + j],
        u = inp[n * 2 * H + H + j];
      const sig = 1 / (1 + Math.exp(-g));
      out[n * H + j] = g * sig * u;
    }
  }
}

export function swigluBackward(dinp: FloatArray, dout: FloatArray, inp: FloatArray, N: number, H: number): void {
  // forward: out = g * sig(g) * u, and sig'(g) = sig * (1 - sig), so
  //   dg = dout * u * sig * (1 + g * (1 - sig)),   du = dout * g * sig
  for (let n = 0; n < N; n++) {
    for (let j = 0; j < H; j++) {
      const gi = n * 2 * H + j,
        ui = gi + H;
      const g = inp[gi],
        u = inp[ui],
        d = dout[n * H + j];
      const sig = 1 / (1 + Math.exp(-g));
      dinp[gi] += d * u * sig * (1 + g * (1 - sig));
      dinp[ui] += d * g * sig;
    }
  }
}
