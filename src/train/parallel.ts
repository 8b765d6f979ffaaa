// Data parallelism across threads: a batch's rows are split between the main thread and
// `replicas - 1` worker threads, each running forward and backward on its share with its own
// tape and single-threaded kernels. The weights, the summed gradients and AdamW's moments live
// once, in SharedArrayBuffers; each worker writes its own gradients to its own shared buffer.
// The optimizer step is split too: each thread owns a contiguous group of parameters, sums the
// replicas' gradients for it (and its squared norm), then, once the global norm is known, runs
// AdamW on it and zeroes its gradients.
//
// Why: on a few cores, small models' kernels (GEMMs of a few hundred rows, attention over 64
// keys, norms) split poorly across an OpenMP team (2 threads ran a 4-layer, 128-wide step only
// 1.3x faster than 1), while independent halves of the batch run at full speed on each core,
// JavaScript between the kernels included. It is the same gradient: each replica's backward is
// seeded with its share of the batch's non-ignored targets, so the sum is the gradient of the
// mean loss over the whole batch (up to float summation order), and the split is fixed by the
// batch size, so a run is exactly reproducible, resumed or not.
import { Worker } from 'node:worker_threads';
import type { Backend, NativeBackend, Tape } from '../tensor/index.ts';
import { layout, OBJECTIVE_STATS, sequenceForward, type SequenceObjective } from './objectives.ts';
import type { TrainBatch } from './pretrain.ts';
import { GPT, imageSlots, imageValues, paramCount, paramShapes, type GPTConfig, type ImageInput } from '../model/index.ts';
import { AdamW, type AdamWConfig } from './optimizer.ts';

// The protocol with replica-worker.ts, through each worker's shared buffers:
/** Control words (Int32Array): the task's sequence number (-1: stop), the last done, the last failed. */
export const TASK = 0,
  DONE = 1,
  FAILED = 2;
/**
 * Task fields (Float64Array): its kind; for BACKWARD the rows and sequence length of the share,
 * the backward seed, the ignored target id, and back the loss; for REDUCE back the group's
 * squared gradient norm; for ADAM the step's learning rate, number and gradient scale and the
 * optimizer's settings; for SEQUENCE those of BACKWARD, the objective, and back the stats.
 */
export const KIND = 0,
  ROWS = 1,
  SEQ_LEN = 2,
  SEED = 3,
  IGNORE = 4,
  LOSS = 5,
  SUMSQ = 6,
  LR = 7,
  STEP = 8,
  SCALE = 9,
  BETA1 = 10,
  BETA2 = 11,
  EPS = 12,
  WEIGHT_DECAY = 13,
  /** SEQUENCE: the objective (0 DPO, 1 policy gradient) and its two settings (beta and nll; group and kl). */
  OBJ_KIND = 14,
  OBJ_A = 15,
  OBJ_B = 16,
  /** SEQUENCE: the share's stats back (OBJECTIVE_STATS' order), from here on. */
  STATS = 17,
  /** BACKWARD: 1 when `extra` holds a weight per target (the share's loss is their weighted mean), else 0. */
  WEIGHTED = 30,
  /** BACKWARD: the share's images (pixels and first-slot positions in the images buffers); the last field. */
  IMAGES = 31;
export const BACKWARD = 0,
  REDUCE = 1,
  ADAM = 2,
  /** BACKWARD under a sequence objective (objectives.ts): the tokens hold whole units, extra their rows' numbers. */
  SEQUENCE = 3;
const TASK_FIELDS = 32;
const ERR_BYTES = 4096;
/**
 * How long a waiting thread polls before it sleeps. A thread asleep in the kernel took
 * milliseconds to wake on this VM (an idle vCPU), as long as the whole gap between the replicas'
 * finishing times; polling cost 2-5% less time per step.
 */
export const SPIN_MS = 5;

/** What a worker is given at start (structured-cloned; the buffers are shared). */
export interface ReplicaInit {
  config: GPTConfig;
  /** The main thread's instruction set, so every replica computes alike. */
  isa: string;
  weights: SharedArrayBuffer;
  /** Gradients of every replica, the main thread's (the sum) first; this worker's is grads[index]. */
  grads: SharedArrayBuffer[];
  index: number;
  /** AdamW's first and second moments, laid out as the weights. */
  m: SharedArrayBuffer;
  v: SharedArrayBuffer;
  ctrl: SharedArrayBuffer;
  task: SharedArrayBuffer;
  tokens: SharedArrayBuffer;
  /** Float64s: a SEQUENCE objective's numbers per row (objectives.ts), or a BACKWARD's weight per target. */
  extra: SharedArrayBuffer;
  /** A vision model's share of images: Float32 pixels, and Int32 first-slot positions within the share. */
  pixels: SharedArrayBuffer;
  imageAt: SharedArrayBuffer;
  error: SharedArrayBuffer;
}

interface Replica {
  worker: Worker;
  index: number;
  ctrl: Int32Array;
  task: Float64Array;
  tokens: Int32Array;
  extra: Float64Array;
  pixels: Float32Array;
  imageAt: Int32Array;
  grads: Float32Array;
  error: Uint8Array;
  seq: number;
  exited: string | null;
}

/** Rows of a batch of B for each of n replicas: as equal as possible, the first ones larger. */
export function splitRows(B: number, n: number): number[] {
  return Array.from({ length: n }, (_, i) => Math.floor(B / n) + (i < B % n ? 1 : 0));
}

/** The most images a share of maxTokens tokens can hold (0 for a text model). */
export function maxImages(config: GPTConfig, maxTokens: number): number {
  return config.vision ? Math.floor(maxTokens / imageSlots(config.vision)) : 0;
}

/** The images among tokens from..from+n, their positions counted from `from`; undefined when none. */
export function imagesOf(config: GPTConfig, images: ImageInput | undefined, from: number, n: number): ImageInput | undefined {
  if (!images?.at.length) return undefined;
  if (!config.vision) throw new Error('data parallel: images given to a model without image input');
  const IV = imageValues(config.vision);
  const at: number[] = [],
    pick: number[] = [];
  Array.from(images.at).forEach((a, i) => {
    if (a >= from && a < from + n) {
      at.push(a - from);
      pick.push(i);
    }
  });
  if (!at.length) return undefined;
  const pixels = new Float32Array(pick.length * IV);
  pick.forEach((i, j) => pixels.set(images.pixels.subarray(i * IV, (i + 1) * IV), j * IV));
  return { pixels, at };
}

/** A thread's share of the optimizer step: parameters from..to in storage, whole tensors. */
export interface ParamGroup {
  from: number;
  to: number;
  names: string[];
}

/** The config's parameters (in storage order) cut into n contiguous groups of about equal size. */
export function paramGroups(config: GPTConfig, n: number): ParamGroup[] {
  const shapes = paramShapes(config);
  const total = paramCount(config);
  const groups: ParamGroup[] = Array.from({ length: n }, () => ({ from: 0, to: 0, names: [] }));
  let off = 0;
  for (const [name, shape] of shapes) {
    const size = shape.reduce((a, b) => a * b, 1);
    // The group whose equal share holds this tensor's middle.
    const g = Math.min(n - 1, Math.floor(((off + size / 2) * n) / total));
    if (!groups[g].names.length) groups[g].from = off;
    groups[g].names.push(name);
    groups[g].to = off + size;
    off += size;
  }
  for (let g = 0; g < n; g++) if (!groups[g].names.length) groups[g].from = groups[g].to = g ? groups[g - 1].to : 0;
  return groups;
}

/**
 * One thread's part of summing the replicas' gradients: sum[from..to) += each other[from..to),
 * which is then zeroed; returns the squared norm of the summed part.
 */
export function reduceGroup(backend: Backend<Float32Array>, sum: Float32Array, others: Float32Array[], g: ParamGroup): number {
  // In chunks that fit in L2, so the add, the zeroing and the norm pass over cached values
  // rather than streaming the group from memory three times. (Chunks of 32 KiB cost more in
  // calls than they saved; 256 KiB took the optimizer step from 1.55 to 1.4-1.5 ms.)
  let ss = 0;
  for (let from = g.from; from < g.to; from += REDUCE_CHUNK) {
    const to = Math.min(g.to, from + REDUCE_CHUNK),
      n = to - from;
    const s = sum.subarray(from, to);
    for (const o of others) {
      const x = o.subarray(from, to);
      backend.add(s, s, x, n);
      x.fill(0);
    }
    ss += backend.sumSquares(s, n);
  }
  return ss;
}

/** Floats summed at a time by reduceGroup (256 KiB). */
export const REDUCE_CHUNK = 65536;

/**
 * One thread's part of the optimizer step: AdamW (step opt.step, at lr, gradients times scale)
 * on the group's parameters, each one's gradient zeroed right after its update, while cached.
 */
export function stepGroup(opt: AdamW, g: ParamGroup, lr: number, scale: number): void {
  for (const name of g.names) {
    opt.apply([name], lr, scale);
    opt.params.get(name)!.grad?.fill(0);
  }
}

export class DataParallel {
  private closed = false;
  private readonly groups: ParamGroup[];
  private readonly sum: Float32Array;

  private constructor(
    /** The main thread's replica: its weights are the shared ones, its gradients the summed ones. */
    readonly model: GPT,
    private readonly backend: Backend<Float32Array>,
    private readonly replicas: Replica[],
    private readonly maxTokens: number,
    private readonly native: NativeBackend | null,
    private readonly savedThreads: number,
    private readonly state: { m: Float32Array; v: Float32Array },
  ) {
    this.groups = paramGroups(model.config, replicas.length + 1);
    this.sum = model.gradStorage as Float32Array;
  }

  /**
   * Moves `model`'s weights to shared memory and starts `replicas - 1` workers. Use the returned
   * object's `model` from then on (same values), with an optimizer from optimizer().
   * maxTokens: the most tokens (rows x sequence length) one worker's share will hold.
   */
  static async start(model: GPT, backend: Backend<Float32Array>, replicas: number, maxTokens: number): Promise<DataParallel> {
    if (!Number.isInteger(replicas) || replicas < 1) throw new Error(`data parallel: replicas must be a positive integer, got ${replicas}`);
    if (!(model.storage instanceof Float32Array)) throw new Error('data parallel: the model must be float32');
    const n = paramCount(model.config);
    const shared = () => new Float32Array(new SharedArrayBuffer(4 * n));
    const weights = shared();
    weights.set(model.storage);
    const grads = Array.from({ length: replicas }, shared);
    const state = { m: shared(), v: shared() };
    const main = new GPT(model.config, null, { storage: weights, gradStorage: grads[0] });
    const native = 'setThreads' in backend ? (backend as NativeBackend) : null;
    if (replicas > 1 && !native) throw new Error('data parallel: more than one replica needs the native kernels (the workers run them)');
    const savedThreads = native?.threads() ?? 1;
    const started: Promise<Replica>[] = [];
    for (let r = 1; r < replicas; r++) {
      started.push(
        startReplica({
          config: model.config,
          isa: native!.isa(),
          index: r,
          weights: weights.buffer as SharedArrayBuffer,
          grads: grads.map((g) => g.buffer as SharedArrayBuffer),
          m: state.m.buffer as SharedArrayBuffer,
          v: state.v.buffer as SharedArrayBuffer,
          ctrl: new SharedArrayBuffer(4 * 4),
          task: new SharedArrayBuffer(8 * TASK_FIELDS),
          tokens: new SharedArrayBuffer(4 * 2 * maxTokens),
          extra: new SharedArrayBuffer(8 * maxTokens),
          pixels: new SharedArrayBuffer(
            4 * maxImages(model.config, maxTokens) * (model.config.vision ? imageValues(model.config.vision) : 0),
          ),
          imageAt: new SharedArrayBuffer(4 * maxImages(model.config, maxTokens)),
          error: new SharedArrayBuffer(ERR_BYTES),
        }),
      );
    }
    const workers = await Promise.allSettled(started);
    const failed = workers.find((w) => w.status === 'rejected');
    const ok = workers.flatMap((w) => (w.status === 'fulfilled' ? [w.value] : []));
    if (failed) {
      await Promise.all(ok.map((r) => r.worker.terminate()));
      throw (failed as PromiseRejectedResult).reason;
    }
    // Every replica, this thread included, runs its kernels on one thread: the cores are the
    // replicas'. An OpenMP team here would fight the workers for them.
    if (replicas > 1) native!.setThreads(1);
    return new DataParallel(main, backend, ok, maxTokens, native, savedThreads, state);
  }

  /** Threads computing: the main one and the workers. */
  get size(): number {
    return this.replicas.length + 1;
  }

  /** AdamW over model's parameters, its moments in shared memory (update() splits its step between the replicas). */
  optimizer(cfg: AdamWConfig): AdamW {
    return new AdamW(this.model.params, this.backend, cfg, this.state);
  }

  /**
   * Forward and backward over a batch of B sequences of T (tokens and targets [B*T]), adding
   * seed x the gradient of the batch's mean loss to the replicas' gradients (as
   * tape.backward(loss, seed) on the whole batch would); reduce() or update() sums them into
   * model's. Returns that mean loss. images: a vision model's images among the tokens (at: flat
   * positions in B*T), each sent with its row's share. weights: one per target, the loss then
   * their weighted mean (Tape.crossEntropy), each share weighted by its sum of them.
   */
  async accumulate(
    tape: Tape,
    inputs: Int32Array,
    targets: Int32Array,
    B: number,
    T: number,
    seed = 1,
    ignoreIndex = -1,
    images?: ImageInput,
    weights?: Float32Array,
  ): Promise<number> {
    if (this.closed) throw new Error('data parallel: closed');
    if (inputs.length !== B * T || targets.length !== B * T)
      throw new Error(`data parallel: ${inputs.length} tokens and ${targets.length} targets, B*T = ${B}*${T} wanted`);
    if (weights && weights.length !== B * T) throw new Error(`data parallel: ${weights.length} weights, B*T = ${B}*${T} wanted`);
    const rows = splitRows(B, this.size);
    const counts = rows.map(() => 0);
    let total = 0;
    for (let s = 0, row = 0; s < rows.length; row += rows[s], s++) {
      for (let i = row * T; i < (row + rows[s]) * T; i++) if (targets[i] !== ignoreIndex) counts[s] += weights ? weights[i] : 1;
      total += counts[s];
    }
    // Replica s's loss is the (weighted) mean over its own non-ignored targets: weighting it by its share
    // of the batch's makes the sum the batch's mean (and all-ignored shares count 0).
    const share = counts.map((c) => (total > 0 ? c / total : 0));
    // Checked before any worker starts: a worker's half-done share would stay in its gradients.
    if (rows.length > 1 && rows[1] * T > this.maxTokens)
      throw new Error(`data parallel: a share of ${rows[1] * T} tokens exceeds maxTokens ${this.maxTokens}`);
    const busy: [Replica, number][] = [];
    let row = rows[0];
    for (let s = 1; s < rows.length; row += rows[s], s++) {
      const r = this.replicas[s - 1];
      if (rows[s] === 0) continue;
      const n = rows[s] * T;
      r.tokens.set(inputs.subarray(row * T, row * T + n));
      r.tokens.set(targets.subarray(row * T, row * T + n), this.maxTokens);
      r.task[ROWS] = rows[s];
      r.task[SEQ_LEN] = T;
      r.task[SEED] = seed * share[s];
      r.task[IGNORE] = ignoreIndex;
      r.task[WEIGHTED] = weights ? 1 : 0;
      if (weights) r.extra.set(weights.subarray(row * T, row * T + n));
      const own = imagesOf(this.model.config, images, row * T, n);
      if (own && own.at.length * imageSlots(this.model.config.vision!) > this.maxTokens)
        throw new Error(`data parallel: a share holds ${own.at.length} images, more than its tokens can`);
      r.task[IMAGES] = own?.at.length ?? 0;
      if (own) {
        r.pixels.set(own.pixels);
        r.imageAt.set(own.at);
      }
      dispatch(r, BACKWARD);
      busy.push([r, share[s]]);
    }
    tape.reset();
    const n0 = rows[0] * T;
    const own = imagesOf(this.model.config, images, 0, n0);
    const { loss } = this.model.forward(
      tape,
      inputs.subarray(0, n0),
      rows[0],
      T,
      targets.subarray(0, n0),
      ignoreIndex,
      own,
      weights?.subarray(0, n0),
    );
    tape.backward(loss!, seed * share[0]);
    let mean = share[0] * loss!.data[0];
    for (const [r, w] of busy) {
      await collect(r);
      mean += w * r.task[LOSS];
    }
    return mean;
  }

  /**
   * accumulate() for a post-training batch under a sequence objective (objectives.ts): the rows
   * are whole units (DPO's pairs, the policy gradient's groups), extra holds each row's numbers.
   * Each replica takes whole units, its loss weighted by its share of them. Returns the batch's
   * loss and stats.
   */
  async accumulateSequences(
    tape: Tape,
    batch: TrainBatch,
    o: SequenceObjective,
    seed = 1,
  ): Promise<{ loss: number; stats: Record<string, number> }> {
    if (this.closed) throw new Error('data parallel: closed');
    const { B, T, inputs, targets, extra } = batch;
    const { unitRows, stride } = layout(o);
    const units = B / unitRows;
    if (!Number.isInteger(units) || !extra || extra.length !== B * stride)
      throw new Error(`data parallel: ${B} rows are not whole units of ${unitRows}, each with ${stride} extra values`);
    const shares = splitRows(units, this.size);
    if (shares.length > 1 && shares[1] * unitRows * T > this.maxTokens)
      throw new Error(`data parallel: a share of ${shares[1] * unitRows * T} tokens exceeds maxTokens ${this.maxTokens}`);
    const names = OBJECTIVE_STATS[o.kind];
    const busy: [Replica, number][] = [];
    let row = shares[0] * unitRows;
    for (let s = 1; s < shares.length; row += shares[s] * unitRows, s++) {
      if (!shares[s]) continue;
      const r = this.replicas[s - 1],
        rows = shares[s] * unitRows,
        n = rows * T;
      r.tokens.set(inputs.subarray(row * T, row * T + n));
      r.tokens.set(targets.subarray(row * T, row * T + n), this.maxTokens);
      r.extra.set(extra.subarray(row * stride, (row + rows) * stride));
      r.task[ROWS] = rows;
      r.task[SEQ_LEN] = T;
      r.task[SEED] = (seed * shares[s]) / units;
      r.task[IGNORE] = -1;
      r.task[OBJ_KIND] = o.kind === 'dpo' ? 0 : 1;
      r.task[OBJ_A] = o.kind === 'dpo' ? o.beta : o.group;
      r.task[OBJ_B] = o.kind === 'dpo' ? o.nll : o.kl;
      dispatch(r, SEQUENCE);
      busy.push([r, shares[s] / units]);
    }
    const own = shares[0] * unitRows,
      n0 = own * T;
    tape.reset();
    const { loss, stats } = sequenceForward(
      this.model,
      tape,
      inputs.subarray(0, n0),
      targets.subarray(0, n0),
      own,
      T,
      extra.subarray(0, own * stride),
      o,
    );
    tape.backward(loss, (seed * shares[0]) / units);
    const w0 = shares[0] / units;
    let mean = w0 * loss.data[0];
    const total: Record<string, number> = Object.fromEntries(names.map((k) => [k, w0 * stats[k]]));
    for (const [r, w] of busy) {
      await collect(r);
      mean += w * r.task[LOSS];
      names.forEach((k, i) => {
        total[k] += w * r.task[STATS + i];
      });
    }
    return { loss: mean, stats: total };
  }

  /** Sums every replica's gradients into model's (the others are zeroed); returns the global gradient norm. */
  async reduce(): Promise<number> {
    for (const r of this.replicas) dispatch(r, REDUCE);
    const others = this.replicas.map((r) => r.grads);
    let ss = reduceGroup(this.backend, this.sum, others, this.groups[0]);
    for (const r of this.replicas) {
      await collect(r);
      ss += r.task[SUMSQ];
    }
    return Math.sqrt(ss);
  }

  /**
   * The optimizer step: reduce(), clip to opt's gradClip, AdamW at lr on each replica's group
   * of parameters, and every gradient zeroed for the next step. opt comes from optimizer().
   * Returns the gradient norm before clipping. A non-finite norm is an error and changes nothing
   * (the summed gradients stay for inspection).
   */
  async update(opt: AdamW, lr: number): Promise<number> {
    if (opt.m.values().next().value?.buffer !== this.state.m.buffer)
      throw new Error('data parallel: update() needs an optimizer made by optimizer()');
    const norm = await this.reduce();
    const scale = opt.clipScale(norm);
    opt.step++;
    const { beta1, beta2, eps, weightDecay } = opt.cfg;
    for (const r of this.replicas) {
      const t = r.task;
      t[LR] = lr;
      t[STEP] = opt.step;
      t[SCALE] = scale;
      t[BETA1] = beta1;
      t[BETA2] = beta2;
      t[EPS] = eps;
      t[WEIGHT_DECAY] = weightDecay;
      dispatch(r, ADAM);
    }
    stepGroup(opt, this.groups[0], lr, scale);
    for (const r of this.replicas) await collect(r);
    return norm;
  }

  /** Runs fn with the kernels' threads as before start() (evaluation between steps). */
  exclusive<R>(fn: () => R): R {
    if (this.size === 1 || !this.native) return fn();
    this.native.setThreads(this.savedThreads);
    try {
      return fn();
    } finally {
      this.native.setThreads(1);
    }
  }

  /** Stops the workers; the main thread's kernels get their threads back. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const r of this.replicas) {
      Atomics.store(r.ctrl, TASK, -1);
      Atomics.notify(r.ctrl, TASK);
    }
    await Promise.all(
      this.replicas.map((r) => {
        if (r.exited) return undefined;
        r.worker.ref();
        return new Promise((res) => r.worker.once('exit', res));
      }),
    );
    if (this.size > 1) this.native?.setThreads(this.savedThreads);
  }
}

function dispatch(r: Replica, kind: number): void {
  if (r.exited) throw new Error(`data parallel: replica ${r.index} stopped: ${r.exited}`);
  r.task[KIND] = kind;
  Atomics.store(r.ctrl, TASK, ++r.seq);
  Atomics.notify(r.ctrl, TASK);
}

/** Waits for r's task; throws what it failed with. */
async function collect(r: Replica): Promise<void> {
  await waitDone(r);
  if (Atomics.load(r.ctrl, FAILED) === r.seq) {
    const len = r.error.indexOf(0);
    throw new Error(`data parallel: replica ${r.index} failed: ${Buffer.from(r.error.subarray(0, len < 0 ? ERR_BYTES : len)).toString()}`);
  }
}

/** Waits (without blocking the event loop) until r finishes its current task or exits. */
async function waitDone(r: Replica): Promise<void> {
  // A replica finishes within milliseconds of this thread: poll (SPIN_MS), then block (a blocked
  // thread wakes sooner than a promise settles through the event loop), and only past that wait
  // on the event loop, where the worker's exit can be noticed.
  const spinUntil = performance.now() + SPIN_MS;
  while (Atomics.load(r.ctrl, DONE) !== r.seq && performance.now() < spinUntil);
  const until = performance.now() + 250;
  for (let now = performance.now(); Atomics.load(r.ctrl, DONE) !== r.seq && now < until; now = performance.now()) {
    Atomics.wait(r.ctrl, DONE, Atomics.load(r.ctrl, DONE), until - now);
  }
  if (Atomics.load(r.ctrl, DONE) === r.seq) return;
  r.worker.ref(); // a pending waitAsync alone does not keep the process alive
  try {
    while (Atomics.load(r.ctrl, DONE) !== r.seq) {
      if (r.exited) throw new Error(`data parallel: replica stopped: ${r.exited}`);
      const w = waitAsync(r.ctrl, DONE, Atomics.load(r.ctrl, DONE), 1000);
      if (w.async) await w.value;
    }
  } finally {
    r.worker.unref();
  }
}

// Node 20 has it; TypeScript's ES2022 library does not declare it.
const waitAsync = (
  Atomics as unknown as {
    waitAsync(a: Int32Array, i: number, v: number, ms: number): { async: boolean; value: Promise<string> | string };
  }
).waitAsync;

async function startReplica(init: ReplicaInit): Promise<Replica> {
  // The worker runs TypeScript through tsx, as the main thread does. An eval'd worker resolves
  // bare imports from the working directory, so tsx is named by the path this module finds.
  const boot =
    `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then((m) => { m.register(); return ` +
    `import(${JSON.stringify(new URL('./replica-worker.ts', import.meta.url).href)}); });`;
  const worker = new Worker(boot, { eval: true, workerData: init });
  const r: Replica = {
    worker,
    index: init.index,
    seq: 0,
    exited: null,
    ctrl: new Int32Array(init.ctrl),
    task: new Float64Array(init.task),
    tokens: new Int32Array(init.tokens),
    extra: new Float64Array(init.extra),
    pixels: new Float32Array(init.pixels),
    imageAt: new Int32Array(init.imageAt),
    grads: new Float32Array(init.grads[init.index]),
    error: new Uint8Array(init.error),
  };
  worker.on('exit', (code) => {
    r.exited ??= `exited with code ${code}`;
    Atomics.notify(r.ctrl, DONE);
  });
  await new Promise<void>((resolve, reject) => {
    worker.once('message', (m: { ready?: boolean; error?: string }) =>
      m.ready ? resolve() : reject(new Error(`data parallel: replica failed to start: ${m.error}`)),
    );
    worker.once('error', (e) => {
      r.exited = e.message;
      reject(new Error(`data parallel: replica failed to start: ${e.message}`));
    });
    worker.once('exit', (code) => reject(new Error(`data parallel: replica exited with code ${code} while starting`)));
  });
  worker.on('error', (e) => {
    r.exited = e.message;
  });
  worker.unref(); // an idle replica does not keep the process alive; waitDone refs it while it works
  return r;
}
