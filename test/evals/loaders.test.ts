// Benchmark loaders on original fixture files written in the public formats: the samples, the
// k-shot prompts (exact text), and the errors for malformed files.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  extractAnswer,
  Gsm8kEval,
  loadGsm8k,
  loadMmlu,
  loadTruthfulQA,
  parseCsv,
  readMmluCsv,
  referenceAnswer,
} from '../../src/evals/loaders/index.ts';
import { MultipleChoiceEval } from '../../src/evals/multiple-choice.ts';
import type { CompletionFn } from '../../src/evals/types.ts';
import { makeCtx } from './fixtures/context.ts';

const fx = (...p: string[]) => join(import.meta.dirname, 'fixtures', ...p);

describe('CSV', () => {
  it('handles quoted commas, doubled quotes, newlines and CRLF', () => {
    assert.deepEqual(parseCsv('a,"b,c","say ""hi"""\r\n"multi\nline",x,\n'), [
      ['a', 'b,c', 'say "hi"'],
      ['multi\nline', 'x', ''],
    ]);
    assert.throws(() => parseCsv('a,"open'), /unmatched/);
  });
});

describe('MMLU', () => {
  it('reads per-subject CSVs, subject from the file name, answer letter to index', () => {
    const qs = readMmluCsv(fx('mmlu', 'test', 'units_and_measures_test.csv'), 'units_and_measures');
    assert.equal(qs.length, 3);
    assert.deepEqual(qs[2], {
      subject: 'units_and_measures',
      question: 'A "ton" in the metric system equals how many kilograms?',
      choices: ['100', '10', '1,000', '10,000'],
      answer: 2,
    });
  });

  it('builds the 2-shot prompt from the first dev rows of the same subject', () => {
    const samples = loadMmlu({ dir: fx('mmlu'), k: 2 });
    assert.equal(samples.length, 6);
    const s = samples.find((x) => x.subject === 'units_and_measures' && (x.input as string).includes('centimetres'))!;
    assert.equal(
      s.input,
      [
        'The following are multiple choice questions (with answers) about units and measures.',
        '',
        'How many millilitres are in 2.5 litres?\nA. 25\nB. 250\nC. 2500\nD. 25000\nAnswer: C',
        '',
        'Which unit measures electric current?\nA. Volt\nB. Ohm\nC. Watt\nD. Ampere\nAnswer: D',
        '',
        'How many centimetres are in 3 metres?\nA. 30\nB. 300\nC. 3000\nD. 0.3\nAnswer:',
      ].join('\n'),
    );
    assert.deepEqual(s.choices, ['A', 'B', 'C', 'D']);
    assert.equal(s.gold, 1);
  });

  it('filters subjects, takes zero shots, and says where shots are missing', () => {
    const zero = loadMmlu({ dir: fx('mmlu'), k: 0, subjects: ['household_physics'] });
    assert.equal(zero.length, 3);
    assert.ok(
      (zero[0].input as string).startsWith(
        'The following are multiple choice questions (with answers) about household physics.\n\nWhat mainly',
      ),
    );
    assert.ok(
      (zero[1].input as string).includes(
        'Why do wet clothes dry faster on a windy day?\n(choose one)\nA. Wind carries away water vapour, so more water can evaporate',
      ),
    );
    assert.throws(() => loadMmlu({ dir: fx('mmlu'), k: 4 }), /asked for 4 shots but the few-shot pool has 3/);
    assert.throws(() => loadMmlu({ dir: fx('nowhere') }), /no MMLU test questions under .*nowhere.*<subject>_test.csv/);
  });

  it('loads a translated copy in the same layout, with a localised prompt', () => {
    const fr = loadMmlu({
      dir: fx('mmlu', 'fr'),
      k: 1,
      answerWord: 'Réponse',
      description: (s) => `Voici des questions à choix multiples sur ${s.replace(/_/g, ' ')}.\n\n`,
    });
    assert.equal(fr.length, 2);
    assert.equal(
      fr[0].input,
      'Voici des questions à choix multiples sur units and measures.\n\nCombien de millilitres y a-t-il dans 2,5 litres ?\nA. 25\nB. 250\nC. 2500\nD. 25000\nRéponse: C\n\nCombien de centimètres y a-t-il dans 3 mètres ?\nA. 30\nB. 300\nC. 3000\nD. 0,3\nRéponse:',
    );
  });

  it('loads a translation shipped as one CSV with a header and a Subject column', () => {
    const de = loadMmlu({ dir: fx('mmlu-de'), k: 0 });
    assert.deepEqual(
      de.map((s) => [s.subject, s.gold]),
      [
        ['units_and_measures', 1],
        ['household_physics', 0],
      ],
    );
    assert.throws(() => loadMmlu({ dir: fx('mmlu-de') }), /shots come from .*units_and_measures_dev.csv \(or pass k: 0\)/);
  });

  it('rejects a bad answer letter naming the file and line', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tetra-mmlu-'));
    try {
      writeFileSync(join(dir, 'x_test.csv'), 'q,a,b,c,d,A\nq2,a,b,c,d,E\n');
      assert.throws(() => readMmluCsv(join(dir, 'x_test.csv'), 'x'), /x_test.csv:2: answer must be one of A, B, C, D, got "E"/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('feeds the multiple-choice template: letters scored after the prompt', async () => {
    const [s] = loadMmlu({ dir: fx('mmlu'), k: 0, subjects: ['units_and_measures'] });
    const fn: CompletionFn = {
      name: 'likes-B',
      chat: async () => ({ texts: [] }),
      loglikelihood: async (rs) => rs.map((r) => ({ logprob: r.continuation === ' B' ? -0.5 : -3, greedy: false, tokens: 1 })),
    };
    const r = await new MultipleChoiceEval().evalSample(s, makeCtx([fn]));
    assert.equal(r.acc, 1);
    assert.equal(r.subject, 'units_and_measures');
  });
});

describe('TruthfulQA', () => {
  it('MC1: one true answer, gold is its index, after the QA preamble', () => {
    const qs = loadTruthfulQA({ task: 'mc1', path: fx('truthfulqa', 'mc_task.json') });
    assert.equal(qs.length, 3);
    assert.equal(qs[0].gold, 0);
    assert.equal(qs[0].choices.length, 3);
    const input = qs[1].input as string;
    assert.ok(input.startsWith('Q: How many legs does a spider have?\nA: A spider has eight legs.\n\nQ: '));
    assert.ok(input.endsWith('\n\nQ: Do goldfish only remember things for three seconds?\nA:'));
    assert.equal(input.split('\n\n').length, 7, 'six preamble pairs and the question');
  });

  it('MC2: labels per answer, scored by the true mass', async () => {
    const qs = loadTruthfulQA({ task: 'mc2', path: fx('truthfulqa', 'mc_task.json') });
    assert.deepEqual(qs[0].labels, [1, 1, 0, 0]);
    const fn: CompletionFn = {
      name: 'uniform',
      chat: async () => ({ texts: [] }),
      loglikelihood: async (rs) => rs.map(() => ({ logprob: -2, greedy: false, tokens: 1 })),
    };
    const r = await new MultipleChoiceEval().evalSample(qs[0], makeCtx([fn]));
    assert.ok(Math.abs(r.mc2! - 0.5) < 1e-12);
  });

  it('rejects an MC1 question without exactly one true answer', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tetra-tqa-'));
    try {
      writeFileSync(join(dir, 'mc.json'), JSON.stringify([{ question: 'q', mc1_targets: { a: 1, b: 1 }, mc2_targets: { a: 1, b: 0 } }]));
      assert.throws(
        () => loadTruthfulQA({ task: 'mc1', path: join(dir, 'mc.json') }),
        /question 0: mc1_targets must have exactly one answer labelled 1, found 2/,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('GSM8K', () => {
  it('takes the number after #### as the reference, commas removed', () => {
    assert.deepEqual(
      loadGsm8k({ dir: fx('gsm8k'), k: 0 }).map((s) => s.ideal),
      ['210', '1250', '-7'],
    );
    assert.throws(() => referenceAnswer('no marker', 'x.jsonl:3'), /x.jsonl:3: no "#### <number>"/);
  });

  it('builds a chain-of-thought prompt from the first k train problems', () => {
    const [s] = loadGsm8k({ dir: fx('gsm8k'), k: 2 });
    const parts = s.input.split('\n\n');
    assert.equal(parts.length, 3);
    assert.ok(
      parts[0].startsWith(
        'Question: Mira buys 3 notebooks at $4 each and a pen for $2. How much does she spend?\nAnswer: The notebooks cost',
      ),
    );
    assert.ok(parts[0].endsWith('#### 14'));
    assert.equal(parts[2], 'Question: Tom reads 15 pages a day. How many pages does he read in 2 weeks?\nAnswer:');
  });

  it('extracts the answer: #### first, else the last number, commas removed', () => {
    assert.equal(extractAnswer('so 12 + 2 = 14.\n#### 14'), '14');
    assert.equal(extractAnswer('He has 3 boxes, then 1,250 apples.'), '1250');
    assert.equal(extractAnswer('It is now -7 degrees.'), '-7');
    assert.equal(extractAnswer('The answer is 2.50.'), '2.50');
    assert.equal(extractAnswer('no idea'), null);
  });

  it('grades generated answers numerically', async () => {
    const samples = loadGsm8k({ dir: fx('gsm8k'), k: 1 });
    const replies = [' 14 days, 15 * 14 = 210 pages.\n#### 210', ' 2400 - 1150 = 1,250 left.', ' It went up to 15.'];
    const fn: CompletionFn = {
      name: 'scripted',
      chat: async () => ({ texts: [] }),
      complete: async (p) => ({ texts: [replies[samples.findIndex((s) => s.input === p)]] }),
    };
    const t = new Gsm8kEval();
    const rs = await Promise.all(samples.map((s, i) => t.evalSample(s, makeCtx([fn], i))));
    assert.deepEqual(
      rs.map((r) => r.correct),
      [true, true, false],
    );
    assert.ok(Math.abs((t.aggregate(rs).accuracy as number) - 2 / 3) < 1e-12);
  });
});
