// A data-parallel replica (see parallel.ts). Its tasks: BACKWARD runs forward and backward on a
// share of a batch with single-threaded kernels, adding to its gradients and leaving the loss
// (SEQUENCE: the same under a post-training objective, on whole units);
// REDUCE sums every replica's gradients for its group of parameters; ADAM runs the optimizer
// step on that group and zeroes its gradients. Runs until the task number is -1.
import { workerData, parentPort } from 'node:worker_threads';
import { GPT, imageValues } from '../model/index.ts';
import { nativeBackend, nativeError, Tape } from '../tensor/index.ts';
import { layout, OBJECTIVE_STATS, sequenceForward, type SequenceObjective } from './objectives.ts';
import { AdamW } from './optimizer.ts';
import {
  ADAM,
  BACKWARD,
  BETA1,
  BETA2,
  DONE,
  EPS,
  FAILED,
  IGNORE,
  IMAGES,
  KIND,
  LOSS,
  LR,
  OBJ_A,
  OBJ_B,
  OBJ_KIND,
  paramGroups,
  reduceGroup,
  REDUCE,
  ROWS,
  SCALE,
  SEED,
  SEQUENCE,
  SEQ_LEN,
  SPIN_MS,
  STATS,
  STEP,
  stepGroup,
  SUMSQ,
  TASK,
  WEIGHT_DECAY,
  WEIGHTED,
  type ReplicaInit,
} from './parallel.ts';

const init = workerData as ReplicaInit;
const ctrl = new Int32Array(init.ctrl);
const task = new Float64Array(init.task);
const tokens = new Int32Array(init.tokens);
const error = new Uint8Array(init.error);
const extra = new Float64Array(init.extra);
const pixels = new Float32Array(init.pixels);
const imageAt = new Int32Array(init.imageAt);
const maxTokens = tokens.length / 2;

function main(): void {
  const backend = nativeBackend();
  if (!backend) throw new Error(`native kernels unavailable: ${nativeError()}`);
  backend.setIsa(init.isa);
  backend.setThreads(1);
  const weights = new Float32Array(init.weights);
  const grads = init.grads.map((g) => new Float32Array(g));
  const model = new GPT(init.config, null, { storage: weights, gradStorage: grads[init.index] });
  // The same weights seen with the summed gradients, for this replica's share of the optimizer step.
  const summed = new GPT(init.config, null, { storage: weights, gradStorage: grads[0] });
  const opt = new AdamW(summed.params, backend, undefined, { m: new Float32Array(init.m), v: new Float32Array(init.v) });
  const group = paramGroups(init.config, grads.length)[init.index];
  const others = grads.filter((_, i) => i !== 0);
  const tape = new Tape(backend, 'f32', { recycle: true });
  parentPort!.postMessage({ ready: true });
  let seen = 0;
  for (;;) {
    // Poll before sleeping: the next task comes within milliseconds.
    const spinUntil = performance.now() + SPIN_MS;
    while (Atomics.load(ctrl, TASK) === seen && performance.now() < spinUntil);
    Atomics.wait(ctrl, TASK, seen);
    const seq = Atomics.load(ctrl, TASK);
    if (seq < 0) return;
    if (seq === seen) continue;
    seen = seq;
    try {
      if (task[KIND] === BACKWARD) {
        const B = task[ROWS],
          T = task[SEQ_LEN],
          n = B * T;
        const count = task[IMAGES],
          IV = init.config.vision ? imageValues(init.config.vision) : 0;
        const images = count ? { pixels: pixels.subarray(0, count * IV), at: imageAt.subarray(0, count) } : undefined;
        tape.reset();
        const targets = tokens.subarray(maxTokens, maxTokens + n);
        const lossWeights = task[WEIGHTED] ? extra.subarray(0, n) : undefined;
        const { loss } = model.forward(tape, tokens.subarray(0, n), B, T, targets, task[IGNORE], images, lossWeights);
        tape.backward(loss!, task[SEED]);
        task[LOSS] = loss!.data[0];
      } else if (task[KIND] === SEQUENCE) {
        const B = task[ROWS],
          T = task[SEQ_LEN],
          n = B * T;
        const o: SequenceObjective =
          task[OBJ_KIND] === 0 ? { kind: 'dpo', beta: task[OBJ_A], nll: task[OBJ_B] } : { kind: 'pg', group: task[OBJ_A], kl: task[OBJ_B] };
        const inputs = tokens.subarray(0, n),
          targets = tokens.subarray(maxTokens, maxTokens + n);
        tape.reset();
        const { loss, stats } = sequenceForward(
          model,
          tape,
          inputs,
          targets,
          B,
          T,
          extra.subarray(0, B * layout(o).stride),
          o,
          task[IGNORE],
        );
        tape.backward(loss, task[SEED]);
        task[LOSS] = loss.data[0];
        OBJECTIVE_STATS[o.kind].forEach((k, i) => {
          task[STATS + i] = stats[k];
        });
      } else if (task[KIND] === REDUCE) {
        task[SUMSQ] = reduceGroup(backend, grads[0], others, group);
      } else if (task[KIND] === ADAM) {
        opt.cfg = { ...opt.cfg, beta1: task[BETA1], beta2: task[BETA2], eps: task[EPS], weightDecay: task[WEIGHT_DECAY] };
        opt.step = task[STEP];
        stepGroup(opt, group, task[LR], task[SCALE]);
      }
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
  process.exit(0); // ends this thread only; tsx's loader hooks would otherwise keep it alive
} catch (e) {
  parentPort!.postMessage({ error: (e as Error).message });
}
