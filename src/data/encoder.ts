// Tokenisation is injected: the data pipeline only needs text -> ids, the vocabulary size (for
// the shard dtype) and the end-of-text id that separates documents. The byte-level tokenizer ("bytes") needs no file, which keeps the
// pipeline's tests hermetic.
import { resolve } from 'node:path';
import { openTokenizer } from '../tokenizer/index.ts';

export interface TextEncoder {
  /** Token ids of `text`, each in [0, vocabSize). */
  encode(text: string): ArrayLike<number>;
  vocabSize: number;
  /** Id appended after every document. */
  eotId: number;
  /** Recorded in shard manifests so a loader can refuse shards made by another tokenizer. */
  name: string;
}

/**
 * Resolves `--tokenizer` (bytes, cl100k or a tokenizer file: see src/tokenizer/open.ts).
 * Documents end with <|endoftext|>; the vocabulary size counts the special ids too (they index
 * the embedding).
 */
export async function loadEncoder(spec: string): Promise<TextEncoder> {
  const tok = await openTokenizer(spec);
  // A file is recorded by absolute path so a later `tetra train` finds it from any directory.
  const name = spec === 'bytes' || spec === 'cl100k' || spec === 'cl100k_base' ? spec : resolve(spec);
  return { encode: (t) => tok.encode(t), vocabSize: tok.idLimit, eotId: tok.special('<|endoftext|>'), name };
}
