// The llamacpp engine on a small GGUF written here: a seeded random llama (the export of
// test/train) with a byte-level vocabulary that has ChatML's <|im_start|>/<|im_end|>, and a ChatML
// tokenizer.chat_template so node-llama-cpp renders chats from the file.
//
// node-llama-cpp is an optional dependency: the suite skips with the reason when it cannot be
// imported, unless TETRA_REQUIRE_LLAMACPP=1.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { LlamaCppEngine, loadNodeLlamaCpp } from '../../src/engine/llamacpp.ts';
import { EngineError, type ChatRequest } from '../../src/engine/types.ts';
import type { GPTConfig } from '../../src/model/config.ts';
import { exportGGUF, llamaMetadata, llamaTensors, writeGGUF } from '../../src/model/io/gguf.ts';
import { randomParams, tinyVocab } from '../model/io/llama-fixture.ts';
import { chatRequest, collect, textOf } from './helpers.ts';

let skip: string | undefined;
try {
  await loadNodeLlamaCpp();
} catch (e) {
  skip = (e as Error).message;
  if (process.env.TETRA_REQUIRE_LLAMACPP === '1') throw new Error(`${skip} (TETRA_REQUIRE_LLAMACPP=1)`);
}

const CHATML =
  "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";
const config: GPTConfig = {
  vocabSize: 300,
  contextLength: 256,
  nLayer: 2,
  nEmbd: 64,
  nHead: 2,
  mlpHidden: 160,
  tiedEmbeddings: false,
  ropeBase: 10000,
  normEps: 1e-5,
};
const tokenizer = tinyVocab(config.vocabSize);
const params = randomParams(config, 11);

const req = (over: Partial<ChatRequest> = {}) =>
  chatRequest({
    messages: [
      { role: 'system', content: 'You are terse.' },
      { role: 'user', content: 'Hello there' },
    ],
    ...over,
  });

describe('LlamaCppEngine on a tiny GGUF', { skip }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'tetra-engine-llamacpp-'));
  const path = join(dir, 'tiny.gguf');
  let engine: LlamaCppEngine;
  before(async () => {
    exportGGUF(path, config, params, { tokenizer, name: 'tiny-chatml', chatTemplate: CHATML });
    const t0 = Date.now();
    engine = await LlamaCppEngine.open({ modelPath: path, contextSize: 256 });
    console.log(`  opened in ${Date.now() - t0} ms; chat wrapper: ${engine.chatWrapperName}`);
  });
  after(async () => {
    await engine?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('renders the chat with the template from the GGUF and streams tokens', async () => {
    assert.match(engine.chatWrapperName, /ChatML/i);
    assert.equal(engine.contextWindow(), 256);
    assert.deepEqual(engine.capabilities, { imageInput: false, logprobs: true, jsonSchema: true, completions: true });
    const t0 = Date.now();
    const evs = await collect(engine.chat(req(), new AbortController().signal));
    const ms = Date.now() - t0;
    const texts = evs.filter((e) => e.type === 'text');
    assert.ok(texts.length >= 1);
    const done = evs.find((e) => e.type === 'done');
    assert.ok(done && done.type === 'done' && ['stop', 'length'].includes(done.finishReason));
    const usage = evs.at(-1)!;
    assert.equal(usage.type, 'usage');
    const promptTokens = await engine.countChatTokens(req().messages);
    // ChatML: <|im_start|>system\n...<|im_end|>\n<|im_start|>user\n...<|im_end|>\n<|im_start|>assistant\n
    const byHand =
      3 +
      (await engine.countTextTokens('system\nYou are terse.')) +
      (await engine.countTextTokens('\n')) * 3 +
      (await engine.countTextTokens('user\nHello there')) +
      2 +
      (await engine.countTextTokens('assistant\n'));
    assert.equal(promptTokens, byHand, 'the ChatML rendering, token for token');
    assert.equal((usage as { promptTokens: number }).promptTokens, promptTokens);
    console.log(
      `  greedy chat: ${(usage as { completionTokens: number }).completionTokens} tokens in ${ms} ms (${texts.length} text events): ${JSON.stringify(textOf(evs))}`,
    );
    // greedy is deterministic
    assert.equal(textOf(await collect(engine.chat(req(), new AbortController().signal))), textOf(evs));
  });

  it('stops at a stop string, cutting the text before it', async () => {
    const full = textOf(await collect(engine.chat(req({ maxTokens: 24 }), new AbortController().signal)));
    const stop = [...full].find((ch, i) => i >= 2 && ch.trim() && ch !== '\uFFFD');
    assert.ok(stop, `need a visible character in ${JSON.stringify(full)}`);
    const evs = await collect(engine.chat(req({ maxTokens: 24, stop: [stop] }), new AbortController().signal));
    assert.equal(textOf(evs), full.slice(0, full.indexOf(stop)));
    assert.deepEqual(
      evs.find((e) => e.type === 'done'),
      { type: 'done', index: 0, finishReason: 'stop' },
    );
  });

  it('response_format json_schema: the output parses and matches the schema', async () => {
    const schema = {
      type: 'object',
      properties: { ok: { type: 'boolean' }, size: { enum: ['small', 'large'] }, n: { type: 'integer' } },
      required: ['ok', 'size'],
      additionalProperties: false,
    };
    const t0 = Date.now();
    const evs = await collect(
      engine.chat(
        req({ maxTokens: 120, temperature: 0.8, seed: 3, responseFormat: { type: 'json_schema', name: 'answer', schema } }),
        new AbortController().signal,
      ),
    );
    const text = textOf(evs);
    console.log(`  json_schema output in ${Date.now() - t0} ms: ${text}`);
    assert.equal(text, text.trim(), 'generation stops where the value closes');
    assert.deepEqual(
      evs.find((e) => e.type === 'done'),
      { type: 'done', index: 0, finishReason: 'stop' },
    );
    const v = JSON.parse(text);
    assert.equal(typeof v.ok, 'boolean');
    assert.ok(['small', 'large'].includes(v.size));
    assert.ok(v.n === undefined || Number.isInteger(v.n));
    assert.deepEqual(
      Object.keys(v).filter((k) => !['ok', 'size', 'n'].includes(k)),
      [],
    );
  });

  it('logprobs: each token with its top alternatives, most likely first', async () => {
    const evs = await collect(engine.chat(req({ temperature: 1, seed: 1, topLogprobs: 3, maxTokens: 5 }), new AbortController().signal));
    const lps = evs.flatMap((e) => (e.type === 'text' ? (e.logprobs ?? []) : []));
    assert.ok(lps.length >= 1);
    for (const l of lps) {
      assert.ok(l.logprob <= 0 && Number.isFinite(l.logprob), `logprob ${l.logprob}`);
      assert.equal(l.top.length, 3);
      assert.ok(l.top[0].logprob >= l.top[1].logprob && l.top[1].logprob >= l.top[2].logprob);
      assert.ok(l.logprob <= l.top[0].logprob + 1e-9);
    }
  });

  it('completions: raw prompt, echo with prompt logprobs, n choices', async () => {
    const { messages: _, ...rest } = req({ n: 2, temperature: 1, seed: 4, topLogprobs: 1, maxTokens: 4 });
    const evs = await collect(engine.complete({ ...rest, prompt: 'The cat sat', echo: true }, new AbortController().signal));
    const echoes = evs.filter((e) => e.type === 'text' && e.echo);
    assert.equal(echoes.length, 2);
    const plp = (echoes[0] as { logprobs?: { logprob: number }[] }).logprobs!;
    assert.equal(plp.length, await engine.countTextTokens('The cat sat'));
    assert.ok(Number.isNaN(plp[0].logprob) && plp.slice(1).every((l) => l.logprob < 0));
    assert.deepEqual(
      evs.filter((e) => e.type === 'done').map((e) => (e as { index: number }).index),
      [0, 1],
    );
  });

  it('aborting stops generation promptly and frees the sequence for the next request', async () => {
    const ac = new AbortController();
    let n = 0;
    const t0 = Date.now();
    for await (const e of engine.chat(req({ maxTokens: 200, temperature: 1, seed: 2 }), ac.signal)) {
      if (e.type === 'text' && ++n === 2) ac.abort();
      assert.notEqual(e.type, 'usage', 'an aborted request reports no usage');
    }
    console.log(`  aborted after ${n} text events, ${Date.now() - t0} ms`);
    assert.ok(n <= 3);
    assert.equal(engine.queueDepth(), 0);
    const next = await collect(engine.chat(req({ maxTokens: 3 }), new AbortController().signal));
    assert.equal(next.at(-1)!.type, 'usage');
  });

  it('image input and an over-long prompt are EngineErrors', async () => {
    await assert.rejects(
      collect(
        engine.chat(
          req({ messages: [{ role: 'user', content: [{ type: 'image', data: new Uint8Array(4), mime: 'image/png' }] }] }),
          new AbortController().signal,
        ),
      ),
      (e: unknown) => e instanceof EngineError && e.status === 400 && e.code === 'unsupported_capability',
    );
    await assert.rejects(
      collect(engine.chat(req({ messages: [{ role: 'user', content: 'x'.repeat(300) }] }), new AbortController().signal)),
      (e: unknown) => e instanceof EngineError && e.status === 400 && e.code === 'context_length_exceeded',
    );
  });

  it('a GGUF missing a key llama.cpp aborts on is refused with an EngineError, and the process lives on', async () => {
    const bad = join(dir, 'no-ffn.gguf');
    const md = llamaMetadata(config, { tokenizer }).filter((kv) => kv.key !== 'llama.feed_forward_length');
    writeGGUF(bad, md, llamaTensors(config, params));
    for (const verify of ['strict', 'basic'] as const) {
      await assert.rejects(LlamaCppEngine.open({ modelPath: bad, verify }), (e: unknown) => {
        assert.ok(e instanceof EngineError, String(e));
        assert.equal(e.status, 503);
        assert.match(e.message, /feed_forward_length/);
        return true;
      });
    }
    await assert.rejects(LlamaCppEngine.open({ modelPath: join(dir, 'absent.gguf') }), EngineError);
  });
});
