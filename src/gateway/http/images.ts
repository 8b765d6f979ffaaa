// Image parts: a data URL (base64) or an http(s) URL in, bytes + MIME type out. The size of an
// image is checked from its header (PNG IHDR, JPEG SOFn, GIF screen, WebP VP8/VP8L/VP8X) before
// anything decodes it, so a small file that inflates to gigabytes (a decompression bomb) is
// refused by width * height * channels, not discovered by running out of memory.
// Fetching a URL a client names is server-side request forgery waiting to happen: the address
// filter therefore judges the address the socket is about to connect to (after DNS, on every
// redirect hop), never the URL's text, which has endless spellings of 127.0.0.1.
import { lookup as dnsLookup } from 'node:dns/promises';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP } from 'node:net';
import { nonPublicReason } from './addresses.ts';
import { ApiError, invalid, tooLarge } from './errors.ts';

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
  /** Host names exempt from the address check (an operator's internal image host); a redirect elsewhere is checked as usual. */
  allowedHosts?: string[];
  /** The resolver (default: the system's, every address); tests give a fake one. */
  lookup?: (hostname: string) => Promise<{ address: string; family: number }[]>;
}

export const DEFAULT_IMAGE_LIMITS: ImageLimits = {
  maxBytes: 20 << 20,
  maxDecodedBytes: 64 << 20,
  fetchTimeoutMs: 10_000,
  allowHttp: true,
  allowPrivateAddresses: false,
  allowedHosts: [],
};

export interface ImageInfo {
  mime: string;
  width: number;
  height: number;
  channels: number;
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** Reads the dimensions from the header; null when the bytes are not a PNG, JPEG, GIF or WebP. */
export function imageInfo(b: Uint8Array): ImageInfo | null {
  const u16be = (i: number) => (b[i] << 8) | b[i + 1];
  const u32be = (i: number) => ((b[i] << 24) >>> 0) + ((b[i + 1] << 16) | (b[i + 2] << 8) | b[i + 3]);
  const u16le = (i: number) => b[i] | (b[i + 1] << 8);
  const ascii = (i: number, n: number) => String.fromCharCode(...b.subarray(i, i + n));
  if (b.length >= 26 && b[0] === 0x89 && ascii(1, 3) === 'PNG' && ascii(12, 4) === 'IHDR') {
    const depth = b[24],
      colour = b[25];
    const channels = ({ 0: 1, 2: 3, 3: 4, 4: 2, 6: 4 } as Record<number, number>)[colour] ?? 4;
    return { mime: 'image/png', width: u32be(16), height: u32be(20), channels: Math.max(1, Math.ceil((channels * depth) / 8)) };
  }
  if (b.length >= 4 && b[0] === 0xff && b[1] === 0xd8) {
    let i = 2;
    while (i + 9 < b.length) {
      if (b[i] !== 0xff) return null;
      const marker = b[i + 1];
      if (marker === 0xff) {
        i++;
        continue;
      } // fill byte
      if (marker === 0xd8 || marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
        i += 2;
        continue;
      }
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
    if (chunk === 'VP8X')
      return {
        mime: 'image/webp',
        width: 1 + (b[24] | (b[25] << 8) | (b[26] << 16)),
        height: 1 + (b[27] | (b[28] << 8) | (b[29] << 16)),
        channels: 4,
      };
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
  if (bytes.length > limits.maxBytes)
    throw tooLarge(`${param}: the image is ${bytes.length} bytes; the limit is ${limits.maxBytes}`, param);
  const info = imageInfo(bytes);
  if (!info)
    throw invalid(param, `${param}: the image is not a PNG, JPEG, GIF or WebP file (or its header is damaged)`, 'invalid_image_format');
  if (info.width === 0 || info.height === 0)
    throw invalid(param, `${param}: the image header says ${info.width}x${info.height} pixels`, 'invalid_image_format');
  const decoded = info.width * info.height * info.channels;
  if (decoded > limits.maxDecodedBytes) {
    throw tooLarge(
      `${param}: the image is ${info.width}x${info.height} with ${info.channels} channel(s), ${decoded} bytes decoded; the limit is ` +
        `${limits.maxDecodedBytes} (resize it)`,
      param,
    );
  }
  return info;
}

export function parseDataUrl(url: string, param: string, limits: ImageLimits): { data: Uint8Array; mime: string } {
  const comma = url.indexOf(',');
  const head = comma < 0 ? '' : url.slice(5, comma);
  if (comma < 0 || !/;base64$/i.test(head))
    throw invalid(param, `${param} must be a base64 data URL like data:image/png;base64,iVBOR...`, 'invalid_image_url');
  // Whitespace inside base64 is tolerated (line-wrapped encoders); anything else outside the alphabet is not.
  const b64 = url.slice(comma + 1).replace(/[\r\n\t ]+/g, '');
  if (b64.length === 0 || b64.length % 4 === 1 || !BASE64.test(b64)) {
    throw invalid(
      param,
      `${param} has invalid base64 data (characters outside A-Z a-z 0-9 + / =, or a truncated length)`,
      'invalid_image_url',
    );
  }
  if (Math.floor((b64.length * 3) / 4) > limits.maxBytes)
    throw tooLarge(`${param}: the image is about ${Math.floor((b64.length * 3) / 4)} bytes; the limit is ${limits.maxBytes}`, param);
  const data = new Uint8Array(Buffer.from(b64, 'base64'));
  const info = checkImage(data, param, limits);
  // A data URL that names an image type must name the one its bytes are (image/jpg is JPEG's alias).
  const declared = head.split(';')[0].trim().toLowerCase().replace('image/jpg', 'image/jpeg');
  if (declared.startsWith('image/') && declared !== info.mime)
    throw invalid(param, `${param}: the data URL says ${declared} but the bytes are ${info.mime}`, 'invalid_image_format');
  return { data, mime: info.mime };
}

const MAX_REDIRECTS = 5;

export { isNonPublicAddress } from './addresses.ts';

type Resolved = { address: string; family: number };
type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | Resolved[], family?: number) => void;

const REFUSAL = 'this server only fetches images from public hosts. Send the image as a base64 data URL.';

/** A literal address is the client's own text, so naming it tells them nothing new. */
const refuseLiteral = (param: string, address: string, why: string) =>
  invalid(param, `${param}: ${address} is a private or local address (${why}); ${REFUSAL}`, 'invalid_image_url');

/** What a name resolves to stays in the server's log: telling the client would map the internal DNS for them. */
const refuseResolved = (param: string, host: string, address: string, why: string) =>
  new ApiError(
    400,
    `${param}: ${host} resolves to a private or local address; ${REFUSAL}`,
    'invalid_request_error',
    param,
    'invalid_image_url',
    {},
    `image fetch refused: ${host} resolves to ${address} (${why})`,
  );

/** Resolves and checks a name: every answer must be public, since the socket may use any of them. */
async function resolveChecked(hostname: string, param: string, limits: ImageLimits, exempt: boolean): Promise<Resolved[]> {
  const resolve = limits.lookup ?? ((host: string) => dnsLookup(host, { all: true, verbatim: true }));
  let answers: Resolved[];
  try {
    answers = await resolve(hostname);
  } catch (e) {
    throw invalid(
      param,
      `${param}: could not resolve ${hostname} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`,
      'invalid_image_url',
    );
  }
  if (!answers.length) throw invalid(param, `${param}: ${hostname} has no address`, 'invalid_image_url');
  if (!exempt && !limits.allowPrivateAddresses) {
    for (const a of answers) {
      const why = nonPublicReason(a.address);
      if (why) throw refuseResolved(param, hostname, a.address, why);
    }
  }
  // The family comes from the address itself: a resolver that mislabels one must not confuse the connect.
  return answers.map((a) => ({ address: a.address, family: isIP(a.address) }));
}

/**
 * The socket's address is decided here, not from the URL's text: node:net calls this lookup for
 * every connection it makes to a host name, every address the name resolves to is checked, and
 * the socket connects to exactly the addresses checked (so DNS rebinding between a check and the
 * connection is impossible). IP-literal hosts never reach a lookup and are checked in `hop`.
 * net asks for all addresses ({all: true}) when it races IPv4 against IPv6 (autoSelectFamily),
 * and for one otherwise; both answers are served from the same checked resolution.
 */
function checkedLookup(param: string, limits: ImageLimits, exempt: boolean, failure: { error?: ApiError }) {
  return (hostname: string, options: { all?: boolean; family?: number }, callback: LookupCallback): void => {
    const refused = (error: ApiError) => {
      failure.error = error;
      callback(Object.assign(new Error(error.message), { code: 'EREFUSED_BY_POLICY' }), '');
    };
    // Two handlers, not then().catch(): an exception thrown by net inside the callback must not call it a second time.
    resolveChecked(hostname, param, limits, exempt).then(
      (answers) => {
        const usable = options.family === 4 || options.family === 6 ? answers.filter((a) => a.family === options.family) : answers;
        if (!usable.length)
          return refused(invalid(param, `${param}: ${hostname} has no IPv${options.family} address`, 'invalid_image_url'));
        if (options.all) callback(null, usable);
        else callback(null, usable[0].address, usable[0].family);
      },
      (e: unknown) => refused(e instanceof ApiError ? e : invalid(param, `${param}: could not resolve ${hostname}`, 'invalid_image_url')),
    );
  };
}

interface HopAnswer {
  status: number;
  location: string | null;
  contentLength: number;
  body: AsyncIterable<Buffer>;
  close(): void;
}

/** One request (no redirects followed), through a connection whose address was checked. */
function hop(u: URL, param: string, limits: ImageLimits, signal: AbortSignal): Promise<HopAnswer> {
  const host = u.hostname.replace(/^\[|\]$/g, '');
  const exempt = (limits.allowedHosts ?? []).some((h) => h.toLowerCase() === host.toLowerCase());
  if (isIP(host) && !exempt && !limits.allowPrivateAddresses) {
    const why = nonPublicReason(host);
    if (why) return Promise.reject(refuseLiteral(param, host, why));
  }
  const failure: { error?: ApiError } = {};
  return new Promise((resolve, reject) => {
    const req = (u.protocol === 'https:' ? httpsRequest : httpRequest)(
      u,
      {
        method: 'GET',
        signal,
        agent: false,
        lookup: checkedLookup(param, limits, exempt, failure) as never,
        headers: { accept: 'image/png, image/jpeg, image/webp, image/gif', 'user-agent': 'tetra-image-fetch' },
      },
      (res) => {
        const location = res.statusCode && res.statusCode >= 300 && res.statusCode < 400 ? (res.headers.location ?? null) : null;
        resolve({
          status: res.statusCode ?? 0,
          location,
          contentLength: Number(res.headers['content-length']),
          body: res,
          close: () => res.destroy(),
        });
      },
    );
    req.on('error', (e) => reject(failure.error ?? e));
    req.end();
  });
}

export async function fetchImage(
  url: string,
  param: string,
  limits: ImageLimits,
  signal?: AbortSignal,
): Promise<{ data: Uint8Array; mime: string }> {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw invalid(param, `${param} is neither a data URL nor a valid http(s) URL`, 'invalid_image_url');
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:')
    throw invalid(param, `${param} must use data:, http: or https:, got ${u.protocol}`, 'invalid_image_url');
  if (!limits.allowHttp)
    throw invalid(param, `${param}: this server does not fetch image URLs; send the image as a base64 data URL`, 'invalid_image_url');
  const timeout = AbortSignal.timeout(limits.fetchTimeoutMs);
  const both = signal ? AbortSignal.any([signal, timeout]) : timeout;
  const failed = (e: unknown): ApiError => {
    if (e instanceof ApiError) return e;
    const why = timeout.aborted ? `no answer within ${limits.fetchTimeoutMs} ms` : (e as Error).message;
    return invalid(param, `${param}: could not fetch the image (${why})`, 'invalid_image_url');
  };
  let res: HopAnswer;
  for (let n = 0; ; n++) {
    try {
      res = await hop(u, param, limits, both);
    } catch (e) {
      throw failed(e);
    }
    if (!res.location) break;
    res.close();
    if (n >= MAX_REDIRECTS) throw invalid(param, `${param}: more than ${MAX_REDIRECTS} redirects`, 'invalid_image_url');
    try {
      u = new URL(res.location, u);
    } catch {
      throw invalid(param, `${param}: redirected to an invalid URL`, 'invalid_image_url');
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:')
      throw invalid(param, `${param}: redirected to ${u.protocol}, not http(s)`, 'invalid_image_url');
  }
  if (res.status < 200 || res.status > 299) {
    res.close();
    throw invalid(param, `${param}: fetching the image gave HTTP ${res.status}`, 'invalid_image_url');
  }
  if (res.contentLength > limits.maxBytes) {
    res.close();
    throw tooLarge(`${param}: the image is ${res.contentLength} bytes; the limit is ${limits.maxBytes}`, param);
  }
  const chunks: Buffer[] = [];
  let total = 0;
  try {
    for await (const chunk of res.body) {
      total += chunk.length;
      if (total > limits.maxBytes) {
        res.close();
        throw tooLarge(`${param}: the image is more than ${limits.maxBytes} bytes; the limit is ${limits.maxBytes}`, param);
      }
      chunks.push(chunk);
    }
  } catch (e) {
    throw e instanceof ApiError
      ? e
      : invalid(
          param,
          `${param}: the image download failed ` +
            `(${timeout.aborted ? `no answer within ${limits.fetchTimeoutMs} ms` : (e as Error).message})`,
          'invalid_image_url',
        );
  }
  const data = new Uint8Array(Buffer.concat(chunks));
  return { data, mime: checkImage(data, param, limits).mime };
}

export function loadImage(
  url: string,
  param: string,
  limits: ImageLimits,
  signal?: AbortSignal,
): Promise<{ data: Uint8Array; mime: string }> {
  if (url.startsWith('data:')) return Promise.resolve().then(() => parseDataUrl(url, param, limits));
  return fetchImage(url, param, limits, signal);
}
