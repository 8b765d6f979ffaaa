// The Tensor: a shape over flat row-major storage (Float32Array, or Float64Array for gradient
// checks), plus the gradient the tape accumulates into. Views made by reshape share both the
// data and the gradient with their base, so a [B*T, C] activation can be read as [B, T, NH, HS]
// without a copy in either direction.
import type { FloatArray } from './backend.ts';

export type DType = 'f32' | 'f64';

export function alloc(dtype: DType, n: number): FloatArray {
  return dtype === 'f64' ? new Float64Array(n) : new Float32Array(n);
}

export function numel(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/**
 * Gradient storage shared by a tensor and its views; allocated (zeroed) on first use, by
 * gradAlloc when the tensor's maker recycles buffers (a Tape with recycle: true).
 */
interface GradBox {
  grad: FloatArray | null;
  gradAlloc?: (n: number) => FloatArray;
}

export class Tensor {
  readonly data: FloatArray;
  readonly shape: readonly number[];
  readonly requiresGrad: boolean;
  name?: string;
  private readonly box: GradBox;

  constructor(
    data: FloatArray,
    shape: readonly number[],
    opts: { requiresGrad?: boolean; name?: string; box?: GradBox; gradAlloc?: (n: number) => FloatArray; grad?: FloatArray } = {},
  ) {
    const n = numel(shape);
    if (shape.some((d) => !Number.isInteger(d) || d < 0)) throw new Error(`Tensor shape [${shape}] must be non-negative integers`);
    if (data.length !== n)
      throw new Error(`Tensor${opts.name ? ` '${opts.name}'` : ''}: shape [${shape}] needs ${n} elements, data has ${data.length}`);
    this.data = data;
    this.shape = [...shape];
    this.requiresGrad = opts.requiresGrad ?? false;
    this.name = opts.name;
    if (opts.grad && opts.grad.length !== n)
      throw new Error(
        `Tensor${opts.name ? ` '${opts.name}'` : ''}: gradient buffer has ${opts.grad.length} elements, shape [${shape}] needs ${n}`,
      );
    this.box = opts.box ?? { grad: opts.grad ?? null, gradAlloc: opts.gradAlloc };
  }

  static zeros(shape: readonly number[], dtype: DType = 'f32', opts: { requiresGrad?: boolean; name?: string } = {}): Tensor {
    return new Tensor(alloc(dtype, numel(shape)), shape, opts);
  }

  get dtype(): DType {
    return this.data instanceof Float64Array ? 'f64' : 'f32';
  }
  get size(): number {
    return this.data.length;
  }

  /** The gradient, or null before any backward pass touched it. */
  get grad(): FloatArray | null {
    return this.box.grad;
  }

  /** The gradient buffer, allocated zeroed on first use (backward kernels accumulate into it). */
  ensureGrad(): FloatArray {
    return (this.box.grad ??= this.box.gradAlloc ? this.box.gradAlloc(this.size) : alloc(this.dtype, this.size));
  }

  zeroGrad(): void {
    this.box.grad?.fill(0);
  }

  /** Detaches the gradient buffer from this tensor and its views and returns it (null if none). */
  releaseGrad(): FloatArray | null {
    const g = this.box.grad;
    this.box.grad = null;
    return g;
  }

  /** The same storage and gradient under another shape with as many elements. */
  reshape(shape: readonly number[]): Tensor {
    if (numel(shape) !== this.size)
      throw new Error(`reshape: [${this.shape}] (${this.size} elements) cannot become [${shape}] (${numel(shape)})`);
    return new Tensor(this.data, shape, { requiresGrad: this.requiresGrad, name: this.name, box: this.box });
  }

  toString(): string {
    return `Tensor(${this.name ?? ''}[${this.shape.join(', ')}] ${this.dtype})`;
  }
}
