// The official `openai` npm client against a running tetra server: what users will actually do.
// Chat, streaming, n > 1, logprobs, models, completions scoring, and every refusal surfacing as
// the client's typed error class with OpenAI's status, code and param.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { png, serve, SNAPSHOT, type Served } from './fixture.ts';

const NO_SPECIALS = Object.fromEntries(Array.from({ length: 8 }, (_, i) => [String(256 + i), -100]));

describe('openai client against tetra serve', () => {
  let s: Served, client: OpenAI;
  before(async () => {
    s = await serve({ keys: { client: 'default' } });
    client = new OpenAI({ apiKey: s.secrets.client, baseURL: `${s.url}/v1`, maxRetries: 0 });
  });
  after(() => s.close());

  it('chats, with the snapshot, usage and logprobs the client types describe', async () => {
    const r = await client.chat.completions.create({
      model: 'tetra',
      messages: [
        { role: 'system', content: 'terse' },
        { role: 'user', content: 'hi' },
      ],
      max_completion_tokens: 3,
      temperature: 0,
      logprobs: true,
      top_logprobs: 2,
      logit_bias: { ...NO_SPECIALS, '65': 100 },
      seed: 1,
    });
    assert.equal(r.model, SNAPSHOT);
    assert.equal(r.choices[0].message.content, 'AAA');
    assert.equal(r.choices[0].finish_reason, 'length');
    assert.equal(r.choices[0].logprobs!.content!.length, 3);
    assert.equal(r.choices[0].logprobs!.content![0].top_logprobs.length, 2);
    assert.equal(r.usage!.completion_tokens, 3);
  });

  it('streams n choices and the usage chunk', async () => {
    const stream = await client.chat.completions.create({
      model: 'tetra',
      messages: [{ role: 'user', content: 'hi' }],
      max_tokens: 5,
      n: 2,
      temperature: 0.9,
      seed: 3,
      logit_bias: NO_SPECIALS,
      stream: true,
      stream_options: { include_usage: true },
    });
    const text = ['', ''];
    const finish: (string | null)[] = [null, null];
    let usage: OpenAI.CompletionUsage | null | undefined;
    for await (const chunk of stream) {
      for (const c of chunk.choices) {
        text[c.index] += c.delta.content ?? '';
        if (c.finish_reason) finish[c.index] = c.finish_reason;
      }
      if (chunk.usage) usage = chunk.usage;
    }
    assert.deepEqual(finish, ['length', 'length']);
    assert.ok(text.every((t) => t.length > 0));
    assert.equal(usage!.completion_tokens, 10);
  });

  it('lists and retrieves models, aliases included', async () => {
    const ids = [];
    for await (const m of client.models.list()) ids.push(m.id);
    assert.ok(ids.includes('tetra') && ids.includes(SNAPSHOT));
    assert.equal((await client.models.retrieve('tetra-long')).id, 'tetra-long');
  });

  it('scores with completions echo + logprobs + max_tokens 0', async () => {
    const r = await client.completions.create({ model: 'tetra', prompt: 'hello', echo: true, logprobs: 1, max_tokens: 0 });
    assert.equal(r.choices[0].text, 'hello');
    assert.equal(r.choices[0].logprobs!.token_logprobs!.length, 5);
  });

  it("surfaces refusals as the client's typed errors", async () => {
    const base = { model: 'tetra', messages: [{ role: 'user' as const, content: 'hi' }], max_tokens: 2 };
    await assert.rejects(
      client.chat.completions.create({ ...base, model: 'gpt-4' }),
      (e: any) => e instanceof OpenAI.NotFoundError && e.code === 'model_not_found',
    );
    await assert.rejects(
      client.chat.completions.create({ ...base, temperature: 5 }),
      (e: any) => e instanceof OpenAI.BadRequestError && e.param === 'temperature',
    );
    await assert.rejects(
      client.chat.completions.create({ ...base, messages: [{ role: 'user', content: 'x'.repeat(200) }] }),
      (e: any) => e instanceof OpenAI.BadRequestError && e.code === 'context_length_exceeded' && /128 tokens/.test(e.message),
    );
    await assert.rejects(
      client.chat.completions.create({
        ...base,
        response_format: { type: 'json_schema', json_schema: { name: 'answer', schema: { type: 'string', pattern: '^a' }, strict: true } },
      }),
      (e: any) => e instanceof OpenAI.BadRequestError && e.param === 'response_format' && /pattern/.test(e.message),
    );
    await assert.rejects(
      client.chat.completions.create({
        ...base,
        messages: [
          {
            role: 'user',
            content: [
              { type: 'text', text: 'what is it?' },
              { type: 'image_url', image_url: { url: `data:image/png;base64,${png(8, 8).toString('base64')}` } },
            ],
          },
        ],
      }),
      (e: any) => e instanceof OpenAI.BadRequestError && /does not accept image input/.test(e.message),
    );
    await assert.rejects(
      client.chat.completions.create({
        ...base,
        messages: [
          {
            role: 'user',
            content: [{ type: 'image_url', image_url: { url: `data:image/png;base64,${png(50000, 50000).toString('base64')}` } }],
          },
        ],
      }),
      (e: any) => e instanceof OpenAI.APIError && e.status === 413,
    );
    const anon = new OpenAI({ apiKey: 'sk-nope-nope-nope', baseURL: `${s.url}/v1`, maxRetries: 0 });
    await assert.rejects(
      anon.chat.completions.create(base),
      (e: any) => e instanceof OpenAI.AuthenticationError && e.code === 'invalid_api_key',
    );
  });
});
