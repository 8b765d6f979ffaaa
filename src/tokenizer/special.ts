// Reserved control tokens and where their ids sit.
//
// Layout: a tokenizer trained here has BPE ids 0..N-1 (0..255 are the single bytes, then one id
// per merge in training order) and these specials at N, N+1, ... in the order listed below. The
// cl100k tokenizer keeps OpenAI's own specials (<|endoftext|> = 100257, FIM 100258-100260,
// <|endofprompt|> = 100276) and appends the ones it lacks from 100277 on, in the same order.
//
// Special tokens are never produced by encoding text: `encode('<|user|>')` gives the ordinary
// bytes. Only the chat renderer (or a caller asking `tokenizer.special(name)`) emits them, so a user
// cannot forge a turn boundary by typing one.

export const SPECIAL_TOKENS = [
  '<|bos|>', // start of every document / conversation
  '<|endoftext|>', // end of a pretraining document
  '<|system|>', // role markers: a turn starts with one of these ...
  '<|user|>',
  '<|assistant|>',
  '<|end|>', // ... and ends with this
  '<|image_start|>', // an image follows: a fixed number of slots ...
  '<|image_slot|>', // ... each later filled with one projected patch embedding
] as const;

export type SpecialToken = (typeof SPECIAL_TOKENS)[number];

/** Specials for a trained BPE vocabulary of `vocabSize` ids: ids vocabSize, vocabSize+1, ... */
export function specialsAfter(vocabSize: number, existing: Record<string, number> = {}): Record<string, number> {
  const out: Record<string, number> = { ...existing };
  let next = Math.max(vocabSize - 1, ...Object.values(existing)) + 1;
  for (const name of SPECIAL_TOKENS) if (!(name in out)) out[name] = next++;
  return out;
}
