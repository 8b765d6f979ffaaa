import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { APIConnectionError, APIError, OpenAICompatible, isRetryable, retryAfterMs } from '../../src/evals/completion/index.ts';
import { OpenAIHttpClient } from '../../src/net/index.ts';
import { chatReply, scriptedServer, type Scripted } from './helpers.ts';

/** The error a promise rejects with (null when it resolves). */
const caught = <E = APIError>(p: Promise<unknown>): Promise<E> =>
  p.then(
    () => null as E,
    (err: unknown) => err as E,
  );

// The evals' side of src/net's OpenAIHttpClient: postJson (one buffered JSON answer) and the openai-shaped errors.
describe('lean OpenAI-compatible HTTP client', () => {
  let server: Scripted;
  let next: { status?: number; headers?: Record<string, string>; json: unknown } | null = null;
  const seen: Record<string, string | string[] | undefined>[] = [];
  let raw: Server;
  let rawUrl = '';
  before(async () => {
    server = await scriptedServer((body) => next ?? chatReply(String((body.messages as { content: string }[]).at(-1)?.content)));
    // A server that shows the request head, answers non-JSON, or never answers.
    raw = createServer((req, res) => {
      seen.push(req.headers);
      req.resume();
      req.on('end', () => {
        if (req.url?.includes('/hang')) return;
        if (req.url?.includes('/html')) {
          res.writeHead(200, { 'content-type': 'text/html' });
          res.end('<html>proxy</html>');
          return;
        }
        if (req.url?.includes('/text-error')) {
          res.writeHead(503, { 'retry-after-ms': '25' });
          res.end('upstream down');
          return;
        }
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ url: req.url }));
      });
    });
    await new Promise<void>((r) => raw.listen(0, '127.0.0.1', r));
    rawUrl = `http://127.0.0.1:${(raw.address() as { port: number }).port}/v1/`;
  });
  after(async () => {
    await server.close();
    raw.closeAllConnections();
    await new Promise((r) => raw.close(r));
  });

  it("posts JSON to baseURL + path with the openai client's headers", async () => {
    const c = new OpenAIHttpClient({ baseURL: rawUrl, apiKey: 'sk-test' });
    const r = await c.postJson<{ url: string }>('/chat/completions', { model: 'm' });
    assert.equal(r.url, '/v1/chat/completions', 'a trailing slash on the base URL is not doubled');
    const h = seen.at(-1)!;
    assert.equal(h.authorization, 'Bearer sk-test');
    assert.equal(h['content-type'], 'application/json');
    assert.equal(h.host, new URL(rawUrl).host);
    assert.equal(h['content-length'], String(JSON.stringify({ model: 'm' }).length));
  });

  it('maps error answers to APIError as the openai client does (status, error body, headers)', async () => {
    next = {
      status: 400,
      headers: { 'x-request-id': 'req-1' },
      json: { error: { message: 'bad model', type: 'invalid_request_error', code: 'model_not_found', param: 'model' } },
    };
    const fn = new OpenAICompatible({ baseURL: server.url, model: 'm', retry: { maxRetries: 0 } });
    const e = await caught(fn.chat([{ role: 'user', content: 'x' }], {}));
    assert.ok(e instanceof APIError);
    assert.equal(e.message, '400 bad model');
    assert.equal(e.status, 400);
    assert.equal(e.code, 'model_not_found');
    assert.equal(e.type, 'invalid_request_error');
    assert.equal(e.param, 'model');
    assert.equal(e.requestID, 'req-1');
    assert.equal(isRetryable(e), false);
    next = { status: 429, headers: { 'retry-after': '3' }, json: { error: { message: 'slow down' } } };
    const e2 = await caught(new OpenAIHttpClient({ baseURL: server.url }).postJson('/chat/completions', {}));
    assert.equal(isRetryable(e2), true);
    assert.equal(retryAfterMs(e2), 3000);
    next = { status: 500, json: { detail: 'no error field' } };
    const e3 = await caught<Error>(new OpenAIHttpClient({ baseURL: server.url }).postJson('/chat/completions', {}));
    assert.equal(e3.message, '500 status code (no body)');
    next = null;
  });

  it('keeps a plain-text error body as the message and reads retry-after-ms', async () => {
    const e = await caught<APIError>(new OpenAIHttpClient({ baseURL: rawUrl }).postJson('/text-error', {}));
    assert.equal(e.message, '503 upstream down');
    assert.equal(retryAfterMs(e), 25);
    assert.equal(isRetryable(e), true);
  });

  it('names a 200 answer that is not JSON, or has no choices', async () => {
    await assert.rejects(new OpenAIHttpClient({ baseURL: rawUrl }).postJson('/html', {}), /not JSON: "<html>proxy<\/html>"/);
    const fn = new OpenAICompatible({ baseURL: rawUrl, model: 'm', retry: { maxRetries: 0 } });
    await assert.rejects(fn.chat([{ role: 'user', content: 'x' }], {}), /has no "choices"/);
  });

  it('times out, aborts, and reports refused connections as retryable connection errors', async () => {
    const t0 = Date.now();
    const e = await caught<Error>(new OpenAIHttpClient({ baseURL: rawUrl, timeouts: { firstByteTimeoutMs: 100 } }).postJson('/hang', {}));
    assert.equal(e.name, 'APIConnectionTimeoutError');
    assert.ok(Date.now() - t0 >= 90);
    // The request went out and the server never answered: it may still be generating, so src/net's one policy does not
    // send it twice (only a connect deadline is retried; the table in test/net/retry.test.ts).
    assert.equal(isRetryable(e), false);
    const ac = new AbortController();
    const p = caught<Error>(new OpenAIHttpClient({ baseURL: rawUrl }).postJson('/hang', {}, ac.signal));
    setTimeout(() => ac.abort(), 20);
    const a = await p;
    assert.equal(a.name, 'APIUserAbortError');
    assert.equal(isRetryable(a), false);
    const dead = new OpenAIHttpClient({ baseURL: 'http://127.0.0.1:1/v1' });
    const d = await caught<Error>(dead.postJson('/chat/completions', {}));
    assert.ok(d instanceof APIConnectionError);
    assert.equal(isRetryable(d), true);
  });

  it('answers many requests in flight over kept-alive connections', async () => {
    const fn = new OpenAICompatible({ baseURL: server.url, model: 'm' });
    const out = await Promise.all(Array.from({ length: 200 }, (_, i) => fn.chat([{ role: 'user', content: `q${i}` }], { temperature: 0 })));
    assert.deepEqual(
      out.map((o) => o.texts[0]),
      Array.from({ length: 200 }, (_, i) => `q${i}`),
    );
    assert.deepEqual(out[0].usage, { promptTokens: 5, completionTokens: 2 });
  });
});
