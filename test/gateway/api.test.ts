// The HTTP API over real HTTP against the builtin engine: OpenAI response and chunk shapes, the
// catalog (aliases, snapshots, windows, prices), every error class in the envelope with the
// right status and field, images (bad base64, decompression bombs, remote fetch), completions
// for log-likelihood scoring, metrics, and disconnects stopping generation.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, request } from 'node:http';
import { parseCatalog } from '../../src/gateway/index.ts';
import { fetchImage, DEFAULT_IMAGE_LIMITS, isNonPublicAddress } from '../../src/gateway/http/images.ts';
import { png, post, serve, sseEvents, SNAPSHOT, SNAPSHOT_LONG, type Served } from './fixture.ts';

const NO_SPECIALS = Object.fromEntries(Array.from({ length: 8 }, (_, i) => [256 + i, -100]));
const chat = (over: Record<string, unknown> = {}) => ({
  model: 'tetra',
  messages: [{ role: 'user', content: 'hi' }],
  max_tokens: 4,
  temperature: 0,
  logit_bias: NO_SPECIALS,
  ...over,
});

const imagePart = (url: string) => ({ type: 'image_url', image_url: { url } });
const dataUrl = (b: Buffer) => `data:image/png;base64,${b.toString('base64')}`;

function assertEnvelope(r: { status: number; json: any }, status: number, code: string | null, param?: string | null) {
  assert.equal(r.status, status, JSON.stringify(r.json));
  assert.deepEqual(Object.keys(r.json.error).sort(), ['code', 'message', 'param', 'type']);
  assert.equal(typeof r.json.error.message, 'string');
  if (code !== undefined) assert.equal(r.json.error.code, code);
  if (param !== undefined) assert.equal(r.json.error.param, param);
}

describe('HTTP API', () => {
  let s: Served;
  before(async () => {
    s = await serve({ plans: {}, extra: { maxBodyBytes: 1 << 20, bodyTimeoutMs: 300 } });
  });
  after(() => s.close());

  it('answers a chat completion in the OpenAI shape, naming the snapshot behind the alias', async () => {
    const r = await post(s.url, '/v1/chat/completions', chat({ logit_bias: { ...NO_SPECIALS, 120: 100 } }));
    assert.equal(r.status, 200);
    const j = r.json;
    assert.match(j.id, /^chatcmpl-/);
    assert.equal(j.object, 'chat.completion');
    assert.equal(j.model, SNAPSHOT);
    assert.match(j.system_fingerprint, /^fp_/);
    assert.ok(Number.isInteger(j.created));
    assert.deepEqual(j.choices, [
      { index: 0, message: { role: 'assistant', content: 'xxxx', refusal: null }, logprobs: null, finish_reason: 'length' },
    ]);
    assert.equal(j.usage.completion_tokens, 4);
    assert.equal(j.usage.total_tokens, j.usage.prompt_tokens + 4);
    assert.equal(r.headers.get('x-ratelimit-limit-requests'), '200');
    assert.equal(r.headers.get('x-ratelimit-limit-tokens'), '40000');
    const [row] = s.ledger.find(j.id);
    assert.equal(row.model, SNAPSHOT);
    assert.ok(Math.abs(row.cost - (j.usage.prompt_tokens * 0.03 + 4 * 0.06) / 1000) < 1e-12);
  });

  it('treats developer messages as system messages', async () => {
    const a = await post(
      s.url,
      '/v1/chat/completions',
      chat({
        messages: [
          { role: 'developer', content: 'be terse' },
          { role: 'user', content: 'hi' },
        ],
      }),
    );
    const b = await post(
      s.url,
      '/v1/chat/completions',
      chat({
        messages: [
          { role: 'system', content: 'be terse' },
          { role: 'user', content: [{ type: 'text', text: 'hi' }] },
        ],
      }),
    );
    assert.equal(a.status, 200);
    assert.deepEqual(a.json.choices, b.json.choices);
    assert.equal(a.json.usage.prompt_tokens, b.json.usage.prompt_tokens);
  });

  it('streams role delta, content, finish_reason, a usage chunk with no choices, then [DONE]', async () => {
    const r = await post(
      s.url,
      '/v1/chat/completions',
      chat({ stream: true, stream_options: { include_usage: true }, n: 2, logit_bias: { ...NO_SPECIALS, 121: 100 } }),
    );
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type')!, /^text\/event-stream/);
    const ev = sseEvents(r.text);
    assert.equal(ev.at(-1), '[DONE]');
    const chunks = ev.slice(0, -1).map((e) => JSON.parse(e));
    for (const c of chunks) {
      assert.equal(c.object, 'chat.completion.chunk');
      assert.equal(c.model, SNAPSHOT);
    }
    assert.deepEqual(
      chunks.slice(0, 2).map((c) => c.choices[0].delta),
      [
        { role: 'assistant', content: '' },
        { role: 'assistant', content: '' },
      ],
    );
    for (const i of [0, 1]) {
      const mine = chunks.filter((c) => c.choices[0]?.index === i);
      assert.equal(mine.map((c) => c.choices[0].delta.content ?? '').join(''), 'yyyy');
      assert.equal(mine.at(-1).choices[0].finish_reason, 'length');
    }
    const last = chunks.at(-1);
    assert.deepEqual(last.choices, []);
    assert.equal(last.usage.completion_tokens, 8);
    assert.ok(chunks.slice(0, -1).every((c) => c.usage === null));
  });

  it('lists snapshots and aliases with windows, prices and deprecation dates', async () => {
    const list: any = await (await fetch(s.url + '/v1/models')).json();
    assert.equal(list.object, 'list');
    const byId = Object.fromEntries(list.data.map((m: any) => [m.id, m]));
    assert.deepEqual(Object.keys(byId).sort(), ['tetra', 'tetra-2026-11-28', 'tetra-long', 'tetra-long-2026-11-28']);
    assert.equal(byId.tetra.snapshot, SNAPSHOT);
    assert.equal(byId.tetra.alias, true);
    assert.equal(byId[SNAPSHOT].context_window, 128);
    assert.equal(byId[SNAPSHOT_LONG].context_window, 256);
    assert.deepEqual(byId['tetra-long'].pricing, { prompt_per_1k: 0.06, completion_per_1k: 0.12, currency: 'USD' });
    assert.equal(byId[SNAPSHOT].deprecation_date, '2027-06-14');
    const one: any = await (await fetch(s.url + '/v1/models/tetra-long')).json();
    assert.equal(one.snapshot, SNAPSHOT_LONG);
    const missing = await fetch(s.url + '/v1/models/gpt-9');
    assertEnvelope({ status: missing.status, json: await missing.json() }, 404, 'model_not_found');
  });

  it("dates a snapshot by its name's date, a point release (.2) included; other names 0", () => {
    const c = parseCatalog(
      {
        engines: { b: { kind: 'builtin', checkpoint: 'x' } },
        models: ['tetra-1-2026-12-06', 'tetra-1-2026-12-06.2', 'tetra-1-vision-2026-12-07', 'custom', 'tetra-2026-13-45'].map((id) => ({
          id,
          engine: 'b',
        })),
      },
      'test',
    );
    const day = (d: string) => Date.parse(d) / 1000;
    assert.deepEqual(
      c.snapshots.map((x) => x.created),
      [day('2026-12-06'), day('2026-12-06'), day('2026-12-07'), 0, 0],
    );
  });

  it("enforces each snapshot's own context window, with the counts in the message", async () => {
    const long = 'x'.repeat(150);
    const short = await post(s.url, '/v1/chat/completions', chat({ messages: [{ role: 'user', content: long }] }));
    assertEnvelope(short, 400, 'context_length_exceeded', 'messages');
    assert.match(short.json.error.message, /maximum context length is 128 tokens.*158 tokens \(154 in the messages, 4 in the completion\)/);
    const ok = await post(s.url, '/v1/chat/completions', chat({ model: 'tetra-long', messages: [{ role: 'user', content: long }] }));
    assert.equal(ok.status, 200);
    assert.equal(ok.json.model, SNAPSHOT_LONG);
  });

  it('answers bad requests with 400 naming the field and the limit', async () => {
    const cases: [unknown, string | null, RegExp][] = [
      ['{"model": "tetra", "messages": [', null, /could not parse the JSON body/],
      [{ messages: [] }, 'model', /model is required/],
      [{ model: 'tetra' }, 'messages', /messages is required/],
      [chat({ temperature: 3 }), 'temperature', /\[0, 2\], got 3/],
      [chat({ n: 0 }), 'n', /\[1, 128\]/],
      [chat({ max_tokens: 1.5 }), 'max_tokens', /integer/],
      [chat({ top_logprobs: 3 }), 'top_logprobs', /needs logprobs/],
      [chat({ messages: [{ role: 'wizard', content: 'x' }] }), 'messages[0].role', /must be "system", "developer", "user" or "assistant"/],
      [chat({ messages: [{ role: 'user', content: [{ type: 'audio' }] }] }), 'messages[0].content[0].type', /"text" or "image_url"/],
      [chat({ stop: ['a', 'b', 'c', 'd', 'e'] }), 'stop', /limit is 4/],
      [chat({ logit_bias: { abc: 1 } }), 'logit_bias', /token ids/],
      [chat({ stream_options: { include_usage: true } }), 'stream_options', /only allowed when stream is true/],
      [
        chat({ response_format: { type: 'json_schema', json_schema: { name: 'x', schema: { type: 'string', pattern: '^a' } } } }),
        'response_format',
        /pattern/,
      ],
      [chat({ tools: [{ type: 'function' }] }), 'tools', /not supported/],
    ];
    for (const [body, param, msg] of cases) {
      const r = await post(s.url, '/v1/chat/completions', body);
      assertEnvelope(r, 400, undefined as never, param);
      assert.match(r.json.error.message, msg);
    }
    assertEnvelope(await post(s.url, '/v1/chat/completions', Buffer.from([0x7b, 0xff, 0xfe, 0x7d]).toString('latin1')), 400, null);
    assertEnvelope(await post(s.url, '/v1/chat/completions', chat({ model: 'gpt-4' })), 404, 'model_not_found', 'model');
    assert.match(
      (await post(s.url, '/v1/chat/completions', chat({ model: 'gpt-4' }))).json.error.message,
      /The model `gpt-4` does not exist or you do not have access to it\./,
    );
  });

  it('refuses oversized bodies with 413, deep nesting with 400 and slow bodies with 408', async () => {
    const big = await post(s.url, '/v1/chat/completions', chat({ messages: [{ role: 'user', content: 'x'.repeat(2 << 20) }] }));
    assertEnvelope(big, 413, 'request_too_large');
    const deep = await post(s.url, '/v1/chat/completions', '['.repeat(10000) + ']'.repeat(10000));
    assertEnvelope(deep, 400, null);
    assert.match(deep.json.error.message, /nested more than 64 levels/);
    const slow = await new Promise<{ status: number; json: any }>((resolve, reject) => {
      const u = new URL(s.url);
      const req = request(
        {
          host: u.hostname,
          port: u.port,
          path: '/v1/chat/completions',
          method: 'POST',
          headers: { 'content-type': 'application/json', 'content-length': '100' },
        },
        (res: any) => {
          let t = '';
          res.on('data', (d: Buffer) => (t += d));
          res.on('end', () => resolve({ status: res.statusCode, json: JSON.parse(t) }));
        },
      );
      req.on('error', reject);
      req.write('{"model":');
    });
    assertEnvelope(slow, 408, 'request_timeout');
  });

  it('checks images: bad base64 names the part, a decompression bomb is 413, a model without vision says so', async () => {
    const at = (url: string) => chat({ messages: [{ role: 'user', content: [{ type: 'text', text: 'what is this?' }, imagePart(url)] }] });
    const bad = await post(s.url, '/v1/chat/completions', at('data:image/png;base64,iVBOR*w0K!!'));
    assertEnvelope(bad, 400, 'invalid_image_url', 'messages[0].content[1].image_url.url');
    const bomb = await post(s.url, '/v1/chat/completions', at(dataUrl(png(60000, 60000))));
    assertEnvelope(bomb, 413, 'request_too_large', 'messages[0].content[1].image_url.url');
    assert.match(bomb.json.error.message, /60000x60000/);
    const notImage = await post(
      s.url,
      '/v1/chat/completions',
      at(`data:image/png;base64,${Buffer.from('hello world!').toString('base64')}`),
    );
    assertEnvelope(notImage, 400, 'invalid_image_format');
    const fine = await post(s.url, '/v1/chat/completions', at(dataUrl(png(32, 32))));
    assertEnvelope(fine, 400, 'image_input_not_supported', 'messages');
    assert.match(fine.json.error.message, /model tetra does not accept image input/);
  });

  it('tells public addresses from loopback, private, link-local, CGNAT, multicast and IPv4-mapped ones', () => {
    for (const ip of [
      '127.0.0.1',
      '10.0.0.1',
      '172.16.5.4',
      '172.31.255.255',
      '192.168.1.1',
      '169.254.169.254',
      '100.64.0.1',
      '0.0.0.0',
      '224.0.0.1',
      '::1',
      '::',
      'fe80::1',
      'fd12:3456::1',
      'ff02::1',
      '::ffff:127.0.0.1',
      '::ffff:10.0.0.1',
    ]) {
      assert.equal(isNonPublicAddress(ip), true, ip);
    }
    for (const ip of ['8.8.8.8', '1.1.1.1', '172.32.0.1', '100.128.0.1', '193.0.0.1', '2001:4860:4860::8888', '::ffff:8.8.8.8']) {
      assert.equal(isNonPublicAddress(ip), false, ip);
    }
  });

  it('fetches http image URLs with a size cap and a timeout', async () => {
    const img = png(16, 16);
    const srv = createServer((req, res) => {
      if (req.url === '/ok.png') {
        res.writeHead(200, { 'content-type': 'image/png' });
        res.end(img);
      } else if (req.url === '/huge.png') {
        res.writeHead(200);
        res.write(Buffer.alloc(1 << 16));
        res.end(Buffer.alloc(1 << 16));
      } else if (req.url === '/slow.png') {
        res.writeHead(200);
        res.write(img.subarray(0, 10)); /* never ends */
      } else if (req.url === '/moved') {
        res.writeHead(302, { location: '/ok.png' });
        res.end();
      } else if (req.url === '/loop') {
        res.writeHead(302, { location: '/loop' });
        res.end();
      } else {
        res.writeHead(404);
        res.end();
      }
    });
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const base = `http://127.0.0.1:${(srv.address() as any).port}`;
    // This test's image server is on loopback, which a default server refuses to fetch from (below).
    const limits = { ...DEFAULT_IMAGE_LIMITS, maxBytes: 100_000, fetchTimeoutMs: 300, allowPrivateAddresses: true };
    try {
      const ok = await fetchImage(`${base}/ok.png`, 'p', limits);
      assert.equal((await fetchImage(`${base}/moved`, 'p', limits)).data.length, img.length, 'redirects are followed');
      await assert.rejects(
        fetchImage(`${base}/loop`, 'p', limits),
        (e: any) => e.status === 400 && /more than 5 redirects/.test(e.message),
      );
      // The default: loopback, private and link-local hosts are refused before any request goes out (SSRF).
      for (const url of [
        `${base}/ok.png`,
        'http://localhost:9/x.png',
        'http://10.1.2.3/x.png',
        'http://[::1]:9/x.png',
        'http://169.254.169.254/latest/meta-data',
      ]) {
        await assert.rejects(
          fetchImage(url, 'messages[0].content[1].image_url', DEFAULT_IMAGE_LIMITS),
          (e: any) => e.status === 400 && e.param === 'messages[0].content[1].image_url' && /private or local address/.test(e.message),
          url,
        );
      }
      assert.equal(ok.mime, 'image/png');
      assert.equal(ok.data.length, img.length);
      await assert.rejects(fetchImage(`${base}/huge.png`, 'p', limits), (e: any) => e.status === 413);
      await assert.rejects(fetchImage(`${base}/slow.png`, 'p', limits), (e: any) => e.status === 400 && /300 ms/.test(e.message));
      await assert.rejects(fetchImage(`${base}/missing.png`, 'p', limits), (e: any) => e.status === 400 && /HTTP 404/.test(e.message));
      await assert.rejects(fetchImage('file:///etc/passwd', 'p', limits), (e: any) => e.status === 400);
    } finally {
      srv.closeAllConnections();
      srv.close();
    }
  });

  it('scores a prompt for log-likelihood evaluators: echo, logprobs, max_tokens 0, several prompts', async () => {
    const r = await post(s.url, '/v1/completions', {
      model: 'tetra',
      prompt: ['the cat', 'a dog sees'],
      echo: true,
      max_tokens: 0,
      logprobs: 1,
      temperature: 0,
    });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.object, 'text_completion');
    assert.equal(r.json.choices.length, 2);
    const [a, b] = r.json.choices;
    assert.equal(a.text, 'the cat');
    assert.equal(b.index, 1);
    assert.deepEqual(a.logprobs.tokens, ['t', 'h', 'e', ' ', 'c', 'a', 't']);
    assert.equal(a.logprobs.token_logprobs.length, 7);
    assert.deepEqual(a.logprobs.text_offset, [0, 1, 2, 3, 4, 5, 6]);
    for (const [i, top] of a.logprobs.top_logprobs.entries())
      assert.ok(Math.max(...(Object.values(top) as number[])) >= a.logprobs.token_logprobs[i]);
    assert.equal(a.finish_reason, 'length');
    assert.equal(r.json.usage.prompt_tokens, 17);
    assert.equal(r.json.usage.completion_tokens, 0);
    const gen = await post(s.url, '/v1/completions', {
      model: 'tetra',
      prompt: 'ab',
      max_tokens: 3,
      logit_bias: { ...NO_SPECIALS, 122: 100 },
    });
    assert.equal(gen.json.choices[0].text, 'zzz');
    assertEnvelope(await post(s.url, '/v1/completions', { model: 'tetra', prompt: [1, 2, 3] }), 400, null, 'prompt[0]');
  });

  it('serves /healthz and /metrics, and wraps unknown routes and methods in the envelope', async () => {
    const h: any = await (await fetch(s.url + '/healthz')).json();
    assert.equal(h.status, 'ok');
    const m = await (await fetch(s.url + '/metrics')).text();
    assert.match(m, /tetra_requests_total\{model="tetra-2026-11-28",endpoint="\/v1\/chat\/completions",status="200"\} \d+/);
    assert.match(m, /tetra_tokens_total\{model="tetra-2026-11-28",kind="completion"\} \d+/);
    assert.match(m, /tetra_queue_depth\{model="tetra-2026-11-28"\} 0/);
    const u = await fetch(s.url + '/v2/nothing');
    assertEnvelope({ status: u.status, json: await u.json() }, 404, 'unknown_url');
    const g = await fetch(s.url + '/v1/chat/completions');
    assertEnvelope({ status: g.status, json: await g.json() }, 405, 'method_not_allowed');
  });

  it('stops generating when the client disconnects, freeing the engine', async () => {
    const ctl = new AbortController();
    const res = await fetch(s.url + '/v1/chat/completions', {
      method: 'POST',
      signal: ctl.signal,
      body: JSON.stringify(chat({ model: 'tetra-long', max_tokens: 240, stream: true })),
    });
    const reader = res.body!.getReader();
    await reader.read();
    ctl.abort();
    const t0 = performance.now();
    const r = await post(s.url, '/v1/chat/completions', chat({ max_tokens: 1 }));
    assert.equal(r.status, 200);
    assert.ok(performance.now() - t0 < 5000);
    assert.equal(s.engine.queueDepth(), 0);
  });
});

describe('HTTP API with keys', () => {
  let s: Served;
  before(async () => {
    s = await serve({ keys: { test: 'default' } });
  });
  after(() => s.close());
  it('answers 401 invalid_api_key without a key or with a wrong one, and serves a right one', async () => {
    assertEnvelope(await post(s.url, '/v1/chat/completions', chat()), 401, 'invalid_api_key');
    const wrong = await post(s.url, '/v1/chat/completions', chat(), { authorization: 'Bearer sk-wrong-000000000' });
    assertEnvelope(wrong, 401, 'invalid_api_key');
    assert.match(wrong.json.error.message, /Incorrect API key provided: sk-\*\*\*0000\./);
    assert.equal((await post(s.url, '/v1/chat/completions', chat(), { authorization: `Bearer ${s.secrets.test}` })).status, 200);
  });
});
