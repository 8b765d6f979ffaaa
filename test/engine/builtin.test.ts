// The builtin ChatEngine on a real (random-weight) checkpoint: exact token counts, seeded
// sampling, stop strings, penalties and logit_bias through the logits hook, logprobs that agree
// with the model's own scoring, refusals it must make itself, and the queue releasing on abort.
import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { type BuiltinEngine, type EngineError, openBuiltinEngine, type ChatRequest, type EngineEvent } from '../../src/engine/index.ts';
import { createJsonConstraint } from '../../src/engine/json-constraint.ts';
import { scoreContinuation } from '../../src/model/index.ts';
import { renderPrompt } from '../../src/tokenizer/index.ts';
import { tinyCheckpoint } from '../gateway/fixture.ts';

// A random-weight model often picks a special token (which ends the reply) first: bias them away.
export const NO_SPECIALS: Record<number, number> = Object.fromEntries(Array.from({ length: 8 }, (_, i) => [256 + i, -100]));
const base = (over: Partial<ChatRequest> = {}): ChatRequest => ({
  messages: [
    { role: 'system', content: 'be brief' },
    { role: 'user', content: 'hello' },
  ],
  temperature: 0,
  topP: 1,
  n: 1,
  stop: [],
  presencePenalty: 0,
  frequencyPenalty: 0,
  logitBias: NO_SPECIALS,
  topLogprobs: null,
  responseFormat: { type: 'text' },
  maxTokens: 8,
  ...over,
});

async function collect(
  events: AsyncIterable<EngineEvent>,
): Promise<{ texts: string[]; done: string[]; usage?: { promptTokens: number; completionTokens: number }; events: EngineEvent[] }> {
  const texts: string[] = [],
    done: string[] = [],
    all: EngineEvent[] = [];
  let usage: { promptTokens: number; completionTokens: number } | undefined;
  for await (const e of events) {
    all.push(e);
    if (e.type === 'text') texts[e.index] = (texts[e.index] ?? '') + e.text;
    else if (e.type === 'done') done[e.index] = e.finishReason;
    else usage = { promptTokens: e.promptTokens, completionTokens: e.completionTokens };
  }
  return { texts, done, usage, events: all };
}
const never = new AbortController().signal;

describe('builtin engine', () => {
  let engine: BuiltinEngine;
  before(async () => {
    engine = await openBuiltinEngine(tinyCheckpoint());
  });

  it('counts chat tokens exactly as the chat format renders them, and reports them in usage', async () => {
    const req = base();
    const n = await engine.countChatTokens(req.messages);
    assert.equal(n, renderPrompt(engine.tok, req.messages as never).ids.length);
    const r = await collect(engine.chat(req, never));
    assert.equal(r.usage!.promptTokens, n);
    assert.equal(r.usage!.completionTokens, 8);
    assert.equal(r.done[0], 'length');
  });

  it('samples the same text for the same seed and n independent choices in one batch', async () => {
    const req = base({ temperature: 1, seed: 42, n: 3, maxTokens: 12 });
    const a = await collect(engine.chat(req, never)),
      b = await collect(engine.chat(req, never));
    assert.deepEqual(a.texts, b.texts);
    assert.equal(a.texts.length, 3);
    assert.notEqual(new Set(a.texts).size, 1, 'three seeded choices should differ');
    assert.equal(a.usage!.completionTokens, 36);
  });

  it('applies logit_bias and the presence penalty before sampling', async () => {
    // x gets +100, y +99: greedy picks x, then the presence penalty (2) makes y win once, then x again.
    const r = await collect(
      engine.chat(base({ logitBias: { ...NO_SPECIALS, 120: 100, 121: 99 }, presencePenalty: 2, maxTokens: 5 }), never),
    );
    assert.equal(r.texts[0], 'xyxxx');
    const f = await collect(
      engine.chat(base({ logitBias: { ...NO_SPECIALS, 120: 100, 121: 99 }, frequencyPenalty: 2, maxTokens: 5 }), never),
    );
    assert.equal(f.texts[0], 'xyxyx', 'the frequency penalty grows with each use, so they alternate');
  });

  it('cuts at a stop string, never streaming text the stop string removes', async () => {
    const r = await collect(
      engine.chat(base({ logitBias: { ...NO_SPECIALS, 120: 100, 121: 99 }, presencePenalty: 2, stop: ['yx', 'zzz'], maxTokens: 8 }), never),
    );
    assert.equal(r.texts[0], 'x');
    assert.equal(r.done[0], 'stop');
    for (const e of r.events) if (e.type === 'text') assert.ok(!e.text.includes('y'), `streamed ${JSON.stringify(e.text)}`);
  });

  it('reports logprobs of each generated token with the top alternatives, most likely first', async () => {
    const r = await collect(engine.chat(base({ topLogprobs: 3, maxTokens: 4 }), never));
    const lps = r.events.flatMap((e) => (e.type === 'text' ? (e.logprobs ?? []) : []));
    assert.equal(lps.length, 4);
    for (const l of lps) {
      assert.equal(l.top.length, 3);
      assert.equal(l.top[0].logprob, l.logprob, 'greedy: the chosen token is the most likely');
      assert.ok(l.top[0].logprob >= l.top[1].logprob && l.top[1].logprob >= l.top[2].logprob);
      assert.equal(l.bytes.length, 1, 'byte-level tokens are one byte');
    }
  });

  it('echoes a prompt with logprobs equal to the model scoring it (for log-likelihood evals)', async () => {
    const prompt = 'the cat sees';
    const r = await collect(engine.complete({ ...base(), prompt, echo: true, maxTokens: 0, topLogprobs: 1 }, never));
    const echo = r.events.find((e) => e.type === 'text' && e.echo)!;
    assert.ok(echo.type === 'text' && echo.text === prompt);
    const ids = engine.tok.encode(prompt);
    const eot = engine.tok.special('<|endoftext|>');
    const ref = scoreContinuation(engine.model, engine.backend, [eot], ids);
    const got = (echo as { logprobs: { logprob: number }[] }).logprobs.map((l) => l.logprob);
    got.forEach((lp, i) => assert.ok(Math.abs(lp - ref.tokens[i].logprob) < 1e-5, `token ${i}: ${lp} vs ${ref.tokens[i].logprob}`));
    assert.equal(r.done[0], 'length');
    assert.deepEqual(r.usage, { promptTokens: ids.length, completionTokens: 0 });
  });

  it('constrains output to JSON: json_object parses, json_schema output matches the schema', async () => {
    for (const temperature of [0, 1]) {
      const obj = await collect(
        engine.chat(base({ temperature, seed: 3, maxTokens: 120, responseFormat: { type: 'json_object' }, logitBias: {} }), never),
      );
      if (obj.done[0] === 'stop') assert.equal(typeof JSON.parse(obj.texts[0]), 'object');
      else {
        // Cut off by max_tokens: what was sent is still the start of a JSON object (the constraint's promise).
        assert.equal(obj.done[0], 'length');
        const prefix = createJsonConstraint(null);
        const bytes = new TextEncoder().encode(obj.texts[0]);
        assert.ok(prefix.allowed(bytes), `not a JSON prefix: ${obj.texts[0]}`);
        assert.match(obj.texts[0], /^\s*\{/);
      }
      const schema = {
        type: 'object',
        properties: { ok: { type: 'boolean' }, size: { enum: ['small', 'large'] } },
        required: ['ok', 'size'],
        additionalProperties: false,
      };
      const r = await collect(
        engine.chat(
          base({ temperature, seed: 5, maxTokens: 200, responseFormat: { type: 'json_schema', name: 's', schema }, logitBias: {} }),
          never,
        ),
      );
      assert.equal(r.done[0], 'stop', r.texts[0]);
      const v = JSON.parse(r.texts[0]);
      assert.deepEqual(Object.keys(v).sort(), ['ok', 'size']);
      assert.equal(typeof v.ok, 'boolean');
      assert.ok(['small', 'large'].includes(v.size));
    }
    await assert.rejects(
      collect(engine.chat(base({ responseFormat: { type: 'json_schema', name: 's', schema: { type: 'string', pattern: 'a' } } }), never)),
      (e: EngineError) => e.param === 'response_format' && /pattern/.test(e.message),
    );
  });

  it('refuses images and prompts beyond its window with EngineErrors', async () => {
    const img = { role: 'user' as const, content: [{ type: 'image' as const, data: new Uint8Array(4), mime: 'image/png' }] };
    await assert.rejects(
      collect(engine.chat(base({ messages: [img] }), never)),
      (e: EngineError) => e.code === 'unsupported_capability' && /image input/.test(e.message),
    );
    await assert.rejects(
      collect(engine.chat(base({ messages: [{ role: 'user', content: 'x'.repeat(300) }] }), never)),
      (e: EngineError) => e.code === 'context_length_exceeded' && /256/.test(e.message),
    );
    await assert.rejects(collect(engine.chat(base({ maxTokens: 250 }), never)), (e: EngineError) => e.code === 'context_length_exceeded');
  });

  it('generates concurrent requests in shared steps, each answer what it is alone', async () => {
    const reqs = [
      base({ maxTokens: 12 }),
      base({ maxTokens: 5, messages: [{ role: 'user', content: 'a longer question here' }] }),
      base({ maxTokens: 9, n: 2, temperature: 0.9, seed: 4 }),
    ];
    const alone = [];
    for (const r of reqs) alone.push(await collect(engine.chat(r, never)));
    const batcher = (engine as unknown as { batcher: { maxRows: number } }).batcher;
    batcher.maxRows = 0;
    const together = await Promise.all(reqs.map((r) => collect(engine.chat(r, never))));
    assert.ok(batcher.maxRows >= 3, `the largest shared step had ${batcher.maxRows} rows`);
    for (let i = 0; i < reqs.length; i++) {
      assert.deepEqual(together[i].texts, alone[i].texts, `request ${i}`);
      assert.deepEqual(together[i].usage, alone[i].usage);
    }
  });

  it('queues a request beyond its active limit and lets it run once an aborted first one stops', async () => {
    const engine = await openBuiltinEngine(tinyCheckpoint(), undefined, { maxActive: 1 });
    const first = new AbortController();
    const it1 = engine.chat(base({ maxTokens: 200 }), first.signal)[Symbol.asyncIterator]();
    await it1.next(); // holds the engine now
    const second = collect(engine.chat(base({ maxTokens: 2 }), never));
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(engine.queueDepth(), 1);
    first.abort();
    while (!(await it1.next()).done) {
      /* drains promptly */
    }
    const r = await second;
    assert.equal(r.usage!.completionTokens, 2);
    assert.equal(engine.queueDepth(), 0);
  });

  it('serves waiting requests round-robin across clients, so one busy client cannot starve another', async () => {
    const engine = await openBuiltinEngine(tinyCheckpoint(), undefined, { maxActive: 1 });
    const hold = new AbortController();
    const it1 = engine.chat(base({ maxTokens: 200, client: 'a' }), hold.signal)[Symbol.asyncIterator]();
    await it1.next(); // client a holds the engine
    const order: string[] = [];
    const run = (name: string, client: string) => collect(engine.chat(base({ maxTokens: 1, client }), never)).then(() => order.push(name));
    const waiting = [run('a2', 'a'), run('a3', 'a'), run('a4', 'a'), run('b1', 'b')];
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(engine.queueDepth(), 4);
    hold.abort();
    while (!(await it1.next()).done) {
      /* drains */
    }
    await Promise.all(waiting);
    assert.deepEqual(order, ['a2', 'b1', 'a3', 'a4']);
  });
});
