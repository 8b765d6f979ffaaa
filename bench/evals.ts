// Runner throughput: samples per second for a 2,000-sample Match eval against a local
// OpenAI-compatible endpoint that answers instantly (node:http in a worker thread, one fixed chat
// completion), at concurrency 1, 10 and 64. Everything a real run does is on: the HTTP client,
// bounded retries, the JSONL log and the SQLite run database; only the response cache is off
// (it would answer the later passes itself). The figure judged is the rate at concurrency 64.
// Each level runs REPEATS times (default 3, BENCH_EVALS_REPEATS) and the median is reported, with
// the process's CPU time per sample (client, runner and the server thread together): on a shared
// 2-core box the wall-clock rate of a single pass swings by a third with the neighbours' load,
// the CPU cost much less.
//
//   npm run bench:evals
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { OpenAICompatible, Registry, RunDatabase, runEval } from '../src/evals/index.ts';
import { oneLineFailures } from './prereqs.ts';

oneLineFailures('bench:evals');

const N = 2000;
const LEVELS = [1, 10, 64];
const REPEATS = Math.max(1, Number(process.env.BENCH_EVALS_REPEATS ?? 3));
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

const serverSource = `
const http = require('node:http');
const { parentPort } = require('node:worker_threads');
const body = JSON.stringify({ id: 'cmpl-bench', object: 'chat.completion', created: 0, model: 'instant',
  choices: [{ index: 0, message: { role: 'assistant', content: 'Paris' }, finish_reason: 'stop' }],
  usage: { prompt_tokens: 12, completion_tokens: 1, total_tokens: 13 } });
const server = http.createServer((req, res) => {
  req.resume();
  req.on('end', () => { res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }); res.end(body); });
});
server.keepAliveTimeout = 60000;
server.listen(0, '127.0.0.1', () => parentPort.postMessage(server.address().port));
`;

async function main(): Promise<void> {
  const worker = new Worker(serverSource, { eval: true });
  const port = await new Promise<number>((res) => worker.once('message', res));
  const dir = mkdtempSync(join(tmpdir(), 'tetra-bench-evals-'));
  try {
    mkdirSync(join(dir, 'evals'));
    mkdirSync(join(dir, 'data', 'bench'), { recursive: true });
    writeFileSync(
      join(dir, 'evals', 'bench.yaml'),
      'bench-match:\n  id: bench-match.test.v0\nbench-match.test.v0:\n  class: evals.elsuite.basic.match:Match\n  args: {samples_jsonl: bench/samples.jsonl}\n',
    );
    const lines: string[] = [];
    for (let i = 0; i < N; i++)
      lines.push(
        JSON.stringify({
          input: [
            { role: 'system', content: 'Answer briefly.' },
            { role: 'user', content: `Question ${i}: what is the capital of France?` },
          ],
          ideal: i % 4 ? 'Paris' : 'Lyon',
        }),
      );
    writeFileSync(join(dir, 'data', 'bench', 'samples.jsonl'), lines.join('\n') + '\n');
    const registry = new Registry([join(dir)]);
    const fn = new OpenAICompatible({ baseURL: `http://127.0.0.1:${port}/v1`, model: 'instant', apiKey: 'bench' });
    const db = new RunDatabase(join(dir, 'runs.sqlite'));
    console.log(
      `evals runner: ${N}-sample Match eval, local instant endpoint (worker thread), ${cpus().length} CPUs (${cpus()[0]?.model ?? '?'})`,
    );
    console.log(`concurrency  samples/s  seconds  cpu µs/sample  accuracy   (median of ${REPEATS})`);
    let last = 0;
    // One warm-up pass so JIT and connection setup are not billed to the first level.
    await runEval({
      registry,
      evalName: 'bench-match',
      completionFns: [fn],
      concurrency: 16,
      maxSamples: 200,
      db,
      progress: null,
      recordPath: join(dir, 'warm.jsonl'),
    });
    for (const c of LEVELS) {
      const rates: number[] = [],
        secs: number[] = [],
        cpu: number[] = [];
      let accuracy = NaN;
      for (let k = 0; k < REPEATS; k++) {
        const u0 = process.cpuUsage();
        const t0 = performance.now();
        const r = await runEval({
          registry,
          evalName: 'bench-match',
          completionFns: [fn],
          concurrency: c,
          db,
          progress: null,
          recordPath: join(dir, `run-${c}-${k}.jsonl`),
        });
        const s = (performance.now() - t0) / 1000;
        const u = process.cpuUsage(u0);
        if (r.results.length !== N) throw new Error(`expected ${N} results, got ${r.results.length} (${r.errors[0]?.message ?? ''})`);
        rates.push(N / s);
        secs.push(s);
        cpu.push((u.user + u.system) / N);
        accuracy = Number(r.metrics.accuracy);
      }
      last = median(rates);
      console.log(
        `${String(c).padStart(11)}  ${last.toFixed(0).padStart(9)}  ${median(secs).toFixed(2).padStart(7)}  ${median(cpu).toFixed(0).padStart(13)}  ${accuracy.toFixed(3).padStart(8)}`,
      );
    }
    db.close();
    console.log(`evals_samples_per_s ${last.toFixed(0)}`);
  } finally {
    await worker.terminate();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
