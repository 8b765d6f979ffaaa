// Image decoding for tetra's image input: untrusted PNG, JPEG, WebP or still-GIF bytes in, a
// size x size RGB picture out as floats in [0,1], HWC row-major (pixel (y,x) channel c at
// (y*size + x)*3 + c). Everything else is rejected with an ImageDecodeError whose `reason` says why.
//
// The bytes come from API callers, so the checks run cheapest first and all of them before any
// pixel is decoded: byte count, then the format by its magic bytes (so libvips never parses SVG,
// TIFF, AVIF/HEIF, PDF and the like), then the caller's MIME label against that format, then the
// header that sharp (libvips) reads: its format must agree, it must hold one frame (an animated
// GIF/WebP is refused, as OpenAI refuses it) and width*height must be within the limit. Decoding
// itself runs with limitInputPixels at the same limit and failOn 'error', so a truncated or
// damaged file fails rather than coming back half grey. Any error sharp throws becomes reason
// 'corrupt'; nothing else escapes.
//
// The picture is turned upright by its EXIF orientation, its alpha flattened onto white, and it
// is converted to 8-bit sRGB (greyscale, CMYK and 16-bit inputs included) and then stretched to
// size x size (fit 'fill': the aspect ratio is not kept). The model's images are square and a
// stretch keeps every source pixel in view at the full resolution, where a letterbox would spend
// part of the square on padding. The output is size*size*3 floats, so memory is bounded by the
// caller's size, not by the input.
//
// libvips is told to use one thread and no operation cache at module load: the tensor kernels
// need the cores, and a cache would hold decoded images from earlier requests in memory.
import sharp, { type Metadata, type SharpOptions } from 'sharp';

sharp.concurrency(1);
sharp.cache(false);

export type ImageFormat = 'png' | 'jpeg' | 'webp' | 'gif';

export interface DecodeLimits {
  /** The most bytes an encoded image may have. */
  maxBytes: number;
  /** The most pixels (width*height, read from the header before decoding) an image may have. */
  maxPixels: number;
}

/** 20 MiB (OpenAI's per-image limit) and 4096 x 4096 pixels. */
export const DEFAULT_DECODE_LIMITS: DecodeLimits = Object.freeze({ maxBytes: 20 * 1024 * 1024, maxPixels: 4096 * 4096 });

/** The largest output side decodeImage produces (size*size*3 floats = 192 MiB at this size). */
export const MAX_DECODE_SIZE = 4096;

export type ImageDecodeReason = 'format' | 'too_large' | 'animated' | 'corrupt' | 'mislabelled';

export class ImageDecodeError extends Error {
  override name = 'ImageDecodeError';
  constructor(
    readonly reason: ImageDecodeReason,
    message: string,
  ) {
    super(message);
  }
}

export interface DecodedImage {
  /** size*size*3 RGB values in [0,1], HWC row-major. */
  pixels: Float32Array;
  /** The output side: both equal to opts.size. */
  width: number;
  height: number;
  /** The format the bytes really are. */
  format: ImageFormat;
}

const NAMES: Record<ImageFormat, string> = { png: 'PNG', jpeg: 'JPEG', webp: 'WebP', gif: 'GIF' };

const MIME: Record<string, ImageFormat> = {
  'image/png': 'png',
  'image/jpeg': 'jpeg',
  'image/jpg': 'jpeg',
  'image/pjpeg': 'jpeg',
  'image/webp': 'webp',
  'image/gif': 'gif',
};

function startsWith(b: Uint8Array, at: number, ascii: string): boolean {
  if (b.length < at + ascii.length) return false;
  for (let i = 0; i < ascii.length; i++) if (b[at + i] !== ascii.charCodeAt(i)) return false;
  return true;
}

/** The format by its magic bytes, or null for anything not on the whitelist. */
export function sniffFormat(b: Uint8Array): ImageFormat | null {
  if (b.length >= 8 && b[0] === 0x89 && startsWith(b, 1, 'PNG\r\n\x1a\n')) return 'png';
  if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return 'jpeg';
  if (startsWith(b, 0, 'GIF87a') || startsWith(b, 0, 'GIF89a')) return 'gif';
  if (startsWith(b, 0, 'RIFF') && startsWith(b, 8, 'WEBP')) return 'webp';
  return null;
}

/** A short description of unrecognised bytes for the 'format' message. */
function describeUnknown(b: Uint8Array): string {
  const head = Buffer.from(b.subarray(0, 512)).toString('latin1').trimStart();
  if (/^(<\?xml[^>]*>\s*)?(<!--[\s\S]*?-->\s*)*(<!DOCTYPE svg[^>]*>\s*)?<svg[\s>]/i.test(head)) return 'an SVG image';
  if (startsWith(b, 0, 'II*\0') || startsWith(b, 0, 'MM\0*')) return 'a TIFF image';
  if (startsWith(b, 4, 'ftyp')) return 'an AVIF/HEIF image';
  if (startsWith(b, 0, 'BM')) return 'a BMP image';
  if (startsWith(b, 0, '%PDF')) return 'a PDF document';
  return b.length === 0 ? 'empty' : 'not a recognised image';
}

function checkLimits(l: DecodeLimits): void {
  for (const k of ['maxBytes', 'maxPixels'] as const) {
    if (!Number.isSafeInteger(l[k]) || l[k] <= 0) throw new RangeError(`decode limit ${k} must be a positive integer, got ${l[k]}`);
  }
}

/**
 * Decodes PNG, JPEG, WebP or non-animated GIF bytes to RGB floats in [0,1], HWC row-major, size x size.
 * Bad bytes reject with ImageDecodeError (see `reason`); a bad size or limit rejects with RangeError.
 */
export async function decodeImage(bytes: Uint8Array, opts: { size: number; mime?: string; limits?: DecodeLimits }): Promise<DecodedImage> {
  const { size, mime } = opts;
  const limits = opts.limits ?? DEFAULT_DECODE_LIMITS;
  if (!Number.isInteger(size) || size < 1 || size > MAX_DECODE_SIZE) {
    throw new RangeError(`decode size must be an integer from 1 to ${MAX_DECODE_SIZE}, got ${size}`);
  }
  checkLimits(limits);

  if (bytes.length > limits.maxBytes) {
    throw new ImageDecodeError('too_large', `the image is ${bytes.length} bytes; the limit is ${limits.maxBytes}`);
  }
  const format = sniffFormat(bytes);
  if (!format) {
    throw new ImageDecodeError('format', `the image is ${describeUnknown(bytes)}; only PNG, JPEG, WebP and non-animated GIF are accepted`);
  }
  if (mime !== undefined) {
    const label = mime.split(';')[0].trim().toLowerCase();
    if (MIME[label] !== format) {
      throw new ImageDecodeError('mislabelled', `the image is labelled ${JSON.stringify(mime)} but its bytes are ${NAMES[format]}`);
    }
  }

  const input = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const options: SharpOptions = { failOn: 'error', limitInputPixels: limits.maxPixels, autoOrient: true, pages: 1 };
  let meta: Metadata;
  try {
    // Only the header is read here; sharp would apply limitInputPixels to it as a bare 'exceeds
    // pixel limit' error, so the size is checked below instead, with a message that names it.
    meta = await sharp(input, { ...options, limitInputPixels: false }).metadata();
  } catch (e) {
    throw corrupt(format, e);
  }
  if (meta.format !== format) {
    throw new ImageDecodeError('corrupt', `the image starts like ${NAMES[format]} but decodes as ${meta.format}`);
  }
  if ((meta.pages ?? 1) > 1) {
    throw new ImageDecodeError('animated', `the ${NAMES[format]} image has ${meta.pages} frames; only still images are accepted`);
  }
  const { width, height } = meta;
  if (!(width > 0 && height > 0)) throw new ImageDecodeError('corrupt', `the ${NAMES[format]} image has no size in its header`);
  if (width * height > limits.maxPixels) {
    throw new ImageDecodeError('too_large', `the image is ${width}x${height} = ${width * height} pixels; the limit is ${limits.maxPixels}`);
  }

  let data: Buffer;
  try {
    const out = await sharp(input, options)
      .flatten({ background: { r: 255, g: 255, b: 255 } })
      .toColourspace('srgb')
      .resize(size, size, { fit: 'fill' })
      .removeAlpha()
      .raw()
      .toBuffer({ resolveWithObject: true });
    const i = out.info;
    if (i.width !== size || i.height !== size || i.channels !== 3 || out.data.length !== size * size * 3) {
      throw new Error(`sharp returned ${i.width}x${i.height}x${i.channels} (${out.data.length} bytes), not ${size}x${size}x3`);
    }
    data = out.data;
  } catch (e) {
    throw corrupt(format, e);
  }
  const pixels = new Float32Array(data.length);
  for (let i = 0; i < data.length; i++) pixels[i] = data[i] / 255;
  return { pixels, width: size, height: size, format };
}

function corrupt(format: ImageFormat, e: unknown): ImageDecodeError {
  const why = (e instanceof Error ? e.message : String(e)).split('\n')[0].slice(0, 200);
  return new ImageDecodeError('corrupt', `the ${NAMES[format]} image could not be decoded: ${why}`);
}
