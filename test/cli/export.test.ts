// `tetra export gguf`: the file it writes carries the checkpoint's weights and tokenizer, and
// every bad input is one line on stderr with a non-zero exit, never a stack trace.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { appendFileSync, existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { configFromDepth, GPT } from '../../src/model/index.ts';
import { byteTokenizer, saveTokenizer, tokenizerRef } from '../../src/tokenizer/index.ts';
import { inspectLlamaGGUF, readGGUFTensor, saveCheckpoint, type TokenizerRef } from '../../src/model/index.ts';

const bin = join(import.meta.dirname, '../../bin/tetra.js');
const tmp = () => mkdtempSync(join(tmpdir(), 'tetra-export-'));
function tetra(args: string[]) {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A tiny random checkpoint; vocabSize above the tokenizer's 264 ids exercises the padding rows. */
function checkpoint(tokenizer: TokenizerRef, vocabSize = 264): string {
  const dir = join(tmp(), 'ck');
  const config = configFromDepth(1, { vocabSize, nEmbd: 32, nHead: 2, contextLength: 32 });
  saveCheckpoint(dir, { config, params: GPT.init(config, 5).weights(), meta: { step: 7, tokensSeen: 0, tokenizer } });
  return dir;
}

describe('tetra export gguf', () => {
  it('writes a GGUF llama.cpp accepts, with the weights, padded vocabulary, BOS/EOS and the step in its name', () => {
    const ck = checkpoint({ name: 'bytes' }, 320);
    const out = join(tmp(), 'm.gguf');
    const r = tetra(['export', 'gguf', '--checkpoint', ck, '--out', out, '--dtype', 'f16']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^wrote .*m\.gguf: 11 tensors, F16, [\d.]+ MB, vocab 320, from /);
    const h = inspectLlamaGGUF(out);
    const tokens = h.metadata.get('tokenizer.ggml.tokens')!.value as string[];
    assert.equal(tokens.length, 320);
    assert.equal(tokens[65], 'A');
    assert.equal(tokens[256], '<|bos|>');
    assert.equal(tokens[319], '[PAD319]');
    assert.equal(h.metadata.get('tokenizer.ggml.bos_token_id')!.value, 256);
    assert.equal(h.metadata.get('tokenizer.ggml.eos_token_id')!.value, 257);
    assert.equal(h.metadata.get('general.name')!.value, 'tetra step 7');
    assert.equal(h.tensors.find((t) => t.name === 'blk.0.attn_q.weight')!.type, 'F16');
    const norm = readGGUFTensor(out, h, 'output_norm.weight');
    assert.ok(
      norm.every((v) => v === 1),
      'norms stay F32 and exact',
    );
  });

  for (const [what, args, message, code] of [
    [
      'a missing checkpoint',
      ['--checkpoint', '/nonexistent/ck', '--out', 'x.gguf'],
      /^tetra export: checkpoint \/nonexistent\/ck does not exist$/,
      2,
    ],
    [
      'an unknown dtype',
      ['--checkpoint', '.', '--out', 'x.gguf', '--dtype', 'q4_0'],
      /^tetra export: --dtype must be f32 or f16, got 'q4_0'$/,
      2,
    ],
    ['no --out', ['--checkpoint', '.'], /^tetra export: --out FILE is required$/, 2],
  ] as const) {
    it(`refuses ${what} in one line`, () => {
      const r = tetra(['export', 'gguf', ...args]);
      assert.equal(r.code, code);
      assert.match(r.stderr.trim(), message);
    });
  }

  it('refuses a format other than gguf, naming it', () => {
    const r = tetra(['export', 'onnx', '--checkpoint', '.', '--out', 'x']);
    assert.equal(r.code, 2);
    assert.match(r.stderr.trim(), /^tetra export: the format must be gguf, hf or release .*got 'onnx'$/);
  });

  it('refuses a tokenizer file that changed since the checkpoint was written, and writes nothing', () => {
    const tokPath = join(tmp(), 'tok.json');
    saveTokenizer(byteTokenizer(), tokPath);
    const ck = checkpoint(tokenizerRef(tokPath));
    appendFileSync(tokPath, ' ');
    const out = join(tmp(), 'm.gguf');
    const r = tetra(['export', 'gguf', '--checkpoint', ck, '--out', out]);
    assert.equal(r.code, 1);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, /^tetra export: tokenizer .*tok\.json has changed since the checkpoint was written/);
    assert.ok(!existsSync(out));
  });
});
