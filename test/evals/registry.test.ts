import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { Registry, RegistryError } from '../../src/evals/registry.ts';
import { instantiate } from '../../src/evals/runner.ts';
import { templateFactory } from '../../src/evals/class-table.ts';
import { UnknownClassError } from '../../src/evals/classes.ts';
import { YamlError } from '../../src/evals/yaml.ts';
import { jsonl, tempTree } from './helpers.ts';

const capitals = jsonl([
  { input: [{ role: 'user', content: 'Capital of Peru?' }], ideal: 'Lima' },
  { input: 'Capital of Chad?', ideal: ["N'Djamena", 'Ndjamena'] },
]);

describe('registry roots in the openai/evals layout', () => {
  const a = tempTree({
    'evals/geo.yaml':
      'geo:\n  id: geo.test.v2\n  metrics: [accuracy]\ngeo.test.v2:\n  class: evals.elsuite.basic.match:Match\n  args: {samples_jsonl: geo/caps.jsonl}\n',
    'eval_sets/all.yaml': 'everything:\n  evals: [geo, "ge*"]\n',
    'completion_fns/local.yaml': 'local-model:\n  class: tetra.openai\n  args: {model: small, base_url: "http://127.0.0.1:9/v1"}\n',
    'modelgraded/yesno.yaml': 'yesno:\n  prompt: "Is {completion} right for {input}?"\n  choice_strings: YN\n',
    'data/geo/caps.jsonl': capitals,
  });
  const b = tempTree({
    'evals/more.yaml':
      'geo2:\n  id: geo2.dev.v0\ngeo2.dev.v0:\n  class: tetra.includes\n  args: {samples_jsonl: geo/caps.jsonl, ignore_case: true}\n',
  });

  it('resolves an alias to its class, args, split and declared metrics', () => {
    const r = new Registry([a, b]);
    const e = r.eval('geo');
    assert.deepEqual(
      [e.key, e.base, e.split, e.cls, e.metrics],
      ['geo.test.v2', 'geo', 'test', 'evals.elsuite.basic.match:Match', ['accuracy']],
    );
    assert.equal(e.file, join(a, 'evals/geo.yaml'));
    assert.deepEqual(r.evalSet('everything').sort(), ['geo', 'geo2']);
    assert.equal(r.completionFn('local-model')?.cls, 'tetra.openai');
  });

  it('finds data under another root when the defining root lacks it, and loads the samples', async () => {
    const r = new Registry([a, b]);
    const inst = await instantiate(r, r.eval('geo2'));
    const samples = await inst.samples();
    assert.equal(samples.length, 2);
    assert.deepEqual(samples[1].ideal, ["N'Djamena", 'Ndjamena']);
  });

  it('refuses a name defined twice, naming both files', () => {
    const dup = tempTree({ 'evals/again.yaml': 'geo:\n  id: geo.test.v2\n' });
    assert.throws(
      () => new Registry([a, dup]),
      (e: unknown) =>
        e instanceof RegistryError && e.message.includes(join(a, 'evals/geo.yaml')) && e.message.includes(join(dup, 'evals/again.yaml')),
    );
  });

  it('reports an unknown class with the known ones and the custom-eval form', async () => {
    const bad = tempTree({ 'evals/x.yaml': 'x:\n  id: x.dev.v0\nx.dev.v0:\n  class: evals.elsuite.nonexistent:Thing\n  args: {}\n' });
    const r = new Registry([bad]);
    await assert.rejects(
      instantiate(r, r.eval('x')),
      (e: unknown) =>
        e instanceof UnknownClassError &&
        /unknown eval class "evals.elsuite.nonexistent:Thing"/.test((e as Error).message) &&
        /evals\.elsuite\.basic\.match:Match/.test((e as Error).message) &&
        /x\.yaml/.test((e as Error).message),
    );
  });

  it('explains missing evals, dangling ids and missing data files', async () => {
    const r = new Registry([a]);
    assert.throws(() => r.eval('nope'), /no eval named "nope"/);
    const dangling = tempTree({ 'evals/d.yaml': 'd:\n  id: d.dev.v9\n' });
    assert.throws(() => new Registry([dangling]).eval('d'), /points to id "d.dev.v9", which no registry file defines/);
    const nodata = tempTree({
      'evals/n.yaml': 'n:\n  id: n.dev.v0\nn.dev.v0:\n  class: tetra.match\n  args: {samples_jsonl: missing.jsonl}\n',
    });
    const rn = new Registry([nodata]);
    await assert.rejects(async () => (await instantiate(rn, rn.eval('n'))).samples(), /data file "missing.jsonl" not found/);
  });

  it('rejects malformed samples with file and line', async () => {
    const t = tempTree({
      'evals/m.yaml': 'm:\n  id: m.dev.v0\nm.dev.v0:\n  class: tetra.match\n  args: {samples_jsonl: m.jsonl}\n',
      'data/m.jsonl': '{"input": "ok", "ideal": "x"}\n{"input": 3}\n',
    });
    const r = new Registry([t]);
    await assert.rejects(
      async () => (await instantiate(r, r.eval('m'))).samples(),
      /m\.jsonl sample 2: "input" must be a string or a list of chat messages/,
    );
  });

  it('loads a custom TypeScript eval named by file and export', async () => {
    const t = tempTree({
      'evals/c.yaml': 'wc:\n  id: wc.dev.v0\nwc.dev.v0:\n  class: ./word-count.ts:WordCount\n  args: {samples_jsonl: wc.jsonl, words: 2}\n',
      'evals/word-count.ts': `export class WordCount {
        constructor(args) { this.words = args.words; }
        async evalSample(sample, ctx) { const c = await ctx.completionFns[0].chat([{ role: 'user', content: sample.input }], {}); return { sampleId: ctx.sampleId, correct: c.texts[0].split(' ').length === this.words }; }
        aggregate(rs) { return { accuracy: rs.filter((r) => r.correct).length / rs.length }; }
      }`,
      'data/wc.jsonl': jsonl([{ input: 'say two words' }]),
    });
    const r = new Registry([t]);
    const inst = await instantiate(r, r.eval('wc'));
    const res = await inst.template.evalSample((await inst.samples())[0], {
      sampleId: 'wc.dev.0',
      index: 0,
      random: Math.random,
      recorder: { record() {} },
      completionFns: [{ name: 'f', chat: async () => ({ texts: ['hello there'] }) }],
    });
    assert.equal(res.correct, true);
    await assert.rejects(templateFactory('./missing.ts:X', { file: join(t, 'evals/c.yaml') }), /no file/);
  });

  it('names the registry file and line for a YAML error in it', () => {
    const t = tempTree({ 'evals/bad.yaml': 'ok:\n  id: ok.dev.v0\nok.dev.v0:\n  args: {samples_jsonl: [a.jsonl\n' });
    assert.throws(
      () => new Registry([t]),
      (e: unknown) => e instanceof YamlError && e.message.startsWith(`${join(t, 'evals/bad.yaml')}:5: Flow sequence`),
    );
  });

  it('reads anchors, merge keys and a key repeated inside an entry, as openai/evals registry files have them', () => {
    const t = tempTree({
      'evals/shared.yaml':
        'base: &base\n  class: evals.elsuite.basic.includes:Includes\n  args: {samples_jsonl: geo/caps.jsonl}\n' +
        'caps:\n  id: caps.dev.v0\ncaps.dev.v0:\n  <<: *base\n  args: {samples_jsonl: geo/caps.jsonl, ignore_case: true}\n',
      'modelgraded/keywords.yaml': 'seo:\n  prompt: "{input} {completion}"\n  input_outputs:\n    input: input\n    input: completion\n',
    });
    const r = new Registry([t, a]);
    const e = r.eval('caps');
    assert.deepEqual([e.cls, e.args], ['evals.elsuite.basic.includes:Includes', { samples_jsonl: 'geo/caps.jsonl', ignore_case: true }]);
    assert.deepEqual(r.modelgraded('seo').spec.input_outputs, { input: 'completion' });
  });

  it('ships the fact, closedqa and battle model-graded specs in the built-in root', () => {
    const r = Registry.open();
    for (const n of ['fact', 'closedqa', 'battle']) assert.ok(r.modelgraded(n).spec.prompt, n);
  });
});
