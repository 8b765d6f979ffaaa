// Reference causal self-attention: plain loops that materialise each query's scores, the
// algorithmic reference native/src/attention.h (flash style, tiled) is checked against.
// Semantics: src/tensor/backend.ts (attentionForward / attentionBackward).
//
// q [B, Tq, NH, HS]; k, v [B, Tk, NH, HS]; out [B, Tq, NH, HS]; lse [B, NH, Tq].
// Query i sits at position Tk - Tq + i and sees keys 0..Tk-Tq+i, or with lim [B, Tq] (prefix
// attention) keys 0..lim[b, i]-1.
import type { FloatArray } from '../backend.ts';

// ---------------------------------------------------------------------------- forward

export function attentionForward(
  out: FloatArray,
  lse: FloatArray,
  q: FloatArray,
  k: FloatArray,
  v: FloatArray,
  B: number,
  Tq: number,
  Tk: number,
  NH: number,
  HS: number,
  scale: number,
  lim?: Int32Array | null,
): void {
  const ld = NH * HS; // elements between consecutive time steps of one head
  const att = new Float64Array(Tk); // one query's scores, then its probabilities
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < NH; h++) {
      for (let i = 0; i < Tq; i++) {
        const qi = (b * Tq + i) * ld + h * HS;
        const last = lim ? lim[b * Tq + i] - 1 : Tk - Tq + i; // the last key this query may see
        // scores: att[j] = scale * q_i . k_j
        let max = -Infinity;
        for (let j = 0; j <= last; j++) {
          const kj = (b * Tk + j) * ld + h * HS;
          let s = 0;
          for (let d = 0; d < HS; d++) s += q[qi + d] * k[kj + d];
          att[j] = scale * s;
          if (att[j] > max) max = att[j];
        }
        // softmax: att[j] = exp(att[j] - max) / sum
        let sum = 0;
        for (let j = 0; j <= last; j++) {
          att[j] = Math.exp(att[j] - max);
          sum += att[j];
        }
        for (let j = 0; j <= last; j++) att[j] /= sum;
        lse[(b * NH + h) * Tq + i] = max + Math.log(sum);
        // out_i = sum_j att[j] * v_j
        for (let d = 0; d < HS; d++) {
          let o = 0;
          for (let j = 0; j <= last; j++) o += att[j] * v[(b * Tk + j) * ld + h * HS + d];
          out[qi + d] = o;
        }
      }
    }
  }
}

// ---------------------------------------------------------------------------- backward

export function attentionBackward(
  dq: FloatArray,
  dk: FloatArray,
  dv: FloatArray,
  dout: FloatArray,
  q: FloatArray,
  k: FloatArray,
  v: FloatArray,
  _out: FloatArray,
  lse: FloatArray,
  B: number,
  Tq: number,
  Tk: number,
  NH: number,
  HS: number,
  scale: number,
  lim?: Int32Array | null,
): void {
  // The textbook backward needs only P, rebuilt from lse; `out` is there for the flash kernel,
  // which takes rowsum(dP * P) as the cheaper rowsum(dout * out).
  const ld = NH * HS;
  const P = new Float64Array(Tk);
  const dP = new Float64Array(Tk);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < NH; h++) {
      for (let i = 0; i < Tq; i++) {
        const qi = (b * Tq + i) * ld + h * HS;
        const last = lim ? lim[b * Tq + i] - 1 : Tk - Tq + i;
        const L = lse[(b * NH + h) * Tq + i];
        // in the forward pass this was: att[j] = exp(scale * q_i . k_j - max) / sum, and
        // max + log(sum) was kept as lse, so P[j] = exp(scale * q_i . k_j - lse)
        for (let j = 0; j <= last; j++) {
          const kj = (b * Tk + j) * ld + h * HS;
          let s = 0;
          for (let d = 0; d < HS; d++) s += q[qi + d] * k[kj + d];
          P[j] = Math.exp(scale * s - L);
        }
        // forward: out_i = sum_j P[j] * v_j, so
        //   dP[j] = dout_i . v_j          and   dv_j += P[j] * dout_i
        for (let j = 0; j <= last; j++) {
          const vj = (b * Tk + j) * ld + h * HS;
          let s = 0;
          for (let d = 0; d < HS; d++) {
            s += dout[qi + d] * v[vj + d];
            dv[vj + d] += P[j] * dout[qi + d];
          }
          dP[j] = s;
        }
        // forward: P = softmax(S), so dS[j] = P[j] * (dP[j] - sum_l dP[l] * P[l])
        let rowdot = 0;
        for (let j = 0; j <= last; j++) rowdot += dP[j] * P[j];
        // forward: S[j] = scale * q_i . k_j, so
        //   dq_i += scale * sum_j dS[j] * k_j   and   dk_j += scale * dS[j] * q_i
        for (let j = 0; j <= last; j++) {
          const dS = P[j] * (dP[j] - rowdot);
          const kj = (b * Tk + j) * ld + h * HS;
          for (let d = 0; d < HS; d++) {
            dq[qi + d] += scale * dS * k[kj + d];
            dk[kj + d] += scale * dS * q[qi + d];
          }
        }
      }
    }
  }
}
