// A fair scheduler for one engine. At most `concurrency` requests run at once; the rest wait.
// When a slot frees, the next request comes from the next client in a ring of clients with
// waiting requests (round-robin), and within one client in arrival order (FIFO). So one client
// that queues a hundred requests delays another client's single request by at most one turn per
// other client, not by a hundred.
//
// Slots are handed over synchronously inside release(): the freed slot belongs to the chosen
// waiter before any other code runs, so a request that arrives in between cannot jump the queue,
// and the order of admission depends only on the order of calls, never on timing.

/** Thrown (as the rejection of acquire) when a waiting request's signal aborts. */
export class QueueAbortedError extends Error {
  constructor() {
    super('the request was aborted while waiting in the queue');
    this.name = 'AbortError';
  }
}

interface Waiter {
  client: string;
  grant: () => void;
  fail: (e: Error) => void;
}

export class FairQueue {
  private active = 0;
  /** Per client, its waiting requests in arrival order. */
  private readonly waiting = new Map<string, Waiter[]>();
  /** Clients with waiting requests, in the order they will be served next. */
  private ring: string[] = [];
  private depth = 0;

  constructor(readonly concurrency: number) {
    if (!Number.isInteger(concurrency) || concurrency < 1)
      throw new Error(`FairQueue concurrency must be a positive integer, got ${concurrency}`);
  }

  /** Requests waiting for a slot. */
  queueDepth(): number {
    return this.depth;
  }
  /** Requests holding a slot. */
  running(): number {
    return this.active;
  }

  /**
   * Waits for a slot for `client` (an API key or any caller identity; one string = one lane).
   * Resolves to the release function (call it once, when the request is finished). Rejects with
   * QueueAbortedError, and leaves the queue, when `signal` aborts while waiting.
   */
  acquire(client: string, signal?: AbortSignal): Promise<() => void> {
    if (signal?.aborted) return Promise.reject(new QueueAbortedError());
    if (this.active < this.concurrency && this.depth === 0) {
      this.active++;
      return Promise.resolve(this.releaser());
    }
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        this.remove(w);
        reject(new QueueAbortedError());
      };
      const w: Waiter = {
        client,
        grant: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve(this.releaser());
        },
        fail: (e) => {
          signal?.removeEventListener('abort', onAbort);
          reject(e);
        },
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      let lane = this.waiting.get(client);
      if (!lane) {
        lane = [];
        this.waiting.set(client, lane);
        this.ring.push(client);
      }
      lane.push(w);
      this.depth++;
    });
  }

  /**
   * Runs `body` inside a slot and streams its items. Aborted while waiting: ends without items.
   * The slot is released when the body finishes, throws, or the consumer stops iterating.
   */
  async *run<T>(client: string, signal: AbortSignal, body: () => AsyncIterable<T>): AsyncGenerator<T> {
    let release: () => void;
    try {
      release = await this.acquire(client, signal);
    } catch (e) {
      if (e instanceof QueueAbortedError) return;
      throw e;
    }
    try {
      yield* body();
    } finally {
      release();
    }
  }

  /** Rejects every waiting request (engine shutting down). */
  rejectAll(e: Error): void {
    const all = [...this.waiting.values()].flat();
    this.waiting.clear();
    this.ring = [];
    this.depth = 0;
    for (const w of all) w.fail(e);
  }

  private releaser(): () => void {
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.active--;
      this.admitNext();
    };
  }

  private admitNext(): void {
    while (this.active < this.concurrency && this.ring.length) {
      const client = this.ring.shift()!;
      const lane = this.waiting.get(client)!;
      const w = lane.shift()!;
      if (lane.length)
        this.ring.push(client); // back of the ring: others go first
      else this.waiting.delete(client);
      this.depth--;
      this.active++;
      w.grant();
    }
  }

  private remove(w: Waiter): void {
    const lane = this.waiting.get(w.client);
    const i = lane ? lane.indexOf(w) : -1;
    if (!lane || i < 0) return;
    lane.splice(i, 1);
    this.depth--;
    if (!lane.length) {
      this.waiting.delete(w.client);
      this.ring = this.ring.filter((c) => c !== w.client);
    }
  }
}
