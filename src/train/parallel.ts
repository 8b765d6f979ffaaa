// Data parallelism across threads: a batch's rows are split between the main thread and
// `replicas - 1` worker threads, each running forward and backward on its share with its own
// tape and single-threaded kernels, then the replicas' gradients are summed into the main
// model's. The weights live once, in a SharedArrayBuffer every replica reads; each worker writes
// its gradients to its own shared buffer.
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
import { GPT, paramCount, type GPTConfig } from '../model/index.ts';

// The protocol with replica-worker.ts, through each worker's shared buffers:
/** Control words (Int32Array): the task's sequence number (-1: stop), the last done, the last failed. */
export const TASK = 0, DONE = 1, FAILED = 2;
/** Task fields (Float64Array): rows and sequence length of the share, backward seed, ignored target id, the loss. */
export const ROWS = 0, SEQ_LEN = 1, SEED = 2, IGNORE = 3, LOSS = 4;
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
  grads: SharedArrayBuffer;
  ctrl: SharedArrayBuffer;
  task: SharedArrayBuffer;
  tokens: SharedArrayBuffer;
  error: SharedArrayBuffer;
}

interface Replica {
  worker: Worker;
  ctrl: Int32Array;
  task: Float64Array;
  tokens: Int32Array;
  grads: Float32Array;
  error: Uint8Array;
  seq: number;
  exited: string | null;
}

/** Rows of a batch of B for each of n replicas: as equal as possible, the first ones larger. */
export function splitRows(B: number, n: number): number[] {
  return Array.from({ length: n }, (_, i) => Math.floor(B / n) + (i < B % n ? 1 : 0));
}

export class DataParallel {
  private closed = false;

  private constructor(
    /** The main thread's replica: its weights are the shared ones, its gradients the summed ones. */
    readonly model: GPT,
    private readonly backend: Backend<Float32Array>,
    private readonly replicas: Replica[],
    private readonly maxTokens: number,
    private readonly native: NativeBackend | null,
    private readonly savedThreads: number,
  ) {}

  /**
   * Moves `model`'s weights to shared memory and starts `replicas - 1` workers. Use the returned
   * object's `model` from then on (same values; the optimizer must update the shared copy).
   * maxTokens: the most tokens (rows x sequence length) one worker's share will hold.
   */
  static async start(model: GPT, backend: Backend<Float32Array>, replicas: number, maxTokens: number): Promise<DataParallel> {
    if (!Number.isInteger(replicas) || replicas < 1) throw new Error(`data parallel: replicas must be a positive integer, got ${replicas}`);
    if (!(model.storage instanceof Float32Array)) throw new Error('data parallel: the model must be float32');
    const n = paramCount(model.config);
    const weights = new Float32Array(new SharedArrayBuffer(4 * n));
    weights.set(model.storage);
    const main = new GPT(model.config, null, { storage: weights, gradStorage: new Float32Array(n) });
    const native = 'setThreads' in backend ? (backend as NativeBackend) : null;
    if (replicas > 1 && !native) throw new Error('data parallel: more than one replica needs the native kernels (the workers run them)');
    const savedThreads = native?.threads() ?? 1;
    const started: Promise<Replica>[] = [];
    for (let r = 1; r < replicas; r++) started.push(startReplica(model.config, native!.isa(), weights, n, maxTokens));
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
    return new DataParallel(main, backend, ok, maxTokens, native, savedThreads);
  }

  /** Threads computing: the main one and the workers. */
  get size(): number { return this.replicas.length + 1; }

  /**
   * Forward and backward over a batch of B sequences of T (tokens and targets [B*T]), adding
   * seed x the gradient of the batch's mean loss to model's gradients (as tape.backward(loss,
   * seed) on the whole batch would). Returns that mean loss.
   */
  async accumulate(tape: Tape, inputs: Int32Array, targets: Int32Array, B: number, T: number, seed = 1, ignoreIndex = -1): Promise<number> {
    if (this.closed) throw new Error('data parallel: closed');
    if (inputs.length !== B * T || targets.length !== B * T) throw new Error(`data parallel: ${inputs.length} tokens and ${targets.length} targets, B*T = ${B}*${T} wanted`);
    const rows = splitRows(B, this.size);
    const counts = rows.map(() => 0);
    let total = 0;
    for (let s = 0, row = 0; s < rows.length; row += rows[s], s++) {
      for (let i = row * T; i < (row + rows[s]) * T; i++) if (targets[i] !== ignoreIndex) counts[s]++;
      total += counts[s];
    }
    // Replica s's loss is the mean over its own non-ignored targets: weighting it by its share
    // of the batch's makes the sum the batch's mean (and all-ignored shares count 0).
    const share = counts.map((c) => (total > 0 ? c / total : 0));
    const busy: Replica[] = [];
    let row = rows[0];
    for (let s = 1; s < rows.length; row += rows[s], s++) {
      const r = this.replicas[s - 1];
      if (rows[s] === 0) continue;
      const n = rows[s] * T;
      if (n > this.maxTokens) throw new Error(`data parallel: a share of ${n} tokens exceeds maxTokens ${this.maxTokens}`);
      if (r.exited) throw new Error(`data parallel: replica ${s} stopped: ${r.exited}`);
      r.tokens.set(inputs.subarray(row * T, row * T + n));
      r.tokens.set(targets.subarray(row * T, row * T + n), this.maxTokens);
      r.task[ROWS] = rows[s]; r.task[SEQ_LEN] = T; r.task[SEED] = seed * share[s]; r.task[IGNORE] = ignoreIndex;
      Atomics.store(r.ctrl, TASK, ++r.seq);
      Atomics.notify(r.ctrl, TASK);
      busy.push(r);
    }
    tape.reset();
    const n0 = rows[0] * T;
    const { loss } = this.model.forward(tape, inputs.subarray(0, n0), rows[0], T, targets.subarray(0, n0), ignoreIndex);
    tape.backward(loss!, seed * share[0]);
    let mean = share[0] * loss!.data[0];
    const g = this.model.gradStorage as Float32Array;
    for (const r of busy) {
      await waitDone(r);
      if (Atomics.load(r.ctrl, FAILED) === r.seq) {
        const len = r.error.indexOf(0);
        throw new Error(`data parallel: replica failed: ${Buffer.from(r.error.subarray(0, len < 0 ? ERR_BYTES : len)).toString()}`);
      }
      this.backend.add(g, g, r.grads, g.length);
      mean += (share[this.replicas.indexOf(r) + 1] ?? 0) * r.task[LOSS];
    }
    return mean;
  }

  /** Runs fn with the kernels' threads as before start() (evaluation between steps). */
  exclusive<R>(fn: () => R): R {
    if (this.size === 1 || !this.native) return fn();
    this.native.setThreads(this.savedThreads);
    try { return fn(); } finally { this.native.setThreads(1); }
  }

  /** Stops the workers; the main thread's kernels get their threads back. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const r of this.replicas) { Atomics.store(r.ctrl, TASK, -1); Atomics.notify(r.ctrl, TASK); }
    await Promise.all(this.replicas.map((r) => {
      if (r.exited) return undefined;
      r.worker.ref();
      return new Promise((res) => r.worker.once('exit', res));
    }));
    if (this.size > 1) this.native?.setThreads(this.savedThreads);
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
  r.worker.ref();  // a pending waitAsync alone does not keep the process alive
  try {
    while (Atomics.load(r.ctrl, DONE) !== r.seq) {
      if (r.exited) throw new Error(`data parallel: replica stopped: ${r.exited}`);
      const w = waitAsync(r.ctrl, DONE, Atomics.load(r.ctrl, DONE), 1000);
      if (w.async) await w.value;
    }
  } finally { r.worker.unref(); }
}

// Node 20 has it; TypeScript's ES2022 library does not declare it.
const waitAsync = (Atomics as unknown as {
  waitAsync(a: Int32Array, i: number, v: number, ms: number): { async: boolean; value: Promise<string> | string };
}).waitAsync;

async function startReplica(config: GPTConfig, isa: string, weights: Float32Array, n: number, maxTokens: number): Promise<Replica> {
  const init: ReplicaInit = {
    config, isa,
    weights: weights.buffer as SharedArrayBuffer,
    grads: new SharedArrayBuffer(4 * n),
    ctrl: new SharedArrayBuffer(4 * 4),
    task: new SharedArrayBuffer(8 * 8),
    tokens: new SharedArrayBuffer(4 * 2 * maxTokens),
    error: new SharedArrayBuffer(ERR_BYTES),
  };
  // The worker runs TypeScript through tsx, as the main thread does.
  const boot = `import('tsx/esm/api').then((m) => { m.register(); return import(${JSON.stringify(new URL('./replica-worker.ts', import.meta.url).href)}); });`;
  const worker = new Worker(boot, { eval: true, workerData: init });
  const r: Replica = {
    worker, seq: 0, exited: null,
    ctrl: new Int32Array(init.ctrl), task: new Float64Array(init.task), tokens: new Int32Array(init.tokens),
    grads: new Float32Array(init.grads), error: new Uint8Array(init.error),
  };
  worker.on('exit', (code) => { r.exited ??= `exited with code ${code}`; Atomics.notify(r.ctrl, DONE); });
  await new Promise<void>((resolve, reject) => {
    worker.once('message', (m: { ready?: boolean; error?: string }) => (m.ready ? resolve() : reject(new Error(`data parallel: replica failed to start: ${m.error}`))));
    worker.once('error', (e) => { r.exited = e.message; reject(new Error(`data parallel: replica failed to start: ${e.message}`)); });
    worker.once('exit', (code) => reject(new Error(`data parallel: replica exited with code ${code} while starting`)));
  });
  worker.on('error', (e) => { r.exited = e.message; });
  worker.unref();  // an idle replica does not keep the process alive; waitDone refs it while it works
  return r;
}
