// Preference optimisation: the DPO loss and its gradient against finite differences, the tape's
// sequence log-probabilities against the same, OpenAI preference JSONL checked line by line, and
// `tetra dpo` on a real pretrained checkpoint: held-out pairs ranked right more often after than
// before, the reference cached once, a resumed run repeating the uninterrupted one exactly, and
// data-parallel replicas (whole pairs each) matching one thread.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { generateInstructions, readPreferencePairs } from '../../src/data/index.ts';
import { defaultBackend, refBackend, Tape, Tensor, type Backend } from '../../src/tensor/index.ts';
import { byteTokenizer } from '../../src/tokenizer/index.ts';
import { defaultAdamW, dpo, dpoLoss, policyGradientLoss, readMetrics, type DpoConfig } from '../../src/train/index.ts';
import { pretrainTinyBase } from '../fixtures/tiny-base.ts';
import { assertGradClose, numericGrad } from '../gradcheck.ts';
import { randn64, rng } from '../helpers.ts';

const tmp = () => mkdtempSync(join(tmpdir(), 'tetra-dpo-'));
const bin = join(import.meta.dirname, '../../bin/tetra.js');
const tok = byteTokenizer();
const jsonl = (rows: unknown[]) => rows.map((r) => JSON.stringify(r)).join('\n') + '\n';

describe('DPO loss', () => {
  it('is log 2 per pair where the policy is the reference, and its gradient matches finite differences', () => {
    const s = { beta: 0.5, nll: 0 };
    const x = Float64Array.of(-3, -7, -4, -6);
    const r0 = dpoLoss(x, x, [3, 5, 4, 6], s);
    assert.ok(Math.abs(r0.value - Math.LN2) < 1e-12);
    assert.equal(r0.stats.accuracy, 0);
    const r = rng(3);
    for (const nll of [0, 0.3]) {
      const logps = randn64(6, r, 4),
        ref = randn64(6, r, 4),
        tokens = [3, 7, 2, 5, 9, 4];
      const { grad } = dpoLoss(logps, ref, tokens, { beta: 0.7, nll });
      assertGradClose(
        Float64Array.from(grad),
        numericGrad(() => dpoLoss(logps, ref, tokens, { beta: 0.7, nll }).value, logps),
        `nll ${nll}`,
      );
    }
    // Stays finite far from the reference.
    const far = dpoLoss(Float64Array.of(-5000, 0), Float64Array.of(0, -5000), [1, 1], { beta: 1, nll: 0 });
    assert.ok(Number.isFinite(far.value) && far.value > 9999);
  });

  it('policy gradient: group-standardised advantages, no signal from a group of equal rewards, KL shaping', () => {
    const s = { group: 3, kl: 0 };
    const logps = Float64Array.of(-4, -6, -5, -3, -2, -7),
      tokens = [2, 3, 4, 1, 2, 5];
    // [reward, reference log-probability] per row; the second group's rewards are all equal.
    const extra = Float64Array.of(1, -4, 0, -6, 0.5, -5, 1, -3, 1, -2, 1, -7);
    const r = policyGradientLoss(logps, extra, tokens, s);
    assert.deepEqual([...r.grad.subarray(3)], [0, 0, 0]);
    assert.equal(r.stats.informative, 0.5);
    assert.ok(Math.abs(r.stats.reward - 4.5 / 6) < 1e-12);
    // Advantages (grad x -n x B) are standardised: zero mean, unit variance within the group.
    const A = [0, 1, 2].map((i) => -r.grad[i] * tokens[i] * 6);
    assert.ok(Math.abs(A[0] + A[1] + A[2]) < 1e-9 && Math.abs(A.reduce((a, x) => a + x * x, 0) / 3 - 1) < 1e-9);
    assert.ok(A[0] > A[2] && A[2] > A[1], 'ranked by reward');
    assertGradClose(
      Float64Array.from(r.grad),
      numericGrad(() => policyGradientLoss(logps, extra, tokens, s).value, logps),
      'kl 0',
    );
    // With equal rewards, the KL penalty alone ranks: the answer the policy over-weights most loses.
    const drift = policyGradientLoss(Float64Array.of(0, -4), Float64Array.of(0, -1, 0, -4), [1, 1], { group: 2, kl: 0.5 });
    assert.ok(drift.grad[0] > 0 && drift.grad[1] < 0, 'pushes down the drifted answer');
    assert.ok(Math.abs(drift.stats.kl - 0.5) < 1e-12);
  });

  it('sequence log-probabilities on the tape: row sums of log p(target), gradients through a scalar loss', () => {
    const ref = refBackend as Backend<Float64Array>;
    const r = rng(5),
      B = 2,
      T = 3,
      V = 5;
    const logits = new Tensor(randn64(B * T * V, r), [B * T, V], { requiresGrad: true });
    const targets = Int32Array.of(1, -1, 4, -1, -1, -1); // the second row learns nothing
    const w = Float64Array.of(0.7, -1.3);
    const loss = () => {
      const tape = new Tape(ref, 'f64');
      const lp = tape.sequenceLogProbs(logits, targets, B);
      return { tape, lp, y: tape.scalar(lp, (v) => ({ value: w[0] * v[0] + w[1] * v[1] + v[0] ** 2, grad: [w[0] + 2 * v[0], w[1]] })) };
    };
    const { tape, lp, y } = loss();
    const l = logits.data as Float64Array;
    const logp = (i: number, t: number) =>
      l[i * V + t] - Math.log(Array.from({ length: V }, (_, v) => Math.exp(l[i * V + v])).reduce((a, b) => a + b));
    assert.ok(Math.abs(lp.data[0] - (logp(0, 1) + logp(2, 4))) < 1e-12);
    assert.equal(lp.data[1], 0);
    tape.backward(y);
    const numeric = numericGrad(() => loss().y.data[0], l);
    assertGradClose(Float64Array.from(logits.grad!), numeric, 'dlogits');
  });
});

describe('preference pairs', () => {
  it('reads OpenAI preference JSONL and names the file and line of bad input', () => {
    const dir = tmp(),
      file = join(dir, 'p.jsonl');
    const good = {
      input: { messages: [{ role: 'user', content: 'q' }] },
      preferred_output: [{ role: 'assistant', content: 'yes' }],
      non_preferred_output: [{ role: 'assistant', content: 'no' }],
    };
    writeFileSync(file, jsonl([good]));
    assert.deepEqual(readPreferencePairs(file)[0], {
      source: `${file}:1`,
      prompt: [{ role: 'user', content: 'q' }],
      chosen: 'yes',
      rejected: 'no',
    });
    const bad: [unknown, RegExp][] = [
      ['{nope', /p\.jsonl:2: not valid JSON/],
      [{ ...good, input: {} }, /p\.jsonl:2: expected \{"input"/],
      [{ ...good, preferred_output: [] }, /p\.jsonl:2: preferred_output must be a list of one assistant message/],
      [{ ...good, non_preferred_output: [{ role: 'user', content: 'x' }] }, /non_preferred_output\[0\]\.role must be "assistant"/],
      [{ ...good, preferred_output: [{ role: 'assistant', content: '  ' }] }, /preferred_output\[0\].*empty assistant turn/],
      [{ ...good, non_preferred_output: good.preferred_output }, /p\.jsonl:2: preferred_output and non_preferred_output are the same/],
      [
        { ...good, input: { messages: [...good.input.messages, { role: 'assistant', content: 'a' }] } },
        /p\.jsonl:2: input\.messages ends with an assistant turn/,
      ],
    ];
    for (const [line, re] of bad) {
      writeFileSync(file, `${JSON.stringify(good)}\n${typeof line === 'string' ? line : JSON.stringify(line)}\n`);
      assert.throws(() => readPreferencePairs(file), re);
    }
  });
});

describe('tetra dpo', () => {
  it('raises held-out preference accuracy from a pretrained checkpoint, caches the reference and resumes exactly', async () => {
    const base = await pretrainTinyBase(20);
    // Preferred: the instruction's ideal answer; the other: the same answer in uppercase (a style
    // the system message did not ask for). Held-out pairs come from held-out questions.
    const pairs = (split: 'train' | 'eval', count: number, seed: number) =>
      generateInstructions({ seed, count, split, styles: ['plain', 'french'] }).map((s) => ({
        input: { messages: s.input },
        preferred_output: [{ role: 'assistant', content: s.ideal }],
        non_preferred_output: [{ role: 'assistant', content: s.ideal.toUpperCase() }],
      }));
    const dir = tmp();
    const trainFile = join(dir, 'train.jsonl'),
      valFile = join(dir, 'val.jsonl');
    writeFileSync(trainFile, jsonl(pairs('train', 160, 1)));
    writeFileSync(valFile, jsonl(pairs('eval', 24, 2)));

    const out = join(dir, 'dpo');
    const r = spawnSync(
      process.execPath,
      [bin, 'dpo', '--checkpoint', base, '--data', trainFile, '--val', valFile, '--out', out, '--steps', '30', '--batch', '4'],
      { encoding: 'utf8' },
    );
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual({ train: JSON.parse(r.stdout).train, val: JSON.parse(r.stdout).val }, { train: 160, val: 24 });
    const m = readMetrics(out) as unknown as Record<string, number>[];
    assert.equal(m.length, 30);
    const val = m.filter((x) => x.val_accuracy !== undefined);
    assert.ok(val.length >= 2 && 'accuracy' in m[0] && 'margin' in m[0]);
    const last = val.at(-1)!;
    assert.ok(last.val_preference < Math.LN2 - 0.1, `held-out preference loss ${last.val_preference} should fall below log 2`);
    assert.ok(last.val_chosen_logp > m[0].chosen_logp - 1, 'the preferred answers stay likely (no collapse)');
    assert.ok(val.at(-1)!.val_accuracy >= 0.75, `held-out accuracy ${val.at(-1)!.val_accuracy}`);
    const ref = JSON.parse(readFileSync(join(out, 'reference.json'), 'utf8'));
    assert.equal(ref.train.length, 160);
    assert.equal(ref.val.length, 24);

    // Interrupted at step 6 and resumed: the same losses as one run of 12 steps.
    const c = (o: string, steps: number, resume: boolean): DpoConfig => ({
      checkpoint: base,
      trainFile,
      valFile,
      out: o,
      batchSize: 4,
      accum: 1,
      steps,
      dpo: { beta: 0.1, nll: 0.2 },
      optimizer: { ...defaultAdamW, lr: 1e-4, weightDecay: 0 },
      schedule: { minLr: 0, warmup: 2, decay: 'linear' },
      seed: 7,
      evalEvery: 0,
      sampleEvery: 0,
      checkpointEvery: 6,
      keepCheckpoints: 2,
      peakFlops: 1e11,
      tokenizer: { name: 'bytes' },
      resume,
    });
    const quiet = { log: () => {} };
    const whole = join(dir, 'whole'),
      parts = join(dir, 'parts');
    await dpo(c(whole, 12, false), tok, defaultBackend(), quiet);
    // The run as it was when killed after step 6: that checkpoint, its metrics and the reference.
    cpSync(whole, parts, { recursive: true });
    rmSync(join(parts, 'checkpoints', 'step-000012'), { recursive: true });
    writeFileSync(join(parts, 'checkpoints', 'latest'), 'step-000006\n');
    const resumed = await dpo(c(parts, 12, true), tok, defaultBackend(), quiet);
    assert.equal(resumed.resumedFrom, 6);
    assert.deepEqual(
      readMetrics(parts).map((x) => x.loss),
      readMetrics(whole).map((x) => x.loss),
    );
    // Two replicas, each taking whole pairs: the same run up to float summation order.
    const split = join(dir, 'split');
    await dpo({ ...c(split, 12, false), replicas: 2 }, tok, defaultBackend(), quiet);
    readMetrics(split).forEach((x, i) => {
      const y = readMetrics(whole)[i] as unknown as Record<string, number>;
      assert.ok(Math.abs(x.loss - y.loss) < 1e-3 * Math.abs(y.loss), `step ${i + 1}: loss ${x.loss} vs ${y.loss}`);
      assert.ok(Math.abs((x as unknown as Record<string, number>).accuracy - y.accuracy) < 1e-9);
    });
    // A different data file cannot reuse the cached reference.
    writeFileSync(trainFile, jsonl(pairs('train', 80, 3)));
    await assert.rejects(dpo(c(parts, 14, true), tok, defaultBackend(), quiet), /reference\.json holds 160\/24 train\/val pairs/);
  });
});
