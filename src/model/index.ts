// Public surface of src/model: configuration, the GPT, KV-cache inference, sampling, generation.
export { configFromDepth, validateConfig, paramShapes, paramCount, flopsPerToken, headSize, type GPTConfig } from './config.ts';
export { GPT, type LayerWeights } from './gpt.ts';
export { grownWeights } from './grow.ts';
export { KVCache, step, type StepInput } from './kvcache.ts';
export {
  grid,
  imageSlots,
  imageValues,
  packImages,
  parseVisionSpec,
  patchify,
  patchValues,
  type ImageInput,
  type VisionConfig,
} from './vision.ts';
export { sample, logSoftmax, topLogprobs, argmax, validateSampling, type SamplingOptions, type TokenLogprob } from './sampling.ts';
export {
  Decoding,
  generate,
  generateStream,
  scoreContinuation,
  type GenerateOptions,
  type Generation,
  type GeneratedToken,
} from './generate.ts';
export * from './io/index.ts';
export { openCheckpoint, type OpenedCheckpoint } from './open.ts';
