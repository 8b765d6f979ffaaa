// The export is right only if llama.cpp computes what our model computes. A seeded random model
// (vocab 300, C 64, 2 layers, 2 heads, SwiGLU 160) is exported, loaded by llama.cpp through
// node-llama-cpp on the CPU, and its next-token distribution at every position of a prompt is
// compared with a plain float64 forward pass of the tetra GPT (test/train/llama-fixture.ts).
// Wrong dims order, the wrong RoPE pairing or a swapped gate/up split each move the log-probs by
// far more than the tolerance (checked below, so the comparison is known to have the power to fail).
//
// node-llama-cpp is an optional dependency: the suite skips with the reason when it cannot be
// imported, unless TETRA_REQUIRE_LLAMACPP=1.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { GPTConfig } from '../../../src/model/config.ts';
import { exportGGUF } from '../../../src/model/io/gguf.ts';
import { argmax, logSoftmax, randomParams, referenceLogits, tinyVocab, type ForwardVariant } from './llama-fixture.ts';
import { importOptional } from '../../fixtures/optional.ts';

// The slice of node-llama-cpp's API used here, typed locally so `tsc` passes on machines where the
// optional dependency is not installed (the import below is by a computed name for the same reason).
interface NlcModel {
  trainContextSize: number;
  embeddingVectorSize: number;
  typeDescription: string;
  tokens: { bos: number | null; eos: number | null };
  fileInfo: { metadata: unknown };
  detokenize(tokens: number[]): string;
  createContext(o: object): Promise<{ getSequence(): NlcSequence; dispose(): Promise<void> }>;
  dispose(): Promise<void>;
}
interface NlcSequence {
  controlledEvaluate(input: [number, object][]): Promise<({ next: { probabilities?: Map<number, number> } } | undefined)[]>;
}
interface NLC {
  getLlama(o: object): Promise<{ loadModel(o: object): Promise<NlcModel> }>;
  LlamaLogLevel: { error: string };
}
const { mod: nlc, skip } = await importOptional<NLC>('node-llama-cpp', 'TETRA_REQUIRE_LLAMACPP');

const dir = mkdtempSync(join(tmpdir(), 'tetra-llamacpp-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const config: GPTConfig = {
  vocabSize: 300,
  contextLength: 64,
  nLayer: 2,
  nEmbd: 64,
  nHead: 2,
  mlpHidden: 160,
  tiedEmbeddings: false,
  ropeBase: 10000,
  normEps: 1e-5,
};
const prompt = [17, 271, 44, 5, 199, 88, 123, 260, 31, 77, 150, 9];
const tokenizer = tinyVocab(config.vocabSize);

// Tolerances on log-probabilities (natural log). F32 weights with an F32 KV cache: llama.cpp's
// float32 arithmetic against float64, measured 2.8e-6; F16 weights and KV cache: every weight
// rounded to 11 significant bits, measured 1.1e-2. A layout error moves them by 4 or more.
const F32_TOL = 1e-4;
const F16_TOL = 0.1;

/** Log-probabilities llama.cpp gives the next token after each prompt prefix. */
async function llamaLogProbs(path: string, kvType: 'F32' | 'F16'): Promise<{ logp: Float64Array[]; model: NlcModel }> {
  const llama = await nlc!.getLlama({ gpu: false, build: 'never', logLevel: nlc!.LlamaLogLevel.error });
  const model = await llama.loadModel({ modelPath: path, gpuLayers: 0 });
  const context = await model.createContext({
    contextSize: 64,
    threads: 1,
    flashAttention: false,
    experimentalKvCacheKeyType: kvType,
    experimentalKvCacheValueType: kvType,
  });
  try {
    const seq = context.getSequence();
    // temperature 1 with every filter off: the probabilities are the plain softmax of the logits.
    const opts = { temperature: 1, topK: config.vocabSize, topP: 1, minP: 0, seed: 1 };
    const out = await seq.controlledEvaluate(
      prompt.map((t): [number, object] => [t, { generateNext: { probabilities: true, options: opts } }]),
    );
    const logp = out.map((o, i) => {
      const probs = o?.next.probabilities;
      assert.ok(probs, `no probabilities at position ${i}`);
      const lp = new Float64Array(config.vocabSize).fill(-Infinity);
      for (const [tok, p] of probs) lp[tok] = Math.log(p);
      return lp;
    });
    return { logp, model };
  } finally {
    await context.dispose();
  }
}

/** Largest |a - b| over tokens whose reference probability is above 1e-6 (smaller ones underflow in float32). */
function maxDiff(a: Float64Array[], b: Float64Array[]): number {
  let worst = 0;
  for (let t = 0; t < a.length; t++) {
    for (let v = 0; v < a[t].length; v++) if (b[t][v] > Math.log(1e-6)) worst = Math.max(worst, Math.abs(a[t][v] - b[t][v]));
  }
  return worst;
}

const ref = (params: Map<string, Float32Array>, c: GPTConfig, variant?: ForwardVariant) =>
  referenceLogits(c, params, prompt, variant).map(logSoftmax);

describe('llama.cpp runs the exported GGUF like our forward pass', { skip }, () => {
  const params = randomParams(config, 42);
  const want = ref(params, config);

  it('the reference is sensitive to the layout errors the export could make', () => {
    const swapped = maxDiff(ref(params, config, { swapGateUp: true }), want);
    const neox = maxDiff(ref(params, config, { halfRope: true }), want);
    console.log(`  control: swapped gate/up moves log-probs by ${swapped.toFixed(3)}, NeoX RoPE pairing by ${neox.toFixed(3)}`);
    assert.ok(swapped > 20 * F16_TOL && neox > 20 * F16_TOL, `swap ${swapped}, neox ${neox}: the prompt and weights do not discriminate`);
  });

  it('F32 file: loads, reports our metadata, and matches log-probs at every position', async () => {
    const path = join(dir, 'tiny-f32.gguf');
    exportGGUF(path, config, params, { tokenizer, dtype: 'F32', name: 'tetra-test' });
    const { logp, model } = await llamaLogProbs(path, 'F32');
    try {
      assert.equal(model.trainContextSize, config.contextLength, 'llama.cpp n_ctx_train');
      assert.equal(model.embeddingVectorSize, config.nEmbd, 'llama.cpp n_embd');
      assert.equal(model.tokens.bos, tokenizer.bosId);
      assert.equal(model.tokens.eos, tokenizer.eosId);
      assert.match(model.typeDescription, /^llama .*F32/i);
      const md = model.fileInfo.metadata as any; // node-llama-cpp's own GGUF parser: a second reader
      assert.equal(md.general.architecture, 'llama');
      assert.equal(md.general.name, 'tetra-test');
      assert.equal(md.llama.block_count, config.nLayer);
      assert.equal(md.llama.feed_forward_length, config.mlpHidden);
      assert.equal(md.llama.attention.head_count, config.nHead);
      assert.equal(md.llama.context_length, config.contextLength);
      assert.equal(md.tokenizer.ggml.pre, 'dbrx');
      const merged = tokenizer.tokens.findIndex((t) => t.length === 2 && t[0] === 'Ġ');
      assert.equal(model.detokenize([65, merged]), `A ${tokenizer.tokens[merged][1]}`, 'gpt2 byte spelling decodes');
      const d = maxDiff(logp, want);
      console.log(
        `  F32: max |log p llama.cpp - log p reference| = ${d.toExponential(2)} over ${prompt.length} positions x ${config.vocabSize} tokens`,
      );
      assert.ok(d < F32_TOL, `F32 log-prob difference ${d} exceeds ${F32_TOL}`);
      assert.deepEqual(logp.map(argmax), want.map(argmax), 'greedy next tokens');
    } finally {
      await model.dispose();
    }
  });

  it('F16 file with tied embeddings: loads without output.weight and greedy tokens match', async () => {
    const tied = { ...config, tiedEmbeddings: true };
    const p = randomParams(tied, 7);
    const path = join(dir, 'tiny-f16-tied.gguf');
    exportGGUF(path, tied, p, { tokenizer, dtype: 'F16' });
    const { logp, model } = await llamaLogProbs(path, 'F16');
    try {
      assert.match(model.typeDescription, /F16/);
      const wantTied = ref(p, tied);
      const d = maxDiff(logp, wantTied);
      console.log(`  F16 (tied): max |log p difference| = ${d.toExponential(2)}`);
      assert.ok(d < F16_TOL, `F16 log-prob difference ${d} exceeds ${F16_TOL}`);
      // Greedy tokens must agree wherever the reference's top two are not a near tie.
      wantTied.forEach((lp, t) => {
        const sorted = [...lp].sort((a, b) => b - a);
        if (sorted[0] - sorted[1] > 2 * F16_TOL) assert.equal(argmax(logp[t]), argmax(lp), `greedy token at position ${t}`);
      });
    } finally {
      await model.dispose();
    }
  });
});
