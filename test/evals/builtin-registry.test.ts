// The built-in registry loads through the core's registry and templates unchanged, its generated
// data equals generate.ts' output, and a model that answers each ideal in the requested form
// scores 1 (so the graders and the data agree).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import '../../src/evals/templates/index.ts';
import '../../src/evals/benchmark-classes.ts';
import { Registry } from '../../src/evals/registry.ts';
import { instantiate } from '../../src/evals/runner.ts';
import { DATA_DIR, GENERATED, GENERATED_IMAGES, jsonl } from '../../src/evals/builtin-registry/generate.ts';
import sharp from 'sharp';
import { textOf, type CompletionFn, type EvalMessage, type EvalPart, type Sample } from '../../src/evals/types.ts';
import { makeCtx } from './fixtures/context.ts';

const root = join(import.meta.dirname, '../../src/evals/builtin-registry');
const fx = (...p: string[]) => join(import.meta.dirname, 'fixtures', ...p);

/** An instantiated eval's metrics over the samples, answered by fn. */
async function score(inst: Awaited<ReturnType<typeof instantiate>>, samples: Sample[], fn: CompletionFn) {
  const rs = [];
  for (const [i, s] of samples.entries()) rs.push(await inst.template.evalSample(s, makeCtx([fn], i)));
  return inst.template.aggregate(rs);
}

/** Answers every prompt with the first ideal of the sample whose input it was given. */
function oracle(samples: Sample[]): CompletionFn {
  const key = (m: EvalMessage[] | string) => JSON.stringify(m);
  const answers = new Map(samples.map((s) => [key(s.input), Array.isArray(s.ideal) ? s.ideal[0] : (s.ideal ?? '')]));
  return {
    name: 'oracle',
    chat: async (messages) => ({
      texts: [answers.get(key(messages.filter((m) => m.role !== 'system' || !m.name))) ?? answers.get(key(messages)) ?? ''],
    }),
    complete: async (prompt) => ({ texts: [answers.get(key(prompt)) ?? ''] }),
  };
}

describe('built-in registry', () => {
  // The core registry holds the model-graded specs (closedqa) the refusal eval uses.
  const reg = new Registry([join(root, '..', 'core-registry'), root]);

  it('generated data files equal generate.ts output (regenerate with npx tsx src/evals/builtin-registry/generate.ts)', () => {
    for (const [rel, make] of Object.entries(GENERATED)) assert.equal(readFileSync(join(DATA_DIR, rel), 'utf8'), jsonl(make()), rel);
  });

  it('generated image files hold generate.ts output: the same questions and answers, the same pixels', async () => {
    const pixels = async (url: string) =>
      sharp(Buffer.from(url.slice(url.indexOf(',') + 1), 'base64'))
        .raw()
        .toBuffer();
    const image = (s: Sample) => ((s.input as EvalMessage[])[0].content as EvalPart[])[0] as { image_url: { url: string } };
    for (const [rel, make] of Object.entries(GENERATED_IMAGES)) {
      const committed = readFileSync(join(DATA_DIR, rel), 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Sample);
      const fresh = await make();
      assert.equal(committed.length, fresh.length, rel);
      const strip = (s: Sample) => JSON.stringify({ ...s, input: textOf((s.input as EvalMessage[])[0].content) });
      for (const [i, s] of committed.entries()) assert.equal(strip(s), strip(fresh[i]), `${rel}:${i + 1}`);
      for (const i of [0, Math.floor(committed.length / 2), committed.length - 1])
        assert.deepEqual(await pixels(image(committed[i]).image_url.url), await pixels(image(fresh[i]).image_url.url), `${rel}:${i + 1}`);
    }
  });

  it('tetra-vqa: the ideal answer scores 1 per question type, a wrong one 0; the samples carry PNG data URLs', async () => {
    for (const name of ['tetra-vqa-seen', 'tetra-vqa-unseen', 'tetra-vqa-phrasing']) {
      const inst = await instantiate(reg, reg.eval(name));
      const samples = (await inst.samples()).slice(0, 40);
      assert.ok(samples.every((s) => JSON.stringify(s.input).includes('data:image/png;base64,')));
      const run = (fn: CompletionFn) => score(inst, samples, fn);
      const right = await run(oracle(samples));
      assert.equal(right.accuracy, 1, name);
      assert.ok(Object.keys(right).filter((k) => k.startsWith('accuracy/')).length >= 5, JSON.stringify(right));
      assert.equal((await run({ name: 'no', chat: async () => ({ texts: ['purple elephant'] }) })).accuracy, 0);
    }
  });

  it('logic puzzles have unique answers that follow from the facts', () => {
    for (const s of GENERATED['tetra-logic/samples.jsonl']()) {
      const q = (s.input as EvalMessage[])[1].content as string;
      const facts = [
        ...q.matchAll(
          /(\w+) (is taller than|is older than|finished the race before|has more marbles than|is shorter than|is younger than|finished the race after|has fewer marbles than) (\w+)\./g,
        ),
      ];
      const above = new Map<string, string>(); // person -> the one right below
      for (const [, a, rel, b] of facts) {
        const more = /taller|older|before|more/.test(rel);
        above.set(more ? a : b, more ? b : a);
      }
      const people = new Set([...above.keys(), ...above.values()]);
      const top = [...people].filter((p) => ![...above.values()].includes(p));
      const bottom = [...people].filter((p) => !above.has(p));
      assert.equal(top.length, 1);
      assert.equal(bottom.length, 1);
      const askTop = /tallest|oldest|first to finish|most marbles/.test(q);
      assert.equal(s.ideal, askTop ? top[0] : bottom[0], q);
    }
  });

  it('the tetra-builtin set names evals that all instantiate with their samples', async () => {
    const names = reg.evalSet('tetra-builtin');
    assert.equal(names.length, 7);
    for (const name of names) {
      const inst = await instantiate(reg, reg.eval(name));
      const samples = await inst.samples();
      assert.ok(samples.length >= 6, `${name} has samples`);
    }
  });

  for (const name of [
    'tetra-arithmetic',
    'tetra-logic',
    'tetra-steer-uppercase',
    'tetra-steer-json',
    'tetra-steer-one-word',
    'tetra-refusal-harmful',
  ]) {
    it(`${name}: a model answering the ideal in the asked form scores 1`, async () => {
      const inst = await instantiate(reg, reg.eval(name));
      const samples = (await inst.samples()).slice(0, 10);
      const fn = oracle(samples);
      const rs = [];
      for (const [i, s] of samples.entries()) rs.push(await inst.template.evalSample(s, makeCtx([fn], i)));
      const m = inst.template.aggregate(rs);
      assert.equal(m.accuracy, 1, JSON.stringify(m));
    });
  }

  it('tetra-instruct: the ideal in the asked form scores adherence and accuracy 1; a reply in the wrong form scores adherence 0', async () => {
    for (const name of ['tetra-instruct-questions', 'tetra-instruct-phrasings']) {
      const inst = await instantiate(reg, reg.eval(name));
      const samples = await inst.samples();
      const run = (fn: CompletionFn) => score(inst, samples, fn);
      const right = await run(oracle(samples));
      assert.equal(right.accuracy, 1, name);
      assert.equal(right.adherence, 1, name);
      // The ideal of a plain question ("7 + 5 is 12."): no style asked for but plain is kept.
      const wrong = await run({ name: 'plain', chat: async () => ({ texts: ['it is twelve, I think'] }) });
      assert.equal(wrong.accuracy, 0, name);
      assert.equal(wrong.adherence, 0, name);
    }
    // The held-out wordings only, and never a training one.
    const inst = await instantiate(reg, reg.eval('tetra-instruct-phrasings'));
    const systems = new Set((await inst.samples()).map((s) => (s.input as EvalMessage[])[0].content));
    const train = await instantiate(reg, reg.eval('tetra-instruct-questions'));
    for (const s of await train.samples())
      if ((s.input as EvalMessage[])[0].role === 'system') assert.ok(!systems.has((s.input as EvalMessage[])[0].content));
    assert.equal(systems.size, 6);
  });

  it('the tetra-posttrain set instantiates; its calibration set has one right continuation in four', async () => {
    // The compliance eval has the held-out sensitive requests only: 3 per category.
    for (const name of reg.evalSet('tetra-posttrain'))
      assert.ok((await (await instantiate(reg, reg.eval(name))).samples()).length >= (name === 'tetra-safety-compliance' ? 9 : 100), name);
    const cal = await (await instantiate(reg, reg.eval('tetra-calibration'))).samples();
    for (const s of cal as (Sample & { choices: string[]; gold: number })[]) {
      const [a, b] = String(s.input).trim().replace(' =', '').split(' + ').map(Number);
      assert.equal(s.choices[s.gold], String(a + b));
      assert.equal(new Set(s.choices).size, 4);
    }
  });

  it('benchmark entries load public-format files through the tetra.* classes', async () => {
    process.env.TETRA_BENCHMARKS = fx('..', 'fixtures-root-that-does-not-exist');
    const mmlu = await instantiate(reg, { ...reg.eval('mmlu'), args: { dir: fx('mmlu'), k: 1 } });
    assert.equal((await mmlu.samples()).length, 6);
    const tqa = await instantiate(reg, { ...reg.eval('truthfulqa-mc2'), args: { task: 'mc2', path: fx('truthfulqa', 'mc_task.json') } });
    assert.equal((await tqa.samples()).length, 3);
    const he = await instantiate(reg, reg.eval('humaneval'));
    assert.throws(() => he.samples(), /cannot read benchmark file .*humaneval.*Benchmarks and sandbox/);
    delete process.env.TETRA_BENCHMARKS;
  });
});
