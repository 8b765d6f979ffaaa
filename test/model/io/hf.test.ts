// `tetra export hf` writes the Hugging Face Llama layout that PyTorch stacks and vLLM load. Checked
// against independent implementations of what they do with it:
// - the weights: scripts/hf_llama.py, the Llama forward pass as transformers computes it (rotate-half
//   RoPE, so the export must permute q and k) in PyTorch, gives tetra's logits for the same ids;
// - tokenizer.json: the tokenizers library's JS port encodes text to tetra's ids and back;
// - the chat template: the Jinja engine transformers.js uses renders tetra's chat format, whose
//   ids are what tetra's own renderer gives.
// PyTorch comes from Debian (python3-torch, installed by .ci/run); without it the forward-pass
// check skips with the reason, unless TETRA_REQUIRE_TORCH=1.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { Template } from '@huggingface/jinja';
import { Tokenizer as HFTokenizer } from '@huggingface/tokenizers';
import { configFromDepth, GPT, type GPTConfig, HF_CHAT_TEMPLATE, permuteRopeRows, saveCheckpoint } from '../../../src/model/index.ts';
import { defaultBackend, Rng, Tape } from '../../../src/tensor/index.ts';
import { byteTokenizer, renderPrompt } from '../../../src/tokenizer/index.ts';

const bin = join(import.meta.dirname, '../../../bin/tetra.js');
const dir = mkdtempSync(join(tmpdir(), 'tetra-hf-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const tok = byteTokenizer();
const be = defaultBackend();

const PYTHON = '/usr/bin/python3';
const torchCheck = spawnSync(PYTHON, ['-c', 'import torch'], { encoding: 'utf8' });
const noTorch = torchCheck.status === 0 ? undefined : `PyTorch is not importable by ${PYTHON} (apt-get install python3-torch)`;
if (noTorch && process.env.TETRA_REQUIRE_TORCH === '1') throw new Error(`${noTorch} (TETRA_REQUIRE_TORCH=1)`);

/** A random model whose every tensor (norms included) differs from its initial value, saved as a checkpoint. */
function savedModel(name: string, config: GPTConfig): { ckpt: string; model: GPT } {
  const model = GPT.init(config, 7);
  const rng = new Rng(11);
  const params = model.weights();
  for (const p of params.values()) for (let i = 0; i < p.length; i++) p[i] += 0.2 * rng.normal();
  const ckpt = join(dir, name);
  saveCheckpoint(ckpt, { config, params, meta: { step: 1, tokensSeen: 0, tokenizer: { name: 'bytes' } } });
  // The same weights in a fresh GPT, so tetra's logits come from what was saved.
  const loaded = GPT.init(config, 1);
  const into = loaded.weights();
  for (const [k, v] of params) into.get(k)!.set(v);
  return { ckpt, model: loaded };
}

function tetraExport(ckpt: string, out: string, dtype = 'f32'): void {
  const r = spawnSync(process.execPath, [bin, 'export', 'hf', '--checkpoint', ckpt, '--out', out, '--dtype', dtype], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
}

function pytorchLogits(hfDir: string, ids: number[]): number[][] {
  const r = spawnSync(PYTHON, [join(import.meta.dirname, '../../../scripts/hf_llama.py'), hfDir], {
    input: JSON.stringify(ids),
    encoding: 'utf8',
    maxBuffer: 64 << 20,
  });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout).logits;
}

function tetraLogits(model: GPT, ids: number[]): Float32Array {
  return model.forward(new Tape(be, 'f32', { grad: false }), Int32Array.from(ids), 1, ids.length).logits.data as Float32Array;
}

const ids = [...tok.encode('The quick brown fox, 12 + 30 = 42.')];

describe('tetra export hf: the weights', () => {
  for (const [name, config] of [
    ['tied', configFromDepth(2, { vocabSize: 264, nEmbd: 64, nHead: 4, mlpHidden: 96, contextLength: 64 })],
    ['untied', { ...configFromDepth(2, { vocabSize: 264, nEmbd: 64, nHead: 2, mlpHidden: 80, contextLength: 64 }), tiedEmbeddings: false }],
  ] as const) {
    it(`gives tetra's logits in an independent PyTorch Llama forward pass (${name} embeddings)`, { skip: noTorch }, () => {
      const { ckpt, model } = savedModel(name, config);
      const out = join(dir, `${name}-hf`);
      tetraExport(ckpt, out);
      const want = tetraLogits(model, ids);
      const got = pytorchLogits(out, ids);
      assert.equal(got.length, ids.length);
      let worst = 0;
      for (let t = 0; t < ids.length; t++)
        for (let v = 0; v < config.vocabSize; v++) worst = Math.max(worst, Math.abs(got[t][v] - want[t * config.vocabSize + v]));
      assert.ok(worst < 2e-3, `largest logit difference ${worst}`);
      const hfConfig = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'));
      assert.equal(hfConfig.tie_word_embeddings, name === 'tied');
      assert.equal(hfConfig.architectures[0], 'LlamaForCausalLM');
    });
  }

  it('F16 weights stay within half precision of the F32 logits', { skip: noTorch }, () => {
    const config = configFromDepth(2, { vocabSize: 264, nEmbd: 64, nHead: 4, mlpHidden: 96, contextLength: 64 });
    const { ckpt, model } = savedModel('f16', config);
    const out = join(dir, 'f16-hf');
    tetraExport(ckpt, out, 'f16');
    const want = tetraLogits(model, ids);
    const got = pytorchLogits(out, ids);
    let worst = 0;
    for (let t = 0; t < ids.length; t++) for (let v = 0; v < 264; v++) worst = Math.max(worst, Math.abs(got[t][v] - want[t * 264 + v]));
    assert.ok(worst < 0.1 && worst > 0, `largest logit difference ${worst}`);
  });

  it('permutes RoPE rows head by head from adjacent pairs to halves', () => {
    // One head of size 4, two input columns: rows 0,1,2,3 -> 0,2,1,3.
    const w = Float32Array.from([0, 0, 1, 1, 2, 2, 3, 3]);
    assert.deepEqual([...permuteRopeRows(w, 1, 4, 2)], [0, 0, 2, 2, 1, 1, 3, 3]);
    // Two heads: each permuted within itself.
    const w2 = Float32Array.from([0, 1, 2, 3, 4, 5, 6, 7]);
    assert.deepEqual([...permuteRopeRows(w2, 2, 4, 1)], [0, 2, 1, 3, 4, 6, 5, 7]);
  });

  it('refuses a missing format or checkpoint with the flag named', () => {
    const r = spawnSync(process.execPath, [bin, 'export', 'hf', '--out', join(dir, 'x')], { encoding: 'utf8' });
    assert.equal(r.status, 2);
    assert.match(r.stderr, /--checkpoint DIR is required/);
    const r2 = spawnSync(process.execPath, [bin, 'export', 'onnx'], { encoding: 'utf8' });
    assert.equal(r2.status, 2);
    assert.match(r2.stderr, /gguf, hf or release/);
  });
});

describe('tetra export hf: tokenizer and chat template', () => {
  const config = configFromDepth(1, { vocabSize: 264, nEmbd: 32, nHead: 2, mlpHidden: 48, contextLength: 32 });
  const { ckpt } = savedModel('tok', config);
  const out = join(dir, 'tok-hf');
  tetraExport(ckpt, out);
  const json = JSON.parse(readFileSync(join(out, 'tokenizer.json'), 'utf8'));
  const tconf = JSON.parse(readFileSync(join(out, 'tokenizer_config.json'), 'utf8'));
  const hf = new HFTokenizer(json, tconf);

  it('encodes and decodes text to the same ids as tetra (ASCII, accents, CJK, emoji, whitespace runs)', () => {
    for (const text of ['Hello, world!', 'naïve café — déjà vu', '東京は晴れ', 'ok 👍🏽 done', '  two  spaces\n\ttab', '12 + 30 = 42']) {
      const want = [...tok.encode(text)];
      assert.deepEqual(hf.encode(text, { add_special_tokens: false }).ids, want, text);
      assert.equal(hf.decode(want), text);
    }
  });

  it("renders the chat template to tetra's chat format, token for token", () => {
    const messages = [
      { role: 'system', content: 'Answer in French.' },
      { role: 'user', content: 'What is 7 + 5?' },
      { role: 'assistant', content: '7 plus 5 font douze.' },
      { role: 'user', content: 'And 2 + 2?' },
    ] as const;
    const text = new Template(tconf.chat_template).render({ messages, add_generation_prompt: true });
    assert.equal(tconf.chat_template, HF_CHAT_TEMPLATE);
    const want = renderPrompt(tok, [...messages]).ids;
    assert.deepEqual(hf.encode(text, { add_special_tokens: false }).ids, want);
  });
});
