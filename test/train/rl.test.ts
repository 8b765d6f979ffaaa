// On-policy RL (tetra rl's loop): rows that are exactly the sampled tokens, a policy that moves
// toward a reward it can reach (shorter answers) within a few dozen steps from a real pretrained
// checkpoint, and a resumed run that samples and learns exactly what the uninterrupted one did.
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { generateInstructions } from '../../src/data/index.ts';
import { defaultBackend } from '../../src/tensor/index.ts';
import { byteTokenizer } from '../../src/tokenizer/index.ts';
import { answerRows, defaultAdamW, readMetrics, rl, type RlConfig } from '../../src/train/index.ts';
import { pretrainTinyBase } from '../fixtures/tiny-base.ts';

const tmp = () => mkdtempSync(join(tmpdir(), 'tetra-rl-'));
const tok = byteTokenizer();

describe('tetra rl', () => {
  it('rows learn exactly the sampled answer, and its stop token when the model stopped', () => {
    const prompt = Int32Array.of(5, 6, 7);
    const [stopped, cut] = answerRows(
      [prompt, prompt],
      [
        { tokens: [8, 9], logprobs: null, finishReason: 'stop' },
        { tokens: [8, 9], logprobs: null, finishReason: 'length' },
      ],
      99,
      'test',
    );
    assert.deepEqual([...stopped.inputs], [5, 6, 7, 8, 9]);
    assert.deepEqual([...stopped.targets], [-1, -1, 8, 9, 99]);
    assert.equal(stopped.tokens, 3);
    assert.deepEqual([...cut.targets], [-1, -1, 8, 9]);
    assert.equal(cut.tokens, 2);
  });

  it('raises the reward from a pretrained checkpoint, and resumes exactly', async () => {
    const base = await pretrainTinyBase(20);
    const prompts = generateInstructions({ seed: 1, count: 16, split: 'train' }).map((s) => ({ input: s.input }));
    // A reward the policy can reach: shorter answers (a pretrained model rambles to the limit).
    const short = (_: number, answer: string) => -Math.min(answer.length, 24) / 24;
    const c = (out: string, steps: number, resume: boolean): RlConfig => ({
      checkpoint: base,
      data: 'instructions',
      prompts,
      valPrompts: prompts.slice(0, 4),
      out,
      promptsPerStep: 4,
      pg: { group: 4, kl: 0.01 },
      sampling: { maxTokens: 24, temperature: 1 },
      accum: 1,
      steps,
      optimizer: { ...defaultAdamW, lr: 3e-3, weightDecay: 0 },
      schedule: { minLr: 0, warmup: 2, decay: 'constant' },
      seed: 3,
      evalEvery: steps,
      sampleEvery: 0,
      checkpointEvery: 6,
      keepCheckpoints: 10,
      peakFlops: 1e11,
      tokenizer: { name: 'bytes' },
      resume,
      replicas: 2,
    });
    const quiet = { log: () => {} };
    const dir = tmp();
    const long = join(dir, 'long');
    await rl(c(long, 36, false), tok, defaultBackend(), short, short, quiet);
    const m = readMetrics(long) as unknown as Record<string, number>[];
    const mean = (xs: Record<string, number>[]) => xs.reduce((a, x) => a + x.reward, 0) / xs.length;
    const first = mean(m.slice(0, 8)),
      last = mean(m.slice(-8));
    assert.ok(last > first + 0.15, `mean sampled reward ${first.toFixed(3)} -> ${last.toFixed(3)}`);
    assert.ok(m.every((x) => typeof x.kl === 'number' && typeof x.informative === 'number'));
    assert.ok(typeof m.at(-1)!.val_reward === 'number');

    // Killed after step 6 and resumed: the same samples, rewards and losses as one run of 12.
    const whole = join(dir, 'whole'),
      parts = join(dir, 'parts');
    await rl({ ...c(whole, 12, false), evalEvery: 0 }, tok, defaultBackend(), short, null, quiet);
    cpSync(whole, parts, { recursive: true });
    rmSync(join(parts, 'checkpoints', 'step-000012'), { recursive: true });
    writeFileSync(join(parts, 'checkpoints', 'latest'), 'step-000006\n');
    const resumed = await rl({ ...c(parts, 12, true), evalEvery: 0 }, tok, defaultBackend(), short, null, quiet);
    assert.equal(resumed.resumedFrom, 6);
    const pick = (x: Record<string, number>) => [x.loss, x.reward, x.kl];
    assert.deepEqual(
      (readMetrics(parts) as unknown as Record<string, number>[]).map(pick),
      (readMetrics(whole) as unknown as Record<string, number>[]).map(pick),
    );
  });
});
