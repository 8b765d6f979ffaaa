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

  constructor(params: Map<string, Tensor>, readonly backend: Backend<Float32Array>, public cfg: AdamWConfig = defaultAdamW) {
    this.params = params;
    for (const [name, t] of params) {
      this.m.set(name, new Float32Array(t.size));
      this.v.set(name, new Float32Array(t.size));
    }
  }

  /** Global L2 norm of every gradient. */
  gradNorm(): number {
    let ss = 0;
    for (const t of this.params.values()) if (t.grad) ss += this.backend.sumSquares(t.grad as Float32Array, t.size);
    return Math.sqrt(ss);
  }

  /** One update at learning rate lr; returns the gradient norm before clipping. */
  update(lr = this.cfg.lr): number {
    const norm = this.gradNorm();
    if (!Number.isFinite(norm)) throw new Error(`AdamW: gradient norm is ${norm} at step ${this.step + 1}; not updating (the weights stay as they were)`);
    const scale = this.cfg.gradClip > 0 && norm > this.cfg.gradClip ? this.cfg.gradClip / (norm + 1e-6) : 1;
    this.step++;
    const { beta1, beta2, eps, weightDecay } = this.cfg;
    for (const [name, t] of this.params) {
      if (!t.grad) continue;
      const wd = t.shape.length >= 2 ? weightDecay : 0;
      this.backend.adamwStep(t.data as Float32Array, t.grad as Float32Array, this.m.get(name)!, this.v.get(name)!, t.size,
        lr, beta1, beta2, eps, wd, this.step, scale);
    }
    return norm;
  }

  zeroGrad(): void {
    for (const t of this.params.values()) t.zeroGrad();
  }
}
