// A data-parallel replica (see parallel.ts): waits for a share of a batch, runs forward and
// backward on it with single-threaded kernels, leaves the gradients in its shared buffer and
// the loss in its task block, and signals the main thread. Runs until the task number is -1.
import { workerData, parentPort } from 'node:worker_threads';
import { GPT } from '../model/index.ts';
import { nativeBackend, nativeError, Tape } from '../tensor/index.ts';
import { DONE, FAILED, IGNORE, LOSS, ROWS, SEED, SEQ_LEN, SPIN_MS, TASK, type ReplicaInit } from './parallel.ts';

const init = workerData as ReplicaInit;
const ctrl = new Int32Array(init.ctrl);
const task = new Float64Array(init.task);
const tokens = new Int32Array(init.tokens);
const error = new Uint8Array(init.error);
const maxTokens = tokens.length / 2;

function main(): void {
  const backend = nativeBackend();
  if (!backend) throw new Error(`native kernels unavailable: ${nativeError()}`);
  backend.setIsa(init.isa);
  backend.setThreads(1);
  const grads = new Float32Array(init.grads);
  const model = new GPT(init.config, null, { storage: new Float32Array(init.weights), gradStorage: grads });
  const tape = new Tape(backend, 'f32', { recycle: true });
  parentPort!.postMessage({ ready: true });
  let seen = 0;
  for (;;) {
    // Poll before sleeping: the next task comes within milliseconds (after the main thread's
    // optimizer step).
    const spinUntil = performance.now() + SPIN_MS;
    while (Atomics.load(ctrl, TASK) === seen && performance.now() < spinUntil);
    Atomics.wait(ctrl, TASK, seen);
    const seq = Atomics.load(ctrl, TASK);
    if (seq < 0) return;
    if (seq === seen) continue;
    seen = seq;
    try {
      const B = task[ROWS], T = task[SEQ_LEN], n = B * T;
      grads.fill(0);
      tape.reset();
      const { loss } = model.forward(tape, tokens.subarray(0, n), B, T, tokens.subarray(maxTokens, maxTokens + n), task[IGNORE]);
      tape.backward(loss!, task[SEED]);
      task[LOSS] = loss!.data[0];
    } catch (e) {
      const msg = Buffer.from(String((e as Error)?.message ?? e)).subarray(0, error.length - 1);
      error.fill(0);
      error.set(msg);
      Atomics.store(ctrl, FAILED, seq);
    }
    Atomics.store(ctrl, DONE, seq);
    Atomics.notify(ctrl, DONE);
  }
}

try {
  main();
  process.exit(0);  // ends this thread only; tsx's loader hooks would otherwise keep it alive
} catch (e) {
  parentPort!.postMessage({ error: (e as Error).message });
}
