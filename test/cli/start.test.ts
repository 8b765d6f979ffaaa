// `tetra start` serves the releases under models/ at once (nothing trained on first start),
// named as the API names models: each one's pinned snapshot from release.json, and the moving
// alias of each family for its newest (`tetra`, `tetra-vision`); `tetra export release` writes such
// a release (weights only, F16). And the releases the repository ships load, are small, carry
// their cards, and the vision model sees.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import sharp from 'sharp';
import { generateShapes } from '../../src/data/index.ts';
import { openBuiltinEngine } from '../../src/engine/index.ts';
import { chatRequest, collect, textOf } from '../engine/helpers.ts';
import { shapesItems, vqaAccuracy } from '../../src/evals/index.ts';
import { checkpointInfo, newestRelease, openCheckpoint, readSafetensors, SHIPPED_MODELS } from '../../src/model/index.ts';
import { get, post, startServer, stop, type Running } from '../gateway/fixtures/processes.ts';
import { tinyCheckpoint } from '../gateway/fixture.ts';

const TETRA = join(import.meta.dirname, '../../bin/tetra.js');
const tetra = (...args: string[]) => spawnSync(process.execPath, [TETRA, ...args], { encoding: 'utf8' });

describe('tetra export release and tetra start', () => {
  const models = mkdtempSync(join(tmpdir(), 'tetra-models-'));
  let srv: Running | undefined;
  after(async () => {
    if (srv) await stop(srv);
  });

  it('writes a release: F16 weights without optimizer state, named by its snapshot', () => {
    const r = tetra(
      'export',
      'release',
      '--checkpoint',
      tinyCheckpoint(),
      '--out',
      join(models, 'tetra-1-2026-01-02'),
      '--snapshot',
      'tetra-1-2026-01-02',
    );
    assert.equal(r.status, 0, r.stderr);
    const dir = join(models, 'tetra-1-2026-01-02');
    assert.equal(JSON.parse(readFileSync(join(dir, 'release.json'), 'utf8')).snapshot, 'tetra-1-2026-01-02');
    const weights = readSafetensors(join(dir, 'model.safetensors'));
    assert.ok([...weights.tensors.values()].every((t) => t.dtype === 'F16'));
    assert.equal(existsSync(join(dir, 'optimizer.safetensors')), false);
    const bad = tetra('export', 'release', '--checkpoint', tinyCheckpoint(), '--out', join(models, 'x'), '--snapshot', 'Bad Name');
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /--snapshot NAME is required \(lowercase/);
  });

  it('picks the newest release by its snapshot date', () => {
    mkdirSync(join(models, 'notes'));
    const older = tetra(
      'export',
      'release',
      '--checkpoint',
      tinyCheckpoint(),
      '--out',
      join(models, 'tetra-1-2025-12-31'),
      '--snapshot',
      'tetra-1-2025-12-31',
    );
    assert.equal(older.status, 0, older.stderr);
    assert.equal(newestRelease(models), join(models, 'tetra-1-2026-01-02'));
    assert.equal(newestRelease(join(models, 'missing')), null);
  });

  it("keeps another family's release under its own alias: it sorts last by name, and tetra stays the default model's", () => {
    const vision = tetra(
      'export',
      'release',
      '--checkpoint',
      tinyCheckpoint(),
      '--out',
      join(models, 'tetra-1-vision-2026-01-03'),
      '--snapshot',
      'tetra-1-vision-2026-01-03',
      '--alias',
      'tetra-vision',
    );
    assert.equal(vision.status, 0, vision.stderr);
    assert.equal(JSON.parse(readFileSync(join(models, 'tetra-1-vision-2026-01-03', 'release.json'), 'utf8')).alias, 'tetra-vision');
    assert.equal(newestRelease(models), join(models, 'tetra-1-2026-01-02'));
    assert.equal(newestRelease(models, 'tetra-vision'), join(models, 'tetra-1-vision-2026-01-03'));
    const same = tetra(
      'export',
      'release',
      '--checkpoint',
      tinyCheckpoint(),
      '--out',
      join(models, 'y'),
      '--snapshot',
      'x-1',
      '--alias',
      'x-1',
    );
    assert.equal(same.status, 2);
    assert.match(same.stderr, /--alias must be a model name other than the snapshot/);
  });

  it("serves every release at once as its pinned snapshot, each alias its family's newest, with the chat app", async () => {
    srv = await startServer(TETRA, {}, 60_000, ['start', '--models', models, '--port', '0']);
    const list = JSON.parse((await get(srv.port, '/v1/models')).body) as { data: { id: string }[] };
    assert.deepEqual(list.data.map((m) => m.id).sort(), [
      'tetra',
      'tetra-1-2025-12-31',
      'tetra-1-2026-01-02',
      'tetra-1-vision-2026-01-03',
      'tetra-vision',
    ]);
    for (const [model, served] of [
      ['tetra', 'tetra-1-2026-01-02'],
      ['tetra-1-2025-12-31', 'tetra-1-2025-12-31'],
      ['tetra-vision', 'tetra-1-vision-2026-01-03'],
    ]) {
      const reply = await post(srv.port, '/v1/chat/completions', {
        model,
        messages: [{ role: 'user', content: 'Hi' }],
        max_tokens: 4,
      });
      assert.equal(reply.status, 200, reply.body);
      assert.equal(JSON.parse(reply.body).model, served);
    }
    const page = await get(srv.port, '/');
    assert.equal(page.status, 200);
    assert.match(page.body, /<html/i);
  });

  it('says what to do when there is no release', () => {
    const r = tetra('start', '--models', join(models, 'missing'));
    assert.equal(r.status, 2);
    assert.match(r.stderr, /no model release under .*npm run speedrun/);
  });
});

describe('the shipped default model', () => {
  const release = newestRelease(SHIPPED_MODELS);
  it('is in the repository, small, loadable, with its model card and report card', {
    skip: release ? undefined : 'no release under models/ yet',
  }, () => {
    const dir = release!;
    const { config, meta } = checkpointInfo(dir);
    assert.equal(meta.tokenizer?.name, 'bytes');
    assert.ok(config.contextLength >= 512);
    assert.ok(statSync(join(dir, 'model.safetensors')).size < 50e6);
    for (const f of ['README.md', 'REPORT.md', 'report.html']) assert.ok(existsSync(join(dir, f)), `${f} is missing`);
    assert.match(readFileSync(join(dir, 'REPORT.md'), 'utf8'), /## What this model cannot do/);
  });
});

describe('the shipped vision model', () => {
  const release = newestRelease(SHIPPED_MODELS, 'tetra-vision');
  it('is in the repository, small, with its model card, and sees held-out shapes scenes', {
    skip: release ? undefined : 'no tetra-vision release under models/',
  }, async () => {
    const dir = release!;
    assert.ok(statSync(join(dir, 'model.safetensors')).size < 50e6);
    assert.ok(existsSync(join(dir, 'README.md')), 'README.md is missing');
    const { model, tok } = await openCheckpoint(dir);
    assert.equal(model.config.vision?.imageSize, 64);
    // Fresh scenes of the seen combinations (a seed of their own), the question types it answers best.
    const items = shapesItems('seen', 24, 404, 64).filter((i) => ['colour', 'kind', 'exist', 'count'].includes(i.type));
    const r = vqaAccuracy(model, tok, items);
    assert.ok(items.length >= 40, `only ${items.length} questions`);
    assert.ok(r.accuracy >= 0.9, `accuracy ${r.accuracy} on ${items.length} questions: ${JSON.stringify(r.byType)}`);
  });

  it("answers through the engine a question sent before its image (OpenAI's examples' order) as one sent after it", {
    skip: release ? undefined : 'no tetra-vision release under models/',
  }, async () => {
    const engine = await openBuiltinEngine(release!);
    const ask = async (png: Uint8Array, text: string, textFirst: boolean) => {
      const image = { type: 'image' as const, data: png, mime: 'image/png' },
        question = { type: 'text' as const, text };
      const req = chatRequest({ messages: [{ role: 'user', content: textFirst ? [question, image] : [image, question] }], maxTokens: 24 });
      return textOf(await collect(engine.chat(req, new AbortController().signal)));
    };
    let right = 0,
      n = 0;
    for (const s of generateShapes({ seed: 405, count: 8, split: 'seen', types: ['colour', 'kind', 'count'] })) {
      const png = new Uint8Array(
        await sharp(Buffer.from(s.rgb), { raw: { width: 64, height: 64, channels: 3 } })
          .png()
          .toBuffer(),
      );
      for (const q of s.questions) {
        const before = await ask(png, q.question, true);
        assert.equal(before, await ask(png, q.question, false), q.question);
        n++;
        if (before.trim() === q.answer) right++;
      }
    }
    assert.ok(right >= 0.85 * n, `${right} of ${n} right`);
    await engine.close();
  });
});
