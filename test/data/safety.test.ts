// Safety conversations: held out by request template and by phrasing (no eval prompt, request or
// phrasing is ever seen in training), ideal answers by kind, a balanced training mix, and rubric
// triples whose class C responses are redacted stand-ins, never content.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  COMPLIANCE,
  compliant,
  generateSafety,
  HARMFUL,
  HARMFUL_TRAIN_ONLY,
  LOOKALIKE_REQUESTS,
  PHRASINGS,
  REFUSAL_PARTS_B,
  REFUSALS_A,
  REFUSALS_B,
  rubricSamples,
  safetyPrompts,
  SENSITIVE,
} from '../../src/data/index.ts';

/** Is s one of xs, or one with a few stray characters before it or one word misspelt (garble)? */
function garbleOf(xs: string[], s: string): boolean {
  return xs.some((x) => {
    if (s === x || (s.endsWith(x) && s.length - x.length <= 4)) return true;
    const a = x.split(' '),
      b = s.split(' ');
    return (
      a.length === b.length &&
      a.filter((w, i) => w !== b[i]).length === 1 &&
      a.every((w, i) => w === b[i] || Math.abs(w.length - b[i].length) <= 1)
    );
  });
}

function composed(s: string): boolean {
  const words = new Set(s.toLowerCase().split(/[ .,]+/));
  return REFUSAL_PARTS_B.cores.some(
    (c) =>
      c
        .toLowerCase()
        .split(' ')
        .filter((w) => !words.has(w)).length <= 1,
  );
}

/** The words a phrasing puts before its request. */
const opening = (p: (x: string) => string) => p('\u0000').split('\u0000')[0];

describe('safety data', () => {
  const train = generateSafety({ seed: 3, count: 3000, split: 'train' });
  const evalSet = generateSafety({ seed: 3, count: 10_000, split: 'eval' });
  const trainText = new Set(train.map((s) => s.input.at(-1)!.content));

  it('keeps every held-out prompt, request and phrasing out of training', () => {
    assert.equal(evalSet.length, safetyPrompts().filter((p) => p.heldOut).length);
    for (const s of evalSet) assert.ok(!trainText.has(s.input.at(-1)!.content), s.key);
    const heldRequests = Object.values(HARMFUL).flatMap((rs) => rs.filter((_, i) => i % 5 === 4));
    const heldPrefixes = PHRASINGS.slice(-3).map(opening);
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

  it('wraps safe requests in the same training phrasings as harmful ones, so the wrapper does not decide; more harmful requests train only', () => {
    const trainPhrasings = PHRASINGS.slice(0, -3);
    const opener = (t: string) => trainPhrasings.findIndex((p) => t.startsWith(opening(p)));
    const requests = Object.values(LOOKALIKE_REQUESTS).flat();
    const wrapped = train.filter((s) => s.kind === 'lookalike' && requests.some(([r]) => s.input.at(-1)!.content.includes(r)));
    assert.ok(Math.abs(wrapped.length / train.length - 0.2) < 0.04, `wrapped lookalike share ${wrapped.length / train.length}`);
    // Each training phrasing opens both a refusal (harmful) and a helpful answer (wrapped lookalike).
    for (const [kind, xs] of [
      ['harmful', train.filter((s) => s.kind === 'harmful')],
      ['lookalike', wrapped],
    ] as const) {
      const seen = new Set(xs.map((s) => opener(s.input.at(-1)!.content)));
      assert.equal(seen.size, trainPhrasings.length, `${kind}: ${seen.size} of ${trainPhrasings.length} phrasings`);
    }
    // Training-only harmful requests are trained on and never evaluated.
    const extra = Object.values(HARMFUL_TRAIN_ONLY).flat();
    assert.ok(train.some((s) => extra.some((r) => s.input.at(-1)!.content.includes(r))));
    for (const s of evalSet) assert.ok(!extra.some((r) => s.input.at(-1)!.content.includes(r)), s.key);
    // The classifiers' prompt set has each wrapped request once; SFT's pool has it in every training phrasing.
    const count = requests.length;
    const wrappedPrompts = (xs: ReturnType<typeof safetyPrompts>) => xs.filter((p) => p.kind === 'lookalike' && p.request).length;
    assert.equal(wrappedPrompts(safetyPrompts()), count);
    assert.equal(wrappedPrompts(safetyPrompts({ allWrappings: true })), count * trainPhrasings.length);
  });

  it('every sensitive answer is policy-compliant (names real help); refusals and other answers are not', () => {
    for (const [category, pairs] of Object.entries(SENSITIVE)) {
      for (const [, answer] of pairs) assert.ok(compliant(answer, COMPLIANCE[category]), answer);
      for (const refusal of [...REFUSALS_A, ...REFUSALS_B]) assert.ok(!compliant(refusal, COMPLIANCE[category]), refusal);
    }
    assert.ok(compliant('CALL A CRISIS LINE', COMPLIANCE['self-harm']), 'case is ignored');
    assert.ok(!compliant('Try to sleep more and drink water.', COMPLIANCE.medical));
  });

  it('labels rubric triples A-D, with redacted stand-ins for disallowed content', () => {
    for (const split of ['train', 'eval'] as const) {
      const rs = rubricSamples(split);
      for (const r of rs) {
        if (r.label === 'A') assert.ok(garbleOf(REFUSALS_A, r.response), r.response);
        // Training Bs may also be composed from the parts (a core, perhaps with one word misspelt).
        if (r.label === 'B') assert.ok(garbleOf(REFUSALS_B, r.response) || (split === 'train' && composed(r.response)), r.response);
        if (r.label === 'C') assert.match(r.response, /^Sure, here is how to .*(\[REDACTED: [a-z]+ detail\].*){3}$/);
        // D is a non-refusal without disallowed content: the safe prompts' answers, unrelated ones, or babble.
        if (r.label === 'D')
          assert.ok(!garbleOf([...REFUSALS_A, ...REFUSALS_B], r.response) && !r.response.includes('REDACTED'), r.response);
      }
      // A third of the refusals are garbled (A's show it: all come from the list); every prompt has a babbled D, made of words, not of refusals.
      const refusals = rs.filter((r) => r.label === 'A');
      const garbled = refusals.filter((r) => !REFUSALS_A.includes(r.response)).length / refusals.length;
      assert.ok(garbled > 0.2 && garbled < 0.45, `garbled share ${garbled}`);
      const fluent = new Set(rs.filter((r) => r.label === 'D').map((r) => r.response));
      // Every prompt has its babble: more distinct D texts than there are prompts with a C (the harmful ones).
      assert.ok(fluent.size > rs.filter((r) => r.label === 'C').length, 'babble adds distinct D texts');
      // Every harmful prompt also has two Ds (a deflection and babble): the class is the response's, not the request's.
      const harmful = rs.filter((r) => r.kind === 'harmful');
      assert.equal(harmful.filter((r) => r.label === 'D').length, 2 * harmful.filter((r) => r.label === 'C').length);
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
