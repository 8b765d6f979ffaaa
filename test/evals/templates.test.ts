import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  fuzzyMatch,
  includesAnswer,
  jsonMatch,
  matchPicked,
  Match,
  Includes,
  FuzzyMatch,
  JsonMatch,
} from '../../src/evals/templates/index.ts';
import { normalizeText, tokenF1, bestTokenF1 } from '../../src/evals/metrics.ts';
import { withFewShot } from '../../src/evals/samples.ts';
import type { CompletionFn, RecordEvent, SampleContext, EvalTemplate } from '../../src/evals/types.ts';

const fixed = (text: string): CompletionFn & { seen: unknown[] } => {
  const seen: unknown[] = [];
  return {
    name: 'fixed',
    seen,
    async chat(m, o) {
      seen.push({ m, o });
      return { texts: [text] };
    },
    async complete(p, o) {
      seen.push({ p, o });
      return { texts: [text] };
    },
  };
};
function ctx(fn: CompletionFn, events: RecordEvent[] = []): SampleContext {
  return { sampleId: 't.dev.0', index: 0, completionFns: [fn], random: Math.random, recorder: { record: (e) => events.push(e) } };
}
async function verdict(
  t: EvalTemplate,
  output: string,
  ideal: string | string[],
  input: string | { role: 'user'; content: string }[] = 'q',
): Promise<boolean> {
  const r = await t.evalSample({ input, ideal }, ctx(fixed(output)));
  return r.correct as boolean;
}
const basic = { maxTokens: 16, fewShot: [] };

describe('Match (openai/evals: output starts with an ideal)', () => {
  it('passes on a prefix and fails on leading whitespace or case (no strip, no folding)', () => {
    assert.equal(matchPicked('Paris, France', ['Paris']), 'Paris');
    assert.equal(matchPicked(' Paris', ['Paris']), null);
    assert.equal(matchPicked('paris', ['Paris']), null);
    assert.equal(matchPicked('The answer is Paris', ['Paris']), null, 'a prefix, not a substring');
    assert.equal(matchPicked('Lyon', ['Paris', 'Ly']), 'Ly', 'any ideal of a list');
  });

  it('asks at temperature 0, records sampling and match events, and reports accuracy with an interval', async () => {
    const events: RecordEvent[] = [];
    const fn = fixed('4');
    const t = new Match(basic);
    const r = await t.evalSample({ input: [{ role: 'user', content: '2+2?' }], ideal: ['4', 'four'] }, ctx(fn, events));
    assert.equal(r.correct, true);
    assert.deepEqual((fn.seen[0] as { o: unknown }).o, { temperature: 0, maxTokens: 16 });
    assert.deepEqual(
      events.map((e) => e.type),
      ['sampling', 'match'],
    );
    assert.deepEqual(events[1].data, { correct: true, expected: ['4', 'four'], picked: '4', sampled: '4' });
    const m = t.aggregate([
      { sampleId: 'a', correct: true },
      { sampleId: 'b', correct: false },
      { sampleId: 'c', correct: true },
      { sampleId: 'd', correct: true },
    ]);
    assert.equal(m.accuracy, 0.75);
    assert.ok((m.accuracy_ci_low as number) <= 0.75 && (m.accuracy_ci_high as number) >= 0.75);
  });

  it('inserts few-shot messages before the last message', () => {
    const shots = [
      { role: 'system' as const, name: 'example_user', content: 'Q1' },
      { role: 'system' as const, name: 'example_assistant', content: 'A1' },
    ];
    const out = withFewShot(
      [
        { role: 'system', content: 'sys' },
        { role: 'user', content: 'Q2' },
      ],
      shots,
    );
    assert.deepEqual(
      (out as { content: string }[]).map((m) => m.content),
      ['sys', 'Q1', 'A1', 'Q2'],
    );
  });
});

describe('Includes (ideal anywhere in the output)', () => {
  it('finds substrings, folds case only when asked, and never counts an empty ideal', async () => {
    assert.equal(includesAnswer('It is Paris.', ['Paris']), true);
    assert.equal(includesAnswer('it is paris', ['Paris']), false);
    assert.equal(includesAnswer('it is paris', ['Paris'], true), true);
    assert.equal(includesAnswer('anything', ['']), false, 'openai/evals rejects the empty match as falsy');
    assert.equal(await verdict(new Includes({ ...basic, ignoreCase: true }), 'I think PARIS', 'paris'), true);
  });
});

describe('FuzzyMatch (normalised containment either way, plus token F1)', () => {
  it('normalises case, punctuation, articles and spaces', () => {
    assert.equal(normalizeText('  The Eiffel-Tower, in   an A city! '), 'eiffeltower in city');
  });
  it('matches in either direction and treats empty strings as matching only empty ones', () => {
    assert.equal(fuzzyMatch('The capital is Paris.', 'paris'), true);
    assert.equal(fuzzyMatch('Paris', 'paris, france'), true, 'ideal containing the output also matches');
    assert.equal(fuzzyMatch('Lyon', 'Paris'), false);
    assert.equal(fuzzyMatch('the', 'Paris'), false, '"the" normalises to empty');
    assert.equal(fuzzyMatch('a', 'the'), true, 'both empty after normalisation');
  });
  it('scores token F1 as SQuAD does (bag overlap), best over ideals', async () => {
    assert.equal(tokenF1('new york city', 'New York'), 0.8);
    assert.equal(tokenF1('x', 'y'), 0);
    assert.equal(bestTokenF1('new york', ['boston', 'New York']), 1);
    const t = new FuzzyMatch(basic);
    const r = await t.evalSample({ input: 'q', ideal: 'New York' }, ctx(fixed('new york city')));
    assert.deepEqual([r.correct, r.f1_score], [true, 0.8]);
    const m = t.aggregate([r, { sampleId: 'x', correct: false, f1_score: 0 }]);
    assert.equal(m.f1_score, 0.4);
    assert.equal(m.accuracy, 0.5);
  });
});

describe('JsonMatch (structural equality of parsed JSON)', () => {
  it('compares objects by key set, arrays in order, scalars by Python ==', () => {
    assert.equal(jsonMatch({ a: 1, b: [1, 2] }, { b: [1, 2], a: 1.0 }), true);
    assert.equal(jsonMatch({ a: 1 }, { a: 1, b: 2 }), false, 'extra key');
    assert.equal(jsonMatch([1, 2], [2, 1]), false, 'order matters');
    assert.equal(jsonMatch([1], [1, 1]), false, 'length matters');
    assert.equal(jsonMatch(true, 1), true, 'Python: True == 1');
    assert.equal(jsonMatch('1', 1), false);
    assert.equal(jsonMatch({ a: [] }, { a: {} }), false);
  });
  it('never matches null, even against null (openai/evals treats None as missing)', () => {
    assert.equal(jsonMatch(null, null), false);
    assert.equal(jsonMatch({ a: null }, { a: null }), false);
    assert.equal(jsonMatch([null], [null]), false);
  });
  it('fails invalid JSON output and passes equal JSON with different spacing and key order', async () => {
    const t = new JsonMatch(basic);
    assert.equal(await verdict(t, '{"x": 1, "y": [true]}', '{"y":[true],"x":1}'), true);
    assert.equal(await verdict(t, "{'x': 1}", '{"x":1}'), false);
    assert.equal(await verdict(t, 'Sure! {"x": 1}', '{"x":1}'), false, 'no extraction from prose');
    assert.equal(await verdict(t, '[1]', ['{"x":1}', '[1]']), true, 'any of several ideals');
  });
});
