// A tetra tokenizer as the GGUF "gpt2" tokenizer block llama.cpp reads.
import { CL100K_PATTERN, gpt2Export, type Tokenizer } from '../../tokenizer/index.ts';
import { GPT4_PRETOKENIZER, type GGUFTokenizer } from './gguf.ts';

/**
 * The GGUF tokenizer block for a model of vocabSize rows: gpt2-spelled tokens, merges in rank order,
 * <|bos|> and <|endoftext|> as BOS/EOS. Rows past the tokenizer's ids (a vocabulary padded for
 * speed) become unused control tokens "[PAD<id>]", as gpt2Export does for gaps.
 */
export function ggufTokenizer(tok: Tokenizer, vocabSize: number): GGUFTokenizer {
  if (tok.pattern !== CL100K_PATTERN) {
    throw new Error(
      'the tokenizer uses a custom pre-tokenisation pattern; llama.cpp only knows the GPT-4 (cl100k) one, so its tokenization would differ',
    );
  }
  const { tokens, merges, tokenTypes } = gpt2Export(tok);
  if (tokens.length > vocabSize)
    throw new Error(
      `the tokenizer has ${tokens.length} ids but the model only ${vocabSize} embedding rows (a checkpoint of another tokenizer?)`,
    );
  for (let id = tokens.length; id < vocabSize; id++) {
    tokens.push(`[PAD${id}]`);
    tokenTypes.push(3);
  }
  const eot = tok.special('<|endoftext|>');
  return { tokens, merges, tokenTypes, bosId: tok.special('<|bos|>'), eosId: eot, pre: GPT4_PRETOKENIZER, addBos: false };
}
