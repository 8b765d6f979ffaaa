// Image parts: a data URL (base64) or an http(s) URL in, bytes + MIME type out. The size of an
// image is checked from its header (PNG IHDR, JPEG SOFn, GIF screen, WebP VP8/VP8L/VP8X) before
// anything decodes it, so a small file that inflates to gigabytes (a decompression bomb) is
// refused by width * height * channels, not discovered by running out of memory.
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { ApiError, invalid, tooLarge } from './http/errors.ts';

export interface ImageLimits {
  /** Encoded bytes per image (OpenAI's limit is 20 MB). */
  maxBytes: number;
  /** width * height * channels after decoding. */
  maxDecodedBytes: number;
  /** Fetch timeout for http(s) URLs. */
  fetchTimeoutMs: number;
  allowHttp: boolean;
  /**
   * Fetch URLs whose host is (or resolves to) a loopback, private, link-local or otherwise
   * non-public address. Off by default: a server that fetches what clients name would otherwise
   * let them reach its own network (SSRF). Redirects are followed by hand and checked each hop.
   */
  allowPrivateAddresses: boolean;
}

export const DEFAULT_IMAGE_LIMITS: ImageLimits = { maxBytes: 20 << 20, maxDecodedBytes: 64 << 20, fetchTimeoutMs: 10_000, allowHttp: true, allowPrivateAddresses: false };

export interface ImageInfo { mime: string; width: number; height: number; channels: number }

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** Reads the dimensions from the header; null when the bytes are not a PNG, JPEG, GIF or WebP. */
export function imageInfo(b: Uint8Array): ImageInfo | null {
  const u16be = (i: number) => (b[i] << 8) | b[i + 1];
  const u32be = (i: number) => ((b[i] << 24) >>> 0) + ((b[i + 1] << 16) | (b[i + 2] << 8) | b[i + 3]);
  const u16le = (i: number) => b[i] | (b[i + 1] << 8);
  const ascii = (i: number, n: number) => String.fromCharCode(...b.subarray(i, i + n));
  if (b.length >= 26 && b[0] === 0x89 && ascii(1, 3) === 'PNG' && ascii(12, 4) === 'IHDR') {
    const depth = b[24], colour = b[25];
    const channels = ({ 0: 1, 2: 3, 3: 4, 4: 2, 6: 4 } as Record<number, number>)[colour] ?? 4;
    return { mime: 'image/png', width: u32be(16), height: u32be(20), channels: Math.max(1, Math.ceil(channels * depth / 8)) };
  }
  if (b.length >= 4 && b[0] === 0xff && b[1] === 0xd8) {
    let i = 2;
    while (i + 9 < b.length) {
      if (b[i] !== 0xff) return null;
      const marker = b[i + 1];
      if (marker === 0xff) { i++; continue; } // fill byte
      if (marker === 0xd8 || marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) { i += 2; continue; }
      const isSof = marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
      if (isSof) return { mime: 'image/jpeg', height: u16be(i + 5), width: u16be(i + 7), channels: Math.max(1, b[i + 9] ?? 3) };
      if (marker === 0xd9 || marker === 0xda) return null; // end of image or scan data before any frame header
      i += 2 + u16be(i + 2);
    }
    return null;
  }
  if (b.length >= 10 && (ascii(0, 6) === 'GIF87a' || ascii(0, 6) === 'GIF89a')) {
    return { mime: 'image/gif', width: u16le(6), height: u16le(8), channels: 4 };
  }
  if (b.length >= 30 && ascii(0, 4) === 'RIFF' && ascii(8, 4) === 'WEBP') {
    const chunk = ascii(12, 4);
    if (chunk === 'VP8X') return { mime: 'image/webp', width: 1 + (b[24] | (b[25] << 8) | (b[26] << 16)), height: 1 + (b[27] | (b[28] << 8) | (b[29] << 16)), channels: 4 };
    if (chunk === 'VP8L' && b[20] === 0x2f) {
      const bits = b[21] | (b[22] << 8) | (b[23] << 16) | (b[24] << 24);
      return { mime: 'image/webp', width: 1 + (bits & 0x3fff), height: 1 + ((bits >>> 14) & 0x3fff), channels: 4 };
    }
    if (chunk === 'VP8 ') return { mime: 'image/webp', width: u16le(26) & 0x3fff, height: u16le(28) & 0x3fff, channels: 3 };
  }
  return null;
}

/** Checks type and dimensions; the error names the part's url field. */
export function checkImage(bytes: Uint8Array, param: string, limits: ImageLimits): ImageInfo {
  if (bytes.length > limits.maxBytes) throw tooLarge(`${param}: the image is ${bytes.length} bytes; the limit is ${limits.maxBytes}`, param);
  const info = imageInfo(bytes);
  if (!info) throw invalid(param, `${param}: the image is not a PNG, JPEG, GIF or WebP file (or its header is damaged)`, 'invalid_image_format');
  if (info.width === 0 || info.height === 0) throw invalid(param, `${param}: the image header says ${info.width}x${info.height} pixels`, 'invalid_image_format');
  const decoded = info.width * info.height * info.channels;
  if (decoded > limits.maxDecodedBytes) {
    throw tooLarge(`${param}: the image is ${info.width}x${info.height} with ${info.channels} channel(s), ${decoded} bytes decoded; the limit is ${limits.maxDecodedBytes} (resize it)`, param);
  }
  return info;
}

export function parseDataUrl(url: string, param: string, limits: ImageLimits): { data: Uint8Array; mime: string } {
  const comma = url.indexOf(',');
  const head = comma < 0 ? '' : url.slice(5, comma);
  if (comma < 0 || !/;base64$/i.test(head)) throw invalid(param, `${param} must be a base64 data URL like data:image/png;base64,iVBOR...`, 'invalid_image_url');
  // Whitespace inside base64 is tolerated (line-wrapped encoders); anything else outside the alphabet is not.
  const b64 = url.slice(comma + 1).replace(/[\r\n\t ]+/g, '');
  if (b64.length === 0 || b64.length % 4 === 1 || !BASE64.test(b64)) {
    throw invalid(param, `${param} has invalid base64 data (characters outside A-Z a-z 0-9 + / =, or a truncated length)`, 'invalid_image_url');
  }
  if (Math.floor(b64.length * 3 / 4) > limits.maxBytes) throw tooLarge(`${param}: the image is about ${Math.floor(b64.length * 3 / 4)} bytes; the limit is ${limits.maxBytes}`, param);
  const data = new Uint8Array(Buffer.from(b64, 'base64'));
  const info = checkImage(data, param, limits);
  return { data, mime: info.mime };
}

const MAX_REDIRECTS = 5;

/** True for addresses that are not on the public internet (RFC 6890 special-purpose blocks, IPv4 and IPv6). */
export function isNonPublicAddress(ip: string): boolean {
  const v4 = ip.startsWith('::ffff:') && isIP(ip.slice(7)) === 4 ? ip.slice(7) : ip;
  if (isIP(v4) === 4) {
    const [a, b] = v4.split('.').map(Number);
    return a === 0 || a === 10 || a === 127 || a >= 224 || (a === 100 && b >= 64 && b < 128) || (a === 169 && b === 254)
      || (a === 172 && b >= 16 && b < 32) || (a === 192 && b === 168) || (a === 192 && b === 0) || (a === 198 && (b === 18 || b === 19));
  }
  const h = ip.toLowerCase();
  if (h === '::' || h === '::1') return true;
  const first = parseInt(h.split(':')[0] || '0', 16);
  return (first & 0xfe00) === 0xfc00 /* fc00::/7 unique local */ || (first & 0xffc0) === 0xfe80 /* link-local */ || (first & 0xff00) === 0xff00 /* multicast */;
}

/** Refuses a URL whose host is, or resolves to, a non-public address (every address it resolves to is checked). */
async function checkPublic(u: URL, param: string): Promise<void> {
  const host = u.hostname.replace(/^\[|\]$/g, '');
  let addresses: string[];
  if (isIP(host)) addresses = [host];
  else {
    try { addresses = (await lookup(host, { all: true, verbatim: true })).map((a) => a.address); } catch (e) {
      throw invalid(param, `${param}: could not resolve ${host} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, 'invalid_image_url');
    }
  }
  const bad = addresses.find(isNonPublicAddress);
  if (bad !== undefined) {
    throw invalid(param, `${param}: ${host} is a private or local address (${bad}); this server only fetches images from public hosts. Send the image as a base64 data URL.`, 'invalid_image_url');
  }
}

export async function fetchImage(url: string, param: string, limits: ImageLimits, signal?: AbortSignal): Promise<{ data: Uint8Array; mime: string }> {
  let u: URL;
  try { u = new URL(url); } catch { throw invalid(param, `${param} is neither a data URL nor a valid http(s) URL`, 'invalid_image_url'); }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw invalid(param, `${param} must use data:, http: or https:, got ${u.protocol}`, 'invalid_image_url');
  if (!limits.allowHttp) throw invalid(param, `${param}: this server does not fetch image URLs; send the image as a base64 data URL`, 'invalid_image_url');
  const timeout = AbortSignal.timeout(limits.fetchTimeoutMs);
  const both = signal ? AbortSignal.any([signal, timeout]) : timeout;
  let res: Response;
  for (let hop = 0; ; hop++) {
    if (!limits.allowPrivateAddresses) await checkPublic(u, param);
    try {
      res = await fetch(u, { signal: both, redirect: 'manual' });
    } catch (e) {
      const why = timeout.aborted ? `no answer within ${limits.fetchTimeoutMs} ms` : (e as Error).message;
      throw invalid(param, `${param}: could not fetch the image (${why})`, 'invalid_image_url');
    }
    const location = res.status >= 300 && res.status < 400 ? res.headers.get('location') : null;
    if (!location) break;
    await res.body?.cancel().catch(() => {});
    if (hop >= MAX_REDIRECTS) throw invalid(param, `${param}: more than ${MAX_REDIRECTS} redirects`, 'invalid_image_url');
    try { u = new URL(location, u); } catch { throw invalid(param, `${param}: redirected to an invalid URL`, 'invalid_image_url'); }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw invalid(param, `${param}: redirected to ${u.protocol}, not http(s)`, 'invalid_image_url');
  }
  if (!res.ok) { await res.body?.cancel().catch(() => {}); throw invalid(param, `${param}: fetching the image gave HTTP ${res.status}`, 'invalid_image_url'); }
  const declared = Number(res.headers.get('content-length'));
  if (declared > limits.maxBytes) { await res.body?.cancel().catch(() => {}); throw tooLarge(`${param}: the image is ${declared} bytes; the limit is ${limits.maxBytes}`, param); }
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      total += chunk.length;
      if (total > limits.maxBytes) throw tooLarge(`${param}: the image is more than ${limits.maxBytes} bytes; the limit is ${limits.maxBytes}`, param);
      chunks.push(chunk);
    }
  } catch (e) {
    if (e instanceof ApiError) throw e;
    throw invalid(param, `${param}: the image download failed (${timeout.aborted ? `no answer within ${limits.fetchTimeoutMs} ms` : (e as Error).message})`, 'invalid_image_url');
  }
  const data = new Uint8Array(Buffer.concat(chunks));
  return { data, mime: checkImage(data, param, limits).mime };
}

export function loadImage(url: string, param: string, limits: ImageLimits, signal?: AbortSignal): Promise<{ data: Uint8Array; mime: string }> {
  if (url.startsWith('data:')) return Promise.resolve().then(() => parseDataUrl(url, param, limits));
  return fetchImage(url, param, limits, signal);
}
