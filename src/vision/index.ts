// Public surface of src/vision: decoding untrusted image bytes into the pixels a model sees.
export {
  decodeImage,
  sniffFormat,
  DEFAULT_DECODE_LIMITS,
  ImageDecodeError,
  MAX_DECODE_SIZE,
  type DecodedImage,
  type DecodeLimits,
  type ImageDecodeReason,
  type ImageFormat,
} from './decode.ts';
