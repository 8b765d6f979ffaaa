// The transport's errors, shaped and named as the official `openai` client's (APIError with status,
// headers, error, code, param, type and requestID; APIConnectionError; APIConnectionTimeoutError;
// APIUserAbortError), so code written against that client (retry loops, recorders that read
// err.name, err.status, err.headers) works unchanged; and the one parser of OpenAI's error
// envelope, {"error": {"message", "type", "param", "code"}}.

/** The inside of OpenAI's error envelope. */
export interface ErrorBody {
  message?: unknown;
  type?: unknown;
  param?: unknown;
  code?: unknown;
}

/**
 * An error answer's body: the envelope's inner object; else a top-level object with a string
 * message (vLLM's older {"object": "error", "message": ...}); else, for a body that is not JSON,
 * its text. A JSON body with neither gives neither (the openai client's "status code (no body)").
 */
export function parseErrorBody(text: string): { error: ErrorBody | undefined; text: string | undefined } {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { error: undefined, text };
  }
  if (!json || typeof json !== 'object') return { error: undefined, text: undefined };
  const inner = (json as { error?: unknown }).error;
  if (inner && typeof inner === 'object') return { error: inner as ErrorBody, text: undefined };
  if (typeof inner === 'string') return { error: { message: inner }, text: undefined }; // {"error": "..."} (Ollama, proxies)
  if (typeof (json as ErrorBody).message === 'string') return { error: json as ErrorBody, text: undefined };
  return { error: undefined, text: undefined };
}

/** An HTTP error answer (status set), or an error event inside a 200 stream (status undefined). */
export class APIError extends Error {
  override name = 'APIError';
  readonly requestID: string | undefined;
  readonly code: unknown;
  readonly param: unknown;
  readonly type: unknown;
  constructor(
    readonly status: number | undefined,
    readonly headers: Headers | undefined,
    readonly error: ErrorBody | undefined,
    message: string | undefined,
  ) {
    super(APIError.makeMessage(status, error, message));
    this.requestID = headers?.get('x-request-id') ?? undefined;
    this.code = error?.code;
    this.param = error?.param;
    this.type = error?.type;
  }

  /** The openai client's wording: "<status> <error.message>", or the body, or a fallback. */
  static makeMessage(status: number | undefined, error: ErrorBody | undefined, message: string | undefined): string {
    const msg = error?.message
      ? typeof error.message === 'string'
        ? error.message
        : JSON.stringify(error.message)
      : error
        ? JSON.stringify(error)
        : message;
    if (status && msg) return `${status} ${msg}`;
    if (status) return `${status} status code (no body)`;
    return msg || '(no status code or body)';
  }

  /** The error for an answer with this status, headers and body text. */
  static fromResponse(status: number | undefined, headers: Record<string, string> | undefined, body: string): APIError {
    const parsed = parseErrorBody(body);
    return new APIError(status, headers && toHeaders(headers), parsed.error, parsed.text);
  }
}

/**
 * The request got no answer, or its answer broke off. `code` is the socket's (ECONNREFUSED,
 * ECONNRESET, ...) when a socket error caused it; `interrupted` is true when the response had
 * begun (its head arrived) and the connection failed in the middle of the body.
 */
export class APIConnectionError extends APIError {
  override name = 'APIConnectionError';
  readonly socketCode: string | undefined;
  readonly interrupted: boolean;
  constructor(message = 'Connection error.', o: { cause?: unknown; code?: string; interrupted?: boolean } = {}) {
    super(undefined, undefined, undefined, message);
    if (o.cause !== undefined) (this as { cause?: unknown }).cause = o.cause;
    this.socketCode = o.code;
    this.interrupted = o.interrupted ?? false;
  }
}

/** A deadline passed: connecting, waiting for the answer's head after the request went out, or silence mid-body. */
export class APIConnectionTimeoutError extends APIConnectionError {
  override name = 'APIConnectionTimeoutError';
  constructor(
    message = 'Request timed out.',
    readonly timeout?: 'connect' | 'first-byte' | 'idle',
    o: { cause?: unknown } = {},
  ) {
    super(message, { ...o, code: 'ETIMEDOUT', interrupted: timeout === 'idle' });
  }
}

export class APIUserAbortError extends APIError {
  override name = 'APIUserAbortError';
  constructor(message = 'Request was aborted.') {
    super(undefined, undefined, undefined, message);
  }
}

function toHeaders(h: Record<string, string>): Headers {
  const out = new Headers();
  for (const k in h) {
    try {
      out.append(k, h[k]);
    } catch {
      /* a header Headers refuses is of no use to a caller */
    }
  }
  return out;
}
