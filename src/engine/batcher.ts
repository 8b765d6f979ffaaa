// Continuous batching for the builtin engine: every request generating at the moment asks for its
// next model step here, and the requests that ask within one turn of the event loop share a single
// step() call (prefills of new requests and one-token decodes of running ones together; step()
// handles sequences of different lengths). A request joins at its next step and leaves when it
// finishes, so nobody waits for another's answer to end. On a CPU the step's cost grows much
// slower than its batch (the weights are read once for all rows), which is where the throughput
// comes from.
import { type Decoding, type GeneratedToken, type Generation, type GPT, step, type StepInput } from '../model/index.ts';
import type { Backend } from '../tensor/index.ts';

interface Waiting {
  inputs: StepInput[];
  resolve: (logits: Float32Array) => void;
  reject: (e: unknown) => void;
}

export class StepBatcher {
  private pending: Waiting[] = [];
  private scheduled = false;
  /** Rows in the largest step so far (for tests and metrics). */
  maxRows = 0;

  constructor(
    private readonly model: GPT,
    private readonly backend: Backend<Float32Array>,
  ) {}

  /** The last-position logits of these inputs, computed in the next shared step. */
  step(inputs: StepInput[]): Promise<Float32Array> {
    return new Promise((resolve, reject) => {
      this.pending.push({ inputs, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.scheduled = false;
    const batch = this.pending;
    this.pending = [];
    const V = this.model.config.vocabSize;
    try {
      const all = batch.flatMap((b) => b.inputs);
      this.maxRows = Math.max(this.maxRows, all.length);
      const logits = step(this.model, this.backend, all, false);
      let row = 0;
      for (const b of batch) {
        b.resolve(logits.subarray(row * V, (row + b.inputs.length) * V)); // step() allocates per call: no copy needed
        row += b.inputs.length;
      }
    } catch (e) {
      for (const b of batch) b.reject(e);
    }
  }

  /** Runs a Decoding to the end through shared steps, yielding its tokens as they are chosen. */
  async *generate(d: Decoding, signal?: AbortSignal): AsyncGenerator<GeneratedToken, Generation[]> {
    while (!d.done && !signal?.aborted) yield* d.accept(await this.step(d.inputs()));
    return d.result();
  }
}
