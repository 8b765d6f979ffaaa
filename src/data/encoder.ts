// Tokenisation is injected: the data pipeline only needs text -> ids, the vocabulary size (for
// the shard dtype) and the end-of-text id that separates documents. The byte-level encoder here
// needs no tokenizer file, which keeps the pipeline's tests hermetic.

export interface TextEncoder {
  /** Token ids of `text`, each in [0, vocabSize). */
  encode(text: string): ArrayLike<number>;
  vocabSize: number;
  /** Id appended after every document. */
  eotId: number;
  /** Recorded in shard manifests so a loader can refuse shards made by another tokenizer. */
  name: string;
}

/** ids = the UTF-8 bytes of the text; 256 = end of text. */
export class ByteEncoder implements TextEncoder {
  readonly vocabSize = 257;
  readonly eotId = 256;
  readonly name = 'bytes';
  encode(text: string): Uint8Array {
    return Buffer.from(text, 'utf8');
  }
}

/**
 * Resolves `--tokenizer`: "bytes" (the byte-level encoder above), "cl100k" (GPT-4's ranks), or
 * the path of a tokenizer file written by `tetra tokenizer train`. Documents end with
 * <|endoftext|>; the vocabulary size counts the special ids too (they index the embedding).
 */
export async function loadEncoder(spec: string): Promise<TextEncoder> {
  if (spec === 'bytes') return new ByteEncoder();
  const { cl100k, loadTokenizer } = await import('../tokenizer/index.ts');
  const tok = spec === 'cl100k' ? await cl100k() : loadTokenizer(spec);
  return { encode: (t) => tok.encode(t), vocabSize: tok.idLimit, eotId: tok.special('<|endoftext|>'), name: spec };
}
