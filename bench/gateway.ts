// Gateway overhead: an OpenAI-compatible backend that answers a fixed completion at once, hit
// directly and through `tetra serve --upstream` (auth, limits, ledger row, metrics on every
// request), at 1, 16 and 64 concurrent clients on loopback with autocannon. Prints throughput
// and p50/p99 latency for both and ends with `gateway_p99_overhead_ms <p99 gateway - p99 direct
// at 64 clients>` (goal: under 2 ms).
// Governance runs as in production: a key is created and sent as a bearer, limits are set high
// enough never to refuse, the ledger is the SQLite WAL file in a temp TETRA_HOME.
// Needs the upstream engine in `tetra serve` (src/engine/upstream.ts, from the engines branch):
// without it the bench says so and exits 2.
// Usage: npm run bench:gateway [-- --duration 10]
import autocannon from 'autocannon';
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KeyStore } from '../src/gateway/keys.ts';

const arg = (name: string, dflt: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
};
const DURATION = arg('duration', 10);
const CLIENTS = [1, 16, 64];

// ---- the backend that answers instantly ----
const FIXED = JSON.stringify({
  id: 'chatcmpl-fixed', object: 'chat.completion', created: 0, model: 'instant',
  choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop', logprobs: null }],
  usage: { prompt_tokens: 8, completion_tokens: 1, total_tokens: 9 },
});
// A streamed request (the upstream engine always streams) gets what vLLM or OpenAI would send:
// SSE chunks (role, content, finish, usage) and [DONE], all at once.
const chunk = (choices: unknown[], usage: unknown = null) => `data: ${JSON.stringify({ id: 'chatcmpl-fixed', object: 'chat.completion.chunk', created: 0, model: 'instant', choices, usage })}\n\n`;
const SSE = chunk([{ index: 0, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null }])
  + chunk([{ index: 0, delta: { content: 'ok' }, logprobs: null, finish_reason: null }])
  + chunk([{ index: 0, delta: {}, logprobs: null, finish_reason: 'stop' }])
  + chunk([], { prompt_tokens: 8, completion_tokens: 1, total_tokens: 9 }) + 'data: [DONE]\n\n';
const backend = createServer((req, res) => {
  let raw = '';
  req.setEncoding('utf8');
  req.on('data', (c: string) => { raw += c; });
  req.on('end', () => {
    if (req.url?.startsWith('/v1/models')) {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ object: 'list', data: [{ id: 'instant', object: 'model', created: 0, owned_by: 'bench' }] }));
      return;
    }
    if (raw.includes('"stream":true')) res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' }).end(SSE);
    else res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(FIXED) }).end(FIXED);
  });
});
await new Promise<void>((r) => backend.listen(0, '127.0.0.1', r));
const backendUrl = `http://127.0.0.1:${(backend.address() as { port: number }).port}`;

// ---- the gateway in front of it ----
const home = mkdtempSync(join(tmpdir(), 'tetra-bench-gw-'));
writeFileSync(join(home, 'plans.json'), JSON.stringify({ plans: { bench: { rpm: 1_000_000_000, tpm: 1_000_000_000 } } }));
const key = new KeyStore(join(home, 'tetra.db')).create('bench', 'bench').key;
const gw = spawn(process.execPath, [join(import.meta.dirname, '../bin/tetra.js'), 'serve', '--upstream', `${backendUrl}/v1`, '--upstream-model', 'instant', '--port', '0'], {
  env: { ...process.env, TETRA_HOME: home }, stdio: ['ignore', 'pipe', 'pipe'],
});
let err = '';
gw.stderr!.on('data', (d: Buffer) => { err += d; });
const gatewayUrl = await new Promise<string | null>((resolve) => {
  let out = '';
  gw.stdout!.on('data', (d: Buffer) => { out += d; const m = /listening on (\S+)/.exec(out); if (m) resolve(m[1]); });
  gw.on('exit', () => resolve(null));
});
if (!gatewayUrl) {
  console.error(`bench:gateway: tetra serve --upstream did not start (the upstream engine lands with the engines branch):\n${err.trim()}`);
  backend.close();
  process.exit(2);
}

const body = JSON.stringify({ model: 'instant', messages: [{ role: 'user', content: 'Say ok.' }], max_tokens: 1 });
async function load(url: string, connections: number, auth: boolean) {
  const r = await autocannon({
    url: `${url}/v1/chat/completions`, method: 'POST', connections, duration: DURATION,
    headers: { 'content-type': 'application/json', ...(auth ? { authorization: `Bearer ${key}` } : {}) }, body,
  });
  if (r.non2xx || r.errors) throw new Error(`${url}: ${r.non2xx} non-2xx answers and ${r.errors} errors at ${connections} clients`);
  return { rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99 };
}

const rows: string[][] = [];
let overhead64 = NaN;
for (const c of CLIENTS) {
  await load(backendUrl, c, false).catch(() => {}); // warm-up pass is not counted
  const direct = await load(backendUrl, c, false);
  await load(gatewayUrl, c, true).catch(() => {});
  const via = await load(gatewayUrl, c, true);
  rows.push([String(c), direct.rps.toFixed(0), String(direct.p50), String(direct.p99), via.rps.toFixed(0), String(via.p50), String(via.p99), (via.p99 - direct.p99).toFixed(2)]);
  if (c === 64) overhead64 = via.p99 - direct.p99;
}
gw.kill('SIGTERM');
backend.close();

const header = ['clients', 'direct req/s', 'p50 ms', 'p99 ms', 'gateway req/s', 'p50 ms', 'p99 ms', 'p99 overhead ms'];
const w = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
for (const r of [header, ...rows]) console.log(r.map((x, i) => x.padStart(w[i])).join('  '));
console.log(`gateway_p99_overhead_ms ${overhead64.toFixed(2)}`);
