// Serving the shipped model: `tetra serve` with tetra's own engine against the same gateway
// driving llama.cpp (node-llama-cpp) on the model's GGUF export, in the same run on the same
// machine. Both servers are the real `tetra serve` process (one with --checkpoint, one with a
// catalog whose engine is llamacpp with as many sequences as the most clients), so the figure
// compares the engines behind one HTTP path.
//
// Each level runs C clients at once, each sending chat requests back to back (streaming,
// greedy, max_tokens 64) until every client has finished --requests of them. Reported: aggregate
// completion tokens/s (usage from the stream's last chunk), time to first token p50 and p99.
// Servers alternate per level, so drift on a shared machine hits both.
//
// Run: npm run bench:serve [-- --requests 4 --clients 1,8,32 --tokens 64]
// Ends with `serve_vs_llamacpp <ratio>`: tetra's aggregate tokens/s at 8 clients over llama.cpp's.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { newestRelease, SHIPPED_MODELS } from '../src/model/index.ts';
import { oneLineFailures } from './prereqs.ts';

oneLineFailures('bench:serve');
const { values: args } = parseArgs({
  options: {
    requests: { type: 'string', default: '4' },
    clients: { type: 'string', default: '1,8,32' },
    tokens: { type: 'string', default: '64' },
  },
});
const REQUESTS = Number(args.requests),
  TOKENS = Number(args.tokens);
const CLIENTS = args.clients!.split(',').map(Number);
const bin = join(import.meta.dirname, '../bin/tetra.js');

try {
  await import('node-llama-cpp');
} catch {
  console.error('bench:serve: node-llama-cpp (an optional dependency) cannot be imported; run npm ci on a machine where it installs');
  process.exit(1);
}
const release = newestRelease(SHIPPED_MODELS);
if (!release) {
  console.error('bench:serve: no release under models/; make one with `npm run speedrun`');
  process.exit(1);
}

const home = mkdtempSync(join(tmpdir(), 'tetra-bench-serve-'));
process.on('exit', () => rmSync(home, { recursive: true, force: true }));
writeFileSync(join(home, 'plans.json'), JSON.stringify({ plans: { default: { rpm: 1_000_000_000, tpm: 1_000_000_000 } } }));
const gguf = join(home, 'model.gguf');
const ex = spawnSync(process.execPath, [bin, 'export', 'gguf', '--checkpoint', release, '--out', gguf, '--dtype', 'f32'], {
  encoding: 'utf8',
});
if (ex.status !== 0) throw new Error(`export gguf failed: ${ex.stderr}`);
const maxClients = Math.max(...CLIENTS);
writeFileSync(
  join(home, 'llamacpp.json'),
  JSON.stringify({
    engines: { llama: { kind: 'llamacpp', gguf, concurrency: maxClients } },
    models: [{ id: 'llama', engine: 'llama' }],
  }),
);

function serve(argv: string[]): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(bin, ['serve', '--no-app', '--port', '0', ...argv], {
    env: { ...process.env, TETRA_HOME: home },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '',
    err = '';
  child.stderr!.on('data', (d: Buffer) => {
    err += d;
  });
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => {
      out += d;
      const m = /listening on (\S+)/.exec(out);
      if (m) resolve({ url: m[1], child });
    });
    child.on('exit', () => reject(new Error(`tetra serve ${argv.join(' ')} did not start: ${err.trim().split('\n').at(-1)}`)));
  });
}

const QUESTIONS = ['What does the word "harbor" mean?', 'What is 48 + 17?', 'Spell the word "window" backwards.', 'Define "lantern".'];

/** One streamed chat request: time to first content token and completion tokens. */
async function one(url: string, model: string, i: number): Promise<{ ttft: number; tokens: number }> {
  const t0 = performance.now();
  const res = await fetch(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      model,
      messages: [{ role: 'user', content: QUESTIONS[i % QUESTIONS.length] }],
      max_tokens: TOKENS,
      temperature: 0,
      stream: true,
      stream_options: { include_usage: true },
    }),
  });
  if (res.status !== 200) throw new Error(`${model}: HTTP ${res.status}: ${await res.text()}`);
  let ttft = Number.NaN,
    tokens = 0,
    buf = '';
  const dec = new TextDecoder();
  const reader = res.body!.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    buf += dec.decode(value, { stream: true });
    let nl: number;
    while ((nl = buf.indexOf('\n\n')) >= 0) {
      const ev = buf.slice(0, nl).replace(/^data: /, '');
      buf = buf.slice(nl + 2);
      if (ev === '[DONE]') continue;
      const j = JSON.parse(ev);
      if (Number.isNaN(ttft) && j.choices?.[0]?.delta?.content) ttft = performance.now() - t0;
      if (j.usage) tokens = j.usage.completion_tokens;
    }
  }
  return { ttft, tokens };
}

async function level(url: string, model: string, clients: number) {
  const ttfts: number[] = [];
  let tokens = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: clients }, async (_, c) => {
      for (let r = 0; r < REQUESTS; r++) {
        const x = await one(url, model, c + r);
        if (!Number.isNaN(x.ttft)) ttfts.push(x.ttft);
        tokens += x.tokens;
      }
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  ttfts.sort((a, b) => a - b);
  const q = (p: number) => ttfts[Math.min(ttfts.length - 1, Math.floor(p * ttfts.length))] ?? Number.NaN;
  return { tokS: tokens / seconds, tokens, p50: q(0.5), p99: q(0.99) };
}

const tetra = await serve(['--checkpoint', release]);
const llama = await serve(['--config', join(home, 'llamacpp.json')]);
try {
  // Warm both (first requests load kernels and contexts).
  await one(tetra.url, 'tetra', 0);
  await one(llama.url, 'llama', 0);
  console.log(`bench:serve: ${release}, ${REQUESTS} requests per client, max_tokens ${TOKENS}, greedy\n`);
  console.log('| server | clients | completion tokens | tokens/s | TTFT p50 ms | TTFT p99 ms |');
  console.log('|---|---|---|---|---|---|');
  const at8: Record<string, number> = {};
  for (const c of CLIENTS) {
    for (const [name, s, model] of [
      ['tetra', tetra, 'tetra'],
      ['llama.cpp', llama, 'llama'],
    ] as const) {
      const r = await level(s.url, model, c);
      if (c === 8) at8[name] = r.tokS;
      console.log(`| ${name} | ${c} | ${r.tokens} | ${r.tokS.toFixed(0)} | ${r.p50.toFixed(0)} | ${r.p99.toFixed(0)} |`);
    }
  }
  if (at8.tetra && at8['llama.cpp']) console.log(`\nserve_vs_llamacpp ${(at8.tetra / at8['llama.cpp']).toFixed(2)}`);
} finally {
  tetra.child.kill();
  llama.child.kill();
}
