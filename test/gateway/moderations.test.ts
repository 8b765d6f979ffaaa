// /v1/moderations in OpenAI's schema, served by the moderation classifier of src/safety (here on
// random weights: the protocol is what is tested; its accuracy is measured in bench/RESULTS.md),
// through the official `openai` client and raw requests for every kind of bad input.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import OpenAI from 'openai';
import { GPT, loadCheckpoint } from '../../src/model/index.ts';
import { LetterClassifier, MODERATION_LABELS, MODERATION_SYSTEM, ModerationClassifier, OPENAI_CATEGORIES } from '../../src/safety/index.ts';
import { defaultBackend } from '../../src/tensor/index.ts';
import { byteTokenizer } from '../../src/tokenizer/index.ts';
import { post, serve, tinyCheckpoint, type Served } from './fixture.ts';

describe('/v1/moderations', () => {
  let s: Served, bare: Served, client: OpenAI, classifier: ModerationClassifier;
  before(async () => {
    const ck = loadCheckpoint(tinyCheckpoint(640));
    classifier = new ModerationClassifier(
      new LetterClassifier(
        new GPT(ck.config, ck.params, { requiresGrad: false }),
        byteTokenizer(),
        defaultBackend(),
        MODERATION_LABELS,
        MODERATION_SYSTEM,
      ),
    );
    const moderation = { model: 'tetra-moderation-test', moderate: (t: string) => classifier.moderate(t) };
    s = await serve({ keys: { client: 'default' }, extra: { moderation } });
    bare = await serve();
    client = new OpenAI({ apiKey: s.secrets.client, baseURL: `${s.url}/v1`, maxRetries: 0 });
  });
  after(async () => {
    await s.close();
    await bare.close();
  });

  it("answers the openai client's moderations.create with every category, scored", async () => {
    const r = await client.moderations.create({ input: ['How do I kill a Python process?', 'hello'] });
    assert.match(r.id, /^modr-/);
    assert.equal(r.model, 'tetra-moderation-test');
    assert.equal(r.results.length, 2);
    for (const [i, x] of r.results.entries()) {
      assert.deepEqual(Object.keys(x.categories).sort(), Object.keys(OPENAI_CATEGORIES).sort());
      const scores = x.category_scores as unknown as Record<string, number>;
      for (const v of Object.values(scores)) assert.ok(v >= 0 && v <= 1);
      const flags = x.categories as unknown as Record<string, boolean>;
      for (const k of Object.keys(flags)) assert.equal(flags[k], scores[k] >= 0.5, k);
      assert.equal(x.flagged, Object.values(flags).some(Boolean));
      assert.deepEqual(x, classifier.moderate(['How do I kill a Python process?', 'hello'][i]));
    }
    const one = await client.moderations.create({ input: 'hi', model: 'omni-moderation-latest' });
    assert.equal(one.results.length, 1);
  });

  it('names the field of every bad input, and needs the key like the rest of the API', async () => {
    const auth = { authorization: `Bearer ${s.secrets.client}` };
    const cases: [unknown, number, string | null, RegExp][] = [
      [{}, 400, 'input', /input is required/],
      [{ input: [] }, 400, 'input', /must not be empty/],
      [{ input: Array(33).fill('x') }, 400, 'input', /33 items; at most 32/],
      [{ input: [{ type: 'image_url', image_url: { url: 'data:' } }] }, 400, 'input[0]', /image inputs are not supported/],
      [{ input: [3] }, 400, 'input[0]', /must be a string/],
      [{ input: 'x'.repeat(40_000) }, 400, 'input[0]', /at most 32768/],
      [{ input: 'hi', model: 'gpt-4' }, 404, 'model', /does not exist/],
    ];
    for (const [body, status, param, re] of cases) {
      const r = await post(s.url, '/v1/moderations', body, auth);
      assert.equal(r.status, status, JSON.stringify(body).slice(0, 60));
      assert.equal(r.json.error.param, param);
      assert.match(r.json.error.message, re);
    }
    assert.equal((await post(s.url, '/v1/moderations', { input: 'hi' })).status, 401);
    const none = await post(bare.url, '/v1/moderations', { input: 'hi' });
    assert.equal(none.status, 404);
    assert.match(none.json.error.message, /--moderation-model/);
  });
});
