// Tokenisation is injected: the data pipeline only needs text -> ids, the vocabulary size (for
// the shard dtype) and the end-of-text id that separates documents. The byte-level encoder here
// lets the pipeline and its tests run before the BPE tokenizer (src/tokenizer) lands.

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
 * Resolves `--tokenizer`. "bytes" is the built-in byte-level encoder.
 *
 * BPE PLUG-IN POINT: when src/tokenizer lands (it exports load(file) returning an object with
 * encode(text)), a path to a tokenizer file goes here:
 *   const { load } = await import('../tokenizer/index.ts');
 *   const tok = load(spec);
 *   return { encode: (t) => tok.encode(t), vocabSize: tok.vocabSize, eotId: tok.eotId, name: spec };
 * Nothing else in src/data needs to change.
 */
export async function loadEncoder(spec: string): Promise<TextEncoder> {
  if (spec === 'bytes') return new ByteEncoder();
  throw new Error(`--tokenizer: unsupported value '${spec}'; only 'bytes' exists until the BPE tokenizer (src/tokenizer) is merged`);
}
