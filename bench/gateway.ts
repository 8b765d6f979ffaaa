// Gateway overhead: an OpenAI-compatible backend that answers a fixed completion at once (its own
// process), hit directly and through `tetra serve --upstream` (auth, plan, limits, token count,
// ledger row and metrics on every request), on loopback, at 1, 16 and 64 concurrent clients.
//
// Two measurements per client count, each side by side (direct, then through the gateway):
// - latency under a fixed load: every client sends at the default plan's limit (200 requests per
//   minute, as GPT-4 at launch), so 64 clients offer 213 req/s in all. Open loop (the wrk2
//   method, bench/loadgen.ts): requests are due at fixed times and each latency runs from the
//   moment its request was due, so a stalled server pays for the requests it delays. Latency
//   overhead is a figure of a server that keeps up with its load; closed-loop tools measure
//   queueing behind a saturated server instead.
// - capacity: autocannon (closed loop: each client sends its next request when the last answer
//   arrives), the requests per second each side sustains.
// A bare proxy (bench/bare-proxy.ts: node:http in, the same upstream client out, nothing else)
// runs the 64-client rounds too: the floor any Node proxy pays here for one more process and two
// more loopback hops.
// Prints `gateway_p99_overhead_ms <p99 through the gateway - p99 direct, 64 clients, fixed load>`,
// then ends with the judged figure `gateway_vs_bare_p99 <the gateway's p99 / the bare proxy's p99,
// same rounds>` (goal: <= 1.3, as issue 12 measured it: 1.50 ms / 0.92 ms = 1.63): on two shared
// cores the absolute p99 is mostly the machine, and the bare proxy pays the same machine.
// Governance runs as in production: a key is created and sent as a bearer, limits are set high
// enough never to refuse, the ledger is the SQLite WAL file in a temp TETRA_HOME.
// The machine is noisy (a p99 over ~2,000 requests moves by milliseconds between identical runs),
// so each fixed-load figure is the median over --rounds rounds that alternate which side goes first.
// Usage: npm run bench:gateway [-- --duration 8 --rounds 3 --rpm 200 --clients 1,16,64]
import autocannon from 'autocannon';
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:http';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KeyStore } from '../src/gateway/index.ts';
import { openLoop, percentile } from './loadgen.ts';
import { oneLineFailures } from './prereqs.ts';

oneLineFailures('bench:gateway');

const arg = (name: string, dflt: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
};
const DURATION = arg('duration', 8);
const ROUNDS = arg('rounds', 3);
const RPM = arg('rpm', 200);
const clientsArg = process.argv.indexOf('--clients');
const CLIENTS = clientsArg >= 0 ? process.argv[clientsArg + 1].split(',').map(Number) : [1, 16, 64];

// ---- the backend that answers instantly ----
function serveBackend(): Promise<string> {
  const FIXED = JSON.stringify({
    id: 'chatcmpl-fixed',
    object: 'chat.completion',
    created: 0,
    model: 'instant',
    choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop', logprobs: null }],
    usage: { prompt_tokens: 8, completion_tokens: 1, total_tokens: 9 },
  });
  // A streamed request (the upstream engine always streams) gets what vLLM or OpenAI would send:
  // SSE chunks (role, content, finish, usage) and [DONE], all at once.
  const chunk = (choices: unknown[], usage: unknown = null) =>
    `data: ${JSON.stringify({ id: 'chatcmpl-fixed', object: 'chat.completion.chunk', created: 0, model: 'instant', choices, usage })}\n\n`;
  const SSE =
    chunk([{ index: 0, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null }]) +
    chunk([{ index: 0, delta: { content: 'ok' }, logprobs: null, finish_reason: null }]) +
    chunk([{ index: 0, delta: {}, logprobs: null, finish_reason: 'stop' }]) +
    chunk([], { prompt_tokens: 8, completion_tokens: 1, total_tokens: 9 }) +
    'data: [DONE]\n\n';
  const backend = createServer((req, res) => {
    let raw = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => {
      raw += c;
    });
    req.on('end', () => {
      if (req.url?.startsWith('/v1/models')) {
        res
          .writeHead(200, { 'content-type': 'application/json' })
          .end(JSON.stringify({ object: 'list', data: [{ id: 'instant', object: 'model', created: 0, owned_by: 'bench' }] }));
        return;
      }
      if (raw.includes('"stream":true')) res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' }).end(SSE);
      else res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(FIXED) }).end(FIXED);
    });
  });
  return new Promise((resolve) =>
    backend.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(backend.address() as { port: number }).port}`)),
  );
}

/** Starts a child and resolves to the URL it prints as `listening on URL` (null if it exits first). */
function started(child: ChildProcess, what: string): Promise<string> {
  let out = '',
    err = '';
  child.stderr?.on('data', (d: Buffer) => {
    err += d;
  });
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => {
      out += d;
      const m = /listening on (\S+)/.exec(out);
      if (m) resolve(m[1]);
    });
    child.on('exit', () => reject(new Error(`bench:gateway: ${what} did not start:\n${err.trim()}`)));
  });
}

async function main(): Promise<void> {
  const backend = spawn(process.execPath, [...process.execArgv, import.meta.filename, '--backend'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const backendUrl = await started(backend, 'the instant backend');

  const home = mkdtempSync(join(tmpdir(), 'tetra-bench-gw-'));
  writeFileSync(join(home, 'plans.json'), JSON.stringify({ plans: { bench: { rpm: 1_000_000_000, tpm: 1_000_000_000 } } }));
  const key = new KeyStore(join(home, 'tetra.db')).create('bench', 'bench').key;
  // Started as `npx tetra serve` starts it: through the script's shebang, with its V8 flags.
  const gw = spawn(
    join(import.meta.dirname, '../bin/tetra.js'),
    ['serve', '--upstream', `${backendUrl}/v1`, '--upstream-model', 'instant', '--port', '0'],
    {
      env: { ...process.env, TETRA_HOME: home },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let gatewayUrl: string;
  try {
    gatewayUrl = await started(gw, 'tetra serve --upstream');
  } catch (e) {
    console.error((e as Error).message);
    backend.kill();
    process.exit(2);
  }

  const bare = spawn(process.execPath, [...process.execArgv, join(import.meta.dirname, 'bare-proxy.ts'), backendUrl], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const bareUrl = await started(bare, 'the bare proxy');

  const body = JSON.stringify({ model: 'instant', messages: [{ role: 'user', content: 'Say ok.' }], max_tokens: 1 });
  const headers = (auth: boolean) => ({ 'content-type': 'application/json', ...(auth ? { authorization: `Bearer ${key}` } : {}) });
  const fixedLoad = async (url: string, connections: number, auth: boolean) => {
    const r = await openLoop({
      url: `${url}/v1/chat/completions`,
      method: 'POST',
      connections,
      rate: (connections * RPM) / 60,
      durationMs: DURATION * 1000,
      headers: headers(auth),
      body,
    });
    if (r.errors) throw new Error(`${url}: ${r.errors} failed requests at ${connections} clients`);
    return { p50: percentile(r.latencies, 50), p99: percentile(r.latencies, 99) };
  };
  const capacity = async (url: string, connections: number, auth: boolean) => {
    const r = await autocannon({
      url: `${url}/v1/chat/completions`,
      method: 'POST',
      connections,
      duration: Math.max(3, DURATION / 2),
      headers: headers(auth),
      body,
    });
    if (r.non2xx || r.errors) throw new Error(`${url}: ${r.non2xx} non-2xx answers and ${r.errors} errors at ${connections} clients`);
    return r.requests.average;
  };

  const rows: string[][] = [];
  let overhead64 = NaN;
  let bareLine = '';
  await capacity(backendUrl, 16, false); // warm-up passes (JIT, connection pools) are not counted
  await capacity(gatewayUrl, 16, true);
  await capacity(bareUrl, 16, false);
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];
  let ratio64 = NaN;
  for (const c of CLIENTS) {
    const d: { p50: number; p99: number }[] = [],
      g: { p50: number; p99: number }[] = [],
      b: { p50: number; p99: number }[] = [];
    // At 64 clients the bare proxy (bench/bare-proxy.ts) runs in the same rounds, the three sides
    // in a rotating order, so the machine's drift reaches all of them alike.
    const sides =
      c === 64
        ? [() => fixedLoad(backendUrl, c, false), () => fixedLoad(gatewayUrl, c, true), () => fixedLoad(bareUrl, c, false)]
        : [() => fixedLoad(backendUrl, c, false), () => fixedLoad(gatewayUrl, c, true)];
    const into = [d, g, b];
    for (let r = 0; r < ROUNDS; r++) {
      for (let k = 0; k < sides.length; k++) {
        const side = (r + k) % sides.length;
        into[side].push(await sides[side]());
      }
    }
    const direct = { p50: median(d.map((x) => x.p50)), p99: median(d.map((x) => x.p99)) };
    const via = { p50: median(g.map((x) => x.p50)), p99: median(g.map((x) => x.p99)) };
    if (c === 64) {
      const bare = { p50: median(b.map((x) => x.p50)), p99: median(b.map((x) => x.p99)) };
      const bareOverhead = bare.p99 - direct.p99;
      bareLine = `bare proxy (node:http + the upstream client, nothing else), ${c} clients: p50 ${bare.p50.toFixed(2)} ms, p99 ${bare.p99.toFixed(2)} ms, p99 overhead ${bareOverhead.toFixed(2)} ms`;
      ratio64 = via.p99 / bare.p99;
    }
    const capDirect = await capacity(backendUrl, c, false);
    const capVia = await capacity(gatewayUrl, c, true);
    const overhead = via.p99 - direct.p99;
    rows.push([
      String(c),
      ((c * RPM) / 60).toFixed(1),
      direct.p50.toFixed(2),
      direct.p99.toFixed(2),
      via.p50.toFixed(2),
      via.p99.toFixed(2),
      overhead.toFixed(2),
      capDirect.toFixed(0),
      capVia.toFixed(0),
    ]);
    console.error(
      `${c} clients: p99 direct ${d.map((x) => x.p99.toFixed(2)).join(' ')} | gateway ${g.map((x) => x.p99.toFixed(2)).join(' ')}`,
    );
    if (c === 64) overhead64 = overhead;
  }
  gw.kill('SIGTERM');
  backend.kill();
  bare.kill();

  console.log(
    `fixed load: each client at ${RPM} requests/minute, open loop, ${DURATION} s per side, median of ${ROUNDS} rounds; capacity: closed loop (autocannon)`,
  );
  const header = [
    'clients',
    'offered req/s',
    'direct p50 ms',
    'p99 ms',
    'gateway p50 ms',
    'p99 ms',
    'p99 overhead ms',
    'capacity direct req/s',
    'gateway req/s',
  ];
  const w = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  for (const r of [header, ...rows]) console.log(r.map((x, i) => x.padStart(w[i])).join('  '));
  if (bareLine) console.log(bareLine);
  if (CLIENTS.includes(64)) {
    console.log(`gateway_p99_overhead_ms ${overhead64.toFixed(2)}`);
    console.log(`gateway_vs_bare_p99 ${ratio64.toFixed(2)}`);
  }
  process.exit(0); // the backend's keep-alive sockets would hold the process open
}

if (process.argv.includes('--backend')) console.log(`listening on ${await serveBackend()}`);
else await main();
