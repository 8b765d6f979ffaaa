// Public surface of the tokenizer: byte-level BPE (train, encode, decode, stream), the cl100k
// ranks for GPT-4-exact counts, the tokenizer file format and GGUF export, and the chat format.
export { Tokenizer } from './tokenizer.ts';
export { ByteVocab } from './vocab.ts';
export { CL100K_PATTERN, pretokenize } from './pretokenize.ts';
export { SPECIAL_TOKENS, specialsAfter, type SpecialToken } from './special.ts';
export { cl100k, parseTiktokenRanks } from './cl100k.ts';
export { StreamDecoder } from './stream.ts';
export {
  trainBpe,
  mergeChunks,
  countChunks,
  checkVocabSize,
  MIN_VOCAB,
  MAX_VOCAB,
  type TrainOptions,
  type TrainProgress,
  type TrainResult,
} from './train.ts';
export {
  FORMAT,
  FORMAT_VERSION,
  toJSON,
  fromJSON,
  saveTokenizer,
  loadTokenizer,
  gpt2Export,
  byteToUnicode,
  type TokenizerFile,
  type Gpt2Vocab,
} from './format.ts';
export {
  renderConversation,
  renderPrompt,
  ContextOverflowError,
  DEFAULT_IMAGE_SLOTS,
  type ChatMessage,
  type ChatPart,
  type ChatRole,
  type RenderOptions,
  type Rendered,
} from './chat.ts';
export { byteTokenizer, openTokenizer, openTokenizerRef, tokenizerRef } from './open.ts';
