// A checkpoint's tokenizer ref still opens after the files move, and only when the hash matches.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { byteTokenizer, openTokenizerRef, saveTokenizer, tokenizerRef } from '../../src/tokenizer/index.ts';

/** Runs `f` with the working directory at `dir`, restoring it after. */
async function inDir<T>(dir: string, f: () => Promise<T>): Promise<T> {
  const was = process.cwd();
  process.chdir(dir);
  try {
    return await f();
  } finally {
    process.chdir(was);
  }
}

describe('openTokenizerRef', () => {
  const SHIPPED = 'models/tokenizers/shapes-512.json';

  it('opens a moved file by its recorded relative name when the hash matches', async () => {
    const old = mkdtempSync(join(tmpdir(), 'tok-old-')),
      moved = mkdtempSync(join(tmpdir(), 'tok-new-'));
    mkdirSync(join(old, 'toks'));
    mkdirSync(join(moved, 'toks'));
    const tok = byteTokenizer();
    saveTokenizer(tok, join(old, 'toks/t.json'));
    const ref = await inDir(old, async () => tokenizerRef('toks/t.json'));
    assert.equal(ref.path, join(old, 'toks/t.json'));
    saveTokenizer(tok, join(moved, 'toks/t.json'));
    rmSync(old, { recursive: true });
    const opened = await inDir(moved, () => openTokenizerRef(ref));
    assert.deepEqual(opened.encode('moved?'), tok.encode('moved?'));
  });

  it('opens a tokenizer shipped under models/ from any directory, the checkout having moved', async () => {
    const ref = { ...tokenizerRef(SHIPPED), path: `/gone/checkout/${SHIPPED}` };
    const elsewhere = mkdtempSync(join(tmpdir(), 'tok-cwd-'));
    const opened = await inDir(elsewhere, () => openTokenizerRef(ref));
    assert.deepEqual(
      opened.encode('What color is the triangle?'),
      (await openTokenizerRef(tokenizerRef(SHIPPED))).encode('What color is the triangle?'),
    );
  });

  it('refuses a file of another hash at the recorded name, naming the places it looked', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tok-other-'));
    saveTokenizer(byteTokenizer(), join(dir, 'shapes.json'));
    const ref = { name: 'shapes.json', path: '/gone/shapes.json', sha256: tokenizerRef(SHIPPED).sha256 };
    await assert.rejects(
      inDir(dir, () => openTokenizerRef(ref)),
      (e: Error) =>
        /^tokenizer \/gone\/shapes\.json is gone, and no file of its hash is at .*shapes\.json or .*shapes\.json/.test(e.message),
    );
  });
});
