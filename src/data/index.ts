// Public surface of src/data: the corpus pipeline, token shards and their loader, and the
// synthetic task generators.
export { loadEncoder, type TextEncoder } from './encoder.ts';
export { buildCorpus, MissingSourceError, NORMALISATION, type BuildOptions } from './build.ts';
export { SOURCES, sourceByName, findFiles, type TextSource, type RawDocument } from './sources.ts';
export { normalizeText, stripHtml, stripTroff, stripPod, stripRst, stripInfo, stripGcide, decodeEntities } from './normalize.ts';
export { ExactDeduper, NearDeduper, minhash, estimatedJaccard, shingleHashes, NEAR_DUP_THRESHOLD } from './dedup.ts';
export { splitOf, type Split } from './split.ts';
export {
  ShardWriter,
  ShardError,
  readShard,
  readShardHeader,
  dtypeFor,
  SHARD_MAGIC,
  SHARD_VERSION,
  SHARD_HEADER_BYTES,
  DTYPE_UINT16,
  DTYPE_UINT32,
  type ShardHeader,
  type ShardInfo,
} from './shard.ts';
export { readManifest, writeManifest, ManifestError, MANIFEST_VERSION, type Manifest, type SourceStats } from './manifest.ts';
export { ShardLoader, type LoaderOptions, type LoaderPosition, type Batch } from './loader.ts';
export { parseWordNetData, readWordNet, synsetText, type WordNetSynset, type WordNetPos } from './wordnet.ts';
export { readDictd, readFortunes } from './formats.ts';
export * from './synthetic/index.ts';
export {
  ConversationError,
  conversationRow,
  isHeldOut,
  parseMessages,
  readConversations,
  type Conversation,
  type ConversationRow,
} from './conversations.ts';
export { pairRows, preferenceLine, readPreferencePairs, type PairRows, type PreferencePair } from './preferences.ts';
// Real image sets from Debian packages (digits, Fashion-MNIST).
export {
  loadDigits,
  loadFashion,
  parseDigits,
  parseIdx,
  greyToPixels,
  DIGITS_QUESTION,
  FASHION_CLASSES,
  FASHION_QUESTION,
  type LabelledImages,
} from './vision-sets.ts';
export { shiftPixels } from './pixels.ts';
