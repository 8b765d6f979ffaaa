import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Registry } from '../../src/evals/registry.ts';
import { runEval, sampleOrder } from '../../src/evals/runner.ts';
import { OpenAICompatible, ResponseCache, cached, withRetries, retryAfterMs } from '../../src/evals/completion/index.ts';
import { readRunLog } from '../../src/evals/recorder.ts';
import { chatReply, isolateHome, jsonl, lastContent, scriptedServer, tempTree, type Scripted } from './helpers.ts';
import { textOf, type EvalMessage } from '../../src/evals/types.ts';

const N = 30;
const root = tempTree({
  'evals/n.yaml': 'num:\n  id: num.dev.v0\nnum.dev.v0:\n  class: tetra.match\n  args: {samples_jsonl: num.jsonl}\n',
  'data/num.jsonl': jsonl(Array.from({ length: N }, (_, i) => ({ input: [{ role: 'user', content: `echo ${i}` }], ideal: String(i) }))),
});

describe('runner', () => {
  before(() => isolateHome());

  it('picks samples in openai/evals order (indices shuffled with Python seed 123)', () => {
    // python3 -c "import random; x=list(range(20)); random.Random(123).shuffle(x); print(x)"
    assert.deepEqual(sampleOrder(20), [7, 17, 3, 4, 14, 12, 11, 9, 5, 10, 15, 6, 0, 16, 19, 18, 13, 2, 8, 1]);
    assert.deepEqual(sampleOrder(20, 3), [7, 17, 3]);
  });

  describe('against a real local endpoint', () => {
    let server: Scripted;
    let fail429 = 0;
    before(async () => {
      server = await scriptedServer((body, _n) => {
        if (fail429 > 0) {
          fail429--;
          return { status: 429, headers: { 'retry-after': '0.3' }, json: { error: { message: 'slow down' } } };
        }
        const text = lastContent(body);
        return chatReply(text.replace('echo ', ''));
      });
    });
    after(() => server.close());

    it("retries a 429 after the server's retry-after, then succeeds", async () => {
      fail429 = 1;
      const fn = new OpenAICompatible({ baseURL: server.url, model: 'm', retry: { baseDelayMs: 1 } });
      const t0 = server.requests.length;
      const out = await fn.chat([{ role: 'user', content: 'echo 5' }], { temperature: 0 });
      assert.equal(out.texts[0], '5');
      const [first, second] = server.requests.slice(t0);
      assert.ok(second.at - first.at >= 280, `waited ${second.at - first.at} ms, server asked for 300`);
    });

    it('gives up after maxRetries instead of hanging', async () => {
      fail429 = 100;
      const fn = new OpenAICompatible({ baseURL: server.url, model: 'm', retry: { maxRetries: 2, maxRetryAfterMs: 1000 } });
      const t0 = server.requests.length;
      await assert.rejects(fn.chat([{ role: 'user', content: 'echo 1' }], {}), /gave up after 3 attempts/);
      assert.equal(server.requests.length - t0, 3);
      fail429 = 0;
    });

    it('reads retry-after as seconds, an HTTP date, or retry-after-ms', async () => {
      assert.equal(retryAfterMs({ headers: new Headers({ 'retry-after': '2' }) }), 2000);
      assert.equal(retryAfterMs({ headers: new Headers({ 'retry-after-ms': '150' }) }), 150);
      assert.equal(retryAfterMs({ headers: new Headers({ 'retry-after': new Date(10_000).toUTCString() }) }, 4_000), 6000);
      let calls = 0;
      await assert.rejects(
        withRetries(async () => {
          calls++;
          throw Object.assign(new Error('bad request'), { status: 400 });
        }),
        /bad request/,
      );
      assert.equal(calls, 1, 'a 400 is not retried');
    });

    it('answers a repeated request from the cache without a request, and never caches errors', async () => {
      const cache = new ResponseCache(':memory:');
      const fn = cached(new OpenAICompatible({ baseURL: server.url, model: 'm', retry: { maxRetries: 0 } }), cache);
      const t0 = server.requests.length;
      await fn.chat([{ role: 'user', content: 'echo 7' }], { temperature: 0 });
      const again = await fn.chat([{ role: 'user', content: 'echo 7' }], { temperature: 0 });
      assert.equal(again.texts[0], '7');
      assert.equal(server.requests.length - t0, 1);
      assert.equal(cache.hits, 1);
      fail429 = 1;
      await assert.rejects(fn.chat([{ role: 'user', content: 'echo 8' }], { temperature: 0 }));
      const ok = await fn.chat([{ role: 'user', content: 'echo 8' }], { temperature: 0 });
      assert.equal(ok.texts[0], '8', 'the 429 was not stored');
      await fn.chat([{ role: 'user', content: 'echo 9' }], { temperature: 0.7 });
      await fn.chat([{ role: 'user', content: 'echo 9' }], { temperature: 0.7 });
      assert.equal(
        server.requests.filter((q) => lastContent(q.body) === 'echo 9').length,
        2,
        'sampling at temperature > 0 bypasses the cache',
      );
    });

    it('resumes an interrupted run without redoing finished samples', async () => {
      const registry = new Registry([root]);
      const fn = new OpenAICompatible({ baseURL: server.url, model: 'm' });
      const path = join(root, 'resume.jsonl');
      const full = await runEval({
        registry,
        evalName: 'num',
        completionFns: [fn],
        db: null,
        progress: null,
        recordPath: path,
        concurrency: 4,
      });
      assert.equal(full.metrics.accuracy, 1);
      // Simulate a crash after 12 samples: keep the spec and the events of the first 12 finished samples.
      const lines = readFileSync(path, 'utf8').trim().split('\n');
      const done = new Set<string>();
      const keep = [lines[0]];
      for (const l of lines.slice(1)) {
        const o = JSON.parse(l);
        if (o.final_report) continue;
        if (o.type === 'sample_result' && done.size < 12) done.add(o.sample_id);
        if (done.has(o.sample_id) || (o.type !== 'sample_result' && done.size < 12)) keep.push(l);
      }
      writeFileSync(path, keep.join('\n') + '\n{"run_id": "torn li');
      const t0 = server.requests.length;
      const r = await runEval({ registry, evalName: 'num', completionFns: [fn], db: null, progress: null, resumePath: path });
      assert.equal(server.requests.length - t0, N - 12, 'only unfinished samples were asked');
      assert.equal(r.results.length, N);
      assert.equal(r.metrics.accuracy, 1);
      const log = readRunLog(path);
      assert.equal(new Set(log.events.filter((e) => e.type === 'sample_result').map((e) => e.sample_id)).size, N);
      assert.equal(log.events.filter((e) => e.type === 'sampling').length, N, 'no duplicate events for redone samples');
      assert.ok(log.finalReport);
    });

    it('records a failing sample as an error event and keeps going, leaving it to resume', async () => {
      const registry = new Registry([root]);
      const bad = {
        name: 'flaky',
        async chat(m: EvalMessage[]) {
          if (textOf(m[0].content) === 'echo 3') throw new Error('boom');
          return { texts: [textOf(m[0].content).slice(5)] };
        },
      };
      const r = await runEval({
        registry,
        evalName: 'num',
        completionFns: [bad],
        db: null,
        progress: null,
        recordPath: join(root, 'err.jsonl'),
      });
      assert.equal(r.unfinished, 1);
      assert.deepEqual(r.errors, [{ sampleId: 'num.dev.3', message: 'boom' }]);
      assert.equal(r.metrics.accuracy, 1, 'aggregated over finished samples');
      assert.equal(readRunLog(r.recordPath).events.find((e) => e.type === 'error')?.sample_id, 'num.dev.3');
    });
  });
});
