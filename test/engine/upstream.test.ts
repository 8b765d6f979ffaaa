// The upstream engine against a real OpenAI-compatible HTTP server started here
// (test/engine/openai-fixture.ts: tetra's own model behind the chat completions protocol).
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { EngineError, type ChatRequest, type CompletionRequest } from '../../src/engine/types.ts';
import { UpstreamEngine } from '../../src/engine/upstream.ts';
import { generate } from '../../src/model/index.ts';
import { defaultBackend } from '../../src/tensor/index.ts';
import { renderPrompt } from '../../src/tokenizer/index.ts';
import { startOpenAIFixture, type OpenAIFixture } from './openai-fixture.ts';
import { chatRequest, collect, textOf } from './helpers.ts';

const KEY = 'sk-fixture',
  MODEL = 'tiny-gpt';

const chatReq = chatRequest;

async function until(cond: () => boolean, ms = 3000) {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error('condition not reached in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

for (const client of ['http', 'openai'] as const)
  describe(`UpstreamEngine over a real OpenAI-compatible server (${client} client)`, () => {
    let fx: OpenAIFixture, slow: OpenAIFixture;
    before(async () => {
      fx = await startOpenAIFixture({ apiKey: KEY, model: MODEL });
      slow = await startOpenAIFixture({ apiKey: KEY, model: MODEL, tokenDelayMs: 15 });
    });
    after(async () => {
      await fx.close();
      await slow.close();
    });
    const engine = (over: object = {}, f = () => fx) =>
      new UpstreamEngine({ baseURL: f().url, apiKey: KEY, model: MODEL, client, ...over });

    it('streams chat text as it is generated, with the finish reason and the upstream usage', async () => {
      const evs = await collect(engine().chat(chatReq(), new AbortController().signal));
      const texts = evs.filter((e) => e.type === 'text');
      assert.ok(texts.length > 1, `streamed in ${texts.length} text events`);
      // greedy: the same text the model produces when run directly
      const prompt = renderPrompt(fx.tokenizer, chatReq().messages as never).ids;
      const [want] = generate(fx.model, defaultBackend(), [Int32Array.from(prompt)], {
        maxTokens: 12,
        temperature: 0,
        stopTokens: [fx.tokenizer.special('<|end|>')],
        decode: (ids) => fx.tokenizer.decode(ids),
      });
      assert.equal(textOf(evs), want.text);
      const done = evs.find((e) => e.type === 'done');
      assert.deepEqual(done, { type: 'done', index: 0, finishReason: want.finishReason });
      assert.deepEqual(evs.at(-1), { type: 'usage', promptTokens: prompt.length, completionTokens: want.tokens.length });
      const sent = fx.requests.at(-1)!.body;
      assert.equal(sent.stream, true);
      assert.deepEqual(sent.stream_options, { include_usage: true });
      assert.equal(sent.max_tokens, 12);
    });

    it('maps logprobs and n choices', async () => {
      const evs = await collect(
        engine().chat(chatReq({ n: 2, temperature: 1, seed: 5, topLogprobs: 2, maxTokens: 6 }), new AbortController().signal),
      );
      for (const index of [0, 1]) {
        const lps = evs.flatMap((e) => (e.type === 'text' && e.index === index ? (e.logprobs ?? []) : []));
        assert.ok(lps.length > 0, `choice ${index} has logprobs`);
        for (const l of lps) {
          assert.ok(l.logprob <= 0 && l.top.length === 2 && l.bytes.length >= 1);
          assert.ok(l.top[0].logprob >= l.top[1].logprob);
        }
        assert.equal(evs.filter((e) => e.type === 'done' && e.index === index).length, 1);
      }
      assert.equal(evs.filter((e) => e.type === 'usage').length, 1);
    });

    it('passes stop strings, seed, penalties, logit bias and response_format to the upstream', async () => {
      await collect(
        engine().chat(
          chatReq({
            stop: ['\n'],
            seed: 9,
            presencePenalty: 0.5,
            logitBias: { 65: 3 },
            responseFormat: { type: 'json_schema', name: 'x', schema: { type: 'object' } },
          }),
          new AbortController().signal,
        ),
      );
      const b = fx.requests.at(-1)!.body;
      assert.deepEqual(b.stop, ['\n']);
      assert.equal(b.seed, 9);
      assert.equal(b.presence_penalty, 0.5);
      assert.deepEqual(b.logit_bias, { 65: 3 });
      assert.deepEqual(b.response_format, { type: 'json_schema', json_schema: { name: 'x', schema: { type: 'object' }, strict: false } });
    });

    it('aborting mid-stream ends the iterator and the server sees the connection close', async () => {
      const ac = new AbortController();
      const e = engine({}, () => slow);
      let n = 0;
      const t0 = Date.now();
      for await (const ev of e.chat(chatReq({ maxTokens: 200 }), ac.signal)) {
        if (ev.type === 'text' && ++n === 3) ac.abort();
      }
      const rec = slow.requests.at(-1)!;
      await until(() => rec.clientClosed);
      const generated = rec.tokens;
      await new Promise((r) => setTimeout(r, 100));
      assert.ok(rec.tokens <= generated + 1, 'the server stopped generating');
      assert.ok(!rec.finished && rec.tokens < 50, `server generated ${rec.tokens} of 200 tokens`);
      console.log(`  abort after 3 events: iterator ended in ${Date.now() - t0} ms, server stopped at ${rec.tokens} tokens`);
    });

    it('a consumer that stops iterating also closes the upstream request', async () => {
      for await (const ev of engine({}, () => slow).chat(chatReq({ maxTokens: 200 }), new AbortController().signal))
        if (ev.type === 'text') break;
      const rec = slow.requests.at(-1)!;
      await until(() => rec.clientClosed);
      assert.ok(!rec.finished);
    });

    it('an unreachable upstream is a 503 engine_unavailable EngineError', async () => {
      const port = await new Promise<number>((r) => {
        const s = createServer().listen(0, '127.0.0.1', () => {
          const p = (s.address() as { port: number }).port;
          s.close(() => r(p));
        });
      });
      const e = new UpstreamEngine({ baseURL: `http://127.0.0.1:${port}/v1`, model: MODEL, client });
      await assert.rejects(collect(e.chat(chatReq(), new AbortController().signal)), (err: unknown) => {
        assert.ok(err instanceof EngineError);
        assert.equal(err.status, 503);
        assert.equal(err.code, 'engine_unavailable');
        assert.match(err.message, /unreachable: ECONNREFUSED/);
        return true;
      });
    });

    it("the upstream's 4xx come through with their status and message", async () => {
      await assert.rejects(collect(engine({ model: 'nope' }).chat(chatReq(), new AbortController().signal)), (err: unknown) => {
        assert.ok(err instanceof EngineError);
        assert.equal(err.status, 404);
        assert.equal(err.message, 'The model `nope` does not exist or you do not have access to it.');
        return true;
      });
      await assert.rejects(collect(engine().chat(chatReq({ maxTokens: 1000 }), new AbortController().signal)), (err: unknown) => {
        assert.ok(err instanceof EngineError);
        assert.equal(err.status, 400);
        assert.equal(err.code, 'context_length_exceeded');
        assert.equal(err.param, 'messages');
        assert.match(err.message, /maximum context length is 256 tokens/);
        return true;
      });
      // a wrong key for the upstream is tetra's misconfiguration, not the caller's: 502
      await assert.rejects(collect(engine({ apiKey: 'wrong' }).chat(chatReq(), new AbortController().signal)), (err: unknown) => {
        assert.ok(err instanceof EngineError && err.status === 502 && err.code === 'upstream_error');
        assert.match(err.message, /refused tetra's credentials \(401\): Incorrect API key/);
        return true;
      });
    });

    it('raw completions with echo: the prompt comes back first, marked echo', async () => {
      const req: CompletionRequest = { ...chatReq(), prompt: 'The cat', echo: true, topLogprobs: 1, maxTokens: 5 };
      delete (req as Partial<ChatRequest>).messages;
      const evs = await collect(engine().complete(req, new AbortController().signal));
      const echoed = evs
        .filter((e) => e.type === 'text' && e.echo)
        .map((e) => (e as { text: string }).text)
        .join('');
      assert.equal(echoed, 'The cat');
      assert.ok(evs.findIndex((e) => e.type === 'text' && e.echo) < evs.findIndex((e) => e.type === 'text' && !e.echo));
      const gen = evs.flatMap((e) => (e.type === 'text' && !e.echo ? (e.logprobs ?? []) : []));
      assert.ok(gen.length > 0 && gen.every((l) => l.top.length === 1));
      assert.equal(evs.at(-1)!.type, 'usage');
    });

    it('queues beyond its concurrency: the second request waits for the first', async () => {
      const e = engine({ concurrency: 1 }, () => slow);
      const ac1 = new AbortController();
      const first = e.chat(chatReq({ maxTokens: 200, client: 'a' }), ac1.signal)[Symbol.asyncIterator]();
      await first.next();
      const second = collect(e.chat(chatReq({ maxTokens: 2, client: 'b' }), new AbortController().signal));
      await new Promise((r) => setTimeout(r, 20));
      assert.equal(e.queueDepth(), 1);
      ac1.abort();
      await first.return?.();
      const evs = await second;
      assert.equal(e.queueDepth(), 0);
      assert.ok(evs.some((x) => x.type === 'usage'));
    });

    it('counts tokens with cl100k for GPT-4 names and says it estimates otherwise', async () => {
      const gpt4 = new UpstreamEngine({ baseURL: fx.url, model: 'gpt-4' });
      assert.equal(gpt4.tokenCounting, 'cl100k');
      assert.equal(gpt4.contextWindow(), 8192);
      assert.equal(await gpt4.countTextTokens('hello world'), 2);
      // OpenAI's cookbook accounting: 3 per message + role + content, 3 to prime the reply
      assert.equal(await gpt4.countChatTokens([{ role: 'user', content: 'hello world' }]), 3 + 3 + 1 + 2);
      const other = new UpstreamEngine({ baseURL: fx.url, model: 'llama-3-8b', contextWindow: 8192 });
      assert.equal(other.tokenCounting, 'estimate');
      assert.equal(await other.countTextTokens('12345678'), 2);
      assert.equal(other.contextWindow(), 8192);
    });
  });

describe('UpstreamEngine http client: wire details', () => {
  it('reuses one keep-alive connection, and takes a whole JSON answer to a streamed request as one chunk', async () => {
    const { createServer: http } = await import('node:http');
    const sockets = new Set<unknown>();
    const whole = JSON.stringify({
      id: 'x',
      object: 'chat.completion',
      created: 0,
      model: 'm',
      choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'length', logprobs: null }],
      usage: { prompt_tokens: 8, completion_tokens: 1, total_tokens: 9 },
    });
    const srv = http((req, res) => {
      sockets.add(req.socket);
      req.resume();
      req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end(whole));
    });
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const e = new UpstreamEngine({ baseURL: `http://127.0.0.1:${(srv.address() as { port: number }).port}/v1`, model: 'm' });
    for (let i = 0; i < 5; i++) {
      const evs = await collect(e.chat(chatReq(), new AbortController().signal));
      assert.deepEqual(evs, [
        { type: 'text', index: 0, text: 'ok' },
        { type: 'done', index: 0, finishReason: 'length' },
        { type: 'usage', promptTokens: 8, completionTokens: 1 },
      ]);
    }
    assert.equal(sockets.size, 1, 'five sequential requests on one connection');
    await e.close();
    await new Promise<void>((r) => {
      srv.closeAllConnections();
      srv.close(() => r());
    });
  });
});
