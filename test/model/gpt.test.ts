import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  configFromDepth,
  flopsPerToken,
  generate,
  GPT,
  KVCache,
  paramCount,
  scoreContinuation,
  step,
  logSoftmax,
} from '../../src/model/index.ts';
import { defaultBackend, Rng, Tape } from '../../src/tensor/index.ts';
import { AdamW } from '../../src/train/index.ts';
import { assertClose } from '../helpers.ts';

const be = defaultBackend();
const cfg = configFromDepth(2, { vocabSize: 50, nEmbd: 32, nHead: 4, mlpHidden: 48, contextLength: 24 });

function fullLogits(model: GPT, tokens: number[]): Float32Array {
  const { logits } = model.forward(new Tape(be, 'f32', { grad: false }), Int32Array.from(tokens), 1, tokens.length);
  return logits.data as Float32Array;
}

describe('GPT configuration', () => {
  it('derives width, heads and MLP size from depth by the documented rule', () => {
    const c = configFromDepth(4, { vocabSize: 1000 });
    assert.deepEqual([c.nEmbd, c.nHead, c.mlpHidden, c.nLayer], [256, 4, 704, 4]);
    assert.equal(configFromDepth(4, { vocabSize: 1000, nHead: 8 }).nHead, 8);
  });

  it('rejects a head count that does not divide the width, naming both', () => {
    assert.throws(() => configFromDepth(2, { vocabSize: 10, nEmbd: 96, nHead: 5 }), /nHead \(5\) must divide config.nEmbd \(96\)/);
    assert.throws(() => configFromDepth(0, { vocabSize: 10 }), /depth must be an integer in \[1, 64\]/);
  });

  it('counts parameters and FLOPs per token (6 per matrix weight plus causal attention)', () => {
    const C = 32,
      H = 48,
      V = 50,
      L = 2,
      T = 24;
    assert.equal(paramCount(cfg), V * C + L * (2 * C + 4 * C * C + 2 * H * C + C * H) + C);
    assert.equal(flopsPerToken(cfg), 6 * (L * (4 * C * C + 3 * H * C) + V * C) + 6 * L * T * C);
  });
});

describe('KV-cache inference', () => {
  const model = GPT.init(cfg, 3);
  const tokens = [5, 17, 3, 44, 9, 0, 21, 30, 2, 11];

  it('gives the same logits decoding token by token as one full forward pass', () => {
    const want = fullLogits(model, tokens);
    const cache = new KVCache(cfg);
    const prefill = step(model, be, [{ cache, tokens: Int32Array.from(tokens.slice(0, 4)) }], true);
    const got = new Float32Array(want.length);
    got.set(prefill, 0);
    for (let i = 4; i < tokens.length; i++) got.set(step(model, be, [{ cache, tokens: Int32Array.of(tokens[i]) }]), i * cfg.vocabSize);
    assertClose(got, want, 1e-4, 'logits');
    assert.equal(cache.length, tokens.length);
  });

  it('steps sequences of different lengths together exactly as one at a time', () => {
    const a = new KVCache(cfg),
      b = new KVCache(cfg),
      a1 = new KVCache(cfg),
      b1 = new KVCache(cfg);
    const together = step(model, be, [
      { cache: a, tokens: Int32Array.from(tokens.slice(0, 7)) },
      { cache: b, tokens: Int32Array.from(tokens.slice(2, 5)) },
    ]);
    const alone = [
      ...step(model, be, [{ cache: a1, tokens: Int32Array.from(tokens.slice(0, 7)) }]),
      ...step(model, be, [{ cache: b1, tokens: Int32Array.from(tokens.slice(2, 5)) }]),
    ];
    assertClose(together, Float32Array.from(alone), 1e-5, 'batched logits');
    const next = step(model, be, [
      { cache: a, tokens: Int32Array.of(1) },
      { cache: b, tokens: Int32Array.of(2) },
    ]);
    const nextAlone = [
      ...step(model, be, [{ cache: a1, tokens: Int32Array.of(1) }]),
      ...step(model, be, [{ cache: b1, tokens: Int32Array.of(2) }]),
    ];
    assertClose(next, Float32Array.from(nextAlone), 1e-5, 'batched decode');
  });

  it('decodes with weights updated in place (q, k, v are views of the fused [3C, C] matrix the decode GEMM reads)', () => {
    const m = GPT.init(cfg, 6);
    for (const w of ['wq', 'wk', 'wv']) {
      const d = m.p(`blocks.1.${w}`).data;
      for (let i = 0; i < d.length; i += 7) d[i] += 0.05; // as an optimizer step would
    }
    const qkv = m.layers[1].qkv,
      C = cfg.nEmbd;
    assert.equal(qkv[C * C], m.p('blocks.1.wk').data[0]);
    const want = fullLogits(m, tokens.slice(0, 6));
    const cache = new KVCache(cfg);
    step(m, be, [{ cache, tokens: Int32Array.from(tokens.slice(0, 5)) }]);
    const out = new Float32Array(cfg.vocabSize);
    const got = step(m, be, [{ cache, tokens: Int32Array.of(tokens[5]) }], false, out);
    assert.equal(got, out);
    assertClose(got, want.subarray(5 * cfg.vocabSize), 1e-4, 'decode logits');
  });

  it('refuses to run past the cache capacity, naming the counts', () => {
    const cache = new KVCache(cfg);
    assert.throws(() => step(model, be, [{ cache, tokens: new Int32Array(25) }]), /0 cached \+ 25 new tokens exceed the context of 24/);
  });
});

describe('generation', () => {
  const model = GPT.init(cfg, 4);
  const prompt = Int32Array.from([1, 2, 3]);

  it('decodes greedily at temperature 0: each token is the argmax of the full forward pass', () => {
    const [g] = generate(model, be, [prompt], { maxTokens: 6, temperature: 0 });
    assert.equal(g.tokens.length, 6);
    assert.equal(g.finishReason, 'length');
    const seq = [...prompt];
    for (const t of g.tokens) {
      const logits = fullLogits(model, seq);
      const last = logits.subarray((seq.length - 1) * cfg.vocabSize);
      assert.equal(t, last.indexOf(Math.max(...last)));
      seq.push(t);
    }
  });

  it('repeats a sampled generation exactly for the same seed and differs across seeds', () => {
    const o = { maxTokens: 12, temperature: 1.5 };
    const a = generate(model, be, [prompt], { ...o, seed: 7 })[0].tokens;
    assert.deepEqual(generate(model, be, [prompt], { ...o, seed: 7 })[0].tokens, a);
    assert.notDeepEqual(generate(model, be, [prompt], { ...o, seed: 8 })[0].tokens, a);
  });

  it('stops on a stop token (excluded) and on a stop string (text cut before it)', () => {
    const [free] = generate(model, be, [prompt], { maxTokens: 8, temperature: 0 });
    const stopAt = free.tokens[3];
    const [g] = generate(model, be, [prompt], { maxTokens: 8, temperature: 0, stopTokens: [stopAt] });
    assert.equal(g.finishReason, 'stop');
    assert.deepEqual(g.tokens, free.tokens.slice(0, free.tokens.indexOf(stopAt)));
    const decode = (ids: number[]) => ids.map((i) => `<${i}>`).join('');
    const [s] = generate(model, be, [prompt], { maxTokens: 8, temperature: 0, decode, stopStrings: [`<${free.tokens[2]}>`] });
    assert.equal(s.finishReason, 'stop');
    assert.equal(s.text, decode(free.tokens.slice(0, free.tokens.indexOf(free.tokens[2]))));
  });

  it('reports logprobs that match the model distribution, with top alternatives in order', () => {
    const [g] = generate(model, be, [prompt], { maxTokens: 2, temperature: 0, logprobs: 3 });
    const lp = logSoftmax(fullLogits(model, [...prompt]).subarray(2 * cfg.vocabSize));
    assert.ok(Math.abs(g.logprobs![0].logprob - lp[g.tokens[0]]) < 1e-4);
    const top = g.logprobs![0].top;
    assert.equal(top.length, 3);
    assert.equal(top[0].token, g.tokens[0]);
    assert.ok(top[0].logprob >= top[1].logprob && top[1].logprob >= top[2].logprob);
  });

  it('generates for several prompts at once with the same result as one by one', () => {
    const p2 = Int32Array.from([9, 8, 7, 6, 5]);
    const both = generate(model, be, [prompt, p2], { maxTokens: 5, temperature: 0 });
    assert.deepEqual(both[0].tokens, generate(model, be, [prompt], { maxTokens: 5, temperature: 0 })[0].tokens);
    assert.deepEqual(both[1].tokens, generate(model, be, [p2], { maxTokens: 5, temperature: 0 })[0].tokens);
  });

  it('rejects bad settings with the field and its limit', () => {
    assert.throws(() => generate(model, be, [prompt], { maxTokens: 1, temperature: -1 }), /temperature must be in \[0, 100\]/);
    assert.throws(() => generate(model, be, [prompt], { maxTokens: 1, topP: 0 }), /topP must be in \(0, 1\]/);
    assert.throws(
      () => generate(model, be, [new Int32Array(30)], { maxTokens: 1 }),
      /prompt 0 has 30 tokens; the model's context length is 24/,
    );
  });
});

describe('scoring a continuation (log-likelihood)', () => {
  const model = GPT.init(cfg, 5);
  it('sums the logprobs of the continuation tokens under the full forward pass', () => {
    const ctx = [3, 1, 4, 1, 5],
      cont = [9, 2, 6];
    const r = scoreContinuation(model, be, ctx, cont);
    const logits = fullLogits(model, [...ctx, ...cont]);
    let want = 0,
      greedy = true;
    for (let j = 0; j < cont.length; j++) {
      const row = logits.subarray((ctx.length - 1 + j) * cfg.vocabSize, (ctx.length + j) * cfg.vocabSize);
      want += logSoftmax(row)[cont[j]];
      if (row.indexOf(Math.max(...row)) !== cont[j]) greedy = false;
    }
    assert.ok(Math.abs(r.logprob - want) < 1e-4, `${r.logprob} vs ${want}`);
    assert.equal(r.greedy, greedy);
  });
});

describe('training', () => {
  it('learns a repeating sequence: loss falls from ln(V) to near zero', () => {
    const c = configFromDepth(1, { vocabSize: 16, nEmbd: 32, nHead: 2, mlpHidden: 64, contextLength: 16 });
    const model = GPT.init(c, 1);
    const opt = new AdamW(model.params, be, { lr: 1e-2, beta1: 0.9, beta2: 0.99, eps: 1e-8, weightDecay: 0, gradClip: 1 });
    const B = 4,
      T = 16;
    const rng = new Rng(1);
    let first = 0,
      last = 0;
    for (let it = 0; it < 150; it++) {
      const tok = new Int32Array(B * T),
        tgt = new Int32Array(B * T);
      for (let b = 0; b < B; b++) {
        const off = rng.int(5);
        for (let t = 0; t < T; t++) {
          tok[b * T + t] = (off + t) % 5;
          tgt[b * T + t] = (off + t + 1) % 5;
        }
      }
      opt.zeroGrad();
      const tape = new Tape(be);
      const { loss } = model.forward(tape, tok, B, T, tgt);
      tape.backward(loss!);
      opt.update();
      if (it === 0) first = loss!.data[0];
      last = loss!.data[0];
    }
    assert.ok(Math.abs(first - Math.log(16)) < 0.3, `initial loss ${first} should be near ln 16`);
    assert.ok(last < 0.05, `final loss ${last}`);
  });
});

describe('training with a recycling tape', () => {
  it('gives bit-identical losses and gradients to fresh tapes, step after step', () => {
    // Each step reuses the previous step's buffers, still holding its values: a kernel that
    // read its output before writing it, or a gradient left uncleared, would show here.
    const c = configFromDepth(2, { vocabSize: 40, nEmbd: 32, nHead: 2, mlpHidden: 48, contextLength: 12 });
    const fresh = GPT.init(c, 9),
      recycled = GPT.init(c, 9);
    const B = 3,
      T = 12,
      rng = new Rng(2);
    const tape = new Tape(be, 'f32', { recycle: true });
    for (let it = 0; it < 4; it++) {
      const tok = new Int32Array(B * T).map(() => rng.int(40)),
        tgt = new Int32Array(B * T).map(() => rng.int(40));
      if (it === 2) tgt[5] = -1; // an ignored target
      for (const m of [fresh, recycled]) for (const p of m.params.values()) p.zeroGrad();
      const t1 = new Tape(be);
      const a = fresh.forward(t1, tok, B, T, tgt).loss!;
      t1.backward(a);
      tape.reset();
      const b = recycled.forward(tape, tok, B, T, tgt).loss!;
      tape.backward(b);
      assert.equal(b.data[0], a.data[0], `loss at step ${it}`);
      for (const [name, p] of fresh.params) assert.deepEqual(recycled.p(name).grad, p.grad, `${name} gradient at step ${it}`);
    }
  });
});
