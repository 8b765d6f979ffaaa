// The bytes side of HTTP: reading a bounded body within a deadline, parsing it as JSON with a
// nesting limit, and writing JSON, errors and server-sent events.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ApiError, invalid, tooLarge } from './errors.ts';

export interface BodyLimits {
  maxBytes: number;
  /** The whole body must arrive within this time (slow-body / slowloris defence). */
  timeoutMs: number;
  maxDepth: number;
}

export function readBody(req: IncomingMessage, limits: BodyLimits): Promise<Buffer> {
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > limits.maxBytes) {
    return Promise.reject(
      tooLarge(`The request body is ${declared} bytes; the limit is ${limits.maxBytes}. Send smaller images or fewer messages.`),
    );
  }
  const enc = req.headers['content-encoding'];
  if (enc && enc !== 'identity') {
    return Promise.reject(
      new ApiError(
        415,
        `Content-Encoding "${enc}" is not accepted; send the JSON body uncompressed.`,
        'invalid_request_error',
        null,
        'unsupported_encoding',
      ),
    );
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0,
      settled = false;
    const finish = (err: ApiError | null) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.off('data', onData).off('end', onEnd).off('error', onError).off('aborted', onAborted);
      if (err) {
        req.resume();
        reject(err);
      } else resolve(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size));
    };
    const onData = (c: Buffer) => {
      size += c.length;
      if (size > limits.maxBytes)
        finish(tooLarge(`The request body is over ${limits.maxBytes} bytes, the limit. Send smaller images or fewer messages.`));
      else chunks.push(c);
    };
    const onEnd = () => finish(null);
    const onError = () => finish(invalid(null, 'The request body could not be read (the connection failed).'));
    const onAborted = () => finish(invalid(null, 'The client closed the connection before sending the whole body.'));
    const timer = setTimeout(
      () =>
        finish(
          new ApiError(
            408,
            `The request body did not arrive within ${limits.timeoutMs} ms; send it at once.`,
            'invalid_request_error',
            null,
            'request_timeout',
          ),
        ),
      limits.timeoutMs,
    );
    req.on('data', onData).on('end', onEnd).on('error', onError).on('aborted', onAborted);
  });
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Deepest [ / { nesting outside strings: JSON.parse copes with deep input, but code that walks it recursively may not. */
function nestingDepth(s: string, stopAt: number): number {
  let depth = 0,
    max = 0,
    inString = false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (inString) {
      if (c === 92)
        i++; // backslash: skip the escaped character
      else if (c === 34) inString = false;
    } else if (c === 34) inString = true;
    else if (c === 91 || c === 123) {
      if (++depth > max) {
        max = depth;
        if (max > stopAt) return max;
      }
    } else if (c === 93 || c === 125) depth--;
  }
  return max;
}

export function parseJson(body: Buffer, maxDepth: number): unknown {
  if (body.length === 0) throw invalid(null, 'The request body is empty; send a JSON object (Content-Type: application/json).');
  let text: string;
  try {
    text = utf8.decode(body);
  } catch {
    throw invalid(null, 'The request body is not valid UTF-8; send JSON encoded as UTF-8.');
  }
  if (nestingDepth(text, maxDepth) > maxDepth) throw invalid(null, `The JSON body is nested more than ${maxDepth} levels deep, the limit.`);
  try {
    return JSON.parse(text);
  } catch (e) {
    throw invalid(
      null,
      `We could not parse the JSON body of your request (${(e as Error).message}). Send valid JSON, e.g. {"model": "...", ` +
        `"messages": [...]}.`,
    );
  }
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

export function sendError(res: ServerResponse, e: ApiError): void {
  if (res.headersSent) {
    // Mid-stream: the status is already 200, so the error travels as an event, then the stream ends.
    if (!res.writableEnded) {
      res.write(`data: ${JSON.stringify(e.body())}\n\n`);
      res.end();
    }
    return;
  }
  // After a 413 or 408 the connection is not reused; a 413's unread body is drained first (lingerThenClose).
  const close: Record<string, string> = e.status === 413 || e.status === 408 ? { connection: 'close' } : {};
  if (e.status === 413) lingerThenClose(res);
  sendJson(res, e.status, e.body(), { ...e.headers, ...close });
}

/** How long, and how much, a 413's remaining body is read and discarded before the socket closes. */
export const LINGER = { ms: 10_000, bytes: 256 << 20 };

/**
 * Closing a socket with unread bytes in its receive buffer makes the kernel answer with a reset,
 * and a client still sending its body then reads "connection reset" instead of the 413. So, as
 * nginx's lingering close does: send the answer, half-close, and keep reading (discarding) what
 * the client still sends, up to LINGER's time and size, before closing.
 */
function lingerThenClose(res: ServerResponse): void {
  const req = res.req,
    sock = req.socket;
  if (req.complete || sock.destroyed) return;
  let seen = 0;
  // Destroy only once the answer is flushed (destroy drops unwritten bytes); a FIN goes first.
  const done = () => {
    clearTimeout(timer);
    sock.end();
    if (sock.writableFinished) sock.destroy();
    else sock.once('finish', () => sock.destroy());
  };
  const timer = setTimeout(done, LINGER.ms);
  timer.unref();
  req.on('data', (c: Buffer) => {
    seen += c.length;
    if (seen > LINGER.bytes) done();
  });
  req.once('end', done);
  sock.once('close', () => clearTimeout(timer));
  // node:http destroys the socket as soon as a `connection: close` answer is written; half-close instead.
  sock.destroySoon = () => {
    if (sock.writable) sock.end();
  };
  req.resume();
}

export function startEventStream(res: ServerResponse, headers: Record<string, string>): void {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive', ...headers });
}

export function sendEvent(res: ServerResponse, data: unknown): void {
  if (!res.writableEnded) res.write(`data: ${typeof data === 'string' ? data : JSON.stringify(data)}\n\n`);
}

/** The key in an Authorization header: the token after "Bearer", or (a client that sent the bare key) the whole value. */
export function bearer(h: string | undefined): string | null {
  if (!h) return null;
  const m = /^Bearer\s+(.+)$/i.exec(h);
  return m ? m[1].trim() : h.trim();
}
