// OpenAIHttpClient against real local servers: what goes on the wire, both answer shapes (a
// buffered JSON body, an SSE stream), the retry policy applied to real answers, and the resend
// of a request whose kept-alive socket the server had closed.
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTcpServer, type Server as TcpServer } from 'node:net';
import { after, describe, it } from 'node:test';
import { APIError, OpenAIHttpClient } from '../../src/net/index.ts';

type Handler = (req: IncomingMessage, body: string, res: ServerResponse) => void;
const servers: (Server | TcpServer)[] = [];
after(() => {
  for (const s of servers) {
    (s as Server).closeAllConnections?.();
    s.close();
  }
});

async function serve(handler: Handler): Promise<{ url: string; requests: { url: string; headers: IncomingMessage['headers'] }[] }> {
  const requests: { url: string; headers: IncomingMessage['headers'] }[] = [];
  const s = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => {
      body += c;
    });
    req.on('end', () => {
      requests.push({ url: req.url ?? '', headers: req.headers });
      handler(req, body, res);
    });
  });
  servers.push(s);
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(s.address() as { port: number }).port}/v1`, requests };
}

const sse = (events: unknown[], end = 'data: [DONE]\n\n') => events.map((e) => `data: ${JSON.stringify(e)}\n\n`).join('') + end;
async function all<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}
const rejection = (p: Promise<unknown>) =>
  p.then(
    () => {
      throw new Error('expected a rejection');
    },
    (e: unknown) => e as APIError,
  );

describe('OpenAIHttpClient', () => {
  it("sends Bearer auth, OpenAI-Organization / OpenAI-Project from the environment, and keeps the base URL's query", async () => {
    const srv = await serve((_req, _body, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}'));
    process.env.OPENAI_ORG_ID = 'org-1';
    process.env.OPENAI_PROJECT_ID = 'proj-1';
    try {
      const c = new OpenAIHttpClient({ baseURL: `${srv.url}?api-version=2024`, apiKey: 'sk-x' });
      assert.deepEqual(await c.postJson('/chat/completions', {}), { ok: true });
      const { url, headers } = srv.requests.at(-1)!;
      assert.equal(url, '/v1/chat/completions?api-version=2024');
      assert.equal(headers.authorization, 'Bearer sk-x');
      assert.equal(headers['openai-organization'], 'org-1');
      assert.equal(headers['openai-project'], 'proj-1');
      assert.equal(headers.accept, 'application/json');
      c.close();
    } finally {
      delete process.env.OPENAI_ORG_ID;
      delete process.env.OPENAI_PROJECT_ID;
    }
    const basic = new OpenAIHttpClient({ baseURL: srv.url.replace('http://', 'http://me:p%40ss@') });
    await basic.postJson('chat/completions', {});
    const basicAuth = `Basic ${Buffer.from('me:p@ss').toString('base64')}`;
    assert.equal(srv.requests.at(-1)!.headers.authorization, basicAuth, "the URL's credentials");
    assert.equal(srv.requests.at(-1)!.headers['openai-organization'], undefined);
    basic.close();
  });

  it('streams SSE data events up to [DONE], and takes a whole JSON answer as one chunk', async () => {
    const chunks = [
      { choices: [{ index: 0, delta: { content: 'a' } }] },
      { choices: [{ index: 0, delta: { content: 'b' }, finish_reason: 'stop' }] },
    ];
    const whole = { choices: [{ index: 0, message: { content: 'ok' }, finish_reason: 'stop' }] };
    const srv = await serve((req, _body, res) => {
      if (req.url!.includes('/whole')) {
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(whole));
      } else if (req.url!.includes('/crlf')) {
        res.writeHead(200, { 'content-type': 'text/event-stream' }).end(sse(chunks).replaceAll('\n', '\r\n'));
      } else res.writeHead(200, { 'content-type': 'text/event-stream' }).end(sse(chunks, 'data: [DONE]\n\ndata: {"after":"done"}\n\n'));
    });
    const c = new OpenAIHttpClient({ baseURL: srv.url });
    assert.deepEqual(await all(c.stream('/chat/completions', { stream: true })), chunks, 'nothing after [DONE]');
    assert.deepEqual(await all(c.stream('/crlf', {})), chunks);
    assert.deepEqual(await all(c.stream('/whole', {})), [{ choices: [{ index: 0, delta: { content: 'ok' }, finish_reason: 'stop' }] }]);
    assert.match(srv.requests[0].headers.accept!, /text\/event-stream/);
    c.close();
  });

  it('an error event mid-stream is an APIError without a status; an error answer keeps status, envelope and headers', async () => {
    const srv = await serve((req, _body, res) => {
      if (req.url!.includes('/midway')) {
        const events = [{ choices: [] }, { error: { message: 'model crashed', code: 'oops' } }];
        res.writeHead(200, { 'content-type': 'text/event-stream' }).end(sse(events));
      } else {
        res.writeHead(400, { 'content-type': 'application/json', 'x-request-id': 'req-9' });
        const error = { message: 'too long', type: 'invalid_request_error', param: 'messages', code: 'context_length_exceeded' };
        res.end(JSON.stringify({ error }));
      }
    });
    const c = new OpenAIHttpClient({ baseURL: srv.url });
    const seen: unknown[] = [];
    const e = await rejection(
      (async () => {
        for await (const x of c.stream('/midway', {})) seen.push(x);
      })(),
    );
    assert.equal(seen.length, 1);
    assert.ok(e instanceof APIError && e.status === undefined && e.message === 'model crashed' && e.code === 'oops');
    const e2 = await rejection(all(c.stream('/chat/completions', {})));
    assert.ok(e2 instanceof APIError);
    assert.equal(e2.status, 400);
    assert.equal(e2.message, '400 too long');
    assert.equal(e2.param, 'messages');
    assert.equal(e2.code, 'context_length_exceeded');
    assert.equal(e2.requestID, 'req-9');
    assert.equal(e2.headers?.get('content-type'), 'application/json');
    // vLLM's older envelope has no "error" wrapper; the message is still found
    assert.equal(APIError.fromResponse(400, {}, JSON.stringify({ object: 'error', message: 'bad', code: 400 })).message, '400 bad');
    c.close();
  });

  it('retries by the policy up to maxRetries, honouring retry-after, and throws the last error as it is', async () => {
    let n = 0;
    const srv = await serve((_req, _body, res) => {
      if (++n % 2) res.writeHead(503, { 'retry-after-ms': '20' }).end('busy');
      else res.writeHead(200, { 'content-type': 'application/json' }).end('{"n":2}');
    });
    const t0 = Date.now();
    assert.deepEqual(await new OpenAIHttpClient({ baseURL: srv.url, retry: { maxRetries: 1 } }).postJson('/x', {}), { n: 2 });
    assert.ok(Date.now() - t0 >= 18, 'waited what the server asked');
    const e = await rejection(new OpenAIHttpClient({ baseURL: srv.url }).postJson('/x', {}));
    assert.ok(e instanceof APIError && e.status === 503 && e.message === '503 busy', 'no retries by default');
    assert.equal(n, 3);

    const long = await serve((_req, _body, res) => res.writeHead(429, { 'retry-after': '3600' }).end('{"error":{"message":"quota"}}'));
    const e2 = await rejection(all(new OpenAIHttpClient({ baseURL: long.url, retry: { maxRetries: 3 } }).stream('/x', {})));
    assert.equal(e2.status, 429);
    assert.equal(long.requests.length, 1, 'a retry-after over 60 s is not waited for');
  });

  it('does not send again a request that went out and hung', async () => {
    const srv = await serve(() => {}); // accepts, never answers
    const c = new OpenAIHttpClient({ baseURL: srv.url, timeouts: { firstByteTimeoutMs: 50 }, retry: { maxRetries: 3, baseDelayMs: 1 } });
    const e = await rejection(c.postJson('/x', {}));
    assert.equal(e.name, 'APIConnectionTimeoutError');
    assert.equal((e as unknown as { timeout: string }).timeout, 'first-byte');
    assert.equal(srv.requests.length, 1);
    c.close();
  });

  it('resends once, at once, when the server closed a kept-alive socket before answering', async () => {
    // Each connection answers its first request and closes on the second without a byte.
    let connections = 0;
    const tcp = createTcpServer((sock) => {
      connections++;
      let answered = false;
      sock.on('error', () => {});
      sock.on('data', () => {
        if (answered) {
          sock.destroy();
          return;
        }
        answered = true;
        sock.write('HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}');
      });
    });
    servers.push(tcp);
    await new Promise<void>((r) => tcp.listen(0, '127.0.0.1', r));
    const c = new OpenAIHttpClient({ baseURL: `http://127.0.0.1:${(tcp.address() as { port: number }).port}/v1` });
    assert.deepEqual(await c.postJson('/x', {}), {});
    assert.deepEqual(await c.postJson('/x', {}), {}, 'the second request went out again on a fresh socket');
    assert.equal(connections, 2);
    c.close();
  });

  it('an abort rejects with APIUserAbortError and closes the connection', async () => {
    let closed = false;
    const srv = await serve((req) => {
      req.socket.on('close', () => {
        closed = true;
      });
    });
    const c = new OpenAIHttpClient({ baseURL: srv.url });
    const ac = new AbortController();
    const p = rejection(c.postJson('/x', {}, ac.signal));
    setTimeout(() => ac.abort(), 20);
    assert.equal((await p).name, 'APIUserAbortError');
    for (let i = 0; i < 100 && !closed; i++) await new Promise((r) => setTimeout(r, 5));
    assert.ok(closed);
    c.close();
  });
});
