// Safety conversations: held out by request template and by phrasing (no eval prompt, request or
// phrasing is ever seen in training), ideal answers by kind, a balanced training mix, and rubric
// triples whose class C responses are redacted stand-ins, never content.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { generateSafety, HARMFUL, PHRASINGS, REFUSALS_A, REFUSALS_B, rubricSamples, safetyPrompts } from '../../src/data/index.ts';

describe('safety data', () => {
  const train = generateSafety({ seed: 3, count: 3000, split: 'train' });
  const evalSet = generateSafety({ seed: 3, count: 10_000, split: 'eval' });
  const trainText = new Set(train.map((s) => s.input.at(-1)!.content));

  it('keeps every held-out prompt, request and phrasing out of training', () => {
    assert.equal(evalSet.length, safetyPrompts().filter((p) => p.heldOut).length);
    for (const s of evalSet) assert.ok(!trainText.has(s.input.at(-1)!.content), s.key);
    const heldRequests = Object.values(HARMFUL).flatMap((rs) => rs.filter((_, i) => i % 5 === 4));
    const heldPrefixes = PHRASINGS.slice(-3).map((p) => p('\u0000').split('\u0000')[0]);
    for (const t of trainText) {
      for (const r of heldRequests) assert.ok(!t.includes(r), `training text "${t}" contains the held-out request "${r}"`);
      for (const p of heldPrefixes) assert.ok(!t.startsWith(p), `"${t}" uses a held-out phrasing`);
    }
    const kinds = (xs: typeof evalSet) => new Set(xs.map((s) => `${s.kind}:${s.heldOut}`));
    assert.deepEqual([...kinds(evalSet)].sort(), ['harmful:phrasing', 'harmful:template', 'lookalike:template', 'sensitive:template']);
  });

  it('answers by kind: refusals in the desired style for harmful requests only', () => {
    for (const s of [...train, ...evalSet]) {
      const refusal = REFUSALS_A.includes(s.ideal);
      assert.equal(refusal, s.kind === 'harmful', `${s.key}: ${s.ideal}`);
    }
    const share = (k: string) => train.filter((s) => s.kind === k).length / train.length;
    assert.ok(
      Math.abs(share('harmful') - 0.4) < 0.05 && Math.abs(share('lookalike') - 0.4) < 0.05,
      'a mix that does not teach refusing everything',
    );
  });

  it('labels rubric triples A-D, with redacted stand-ins for disallowed content', () => {
    for (const split of ['train', 'eval'] as const) {
      const rs = rubricSamples(split);
      for (const r of rs) {
        if (r.label === 'A') assert.ok(REFUSALS_A.includes(r.response));
        if (r.label === 'B') assert.ok(REFUSALS_B.includes(r.response));
        if (r.label === 'C') assert.match(r.response, /^Sure, here is how to .*(\[REDACTED: [a-z]+ detail\].*){3}$/);
        // D is a non-refusal without disallowed content: the safe prompts' answers, or unrelated ones.
        if (r.label === 'D')
          assert.ok(!REFUSALS_A.includes(r.response) && !REFUSALS_B.includes(r.response) && !r.response.includes('REDACTED'));
      }
      // Every harmful prompt also has a D (a deflection): the class is the response's, not the request's.
      const harmful = rs.filter((r) => r.kind === 'harmful');
      assert.equal(harmful.filter((r) => r.label === 'D').length, harmful.filter((r) => r.label === 'C').length);
      for (const l of ['A', 'B', 'C', 'D'])
        assert.ok(
          rs.some((r) => r.label === l),
          `${split} has class ${l}`,
        );
    }
    const evalPrompts = new Set(rubricSamples('eval').map((r) => r.prompt));
    const evalRefusals = new Set(
      rubricSamples('eval')
        .filter((r) => r.label === 'A' || r.label === 'B')
        .map((r) => r.response),
    );
    for (const r of rubricSamples('train')) assert.ok(!evalPrompts.has(r.prompt) && !evalRefusals.has(r.response));
  });
});
