// `tetra tokenizer train`: learn a byte-level BPE tokenizer from text files and save it in the
// tokenizer file format (src/tokenizer/format.ts). Files are read one at a time, so the corpus
// never has to fit in memory at once; progress goes to stderr (a live line on a TTY, plain
// periodic lines otherwise).
import { readFileSync, statSync } from 'node:fs';
import type { Command } from './command.ts';
import { UsageError } from './args.ts';
import { countChunks, mergeChunks, saveTokenizer, MIN_VOCAB, MAX_VOCAB, type TrainProgress } from '../tokenizer/index.ts';

function fmtTime(s: number): string {
  return s >= 60 ? `${Math.floor(s / 60)}m${String(Math.round(s % 60)).padStart(2, '0')}s` : `${s.toFixed(1)}s`;
}

function progressPrinter(): (p: TrainProgress) => void {
  const tty = process.stderr.isTTY;
  return (p) => {
    const what =
      p.phase === 'count'
        ? `counting chunks ${(p.done / 1e6).toFixed(1)}/${(p.total / 1e6).toFixed(1)} MB, ${(p.rate / 1e6).toFixed(1)} MB/s`
        : `merges ${p.done}/${p.total}, ${p.rate.toFixed(0)}/s`;
    const line = `${what}, elapsed ${fmtTime(p.elapsedS)}, eta ${fmtTime(p.etaS)}`;
    if (tty) process.stderr.write(`\r${line}\x1b[K${p.done >= p.total ? '\n' : ''}`);
    else process.stderr.write(`${line}\n`);
  };
}

export const tokenizer: Command = {
  name: 'tokenizer',
  summary: 'train a byte-level BPE tokenizer: tokenizer train --input FILE... --vocab-size N --out FILE',
  usage: 'tetra tokenizer train --input FILE [FILE...] --vocab-size N --out FILE',
  flags: {
    input: { type: 'string', help: 'a text file to train on (more files may follow as arguments)' },
    'vocab-size': { type: 'number', help: `BPE vocabulary size in [${MIN_VOCAB}, ${MAX_VOCAB}]; special tokens get the ids after it` },
    out: { type: 'string', help: 'where to write the tokenizer file (JSON)' },
  },
  run(flags, rest) {
    const [sub, ...more] = rest;
    if (sub !== 'train')
      throw new UsageError(
        `tetra tokenizer: expected the subcommand 'train', got ${sub === undefined ? 'nothing' : `'${sub}'`} (see tetra tokenizer --help)`,
      );
    const files = [...(flags.input !== undefined ? [String(flags.input)] : []), ...more];
    if (!files.length) throw new UsageError('tetra tokenizer train: --input FILE is required');
    if (flags.out === undefined) throw new UsageError('tetra tokenizer train: --out FILE is required');
    const vocabSize = flags['vocab-size'];
    if (vocabSize === undefined) throw new UsageError('tetra tokenizer train: --vocab-size N is required');
    if (typeof vocabSize !== 'number' || !Number.isInteger(vocabSize) || vocabSize < MIN_VOCAB || vocabSize > MAX_VOCAB) {
      throw new UsageError(`tetra tokenizer train: --vocab-size must be an integer in [${MIN_VOCAB}, ${MAX_VOCAB}], got ${vocabSize}`);
    }
    let total = 0;
    for (const f of files) {
      try {
        const st = statSync(f);
        if (!st.isFile()) throw Object.assign(new Error(), { code: 'not a regular file' });
        total += st.size;
      } catch (e) {
        console.error(`tetra tokenizer train: cannot read --input ${f}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
        return 1;
      }
    }
    const onProgress = progressPrinter();
    const t0 = performance.now();
    function* texts() {
      for (const f of files) yield readFileSync(f, 'utf8');
    }
    const chunks = countChunks(texts(), undefined, onProgress, total);
    const r = mergeChunks(chunks, { vocabSize, onProgress });
    const out = String(flags.out);
    saveTokenizer(r.tokenizer, out);
    const s = (performance.now() - t0) / 1000;
    const short = r.tokenizer.vocabSize < vocabSize ? ` (the corpus ran out of pairs before ${vocabSize})` : '';
    console.error(
      `trained ${r.tokenizer.vocabSize} tokens${short} from ${(total / 1e6).toFixed(1)} MB (${chunks.size} distinct chunks) in ` +
        `${fmtTime(s)}; wrote ${out}`,
    );
    return 0;
  },
};
