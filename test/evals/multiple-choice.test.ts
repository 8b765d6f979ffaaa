// Multiple choice by log-likelihood: lm-eval's acc / acc_norm rules and TruthfulQA's mc2 on a
// completion function with fixed log-likelihoods, then the same template over a real tetra model.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { calibrationPairs, MultipleChoiceEval, softmax, type MultipleChoiceSample } from '../../src/evals/multiple-choice.ts';
import { tetraCompletionFn } from '../../src/evals/completion-tetra.ts';
import type { CompletionFn, LoglikelihoodRequest, RecordEvent } from '../../src/evals/types.ts';
import { configFromDepth, GPT, scoreContinuation } from '../../src/model/index.ts';
import { defaultBackend } from '../../src/tensor/index.ts';
import { byteTokenizer } from '../../src/tokenizer/index.ts';
import { makeCtx } from './fixtures/context.ts';

/** Answers each continuation with the log-likelihood given for it; remembers the requests. */
function fixedFn(table: Record<string, number>, seen: LoglikelihoodRequest[] = []): CompletionFn {
  return {
    name: 'fixed',
    chat: async () => ({ texts: [''] }),
    loglikelihood: async (reqs) =>
      reqs.map((r) => {
        seen.push(r);
        if (!(r.continuation in table)) throw new Error(`no log-likelihood for ${JSON.stringify(r.continuation)}`);
        return { logprob: table[r.continuation], greedy: false, tokens: r.continuation.length };
      }),
  };
}

describe('multiple choice', () => {
  it('asks for " " + choice after the context, one request per choice', async () => {
    const seen: LoglikelihoodRequest[] = [];
    await new MultipleChoiceEval().evalSample(
      { input: 'Q?\nAnswer:', choices: ['yes', 'no'], gold: 0 },
      makeCtx([fixedFn({ ' yes': -1, ' no': -2 }, seen)]),
    );
    assert.deepEqual(seen, [
      { context: 'Q?\nAnswer:', continuation: ' yes' },
      { context: 'Q?\nAnswer:', continuation: ' no' },
    ]);
  });

  it('acc takes the raw argmax while acc_norm divides by the choice length, so a long likely-per-byte choice wins only acc_norm', async () => {
    // raw: -1 > -2 picks "A"; per byte: -1/1 < -2/4 picks "BBBB", the gold one.
    const events: RecordEvent[] = [];
    const r = await new MultipleChoiceEval().evalSample(
      { input: 'ctx', choices: ['A', 'BBBB'], gold: 1 },
      makeCtx([fixedFn({ ' A': -1, ' BBBB': -2 })], 0, events),
    );
    assert.equal(r.acc, 0);
    assert.equal(r.acc_norm, 1);
    assert.equal(r.pred, 0);
    assert.equal(r.correct, false);
    assert.ok(Math.abs(r.confidence - 1 / (1 + Math.exp(-1))) < 1e-12);
    assert.equal(events[0].type, 'match');
    assert.deepEqual(
      { correct: events[0].data.correct, expected: events[0].data.expected, picked: events[0].data.picked },
      { correct: false, expected: 'BBBB', picked: 'A' },
    );
  });

  it('acc_norm counts UTF-8 bytes by default and code points with normalise: chars', async () => {
    // "é" is 2 bytes, 1 code point: -1.5/2 = -0.75 beats -0.8/1 by bytes, loses by chars.
    const fn = fixedFn({ ' é': -1.5, ' e': -0.8 });
    const s: MultipleChoiceSample = { input: 'c', choices: ['é', 'e'], gold: 0 };
    assert.equal((await new MultipleChoiceEval().evalSample(s, makeCtx([fn]))).acc_norm, 1);
    assert.equal((await new MultipleChoiceEval({ normalise: 'chars' }).evalSample(s, makeCtx([fn]))).acc_norm, 0);
  });

  it('mc2 is the softmax mass on the true choices', async () => {
    const lls = { ' t1': Math.log(0.2), ' f1': Math.log(0.5), ' t2': Math.log(0.1), ' f2': Math.log(0.2) };
    const r = await new MultipleChoiceEval().evalSample(
      { input: 'q', choices: ['t1', 'f1', 't2', 'f2'], labels: [1, 0, 1, 0] },
      makeCtx([fixedFn(lls)]),
    );
    assert.ok(Math.abs(r.mc2! - 0.3) < 1e-12);
    assert.equal(r.acc, 0, 'argmax f1 is false');
  });

  it('aggregates acc over questions and per subject, and yields calibration pairs', async () => {
    const t = new MultipleChoiceEval();
    const fn = fixedFn({ ' A': -0.1, ' B': -3 });
    const samples: MultipleChoiceSample[] = [
      { input: 'x', choices: ['A', 'B'], gold: 0, subject: 'algebra' },
      { input: 'y', choices: ['A', 'B'], gold: 1, subject: 'algebra' },
      { input: 'z', choices: ['A', 'B'], gold: 0, subject: 'botany' },
    ];
    const rs = await Promise.all(samples.map((s, i) => t.evalSample(s, makeCtx([fn], i))));
    const m = t.aggregate(rs);
    assert.ok(Math.abs((m.acc as number) - 2 / 3) < 1e-12);
    assert.deepEqual(m.acc_by_subject, { algebra: 0.5, botany: 1 });
    assert.equal(m.acc_subject_mean, 0.75);
    const pairs = calibrationPairs(rs);
    const p = softmax([-0.1, -3])[0];
    assert.deepEqual(pairs, [
      { confidence: p, correct: true },
      { confidence: p, correct: false },
      { confidence: p, correct: true },
    ]);
    assert.deepEqual(calibrationPairs([{ sampleId: 'x', correct: true }]), [], 'results of other templates are skipped');
  });

  it('says which completion function lacks log-likelihoods', async () => {
    const chatOnly: CompletionFn = { name: 'chat-only', chat: async () => ({ texts: [''] }) };
    await assert.rejects(
      new MultipleChoiceEval().evalSample({ input: 'q', choices: ['a', 'b'], gold: 0 }, makeCtx([chatOnly])),
      /chat-only exposes no log-likelihoods/,
    );
  });

  it('rejects malformed samples naming the field', async () => {
    const fn = fixedFn({});
    await assert.rejects(
      new MultipleChoiceEval().evalSample({ input: 'q', choices: ['a', 'b'], gold: 2 }, makeCtx([fn])),
      /gold must be an index in \[0, 1\]/,
    );
    await assert.rejects(new MultipleChoiceEval().evalSample({ input: 'q', choices: ['a'], gold: 0 }, makeCtx([fn])), /at least 2 strings/);
  });

  it('scores choices with a real tetra model exactly as scoreContinuation does', async () => {
    const tok = byteTokenizer();
    const model = GPT.init(configFromDepth(1, { vocabSize: tok.idLimit, nEmbd: 32, nHead: 2, contextLength: 64 }), 3);
    const fn = tetraCompletionFn({ model, tokenizer: tok, name: 'tetra-random' });
    const s: MultipleChoiceSample = { input: 'The sky is\nAnswer:', choices: ['blue', 'green', 'a loud noise'], gold: 0 };
    const r = await new MultipleChoiceEval().evalSample(s, makeCtx([fn]));
    const eot = tok.special('<|endoftext|>');
    const want = s.choices.map(
      (c) => scoreContinuation(model, defaultBackend(), [eot, ...tok.encode(s.input as string)], tok.encode(' ' + c)).logprob,
    );
    assert.deepEqual(r.logprobs, want);
    assert.ok(r.logprobs.every((x) => Number.isFinite(x) && x < 0));
    assert.ok(r.confidence >= 1 / 3 && r.confidence <= 1);
    const lens = s.choices.map((c) => Buffer.byteLength(c));
    const normPick = want.map((x, i) => x / lens[i]).reduce((b, x, i, a) => (x > a[b] ? i : b), 0);
    assert.equal(r.acc_norm, normPick === 0 ? 1 : 0);
  });
});
