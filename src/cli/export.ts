// `tetra export`: a checkpoint in another format.
//   gguf     a llama.cpp GGUF (llama architecture, gpt2 byte-level BPE tokenizer) that llama.cpp,
//            ollama or LM Studio can load. Everything is checked before the first byte is written
//            (exportGGUF validates the same rules llama.cpp aborts on), and the file is read back
//            and checked again, so a file this command reports as written is one llama.cpp loads.
//   hf       the Hugging Face Llama layout (src/model/io/hf.ts) for PyTorch stacks and vLLM.
//   release  a checkpoint to ship: weights only, F16 by default, named by a pinned snapshot
//            (release.json); `tetra serve --checkpoint DIR` serves it under that name.
import { existsSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { openTokenizerRef } from '../tokenizer/index.ts';
import {
  exportGGUF,
  exportHF,
  ggufTokenizer,
  inspectLlamaGGUF,
  loadCheckpoint,
  MODEL_NAME,
  saveCheckpoint,
  validAlias,
  type GGMLType,
} from '../model/index.ts';
import { UsageError } from './args.ts';
import type { Command } from './command.ts';
import { resolveCheckpoint } from './generate.ts';

const CMD = 'tetra export';

export const exportCommand: Command = {
  name: 'export',
  summary: 'write a checkpoint in another format: gguf (llama.cpp), hf (transformers, vLLM), release (a shipped model)',
  usage:
    'tetra export gguf --checkpoint DIR --out FILE [--dtype f32|f16] [--name NAME]\n' +
    '       tetra export hf --checkpoint DIR --out DIR [--dtype f32|f16]\n' +
    '       tetra export release --checkpoint DIR --out DIR --snapshot NAME [--alias NAME] [--dtype f16|f32]',
  flags: {
    checkpoint: { type: 'string', help: 'checkpoint directory (or a run directory: its newest checkpoint)' },
    out: { type: 'string', help: 'gguf: the file to write (replaced atomically); hf, release: the directory' },
    dtype: { type: 'string', help: 'f32 (exact) or f16 (half the size; GGUF norms stay f32); default f32, release f16' },
    name: { type: 'string', help: 'gguf: general.name in the file (default: the checkpoint directory)' },
    snapshot: { type: 'string', help: 'release: the pinned model name it is served as (tetra-1-YYYY-MM-DD)' },
    alias: { type: 'string', help: "release: the moving alias of its family (default tetra, the default model's)" },
  },
  async run(f, rest) {
    const [format, ...extra] = rest;
    if (format !== 'gguf' && format !== 'hf' && format !== 'release')
      throw new UsageError(
        `${CMD}: the format must be gguf, hf or release (tetra export gguf --checkpoint DIR --out FILE), got ` +
          `${format === undefined ? 'none' : `'${format}'`}`,
      );
    if (extra.length) throw new UsageError(`${CMD}: unexpected argument '${extra[0]}'`);
    if (!f.checkpoint) throw new UsageError(`${CMD}: --checkpoint DIR is required`);
    if (!f.out) throw new UsageError(`${CMD}: --out FILE is required`);
    const dtype = String(f.dtype ?? (format === 'release' ? 'f16' : 'f32')).toUpperCase();
    if (dtype !== 'F32' && dtype !== 'F16') throw new UsageError(`${CMD}: --dtype must be f32 or f16, got '${f.dtype}'`);
    const src = resolve(String(f.checkpoint));
    if (!existsSync(src)) throw new UsageError(`${CMD}: checkpoint ${src} does not exist`);
    let dir: string;
    try {
      dir = resolveCheckpoint(src);
    } catch {
      throw new UsageError(`${CMD}: ${src} is neither a checkpoint nor a run directory with checkpoints`);
    }
    const ck = loadCheckpoint(dir, { withOptimizer: false });
    if (format === 'release') return release(ck, dir, resolve(String(f.out)), dtype as 'F32' | 'F16', f.snapshot, f.alias);
    if (!ck.meta.tokenizer) throw new Error(`checkpoint ${dir} names no tokenizer, so the GGUF cannot carry one`);
    const tok = await openTokenizerRef(ck.meta.tokenizer);
    const out = resolve(String(f.out));
    if (format === 'hf') {
      const files = exportHF(out, ck.config, ck.params, tok, { dtype: dtype as 'F32' | 'F16' });
      console.log(`wrote ${out}: ${files.join(', ')} (${dtype}, vocab ${ck.config.vocabSize}), from ${dir}`);
      if (ck.config.vision) console.error('note: the HF layout holds the text model; its vision weights stay in the checkpoint');
      return 0;
    }
    const name = f.name !== undefined ? String(f.name) : `tetra step ${ck.meta.step}`;
    const { bytes, tensors } = exportGGUF(out, ck.config, ck.params, {
      tokenizer: ggufTokenizer(tok, ck.config.vocabSize),
      dtype: dtype as GGMLType,
      name,
    });
    inspectLlamaGGUF(out); // read back: what is on disk is what was validated
    console.log(`wrote ${out}: ${tensors} tensors, ${dtype}, ${(bytes / 1e6).toFixed(1)} MB, vocab ${ck.config.vocabSize}, from ${dir}`);
    // llama.cpp has no projector type for Fuyu-style patches (its mtmd reads separate encoders).
    if (ck.config.vision) console.error('note: the GGUF holds the text model; its vision weights stay in the checkpoint');
    return 0;
  },
};

function release(
  ck: ReturnType<typeof loadCheckpoint>,
  from: string,
  out: string,
  dtype: 'F32' | 'F16',
  snapshot: unknown,
  alias: unknown,
): number {
  if (typeof snapshot !== 'string' || !MODEL_NAME.test(snapshot))
    throw new UsageError(`${CMD} release: --snapshot NAME is required (lowercase letters, digits, '.' and '-'; e.g. tetra-1-2026-12-05)`);
  if (alias !== undefined && !validAlias(alias, snapshot))
    throw new UsageError(`${CMD} release: --alias must be a model name other than the snapshot (e.g. tetra-vision), got '${alias}'`);
  if (!ck.meta.tokenizer) throw new Error(`checkpoint ${from} names no tokenizer; a release must carry one`);
  saveCheckpoint(
    out,
    { config: ck.config, params: ck.params, meta: { ...ck.meta, dataPosition: undefined, rngState: undefined } },
    {
      weightsDtype: dtype,
    },
  );
  const info = { snapshot, ...(alias !== undefined ? { alias } : {}), createdAt: new Date().toISOString(), dtype };
  writeFileSync(join(out, 'release.json'), `${JSON.stringify(info, null, 2)}\n`);
  console.log(`wrote ${out}: release ${snapshot}${alias !== undefined ? ` (alias ${alias})` : ''} (${dtype}), from ${from}`);
  return 0;
}
