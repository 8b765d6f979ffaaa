import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from '../../src/evals/registry.ts';
import { runEval } from '../../src/evals/runner.ts';
import { OpenAICompatible, CheckpointCompletionFn } from '../../src/evals/completion/index.ts';
import { readChoice, choiceScore, parseModelGradedSpec, INVALID_CHOICE } from '../../src/evals/templates/index.ts';
import { readRunLog } from '../../src/evals/recorder.ts';
import { configFromDepth, GPT } from '../../src/model/index.ts';
import { saveCheckpoint } from '../../src/model/index.ts';
import { chatReply, isolateHome, jsonl, lastContent, scriptedServer, tempTree, type Scripted } from './helpers.ts';

describe('reading a grader reply', () => {
  it('scans bottom-up for cot_classify and top-down otherwise, stripping punctuation', () => {
    const reply = 'Both answers mention Lima.\nB seems wrong at first.\nSo the verdict is:\n(C).\nC';
    assert.equal(readChoice(reply, 'cot_classify', ['A', 'B', 'C']), 'C');
    assert.equal(readChoice('Y\nbecause it names the city', 'classify_cot', ['Y', 'N']), 'Y');
    assert.equal(readChoice('"N"', 'classify', ['Y', 'N']), 'N');
    assert.equal(readChoice('I cannot decide.', 'classify', ['Y', 'N']), INVALID_CHOICE);
  });
  it('scores an invalid reply as the lowest score, and from_strings parses choices as numbers', () => {
    assert.equal(choiceScore(INVALID_CHOICE, { Y: 1, N: 0.25 }), 0.25);
    const spec = parseModelGradedSpec({ prompt: 'rate {completion}', choice_strings: ['1', '2', '3'], choice_scores: 'from_strings' }, 'x');
    assert.deepEqual(spec.choiceScores, { 1: 1, 2: 2, 3: 3 });
    assert.throws(
      () => parseModelGradedSpec({ prompt: 'p', choice_strings: 'YN', choice_scores: { Y: 1 } }, 'spec.yaml'),
      /choice "N" has no entry in choice_scores/,
    );
  });
});

describe('model-graded evals against a real local endpoint', () => {
  let server: Scripted;
  let registry: Registry;
  before(async () => {
    isolateHome();
    // The candidate answers every question "Lima"; the grader's reply depends on what it is shown.
    server = await scriptedServer((body) => {
      const text = lastContent(body);
      if (body.model === 'candidate') return chatReply('Lima');
      if (text.includes('Capital of Peru')) return chatReply('The submission names the right city.\nY\nY');
      if (text.includes('Capital of Chile')) return chatReply('It names the wrong city.\nN');
      return chatReply('I would rather not say.');
    });
    const root = tempTree({
      'evals/g.yaml':
        [
          'caps-qa:\n  id: caps-qa.dev.v0\ncaps-qa.dev.v0:\n  class: evals.elsuite.modelgraded.classify:ModelBasedClassify',
          '  args:\n    samples_jsonl: caps.jsonl\n    modelgraded_spec: closedqa\n    modelgraded_spec_args: {criteria: "names the capital"}',
          'caps-meta:\n  id: caps-meta.dev.v0\ncaps-meta.dev.v0:\n  class: evals.elsuite.modelgraded.classify:ModelBasedClassify',
          '  args: {samples_jsonl: caps-labelled.jsonl, modelgraded_spec: closedqa, metaeval: true, modelgraded_spec_args: {criteria: c}}',
          'caps-fact:\n  id: caps-fact.dev.v0\ncaps-fact.dev.v0:\n  class: evals.elsuite.modelgraded.classify:ModelBasedClassify',
          '  args: {samples_jsonl: caps.jsonl, modelgraded_spec: fact, eval_type: classify}',
        ].join('\n') + '\n',
      'data/caps.jsonl': jsonl([
        { input: 'Capital of Peru?', ideal: 'Lima' },
        { input: 'Capital of Chile?', ideal: 'Santiago' },
        { input: 'Capital of Mali?', ideal: 'Bamako' },
      ]),
      'data/caps-labelled.jsonl': jsonl([
        { input: 'Capital of Peru?', completion: 'Lima', choice: 'Y' },
        { input: 'Capital of Chile?', completion: 'Lima', choice: 'Y' },
      ]),
    });
    registry = new Registry([...Registry.open().roots, root]);
  });
  after(() => server.close());

  const fn = (model: string) => new OpenAICompatible({ baseURL: server.url, model });

  it('grades with the last completion function, records invalid replies as __invalid__ at the minimum score', async () => {
    const r = await runEval({
      registry,
      evalName: 'caps-qa',
      completionFns: [fn('candidate'), fn('grader')],
      db: null,
      progress: null,
      recordPath: join(mkdtempSync(join(tmpdir(), 'mg-')), 'r.jsonl'),
    });
    assert.equal(r.unfinished, 0);
    const byInput = Object.fromEntries(r.results.map((x) => [x.sampleId, x]));
    assert.deepEqual(r.results.map((x) => x.choice).sort(), ['N', 'Y', INVALID_CHOICE].sort());
    assert.equal(r.metrics['counts/Y'], 1);
    assert.equal(r.metrics['counts/N'], 1);
    assert.equal(r.metrics['counts/__invalid__'], 1);
    assert.equal(r.metrics.score, 1 / 3, 'Y=1, N=0, invalid=min=0');
    assert.ok(Object.values(byInput).every((x) => x.completion === 'Lima'));
    // The grader saw the filled prompt with the criterion and the eval type's instruction.
    const graderReq = server.requests.find((q) => q.body.model === 'grader')!;
    assert.match(lastContent(graderReq.body), /names the capital/);
    assert.match(lastContent(graderReq.body), /"Y" or "N"/);
    const log = readRunLog(r.recordPath);
    const invalid = log.events.find((e) => e.type === 'metrics' && e.data.invalid === true)!;
    assert.equal(invalid.data.grader_output, 'I would rather not say.');
  });

  it('grades pre-recorded completions without asking the candidate, and scores the grader (metascore)', async () => {
    const before = server.requests.length;
    const r = await runEval({
      registry,
      evalName: 'caps-meta',
      completionFns: [fn('grader')],
      db: null,
      progress: null,
      recordPath: join(mkdtempSync(join(tmpdir(), 'mg-')), 'r.jsonl'),
    });
    assert.equal(server.requests.length - before, 2, 'one grader call per sample, no candidate calls');
    assert.equal(r.metrics.metascore, 0.5, 'the grader agrees with the label on Peru, not on Chile');
  });

  it('reports only counts for the fact spec, which has no choice_scores', async () => {
    const r = await runEval({
      registry,
      evalName: 'caps-fact',
      completionFns: [fn('candidate'), fn('grader')],
      db: null,
      progress: null,
      recordPath: join(mkdtempSync(join(tmpdir(), 'mg-')), 'r.jsonl'),
    });
    assert.equal(r.metrics.score, undefined);
    assert.equal(r.metrics['counts/__invalid__'], 3, 'Y/N replies are not fact letters A-E');
  });

  it('never crashes on a real tetra model as grader, whatever it writes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ckpt-'));
    const cfg = configFromDepth(1, { vocabSize: 264, nEmbd: 16, nHead: 2, mlpHidden: 32, contextLength: 1024 });
    saveCheckpoint(dir, {
      config: cfg,
      params: new Map([...GPT.init(cfg, 7).params].map(([k, t]) => [k, t.data as Float32Array])),
      meta: { step: 0, tokensSeen: 0, tokenizer: { name: 'bytes' } },
    });
    const grader = new CheckpointCompletionFn(dir);
    const r = await runEval({
      registry,
      evalName: 'caps-qa',
      completionFns: [fn('candidate'), grader],
      db: null,
      progress: null,
      maxSamples: 2,
      recordPath: join(dir, 'r.jsonl'),
    });
    assert.equal(r.unfinished, 0, r.errors[0]?.message);
    for (const x of r.results) assert.ok(['Y', 'N', INVALID_CHOICE].includes(x.choice as string));
    assert.ok(typeof r.metrics.score === 'number');
  });
});
