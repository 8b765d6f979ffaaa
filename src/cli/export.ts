// `tetra export gguf`: write a checkpoint as a llama.cpp GGUF (llama architecture, gpt2 byte-level
// BPE tokenizer) that llama.cpp, ollama or LM Studio can load. Everything is checked before the
// first byte is written (exportGGUF validates the same rules llama.cpp aborts on), and the file
// is read back and checked again, so a file this command reports as written is one llama.cpp loads.
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { openTokenizerRef } from '../tokenizer/index.ts';
import { exportGGUF, ggufTokenizer, inspectLlamaGGUF, loadCheckpoint, type GGMLType } from '../model/index.ts';
import { UsageError } from './args.ts';
import type { Command } from './command.ts';
import { resolveCheckpoint } from './generate.ts';

const CMD = 'tetra export';

export const exportCommand: Command = {
  name: 'export',
  summary: 'write a checkpoint in another format: `tetra export gguf` for llama.cpp',
  usage: 'tetra export gguf --checkpoint DIR --out FILE [--dtype f32|f16] [--name NAME]',
  flags: {
    checkpoint: { type: 'string', help: 'checkpoint directory (or a run directory: its newest checkpoint)' },
    out: { type: 'string', help: 'GGUF file to write (replaced atomically)' },
    dtype: { type: 'string', help: 'f32 (exact) or f16 (half the size; norms stay f32)', default: 'f32' },
    name: { type: 'string', help: 'general.name in the file (default: the checkpoint directory)' },
  },
  async run(f, rest) {
    const [format, ...extra] = rest;
    if (format !== 'gguf')
      throw new UsageError(
        `${CMD}: the format must be 'gguf' (tetra export gguf --checkpoint DIR --out FILE), got ` +
          `${format === undefined ? 'none' : `'${format}'`}`,
      );
    if (extra.length) throw new UsageError(`${CMD}: unexpected argument '${extra[0]}'`);
    if (!f.checkpoint) throw new UsageError(`${CMD}: --checkpoint DIR is required`);
    if (!f.out) throw new UsageError(`${CMD}: --out FILE is required`);
    const dtype = String(f.dtype).toUpperCase();
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
    if (!ck.meta.tokenizer) throw new Error(`checkpoint ${dir} names no tokenizer, so the GGUF cannot carry one`);
    const tok = await openTokenizerRef(ck.meta.tokenizer);
    const out = resolve(String(f.out));
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
