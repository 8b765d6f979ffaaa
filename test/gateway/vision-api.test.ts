// Image input through the API with the official `openai` client: a vision checkpoint answers
// image_url parts (data-URL PNGs decoded by sharp), the image reaches the model, its tokens are
// counted in usage.prompt_tokens, and bad images (truncated, animated, mislabelled, not an image)
// are 400s that name the part, with the server still answering afterwards.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import sharp from 'sharp';
import { configFromDepth, GPT, saveCheckpoint } from '../../src/model/index.ts';
import { openBuiltinEngine } from '../../src/engine/index.ts';
import { Catalog, createGateway, parseCatalog } from '../../src/gateway/index.ts';
import { testGovernance } from './fixtures/governance.ts';
import { startServer, stop } from './fixtures/processes.ts';

const SNAP = 'tetra-vision-2026-12-05';
const NO_SPECIALS = Object.fromEntries(Array.from({ length: 8 }, (_, i) => [String(256 + i), -100]));

/** A random-weight byte-level checkpoint that sees 16x16 images in 8x8 patches (4 image tokens). */
function visionCheckpoint(): string {
  const dir = join(mkdtempSync(join(tmpdir(), 'tetra-vis-')), 'ckpt');
  const config = configFromDepth(1, { vocabSize: 264, nEmbd: 32, nHead: 2, contextLength: 256, vision: { imageSize: 16, patchSize: 8 } });
  saveCheckpoint(dir, { config, params: GPT.init(config, 1).weights(), meta: { step: 0, tokensSeen: 0, tokenizer: { name: 'bytes' } } });
  return dir;
}

const square = async (rgb: [number, number, number], format: 'png' | 'gif' = 'png') =>
  sharp({ create: { width: 32, height: 32, channels: 3, background: { r: 255, g: 255, b: 255 } } })
    .composite([
      { input: { create: { width: 16, height: 16, channels: 3, background: { r: rgb[0], g: rgb[1], b: rgb[2] } } }, left: 8, top: 8 },
    ])
    [format]()
    .toBuffer();
const dataUrl = (b: Buffer, mime = 'image/png') => `data:${mime};base64,${b.toString('base64')}`;
const ask = (url: string, text = 'What color is the square?'): OpenAI.ChatCompletionMessageParam[] => [
  {
    role: 'user',
    content: [
      { type: 'image_url', image_url: { url } },
      { type: 'text', text },
    ],
  },
];

describe('image input through the API (official client)', () => {
  let client: OpenAI, close: () => Promise<void>;
  before(async () => {
    const dir = visionCheckpoint();
    const gov = testGovernance({ keys: { client: 'default' } });
    const gateway = createGateway({
      catalog: new Catalog(
        parseCatalog(
          {
            engines: { v: { kind: 'builtin', checkpoint: dir } },
            models: [
              { id: SNAP, engine: 'v', image_input: true },
              { id: 'tetra', alias: SNAP },
            ],
          },
          'test',
        ),
      ),
      engines: new Map([['v', await openBuiltinEngine(dir)]]),
      auth: gov.auth,
      limits: gov.limits,
      ledger: gov.ledger,
      log: () => {},
    });
    const url = await gateway.listen(0, '127.0.0.1');
    client = new OpenAI({ apiKey: gov.secrets.client, baseURL: `${url}/v1`, maxRetries: 0 });
    close = () => gateway.close();
  });
  after(() => close());

  it('lists the model as taking images', async () => {
    const m = (await client.models.retrieve(SNAP)) as unknown as { image_input: boolean };
    assert.equal(m.image_input, true);
  });

  it('answers a data-URL PNG, counts its image tokens, and the image reaches the model', async () => {
    const first = async (url: string) =>
      client.chat.completions.create({
        model: 'tetra',
        messages: ask(url),
        max_tokens: 1,
        temperature: 0,
        logprobs: true,
        top_logprobs: 3,
        logit_bias: NO_SPECIALS,
      });
    const red = await first(dataUrl(await square([220, 30, 30])));
    const blue = await first(dataUrl(await square([30, 70, 220])));
    const text = await client.chat.completions.create({
      model: 'tetra',
      messages: [{ role: 'user', content: 'What color is the square?' }],
      max_tokens: 1,
    });
    assert.equal(typeof red.choices[0].message.content, 'string');
    // <|image_start|> and 4 slots: what the model reads for the image.
    assert.equal(red.usage!.prompt_tokens - text.usage!.prompt_tokens, 5);
    const top = (r: OpenAI.ChatCompletion) => r.choices[0].logprobs!.content![0].top_logprobs.map((t) => t.logprob);
    assert.notDeepEqual(top(red), top(blue), 'two images, two different next-token distributions');
  });

  it("reads a question sent before its image (OpenAI's examples' order) as the model is trained: the image first", async () => {
    const url = dataUrl(await square([220, 30, 30]));
    const asked = (content: OpenAI.ChatCompletionContentPart[]) =>
      client.chat.completions.create({
        model: 'tetra',
        messages: [{ role: 'user', content }],
        max_tokens: 1,
        temperature: 0,
        logprobs: true,
        top_logprobs: 5,
      });
    const image = { type: 'image_url' as const, image_url: { url } },
      text = { type: 'text' as const, text: 'What color is the square?' };
    const after = await asked([image, text]),
      before = await asked([text, image]);
    assert.deepEqual(before.choices[0].logprobs, after.choices[0].logprobs);
    assert.equal(before.usage!.prompt_tokens, after.usage!.prompt_tokens);
    // A bad image is still named by where the request put it.
    const bad = dataUrl(Buffer.from('not an image'), 'image/png');
    await assert.rejects(asked([text, { type: 'image_url', image_url: { url: bad } }]), (e: unknown) => {
      assert.equal((e as { param?: string }).param, 'messages[0].content[1].image_url.url');
      return true;
    });
  });

  it('refuses bad images with a 400 naming the part, and keeps serving', async () => {
    const png = await square([30, 160, 60]);
    const frames = await Promise.all([square([220, 30, 30]), square([30, 70, 220])]);
    const gif = await sharp(frames, { join: { animated: true } })
      .gif()
      .toBuffer();
    const cases: [string, RegExp][] = [
      [dataUrl(png.subarray(0, Math.floor(png.length / 2))), /corrupt|truncated|damaged|could not/i],
      [dataUrl(gif, 'image/gif'), /2 frames; only still images/],
      [dataUrl(png, 'image/jpeg'), /says image\/jpeg but the bytes are image\/png/],
      [dataUrl(Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"/>'), 'image/svg+xml'), /not a PNG, JPEG, GIF or WebP/],
    ];
    for (const [url, message] of cases) {
      await assert.rejects(client.chat.completions.create({ model: 'tetra', messages: ask(url), max_tokens: 1 }), (e: unknown) => {
        assert.ok(e instanceof OpenAI.BadRequestError, `${message}: ${e}`);
        assert.match(e.message, message, e.message);
        assert.equal((e as { param?: string }).param, 'messages[0].content[0].image_url.url');
        return true;
      });
    }
    const ok = await client.chat.completions.create({ model: 'tetra', messages: ask(dataUrl(png)), max_tokens: 2 });
    assert.equal(ok.choices.length, 1);
  });
});

describe('tetra serve --checkpoint with a vision checkpoint', () => {
  it('lists the snapshot and its alias as taking images, and answers a PNG', async () => {
    const home = mkdtempSync(join(tmpdir(), 'tetra-home-'));
    writeFileSync(join(home, 'plans.json'), JSON.stringify({ plans: { default: { rpm: 1000, tpm: 1_000_000 } } }));
    const srv = await startServer(join(import.meta.dirname, '../../bin/tetra.js'), { TETRA_HOME: home }, 60_000, [
      'serve',
      '--checkpoint',
      visionCheckpoint(),
      '--port',
      '0',
    ]);
    try {
      const client = new OpenAI({ apiKey: 'none', baseURL: `http://127.0.0.1:${srv.port}/v1`, maxRetries: 0 });
      const m = (await client.models.retrieve('tetra')) as unknown as { image_input: boolean };
      assert.equal(m.image_input, true);
      const r = await client.chat.completions.create({
        model: 'tetra',
        messages: ask(dataUrl(await square([245, 130, 20]))),
        max_tokens: 2,
        logit_bias: NO_SPECIALS,
      });
      assert.equal(r.choices[0].message.content?.length ? 'answered' : 'empty', 'answered');
    } finally {
      await stop(srv);
    }
  });
});
