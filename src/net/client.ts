// The client for OpenAI-compatible servers (OpenAI, vLLM, llama.cpp's llama-server, tetra itself):
// a JSON POST answered by one buffered JSON body (postJson, what the evals send) or by an SSE
// stream (stream, what the upstream engine sends), over the keep-alive HTTP/1.1 client in
// http1.ts, with OpenAI's error envelope and the one retry policy (retry.ts).
//
// Why not the official `openai` client: its per-request machinery (building a Request and Headers,
// an AbortController and timers per call, log formatting helpers, a Response and its web stream,
// parse wrappers) costs more than the HTTP itself. Measured on the 2-core box:
//   - evals, a local endpoint that answers at once, 64 requests in flight: about 1,340 requests/s
//     over a keep-alive node:http fetch (670 over undici) against about 3,900 for raw node:http;
//   - the gateway's profile: about 0.3 ms of CPU per proxied request (web streams, an
//     AbortController and a DOMException per request), more than the rest of the gateway together.
// So the official client stays only the upstream engine's opt-in (`client: 'openai'`), for where
// its extras matter.
//
// What the client does, as the official one does: Bearer auth (a placeholder key when none is
// given: local servers need none, but some insist on the header), OpenAI-Organization and
// OpenAI-Project from OPENAI_ORG_ID / OPENAI_PROJECT_ID, its error names and shapes (errors.ts).
// A base URL's user:password@ goes out as Basic auth instead (for a proxy in front of the server).
// Retries: up to maxRetries (default 0: callers with a policy of their own, the evals' withRetries
// or the gateway's, decide), and once more, at once, when a kept-alive socket turns out closed by
// the server before it answered (the request never reached it, so it is safe to send again).
// Not supported (no caller needs them): redirects, compression, multipart, HTTP/2.
import { Http1Client, Http1Error, type Http1ClientOptions, type Http1Response } from './http1.ts';
import { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError } from './errors.ts';
import { isRetryable, retryDelayMs, sleep, type RetryOptions } from './retry.ts';
import { SseReader } from './sse.ts';

export interface OpenAIHttpOptions {
  /** e.g. https://api.openai.com/v1, http://localhost:8000/v1; paths are relative to it, its query string is kept. */
  baseURL: string;
  /** Default 'none'. */
  apiKey?: string;
  /** Default process.env.OPENAI_ORG_ID; null sends none. */
  organization?: string | null;
  /** Default process.env.OPENAI_PROJECT_ID; null sends none. */
  project?: string | null;
  /** Extra request headers (lower-case names), e.g. user-agent. */
  headers?: Record<string, string>;
  /** Connect, first-byte and idle deadlines (DEFAULT_HTTP1_TIMEOUTS), and the idle socket lifetime. */
  timeouts?: Http1ClientOptions;
  /** Retries, timing and jitter; maxRetries defaults to 0 here. */
  retry?: Omit<RetryOptions, 'signal' | 'onRetry'>;
}

export class OpenAIHttpClient {
  private readonly url: URL;
  private readonly http: Http1Client;
  private readonly jsonHeaders: Record<string, string>;
  private readonly streamHeaders: Record<string, string>;
  private readonly paths = new Map<string, string>();
  private readonly retry: Omit<RetryOptions, 'signal' | 'onRetry'>;
  private readonly maxRetries: number;

  constructor(o: OpenAIHttpOptions) {
    this.url = new URL(o.baseURL);
    if (this.url.protocol !== 'https:' && this.url.protocol !== 'http:') {
      throw new Error(`unsupported protocol ${this.url.protocol} in base URL ${o.baseURL} (http:// or https://)`);
    }
    this.http = new Http1Client(this.url, o.timeouts);
    this.retry = o.retry ?? {};
    this.maxRetries = o.retry?.maxRetries ?? 0;
    const h: Record<string, string> = { 'content-type': 'application/json', authorization: `Bearer ${o.apiKey || 'none'}` };
    const org = o.organization === undefined ? process.env.OPENAI_ORG_ID : o.organization;
    const project = o.project === undefined ? process.env.OPENAI_PROJECT_ID : o.project;
    if (org) h['openai-organization'] = org;
    if (project) h['openai-project'] = project;
    Object.assign(h, o.headers);
    // Credentials in the URL are the more specific instruction. (The evals' node:http client sent them
    // as a second Authorization line after the Bearer one; the field is single-valued, and node servers read only the first.)
    const user = decodeURIComponent(this.url.username),
      pass = decodeURIComponent(this.url.password);
    if (user || pass) h.authorization = `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;
    this.jsonHeaders = { accept: 'application/json', ...h };
    this.streamHeaders = { accept: 'application/json, text/event-stream', ...h };
  }

  /** Closes every socket (requests in flight fail). */
  close(): void {
    this.http.close();
  }

  /** POSTs body as JSON to baseURL + path and resolves with the parsed JSON answer (a 2xx), else rejects with an APIError. */
  async postJson<T>(path: string, body: unknown, signal?: AbortSignal): Promise<T> {
    const payload = Buffer.from(JSON.stringify(body));
    return this.retrying(signal, async () => {
      const res = await this.send(path, this.jsonHeaders, payload, signal);
      const text = await readText(res, signal);
      if (res.status < 200 || res.status > 299) throw APIError.fromResponse(res.status, res.headers, text);
      return parseJson<T>(res, text);
    });
  }

  /**
   * POSTs body as JSON and iterates the answer: the parsed `data:` events of an SSE stream up to
   * [DONE] (or its end), or an upstream that ignored stream: true: its whole JSON answer, shaped
   * as one chunk (a chat message becomes a delta). Retries happen only before the answer is
   * accepted; an error event in the stream is an APIError without a status. Leaving the loop
   * early, or aborting, closes the connection, so the server sees the client go and stops.
   */
  async *stream<T>(path: string, body: unknown, signal?: AbortSignal): AsyncGenerator<T> {
    const payload = Buffer.from(JSON.stringify(body));
    const res = await this.retrying(signal, async () => {
      const r = await this.send(path, this.streamHeaders, payload, signal);
      if (r.status < 400) return r;
      throw APIError.fromResponse(r.status, r.headers, await readText(r, signal));
    });
    let done = false;
    try {
      if (!/^text\/event-stream/i.test(res.headers['content-type'] ?? '')) {
        const whole = parseJson<Record<string, unknown>>(res, await readText(res, signal));
        if (whole?.error) throw APIError.fromResponse(undefined, undefined, JSON.stringify(whole));
        done = true;
        yield asChunk(whole) as T;
        return;
      }
      const sse = new SseReader();
      for (let piece = await readPiece(res, signal); piece; piece = await readPiece(res, signal)) {
        if (done) continue; // after [DONE]: read to the end, so the socket goes back to the pool
        sse.push(piece);
        for (let data = sse.next(); data !== null; data = sse.next()) {
          if (data === '[DONE]') {
            done = true;
            break;
          }
          const parsed = JSON.parse(data) as Record<string, unknown>;
          if (parsed?.error) throw APIError.fromResponse(undefined, undefined, data);
          yield parsed as T;
        }
      }
      done = true; // a stream that ends without [DONE] is complete too (as the official client treats it)
    } finally {
      // Left early (the consumer stopped, an abort, an error): close the connection so the server stops.
      if (!done || !res.complete) res.destroy();
    }
  }

  // -------------------------------------------------------------------------------------------

  /** The request path for a path relative to the base URL (chat/completions -> /v1/chat/completions?api-version=...). */
  private pathOf(path: string): string {
    let p = this.paths.get(path);
    if (p === undefined) {
      p = `${this.url.pathname.replace(/\/+$/, '')}/${path.replace(/^\/+/, '')}${this.url.search}`;
      this.paths.set(path, p);
    }
    return p;
  }

  /** One request, up to its response head; transport failures become the openai-shaped errors. */
  private async send(path: string, headers: Record<string, string>, payload: Buffer, signal?: AbortSignal): Promise<Http1Response> {
    if (signal?.aborted) throw new APIUserAbortError();
    try {
      return await this.http.request('POST', this.pathOf(path), headers, payload, signal);
    } catch (e) {
      throw transportError(e, signal, false);
    }
  }

  /** Runs one attempt until it succeeds or the policy says stop; the last error is thrown as is. */
  private async retrying<T>(signal: AbortSignal | undefined, attempt: () => Promise<T>): Promise<T> {
    let staleSocketRetried = false;
    for (let n = 0; ; n++) {
      try {
        return await attempt();
      } catch (e) {
        if (!staleSocketRetried && (e as { cause?: Http1Error }).cause?.reusedSocket && !signal?.aborted) {
          staleSocketRetried = true; // the server closed an idle socket as we reused it: not a retry, a resend
          n--;
          continue;
        }
        const delay = n < this.maxRetries && isRetryable(e) ? retryDelayMs(e, n, this.retry) : null;
        if (delay === null) throw e;
        try {
          await sleep(delay, signal);
        } catch {
          throw new APIUserAbortError();
        }
      }
    }
  }
}

/** The openai-shaped error for a failure of the HTTP/1.1 client (interrupted: the response head had arrived). */
function transportError(e: unknown, signal: AbortSignal | undefined, interrupted: boolean): Error {
  if (signal?.aborted) return new APIUserAbortError();
  if (!(e instanceof Http1Error)) return e as Error;
  if (e.timeout) return new APIConnectionTimeoutError(e.message, e.timeout, { cause: e });
  const why = e.code ? `${e.code} (${e.message})` : e.message;
  return new APIConnectionError(`Connection error: ${why}`, { cause: e, code: e.code, interrupted });
}

async function readPiece(res: Http1Response, signal: AbortSignal | undefined): Promise<Buffer | null> {
  try {
    return await res.read();
  } catch (e) {
    throw transportError(e, signal, true);
  }
}

async function readText(res: Http1Response, signal: AbortSignal | undefined): Promise<string> {
  try {
    return await res.text();
  } catch (e) {
    throw transportError(e, signal, true);
  }
}

function parseJson<T>(res: Http1Response, text: string): T {
  try {
    return JSON.parse(text) as T;
  } catch {
    const what = `the endpoint answered ${res.status} with a body that is not JSON: ${JSON.stringify(text.slice(0, 200))}`;
    throw new APIError(res.status, undefined, undefined, what);
  }
}

/** A whole (non-streamed) completion as one chunk: chat's message becomes a delta; text completions already match. */
function asChunk(whole: Record<string, unknown>): Record<string, unknown> {
  const choices = ((whole.choices as Record<string, unknown>[] | undefined) ?? []).map((c) => {
    if (!c.message) return c;
    const { message, ...rest } = c as { message: { content?: string | null } };
    return { ...rest, delta: { content: message.content ?? '' } };
  });
  return { ...whole, choices };
}
