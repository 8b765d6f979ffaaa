// A small tape-based autograd over coarse ops. Each op runs one forward kernel now and records
// the matching fused backward kernel; backward() replays the records in reverse. Model code then
// reads like the equations (x = add(x, attn(rmsnorm(x)))) while every gradient is one kernel call.
//
// Backward kernels accumulate (+=) into gradients, so a tensor used twice (a residual stream, tied
// embeddings) simply receives both contributions. Ops on tensors that need no gradient record
// nothing, so inference runs through the same code without a tape cost.
//
// Training: a tape made with recycle: true keeps every buffer it hands out (outputs, their
// gradients, kernel scratch) and lends them again after reset(). A training step asks for the
// same sizes in the same order every time, so after the first step nothing is allocated: fresh
// Float32Arrays of activation size cost a page fault per 4 KiB plus zeroing, and the garbage
// they leave makes V8 stop to collect. Outputs are written in full by their kernels, so a
// recycled output is not cleared; a recycled gradient is (backward kernels accumulate).
// During backward such a tape also takes back each output's gradient as soon as the op that
// made the output has run its backward (nothing reads it after that) and lends it again to the
// next gradient of that size: the backward pass then cycles through a few gradient buffers
// that stay in cache instead of writing a fresh one per activation (tens of MB a step, from
// memory). So after backward only leaf tensors' (parameters') gradients are there to read.
import type { Backend, FloatArray } from './backend.ts';
import { alloc, numel, Tensor, type DType } from './tensor.ts';

type Backward = () => void;
/** A backward step, and the output whose gradient it consumes (the op's own, made by out()). */
interface Record {
  fn: Backward;
  out: Tensor | null;
}

function last(shape: readonly number[]): number {
  return shape[shape.length - 1];
}

function sameShape(op: string, a: Tensor, b: Tensor): void {
  if (a.shape.length !== b.shape.length || a.shape.some((d, i) => d !== b.shape[i])) {
    throw new Error(`${op}: shapes [${a.shape}] and [${b.shape}] differ`);
  }
}

/** -sin, made once per table (rope's in-place backward rotates by the negated angles). */
const negatedSines = new WeakMap<FloatArray, FloatArray>();
function negated(sin: FloatArray): FloatArray {
  let n = negatedSines.get(sin);
  if (!n) {
    n = sin.map((v) => -v);
    negatedSines.set(sin, n);
  }
  return n;
}

/**
 * Checks attention key limits [B, Tq] against the kernels' contract: query i of a row sees at
 * least its causal keys (Tk-Tq+i+1), at most Tk, and no fewer than the query before it.
 */
export function checkAttentionLimits(lim: Int32Array, B: number, Tq: number, Tk: number): void {
  if (lim.length !== B * Tq) throw new Error(`attention: limits has ${lim.length} entries, needs B*Tq = ${B * Tq}`);
  for (let b = 0; b < B; b++)
    for (let i = 0; i < Tq; i++) {
      const x = lim[b * Tq + i],
        lo = Tk - Tq + i + 1;
      if (x < lo || x > Tk || (i > 0 && x < lim[b * Tq + i - 1]))
        throw new Error(`attention: limits[${b * Tq + i}] = ${x} must be in [${lo}, ${Tk}] and at least the entry before it`);
    }
}

export class Tape {
  // biome-ignore lint/suspicious/noExplicitAny: one tape records float32 or float64 (gradient checks) ops
  readonly backend: Backend<any>;
  readonly dtype: DType;
  /** False for inference: nothing is recorded even for parameters that require gradients. */
  readonly grad: boolean;
  private records: Record[] = [];
  /** Buffers free for reuse, by length (recycle: true only). */
  private readonly pool: Map<number, FloatArray[]> | null;
  /** Buffers handed out since the last reset(). */
  private lent = new Set<FloatArray>();
  private readonly gradAlloc: ((n: number) => FloatArray) | undefined;

  // biome-ignore lint/suspicious/noExplicitAny: see backend above
  constructor(backend: Backend<any>, dtype: DType = 'f32', opts: { grad?: boolean; recycle?: boolean } = {}) {
    this.backend = backend;
    this.dtype = dtype;
    this.grad = opts.grad ?? true;
    this.pool = opts.recycle ? new Map() : null;
    this.gradAlloc = opts.recycle ? (n) => this.take(n, true) : undefined;
  }

  /**
   * Makes every buffer this tape handed out reusable and drops the records: tensors made by
   * this tape before reset() must not be read afterwards. Without recycle it only clears.
   */
  reset(): void {
    this.records = [];
    if (!this.pool) return;
    for (const b of this.lent) this.free(b);
    this.lent.clear();
  }

  private free(b: FloatArray): void {
    const free = this.pool!.get(b.length);
    if (free) free.push(b);
    else this.pool!.set(b.length, [b]);
  }

  /** A buffer of n elements: recycled when possible; zeroed when asked (fresh ones always are). */
  private take(n: number, zero: boolean): FloatArray {
    if (!this.pool) return alloc(this.dtype, n);
    const reused = this.pool.get(n)?.pop();
    const buf = reused ?? alloc(this.dtype, n);
    if (reused && zero) buf.fill(0);
    this.lent.add(buf);
    return buf;
  }

  private out(shape: readonly number[], needsGrad: boolean): Tensor {
    return new Tensor(this.take(numel(shape), false), shape, { requiresGrad: needsGrad && this.grad, gradAlloc: this.gradAlloc });
  }

  /** Records fn for backward; out: the op's output made by out(), whose gradient fn consumes. */
  private record(needsGrad: boolean, fn: Backward, out: Tensor | null = null): void {
    if (needsGrad && this.grad) this.records.push({ fn, out });
  }

  private check(t: Tensor, what: string): void {
    if (t.dtype !== this.dtype) throw new Error(`${what}: tensor is ${t.dtype}, tape computes in ${this.dtype}`);
  }

  /** Number of recorded backward steps (for tests and memory accounting). */
  get length(): number {
    return this.records.length;
  }

  /**
   * Seeds d(loss)/d(loss) = seed (1, or 1/k when accumulating k micro-batches) and runs every
   * recorded backward step in reverse, then clears.
   */
  backward(loss: Tensor, seed = 1): void {
    if (loss.size !== 1) throw new Error(`backward: loss must have one element, has shape [${loss.shape}]`);
    loss.ensureGrad()[0] += seed;
    for (let i = this.records.length - 1; i >= 0; i--) {
      const r = this.records[i];
      r.fn();
      // Every reader of r.out's gradient ran before this, its maker: the buffer is free again.
      const g = this.pool && r.out ? r.out.releaseGrad() : null;
      if (g && this.lent.delete(g)) this.free(g);
    }
    this.records = [];
  }

  /** Drops the records without running them (e.g. after an evaluation forward pass). */
  clear(): void {
    this.records = [];
  }

  // ------------------------------------------------------------------------------------------ ops

  /** y = x @ W^T, x [..., C], W [OC, C] (PyTorch/GGUF layout: one row per output). */
  linear(x: Tensor, w: Tensor): Tensor {
    this.check(x, 'linear x');
    this.check(w, 'linear w');
    const C = last(x.shape),
      [OC, WC] = w.shape;
    if (w.shape.length !== 2 || WC !== C) throw new Error(`linear: x [${x.shape}] needs W [OC, ${C}], got [${w.shape}]`);
    const N = x.size / C;
    const needs = x.requiresGrad || w.requiresGrad;
    const y = this.out([...x.shape.slice(0, -1), OC], needs);
    const be = this.backend;
    be.gemm({
      transA: false,
      transB: true,
      M: N,
      N: OC,
      K: C,
      alpha: 1,
      A: x.data,
      lda: C,
      B: w.data,
      ldb: C,
      beta: 0,
      C: y.data,
      ldc: OC,
    });
    this.record(
      needs,
      () => {
        const dy = y.grad;
        if (!dy) return;
        // y = x W^T  =>  dx += dy W,  dW += dy^T x
        if (x.requiresGrad)
          be.gemm({
            transA: false,
            transB: false,
            M: N,
            N: C,
            K: OC,
            alpha: 1,
            A: dy,
            lda: OC,
            B: w.data,
            ldb: C,
            beta: 1,
            C: x.ensureGrad(),
            ldc: C,
          });
        if (w.requiresGrad)
          be.gemm({
            transA: true,
            transB: false,
            M: OC,
            N: C,
            K: N,
            alpha: 1,
            A: dy,
            lda: OC,
            B: x.data,
            ldb: C,
            beta: 1,
            C: w.ensureGrad(),
            ldc: C,
          });
      },
      y,
    );
    return y;
  }

  /**
   * out = a + b (same shapes): the residual connection.
   * inPlace: the sum is written over b and shares b's storage and gradient, so b's gradient is
   * the output's with no copy; backward only adds it into a's. The same conditions as rope's
   * inPlace hold for b (no other use; its maker's backward does not read it). Where b does not
   * need a gradient but the sum does, the sum gets a buffer of its own as without inPlace.
   */
  add(a: Tensor, b: Tensor, opts: { inPlace?: boolean } = {}): Tensor {
    sameShape('add', a, b);
    const needs = a.requiresGrad || b.requiresGrad;
    const be = this.backend;
    if (opts.inPlace && b.requiresGrad === (needs && this.grad)) {
      be.add(b.data, a.data, b.data, b.size);
      const y = b.reshape(b.shape);
      this.record(needs, () => {
        if (y.grad && a.requiresGrad) be.axpy(a.ensureGrad(), 1, y.grad, y.size);
      });
      return y;
    }
    const y = this.out(a.shape, needs);
    be.add(y.data, a.data, b.data, y.size);
    this.record(
      needs,
      () => {
        const dy = y.grad;
        if (!dy) return;
        if (a.requiresGrad) be.axpy(a.ensureGrad(), 1, dy, y.size);
        if (b.requiresGrad) be.axpy(b.ensureGrad(), 1, dy, y.size);
      },
      y,
    );
    return y;
  }

  /** Rows of wte picked by token ids: tokens of shape S give [...S, C]. */
  embedding(tokens: Int32Array, shape: readonly number[], wte: Tensor): Tensor {
    const [V, C] = wte.shape;
    const N = tokens.length;
    if (shape.reduce((p, d) => p * d, 1) !== N) throw new Error(`embedding: shape [${shape}] does not hold ${N} tokens`);
    const y = this.out([...shape, C], wte.requiresGrad);
    const be = this.backend;
    be.embeddingForward(y.data, wte.data, tokens, N, C, V);
    this.record(
      wte.requiresGrad,
      () => {
        if (y.grad) be.embeddingBackward(wte.ensureGrad(), y.grad, tokens, N, C, V);
      },
      y,
    );
    return y;
  }

  /**
   * x [N, C] with rows[i] replaced by y's row i (y [R, C], rows distinct and in [0, N)): how
   * image patches take the place of their slot tokens' embeddings. Backward routes each row's
   * gradient to y for the replaced rows and to x for the others. A copy, not a kernel: it moves
   * N * C values once, next to the GEMMs around it.
   */
  overwriteRows(x: Tensor, rows: Int32Array, y: Tensor): Tensor {
    const C = last(x.shape),
      N = x.size / C;
    if (last(y.shape) !== C || y.size / C !== rows.length)
      throw new Error(`overwriteRows: y [${y.shape}] must be [${rows.length}, ${C}] for ${rows.length} rows of x [${x.shape}]`);
    for (const r of rows) if (!(r >= 0 && r < N)) throw new Error(`overwriteRows: row ${r} is outside x's ${N} rows`);
    const needs = x.requiresGrad || y.requiresGrad;
    const out = this.out(x.shape, needs);
    out.data.set(x.data);
    rows.forEach((r, i) => out.data.set(y.data.subarray(i * C, (i + 1) * C), r * C));
    this.record(
      needs,
      () => {
        const d = out.grad;
        if (!d) return;
        if (y.requiresGrad) {
          const dy = y.ensureGrad();
          rows.forEach((r, i) => {
            for (let c = 0; c < C; c++) dy[i * C + c] += d[r * C + c];
          });
        }
        if (x.requiresGrad) {
          const dx = x.ensureGrad();
          const replaced = new Uint8Array(N);
          for (const r of rows) replaced[r] = 1;
          for (let n = 0; n < N; n++) if (!replaced[n]) for (let c = n * C; c < (n + 1) * C; c++) dx[c] += d[c];
        }
      },
      out,
    );
    return out;
  }

  /** RMSNorm over the last axis with a learned gain. */
  rmsnorm(x: Tensor, w: Tensor, eps = 1e-5): Tensor {
    const C = last(x.shape);
    if (w.size !== C) throw new Error(`rmsnorm: weight has ${w.size} elements, x's last axis ${C}`);
    const N = x.size / C;
    const needs = x.requiresGrad || w.requiresGrad;
    const y = this.out(x.shape, needs);
    const rstd = this.take(N, false);
    const be = this.backend;
    be.rmsnormForward(y.data, rstd, x.data, w.data, N, C, eps);
    this.record(
      needs,
      () => {
        if (!y.grad) return;
        // The kernel writes both gradients; scratch stands in for whichever is not wanted.
        const dx = x.requiresGrad ? x.ensureGrad() : this.take(x.size, true);
        const dw = w.requiresGrad ? w.ensureGrad() : this.take(C, true);
        be.rmsnormBackward(dx, dw, y.grad, x.data, w.data, rstd, N, C);
      },
      y,
    );
    return y;
  }

  /**
   * Rotary position embedding on x [B, T, NH, HS]; positions start at pos0.
   * inPlace: x is rotated where it lies and the result shares x's storage and gradient (as a
   * view would), so no activation or gradient buffer is added; backward rotates that gradient
   * back in place. x must have no other use, before or after (its values are gone), and the op
   * that made x must not need them for its own backward (a linear's output qualifies).
   */
  rope(x: Tensor, cos: FloatArray, sin: FloatArray, pos0 = 0, opts: { inPlace?: boolean } = {}): Tensor {
    if (x.shape.length !== 4) throw new Error(`rope: x must be [B, T, NH, HS], got [${x.shape}]`);
    const [B, T, NH, HS] = x.shape;
    const be = this.backend;
    if (opts.inPlace) {
      be.ropeForward(x.data, x.data, cos, sin, B, T, NH, HS, pos0);
      // d(loss)/dx = R(-angle) d(loss)/dy: the forward rotation with the sines negated.
      this.record(x.requiresGrad, () => {
        if (x.grad) be.ropeForward(x.grad, x.grad, cos, negated(sin), B, T, NH, HS, pos0);
      });
      return x.reshape(x.shape);
    }
    const y = this.out(x.shape, x.requiresGrad);
    be.ropeForward(y.data, x.data, cos, sin, B, T, NH, HS, pos0);
    this.record(
      x.requiresGrad,
      () => {
        if (y.grad) be.ropeBackward(x.ensureGrad(), y.grad, cos, sin, B, T, NH, HS, pos0);
      },
      y,
    );
    return y;
  }

  /**
   * Causal self-attention, q [B, Tq, NH, HS], k and v [B, Tk, NH, HS]; scale defaults to
   * 1/sqrt(HS). limits [B, Tq] (prefix attention; checkAttentionLimits states the contract): query
   * i sees keys 0..limits[b, i]-1 instead of 0..Tk-Tq+i.
   */
  attention(q: Tensor, k: Tensor, v: Tensor, scale?: number, limits?: Int32Array): Tensor {
    if (q.shape.length !== 4 || k.shape.length !== 4)
      throw new Error(`attention: q, k, v must be [B, T, NH, HS]; got q [${q.shape}], k [${k.shape}]`);
    sameShape('attention k/v', k, v);
    const [B, Tq, NH, HS] = q.shape;
    const Tk = k.shape[1];
    if (k.shape[0] !== B || k.shape[2] !== NH || k.shape[3] !== HS || Tk < Tq) {
      throw new Error(`attention: k [${k.shape}] does not match q [${q.shape}] (needs the same B, NH, HS and Tk >= Tq)`);
    }
    if (limits) checkAttentionLimits(limits, B, Tq, Tk);
    const s = scale ?? 1 / Math.sqrt(HS);
    const needs = q.requiresGrad || k.requiresGrad || v.requiresGrad;
    const y = this.out(q.shape, needs);
    const lse = this.take(B * NH * Tq, false);
    const be = this.backend;
    be.attentionForward(y.data, lse, q.data, k.data, v.data, B, Tq, Tk, NH, HS, s, limits);
    this.record(
      needs,
      () => {
        if (!y.grad) return;
        const dq = q.requiresGrad ? q.ensureGrad() : this.take(q.size, true);
        const dk = k.requiresGrad ? k.ensureGrad() : this.take(k.size, true);
        const dv = v.requiresGrad ? v.ensureGrad() : this.take(v.size, true);
        be.attentionBackward(dq, dk, dv, y.grad, q.data, k.data, v.data, y.data, lse, B, Tq, Tk, NH, HS, s, limits);
      },
      y,
    );
    return y;
  }

  /** SwiGLU on x [..., 2H] laid out [gate | up]: silu(gate) * up, shape [..., H]. */
  swiglu(x: Tensor): Tensor {
    const H2 = last(x.shape);
    if (H2 % 2) throw new Error(`swiglu: last axis ${H2} must be even ([gate | up])`);
    const H = H2 / 2,
      N = x.size / H2;
    const y = this.out([...x.shape.slice(0, -1), H], x.requiresGrad);
    const be = this.backend;
    be.swigluForward(y.data, x.data, N, H);
    this.record(
      x.requiresGrad,
      () => {
        if (y.grad) be.swigluBackward(x.ensureGrad(), y.grad, x.data, N, H);
      },
      y,
    );
    return y;
  }

  /**
   * Mean softmax cross-entropy over the rows whose target is not ignoreIndex: logits [..., V],
   * targets one per row. Returns a one-element tensor (0 when every row is ignored). weights (one
   * per row, >= 0): the weighted mean sum(w * loss) / sum(w) over the rows not ignored instead.
   */
  crossEntropy(logits: Tensor, targets: Int32Array, ignoreIndex = -1, weights?: ArrayLike<number>): Tensor {
    const V = last(logits.shape),
      N = logits.size / V;
    if (targets.length !== N) throw new Error(`crossEntropy: ${N} rows of logits but ${targets.length} targets`);
    if (weights && weights.length !== N) throw new Error(`crossEntropy: ${N} rows of logits but ${weights.length} weights`);
    let count = 0;
    for (let i = 0; i < N; i++) if (targets[i] !== ignoreIndex) count += weights ? weights[i] : 1;
    const losses = this.take(N, false),
      lse = this.take(N, false);
    const be = this.backend;
    be.crossEntropyForward(losses, lse, logits.data, targets, N, V, ignoreIndex);
    let sum = 0;
    for (let i = 0; i < N; i++) sum += weights ? weights[i] * losses[i] : losses[i]; // an ignored row's loss is 0
    const y = this.out([1], logits.requiresGrad);
    y.data[0] = count ? sum / count : 0;
    this.record(
      logits.requiresGrad,
      () => {
        if (!y.grad || !count) return;
        const dlosses = this.take(N, false).fill(y.grad[0] / count);
        if (weights) for (let i = 0; i < N; i++) dlosses[i] *= weights[i];
        be.crossEntropyBackward(logits.ensureGrad(), dlosses, logits.data, lse, targets, N, V, ignoreIndex);
      },
      y,
    );
    return y;
  }

  /**
   * Per-sequence log-likelihood: logits [B*T, V] as B rows of T, targets one per position.
   * Returns [B]: the sum over each row's non-ignored targets of log p(target) (0 for a row with
   * none). Preference losses (DPO) are written on these sums.
   */
  sequenceLogProbs(logits: Tensor, targets: Int32Array, B: number, ignoreIndex = -1): Tensor {
    const V = last(logits.shape),
      N = logits.size / V,
      T = N / B;
    if (targets.length !== N) throw new Error(`sequenceLogProbs: ${N} rows of logits but ${targets.length} targets`);
    if (!Number.isInteger(T)) throw new Error(`sequenceLogProbs: ${N} positions do not split into ${B} rows`);
    const losses = this.take(N, false),
      lse = this.take(N, false);
    const be = this.backend;
    be.crossEntropyForward(losses, lse, logits.data, targets, N, V, ignoreIndex);
    const y = this.out([B], logits.requiresGrad);
    for (let b = 0; b < B; b++) {
      let sum = 0;
      for (let i = b * T; i < (b + 1) * T; i++) if (targets[i] !== ignoreIndex) sum -= losses[i];
      y.data[b] = sum;
    }
    this.record(
      logits.requiresGrad,
      () => {
        if (!y.grad) return;
        // log p = -loss: each position's loss gradient is minus its row's.
        const dlosses = this.take(N, false);
        for (let b = 0; b < B; b++) dlosses.fill(-y.grad[b], b * T, (b + 1) * T);
        be.crossEntropyBackward(logits.ensureGrad(), dlosses, logits.data, lse, targets, N, V, ignoreIndex);
      },
      y,
    );
    return y;
  }

  /**
   * A scalar loss computed outside the tape from a small tensor's values: fn returns the loss and
   * its gradient with respect to each value. For objectives on a handful of numbers (a preference
   * loss on sequence log-probabilities), where writing them as tape ops would buy nothing.
   */
  scalar(x: Tensor, fn: (values: FloatArray) => { value: number; grad: ArrayLike<number> }): Tensor {
    const { value, grad } = fn(x.data);
    if (grad.length !== x.size) throw new Error(`scalar: ${grad.length} gradients for ${x.size} values`);
    const y = this.out([1], x.requiresGrad);
    y.data[0] = value;
    this.record(
      x.requiresGrad,
      () => {
        if (!y.grad) return;
        const g = x.ensureGrad();
        for (let i = 0; i < x.size; i++) g[i] += y.grad[0] * grad[i];
      },
      y,
    );
    return y;
  }
}
