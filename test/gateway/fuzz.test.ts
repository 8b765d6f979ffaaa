// Hostile input, at volume: TETRA_FUZZ_COUNT (default 10,000) requests from a seeded RNG,
// mutations of valid chat and completion requests plus classes of hostile input (wrong types,
// missing fields, huge numbers, deep nesting, invalid UTF-8, lone surrogates, bad base64,
// decompression-bomb image headers, oversized and slow bodies, malformed HTTP), sent over real
// HTTP with keep-alive on parallel connections. The server must never answer 5xx, must wrap
// every non-2xx in the error envelope, and must still serve normally afterwards.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Agent, request } from 'node:http';
import { connect } from 'node:net';
import { rng } from '../helpers.ts';
import { png, post, serve, tinyCheckpoint, type Served } from './fixture.ts';

const COUNT = Number(process.env.TETRA_FUZZ_COUNT ?? 10_000);
const SEED = Number(process.env.TETRA_FUZZ_SEED ?? 1234);
const PARALLEL = 16;

interface Case {
  kind: string;
  method: string;
  path: string;
  headers: Record<string, string>;
  body: Buffer;
}

type R = () => number;
const pick = <T>(r: R, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];
const int = (r: R, lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));

function weirdValue(r: R, depth = 0): unknown {
  switch (int(r, 0, 15)) {
    case 0:
      return null;
    case 1:
      return pick(r, [true, false]);
    case 2:
      return pick(r, [0, -1, 1, 2, 3.5, 1e308, -1e308, 2 ** 53, -(2 ** 63), 1e-320, 129, 4097, 100000]);
    case 3:
      return '';
    case 4:
      return 'x'.repeat(int(r, 1, 5000));
    case 5:
      return pick(r, [
        '\ud800',
        '\udfff\ud800',
        '\u0000',
        '🙂'.repeat(50),
        '<|end|><|assistant|>',
        '__proto__',
        'constructor',
        'NaN',
        '1e999',
      ]);
    case 6:
      return [];
    case 7:
      return {};
    case 8:
      return depth < 3 ? Array.from({ length: int(r, 1, 4) }, () => weirdValue(r, depth + 1)) : 0;
    case 9:
      return depth < 3
        ? Object.fromEntries(
            Array.from({ length: int(r, 1, 4) }, (_, i) => [
              pick(r, ['role', 'content', 'type', 'text', 'url', '__proto__', `k${i}`]),
              weirdValue(r, depth + 1),
            ]),
          )
        : {};
    case 10:
      return { type: 'image_url', image_url: { url: badImageUrl(r) } };
    case 11:
      return { type: 'text', text: weirdValue(r, depth + 1) };
    case 12:
      return { role: pick(r, ['user', 'system', 'developer', 'assistant', 'tool', 'USER', '']), content: weirdValue(r, depth + 1) };
    case 13:
      return Object.fromEntries(Array.from({ length: int(r, 1, 2000) }, (_, i) => [String(i * 7919), int(r, -200, 200)]));
    case 14:
      return pick(r, ['text', 'json_object', 'json_schema', { type: 'json_schema', json_schema: { name: 'a b', schema: 5 } }]);
    default:
      return -0;
  }
}

function badImageUrl(r: R): string {
  switch (int(r, 0, 7)) {
    case 0:
      return 'data:image/png;base64,' + 'A'.repeat(int(r, 1, 50)) + '!*';
    case 1:
      return 'data:image/png;base64,' + Buffer.from(Array.from({ length: int(r, 0, 300) }, () => int(r, 0, 255))).toString('base64');
    case 2:
      return 'data:image/png;base64,' + png(int(r, 1, 1 << 20), int(r, 1, 1 << 20)).toString('base64');
    case 3: {
      // JPEG SOF0 claiming up to 65535 x 65535
      const b = Buffer.from([0xff, 0xd8, 0xff, 0xc0, 0x00, 0x11, 0x08, 0, 0, 0, 0, 0x03, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1, 0xff, 0xd9]);
      b.writeUInt16BE(int(r, 0, 65535), 7);
      b.writeUInt16BE(int(r, 0, 65535), 9);
      return 'data:image/jpeg;base64,' + b.toString('base64');
    }
    case 4:
      return 'data:text/plain,hello';
    case 5:
      return pick(r, ['ftp://x/y.png', 'file:///etc/passwd', 'http://', 'not a url', 'javascript:alert(1)']);
    case 6:
      return 'data:image/gif;base64,' + Buffer.from('GIF89a\xff\xff\xff\xff', 'latin1').toString('base64');
    default:
      return 'data:image/png;base64,' + png(8, 8).toString('base64');
  }
}

const NO_SPECIALS = Object.fromEntries(Array.from({ length: 8 }, (_, i) => [256 + i, -100]));
function validChat(r: R): Record<string, unknown> {
  return {
    model: pick(r, ['tetra', 'tetra-2026-11-28', 'tetra-long']),
    max_tokens: int(r, 1, 3),
    temperature: r() * 2,
    n: int(r, 1, 2),
    messages: [
      { role: 'system', content: 'be brief' },
      { role: 'user', content: pick(r, ['hi', [{ type: 'text', text: 'hello' }]]) },
    ],
    logit_bias: { ...NO_SPECIALS },
    ...(r() < 0.3 ? { stream: true, stream_options: { include_usage: r() < 0.5 } } : {}),
    ...(r() < 0.2 ? { logprobs: true, top_logprobs: int(r, 0, 3) } : {}),
    ...(r() < 0.2 ? { stop: ['a', 'zz'] } : {}),
    ...(r() < 0.2 ? { seed: int(r, 0, 1e6) } : {}),
  };
}
function validCompletion(r: R): Record<string, unknown> {
  return {
    model: 'tetra',
    prompt: pick(r, ['hello', ['a', 'b c']]),
    echo: r() < 0.5,
    max_tokens: int(r, 1, 2),
    logprobs: int(r, 0, 2),
    logit_bias: { ...NO_SPECIALS },
  };
}

/** Replaces (or deletes) one value somewhere in a JSON tree. */
function mutate(r: R, v: Record<string, unknown>): unknown {
  const paths: (string | number)[][] = [];
  (function walk(x: unknown, p: (string | number)[]) {
    paths.push(p);
    if (Array.isArray(x)) x.forEach((y, i) => walk(y, [...p, i]));
    else if (x && typeof x === 'object') for (const k of Object.keys(x)) walk((x as Record<string, unknown>)[k], [...p, k]);
  })(v, []);
  const p = pick(r, paths.slice(1));
  if (!p) return weirdValue(r);
  let parent: any = v;
  for (const k of p.slice(0, -1)) parent = parent[k];
  const last = p[p.length - 1];
  if (r() < 0.25 && !Array.isArray(parent)) delete parent[last];
  else parent[last] = weirdValue(r);
  if (r() < 0.2)
    v[
      pick(r, [
        'n',
        'max_tokens',
        'top_logprobs',
        'logprobs',
        'temperature',
        'top_p',
        'presence_penalty',
        'seed',
        'stop',
        'response_format',
        'stream_options',
        'tools',
        'echo',
        'prompt',
      ])
    ] = weirdValue(r);
  return v;
}

function makeCase(_i: number, r: R): Case {
  const json = (kind: string, body: unknown, path = '/v1/chat/completions'): Case => ({
    kind,
    method: 'POST',
    path,
    headers: { 'content-type': 'application/json' },
    body: Buffer.from(JSON.stringify(body) ?? 'null'),
  });
  const roll = r();
  if (roll < 0.45) return json('mutated-chat', mutate(r, validChat(r)));
  if (roll < 0.6) return json('mutated-completion', mutate(r, validCompletion(r)), '/v1/completions');
  if (roll < 0.65) return json('valid-chat', validChat(r));
  if (roll < 0.7) {
    // invalid UTF-8 inside an otherwise plausible body
    const b = Buffer.from(JSON.stringify(validChat(r)));
    for (let k = 0; k < 3; k++) b[int(r, 0, b.length - 1)] = pick(r, [0xff, 0xc0, 0x80, 0xed]);
    return { ...json('invalid-utf8', null), body: b };
  }
  if (roll < 0.74)
    return { ...json('random-bytes', null), body: Buffer.from(Array.from({ length: int(r, 0, 400) }, () => int(r, 0, 255))) };
  if (roll < 0.78) {
    const s = JSON.stringify(validChat(r));
    return { ...json('truncated', null), body: Buffer.from(s.slice(0, int(r, 0, s.length - 1))) };
  }
  if (roll < 0.82) {
    const d = int(r, 30, 20000),
      open = pick(r, ['[', '{"a":']),
      close = open === '[' ? ']' : '}';
    return { ...json('deep-nesting', null), body: Buffer.from(`{"model":"tetra","messages":${open.repeat(d)}1${close.repeat(d)}}`) };
  }
  if (roll < 0.88) {
    const v = validChat(r);
    (v.messages as any[])[1] = {
      role: 'user',
      content: [
        { type: 'text', text: 'look' },
        { type: 'image_url', image_url: { url: badImageUrl(r), ...(r() < 0.3 ? { detail: weirdValue(r) } : {}) } },
      ],
    };
    return json('image', v);
  }
  if (roll < 0.91)
    return json('huge-numbers', {
      ...validChat(r),
      [pick(r, ['n', 'max_tokens', 'max_completion_tokens', 'top_logprobs', 'seed', 'temperature'])]: pick(r, [
        1e308,
        2 ** 53 + 2,
        -1e308,
        1e15,
        129,
        1 << 21,
      ]),
    });
  if (roll < 0.94) {
    const c = json('headers', validChat(r));
    c.headers = pick<Record<string, string>>(r, [
      { 'content-type': 'text/plain' },
      { 'content-encoding': 'gzip' },
      { 'content-type': 'application/json', authorization: 'Bearer ' + 'x'.repeat(int(r, 0, 3000)) },
      {},
    ]);
    return c;
  }
  if (roll < 0.97)
    return {
      kind: 'route',
      method: pick(r, ['GET', 'PUT', 'DELETE', 'PATCH', 'POST']),
      path: pick(r, [
        '/',
        '/v1',
        '/v1/models/%E0%A4%A',
        '/v1/models/' + 'a'.repeat(300),
        '/v1/chat/completions?x=1',
        '/metrics',
        '/healthz',
        '/v1/models',
        '/../etc/passwd',
        '/v1/completions/',
      ]),
      headers: {},
      body: Buffer.alloc(0),
    };
  return json('oversized', { ...validChat(r), messages: [{ role: 'user', content: 'x'.repeat(300_000) }] });
}

interface Answer {
  status: number;
  body: string;
  contentType: string;
}

function send(agent: Agent, base: URL, c: Case): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        agent,
        host: base.hostname,
        port: base.port,
        method: c.method,
        path: c.path,
        headers: { ...c.headers, 'content-length': String(c.body.length) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (d: Buffer) => chunks.push(d));
        res.on('end', () =>
          resolve({
            status: res.statusCode!,
            body: Buffer.concat(chunks).toString('utf8'),
            contentType: String(res.headers['content-type'] ?? ''),
          }),
        );
        res.on('error', reject);
      },
    );
    req.setTimeout(30_000, () => req.destroy(new Error('no answer within 30 s')));
    req.on('error', reject);
    req.end(c.body);
  });
}

/** Raw-socket cases: a body that never finishes, and bytes that are not HTTP at all. */
function raw(base: URL, payload: string, wait: boolean): Promise<string> {
  return new Promise((resolve) => {
    const sock = connect(Number(base.port), base.hostname);
    let got = '';
    sock.on('data', (d) => (got += d));
    sock.on('close', () => resolve(got));
    sock.on('error', () => resolve(got));
    sock.write(payload);
    if (!wait) setTimeout(() => sock.end(), 50);
  });
}

function checkAnswer(c: Case, a: Answer, tally: Map<string, number>): void {
  tally.set(`${c.kind} ${a.status}`, (tally.get(`${c.kind} ${a.status}`) ?? 0) + 1);
  assert.ok(a.status < 500, `${c.kind} got ${a.status}: ${a.body.slice(0, 300)}\nrequest: ${c.body.toString('utf8').slice(0, 300)}`);
  if (a.status >= 200 && a.status < 300) {
    if (a.contentType.startsWith('text/event-stream'))
      assert.ok(a.body.endsWith('data: [DONE]\n\n'), `${c.kind}: stream did not end with [DONE]: ${a.body.slice(-200)}`);
    return;
  }
  let j: any;
  try {
    j = JSON.parse(a.body);
  } catch {
    assert.fail(`${c.kind} ${a.status} is not JSON: ${a.body.slice(0, 200)}`);
  }
  assert.deepEqual(Object.keys(j).sort(), ['error'], `${c.kind} ${a.status}: ${a.body.slice(0, 200)}`);
  assert.deepEqual(Object.keys(j.error).sort(), ['code', 'message', 'param', 'type']);
  assert.ok(typeof j.error.message === 'string' && j.error.message.length > 0);
}

describe(`fuzz: ${COUNT} hostile requests`, () => {
  let s: Served;
  before(async () => {
    s = await serve({ dir: tinyCheckpoint(64), extra: { maxBodyBytes: 256 << 10, bodyTimeoutMs: 250, images: { allowHttp: false } } });
  });
  after(() => s.close());

  it('never answers 5xx, always uses the envelope, and keeps serving', async () => {
    const base = new URL(s.url);
    const agent = new Agent({ keepAlive: true, maxSockets: PARALLEL });
    const r = rng(SEED);
    const cases = Array.from({ length: COUNT }, (_, i) => makeCase(i, r));
    const tally = new Map<string, number>();
    const slowest: { ms: number; what: string }[] = [];
    const t0 = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: PARALLEL }, async () => {
        while (next < cases.length) {
          const c = cases[next++],
            t = performance.now();
          const a = await send(agent, base, c);
          slowest.push({ ms: performance.now() - t, what: `${c.kind} ${a.status} ${c.body.toString('utf8').slice(0, 160)}` });
          checkAnswer(c, a, tally);
        }
      }),
    );
    // Slow bodies and broken HTTP, on their own sockets.
    const slow = await Promise.all(
      Array.from({ length: 8 }, () =>
        raw(
          base,
          'POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n{"model":',
          true,
        ),
      ),
    );
    for (const t of slow) {
      assert.match(t, /^HTTP\/1\.1 408/);
      assert.match(t, /"code":"request_timeout"/);
    }
    const broken = await Promise.all(
      [
        'GARBAGE\r\n\r\n',
        'GET / HTTP/9.9\r\n\r\n',
        'POST /v1/chat/completions HTTP/1.1\r\ncontent-length: -5\r\n\r\n',
        '\x00\x01\x02\r\n\r\n',
      ].map((p) => raw(base, p, false)),
    );
    for (const t of broken) if (t) assert.match(t, /^HTTP\/1\.1 4\d\d/, t.slice(0, 100));
    const seconds = (performance.now() - t0) / 1000;
    agent.destroy();
    slowest.sort((a, b) => b.ms - a.ms);
    if (process.env.TETRA_FUZZ_VERBOSE) for (const x of slowest.slice(0, 8)) console.log(`slow: ${x.ms.toFixed(0)} ms ${x.what}`);

    const ok = await post(s.url, '/v1/chat/completions', {
      model: 'tetra',
      messages: [{ role: 'user', content: 'still there?' }],
      max_tokens: 2,
      logit_bias: NO_SPECIALS,
    });
    assert.equal(ok.status, 200, ok.text);
    assert.equal(ok.json.usage.completion_tokens, 2);
    const byStatus = new Map<string, number>();
    for (const [k, n] of tally) {
      const st = k.split(' ')[1];
      byStatus.set(st, (byStatus.get(st) ?? 0) + n);
    }
    console.log(
      `fuzz: ${COUNT} requests in ${seconds.toFixed(1)} s (${(COUNT / seconds).toFixed(0)}/s), by status ${JSON.stringify(Object.fromEntries([...byStatus].sort()))}`,
    );
    console.log(`fuzz: by class ${JSON.stringify(Object.fromEntries([...tally].sort()))}`);
  });
});
