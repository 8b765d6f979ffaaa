// The fair queue admits requests in an order that depends only on the order of calls: these
// tests hold slots, queue requests, release slots one at a time and read off who got in.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FairQueue, QueueAbortedError } from '../../src/engine/queue.ts';

/** Queues `name` for `client`; pushes the name to `order` once admitted and keeps the release. */
function enqueue(q: FairQueue, client: string, name: string, order: string[], releases: Map<string, () => void>, signal?: AbortSignal) {
  return q.acquire(client, signal).then((release) => {
    order.push(name);
    releases.set(name, release);
  });
}
const tick = () => new Promise<void>((r) => setImmediate(r));

describe('FairQueue', () => {
  it('runs up to `concurrency` at once and queues the rest', async () => {
    const q = new FairQueue(2);
    const order: string[] = [],
      rel = new Map<string, () => void>();
    for (const n of ['a1', 'a2', 'a3', 'a4']) void enqueue(q, 'a', n, order, rel);
    await tick();
    assert.deepEqual(order, ['a1', 'a2']);
    assert.equal(q.running(), 2);
    assert.equal(q.queueDepth(), 2);
    rel.get('a1')!();
    await tick();
    assert.deepEqual(order, ['a1', 'a2', 'a3']);
    assert.equal(q.queueDepth(), 1);
  });

  it('serves clients round-robin, and each client FIFO: a heavy client cannot starve others', async () => {
    const q = new FairQueue(1);
    const order: string[] = [],
      rel = new Map<string, () => void>();
    void enqueue(q, 'heavy', 'h0', order, rel);
    await tick();
    // heavy queues 4 more before the light clients arrive
    for (const n of ['h1', 'h2', 'h3', 'h4']) void enqueue(q, 'heavy', n, order, rel);
    void enqueue(q, 'b', 'b1', order, rel);
    void enqueue(q, 'c', 'c1', order, rel);
    void enqueue(q, 'b', 'b2', order, rel);
    assert.equal(q.queueDepth(), 7);
    for (let i = 0; i < 7; i++) {
      await tick();
      rel.get(order[order.length - 1])!();
    }
    await tick();
    assert.deepEqual(order, ['h0', 'h1', 'b1', 'c1', 'h2', 'b2', 'h3', 'h4']);
    assert.equal(q.queueDepth(), 0);
  });

  it('a request aborted while queued leaves the queue and never runs; the others keep their turns', async () => {
    const q = new FairQueue(1);
    const order: string[] = [],
      rel = new Map<string, () => void>();
    void enqueue(q, 'a', 'a0', order, rel);
    const ac = new AbortController();
    const aborted = enqueue(q, 'b', 'b1', order, rel, ac.signal);
    void enqueue(q, 'c', 'c1', order, rel);
    void enqueue(q, 'b', 'b2', order, rel);
    assert.equal(q.queueDepth(), 3);
    ac.abort();
    await assert.rejects(aborted, QueueAbortedError);
    assert.equal(q.queueDepth(), 2);
    rel.get('a0')!();
    await tick();
    rel.get(order.at(-1)!)!();
    await tick();
    // b keeps its place in the ring (it arrived before c); only its aborted request is gone
    assert.deepEqual(order, ['a0', 'b2', 'c1']);
  });

  it('aborting the only waiter of a client removes that client from the ring', async () => {
    const q = new FairQueue(1);
    const order: string[] = [],
      rel = new Map<string, () => void>();
    void enqueue(q, 'a', 'a0', order, rel);
    const ac = new AbortController();
    const p = enqueue(q, 'x', 'x1', order, rel, ac.signal);
    void enqueue(q, 'a', 'a1', order, rel);
    ac.abort();
    await p.catch(() => {});
    rel.get('a0')!();
    await tick();
    assert.deepEqual(order, ['a0', 'a1']);
    assert.equal(q.queueDepth(), 0);
    assert.equal(q.running(), 1);
  });

  it('an already-aborted signal is refused without taking a slot', async () => {
    const q = new FairQueue(1);
    await assert.rejects(q.acquire('a', AbortSignal.abort()), QueueAbortedError);
    assert.equal(q.running(), 0);
  });

  it('release is idempotent: calling it twice frees one slot', async () => {
    const q = new FairQueue(1);
    const r = await q.acquire('a');
    r();
    r();
    assert.equal(q.running(), 0);
    const order: string[] = [],
      rel = new Map<string, () => void>();
    void enqueue(q, 'a', 'a1', order, rel);
    void enqueue(q, 'a', 'a2', order, rel);
    await tick();
    assert.deepEqual(order, ['a1']);
  });

  it('run() streams inside a slot, ends empty when aborted while waiting, and releases on early exit', async () => {
    const q = new FairQueue(1);
    const hold = await q.acquire('a');
    const ac = new AbortController();
    async function* body() {
      yield 1;
      yield 2;
      yield 3;
    }
    const seen: number[] = [];
    const waiting = (async () => {
      for await (const x of q.run('b', ac.signal, body)) seen.push(x);
    })();
    await tick();
    assert.equal(q.queueDepth(), 1);
    ac.abort();
    await waiting;
    assert.equal(seen.length, 0);
    hold();
    for await (const x of q.run('c', new AbortController().signal, body)) {
      seen.push(x);
      if (x === 2) break;
    }
    assert.deepEqual(seen, [1, 2]);
    assert.equal(q.running(), 0, 'break released the slot');
  });

  it('rejectAll fails every waiter', async () => {
    const q = new FairQueue(1);
    await q.acquire('a');
    const p = q.acquire('b');
    q.rejectAll(new Error('closing'));
    await assert.rejects(p, /closing/);
    assert.equal(q.queueDepth(), 0);
  });
});
