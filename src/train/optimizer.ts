// AdamW over a model's parameters: one fused kernel call per tensor, weight decay on matrices
// only (norm gains are 1-D and are not decayed, as in nanoGPT), and global gradient-norm clipping
// folded into the step as a gradient scale instead of a separate pass over the gradients.
import type { Backend, Tensor } from '../tensor/index.ts';

export interface AdamWConfig {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  /** Clip the global gradient norm to this (0 = no clipping). */
  gradClip: number;
}

export const defaultAdamW: AdamWConfig = { lr: 1e-3, beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1, gradClip: 1.0 };

export class AdamW {
  readonly params: Map<string, Tensor>;
  readonly m = new Map<string, Float32Array>();
  readonly v = new Map<string, Float32Array>();
  step = 0;

  /**
   * state: flat buffers for the moments, laid out as the parameters in iteration order (data
   * parallel replicas share them); by default each parameter gets its own.
   */
  constructor(
    params: Map<string, Tensor>,
    readonly backend: Backend<Float32Array>,
    public cfg: AdamWConfig = defaultAdamW,
    state?: { m: Float32Array; v: Float32Array },
  ) {
    this.params = params;
    let off = 0;
    for (const [name, t] of params) {
      this.m.set(name, state ? state.m.subarray(off, off + t.size) : new Float32Array(t.size));
      this.v.set(name, state ? state.v.subarray(off, off + t.size) : new Float32Array(t.size));
      off += t.size;
    }
    if (state && (state.m.length !== off || state.v.length !== off)) {
      throw new Error(`AdamW: state buffers hold ${state.m.length} and ${state.v.length} values, the parameters ${off}`);
    }
  }

  /** Global L2 norm of every gradient. */
  gradNorm(): number {
    let ss = 0;
    for (const t of this.params.values()) if (t.grad) ss += this.backend.sumSquares(t.grad as Float32Array, t.size);
    return Math.sqrt(ss);
  }

  /** The factor that clips a gradient of this global norm to cfg.gradClip (1 under it or with clipping off). */
  clipScale(norm: number): number {
    if (!Number.isFinite(norm))
      throw new Error(`AdamW: gradient norm is ${norm} at step ${this.step + 1}; not updating (the weights stay as they were)`);
    return this.cfg.gradClip > 0 && norm > this.cfg.gradClip ? this.cfg.gradClip / (norm + 1e-6) : 1;
  }

  /** One update at learning rate lr; returns the gradient norm before clipping. */
  update(lr = this.cfg.lr): number {
    const norm = this.gradNorm();
    const scale = this.clipScale(norm);
    this.step++;
    this.apply(this.params.keys(), lr, scale);
    return norm;
  }

  /** The AdamW step numbered this.step on the named parameters, their gradients multiplied by scale. */
  apply(names: Iterable<string>, lr: number, scale: number): void {
    const { beta1, beta2, eps, weightDecay } = this.cfg;
    for (const name of names) {
      const t = this.params.get(name);
      if (!t?.grad) continue;
      const wd = t.shape.length >= 2 ? weightDecay : 0;
      this.backend.adamwStep(
        t.data as Float32Array,
        t.grad as Float32Array,
        this.m.get(name)!,
        this.v.get(name)!,
        t.size,
        lr,
        beta1,
        beta2,
        eps,
        wd,
        this.step,
        scale,
      );
    }
  }

  zeroGrad(): void {
    for (const t of this.params.values()) t.zeroGrad();
  }
}
